"""FasterPy settings: defaults < `[tool.fasterpy]` in the nearest pyproject.toml or `fasterpy.toml`
< command-line flags.

Layout of the file (every key optional):

    [tool.fasterpy]              # or the top level of fasterpy.toml
    attempts = 3
    mode = "each"
    [tool.fasterpy.generation]   # graph.backends.base.GenerationConfig
    backend = "rules"
    [tool.fasterpy.retrieval]    # RetrievalSettings (paper Alg. 2)
    k = 2
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import FasterPyError

CONFIG_FILE = "fasterpy.toml"
MODES = ("together", "each")


@dataclass
class RetrievalSettings:
    """Algorithm 2's parameters; None = the value tuned for the KB's embedder (its manifest)."""

    k: int = 2
    m: int | None = None
    delta: float | None = None
    threshold: float | None = None


def _default_generation() -> Any:
    from graph.backends.base import GenerationConfig

    return GenerationConfig()


@dataclass
class FasterPyConfig:
    generation: Any = field(default_factory=_default_generation)  # GenerationConfig
    retrieval: RetrievalSettings = field(default_factory=RetrievalSettings)
    kb: str | None = None  # knowledge-base directory; None = the shipped default
    use_retrieval: bool = True  # False: prompt without suggestions (ablation)
    attempts: int = 3  # generate→verify rounds per target group
    candidates: int = 2  # candidates generated per attempt
    speedup_threshold: float = 1.1  # accept when the CI lower bound of the speedup clears this
    repeats: int = 8  # interleaved timing rounds (more are added when the CI straddles the threshold)
    timeout_s: float = 10.0  # per sandboxed run
    memory_mb: int = 1024  # per sandboxed run
    float_tolerance: float = 1e-9  # relative and absolute tolerance when comparing floats
    mode: str = "together"  # "together": all targets in one prompt; "each": one target at a time
    driver: str | None = None  # command whose run supplies the target functions' inputs
    test_cmd: str | None = None  # the user's tests, also run against the candidate in a temp copy
    learn: bool = False  # add accepted optimizations to the user's knowledge base
    learn_kb: str | None = None  # where --learn adds records; None = <cache>/user-kb
    state_db: str | None = None  # SQLite checkpoint database; None = <cache>/runs.sqlite
    source: str = field(default="defaults", compare=False)  # where the file settings came from

    # -- loading -----------------------------------------------------------------------------

    @classmethod
    def load(cls, start: str | os.PathLike[str] | None = None, overrides: dict[str, Any] | None = None) -> "FasterPyConfig":
        """Defaults, then the nearest config file at or above `start` (a file or directory; default
        the working directory), then `overrides` (dotted keys such as "generation.backend"; None
        values are ignored so unset flags do not override the file)."""
        cfg = cls()
        found = find_config_file(start)
        if found is not None:
            path, table = found
            cfg.update(table, where=_describe(path))
            cfg.source = str(path)
        if overrides:
            cfg.update({k: v for k, v in overrides.items() if v is not None}, where="command-line options")
        cfg.validate()
        return cfg

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FasterPyConfig":
        cfg = cls()
        cfg.update(data, where="settings")
        cfg.validate()
        return cfg

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "source":
                continue
            value = getattr(self, f.name)
            out[f.name] = dataclasses.asdict(value) if dataclasses.is_dataclass(value) else value
        return out

    def update(self, data: dict[str, Any], where: str = "settings") -> None:
        """Apply a (possibly nested or dotted) mapping; unknown keys and wrong types are errors."""
        for key, value in data.items():
            if "." in key:
                head, rest = key.split(".", 1)
                self.update({head: {rest: value}}, where)
                continue
            _set(self, key, value, where, prefix="")

    def validate(self) -> None:
        if self.mode not in MODES:
            raise FasterPyError(f"mode must be one of {', '.join(MODES)}, not {self.mode!r} — fix `mode` in your settings")
        for name in ("attempts", "candidates", "repeats"):
            if getattr(self, name) < 1:
                raise FasterPyError(f"`{name}` must be at least 1 — fix it in your settings")
        if self.repeats < 2:
            raise FasterPyError("`repeats` must be at least 2 to tell a speedup from noise — raise it")
        if self.speedup_threshold <= 0 or self.timeout_s <= 0:
            raise FasterPyError("`speedup_threshold` and `timeout_s` must be positive — fix them in your settings")

    # -- derived paths ---------------------------------------------------------------------

    def state_db_path(self) -> Path:
        from kb.paths import cache_dir

        return Path(self.state_db).expanduser() if self.state_db else cache_dir() / "runs.sqlite"

    def learn_kb_path(self) -> Path:
        from kb.paths import cache_dir

        return Path(self.learn_kb).expanduser() if self.learn_kb else cache_dir() / "user-kb"

    def limits(self) -> Any:
        from harness.limits import Limits

        return Limits(timeout_s=self.timeout_s, memory_mb=self.memory_mb)

    # -- saving ----------------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str] = CONFIG_FILE) -> Path:
        """Write every setting to a fasterpy.toml (atomically: temp file + os.replace)."""
        path = Path(path)
        text = dumps_toml(self.to_dict())
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def _describe(path: Path) -> str:
    return f"[tool.fasterpy] of {path}" if path.name == "pyproject.toml" else str(path)


def _set(obj: Any, key: str, value: Any, where: str, prefix: str) -> None:
    names = {f.name for f in dataclasses.fields(obj) if f.name != "source"}
    if key not in names:
        raise FasterPyError(
            f"unknown setting '{prefix}{key}' in {where} — known: {', '.join(sorted(names))}"
        )
    current = getattr(obj, key)
    if dataclasses.is_dataclass(current):
        if isinstance(value, dict):
            for k, v in value.items():
                _set(current, k, v, where, prefix=f"{prefix}{key}.")
            return
        if dataclasses.is_dataclass(value) and type(value) is type(current):
            setattr(obj, key, value)
            return
        raise FasterPyError(f"'{prefix}{key}' in {where} must be a table of settings — e.g. [tool.fasterpy.{key}]")
    setattr(obj, key, _coerce(current, value, f"{prefix}{key}", where))


def _coerce(current: Any, value: Any, name: str, where: str) -> Any:
    """Check a value against the type of the default it replaces (ints are fine for floats)."""
    if current is None or value is None:
        return value
    if isinstance(current, bool):
        ok = isinstance(value, bool)
    elif isinstance(current, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(current, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(current, str):
        ok = isinstance(value, str)
    else:
        ok = True
    if not ok:
        raise FasterPyError(
            f"'{name}' in {where} must be a {type(current).__name__}, not {value!r} — fix the value"
        )
    return value


def find_config_file(start: str | os.PathLike[str] | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The nearest fasterpy.toml, or pyproject.toml with a [tool.fasterpy] table, at or above
    `start`; in one directory fasterpy.toml wins. Returns (path, settings table)."""
    here = Path(start or Path.cwd()).expanduser().resolve()
    if here.is_file() and here.suffix == ".toml":  # an explicit settings file (e.g. --config)
        data = _read_toml(here)
        tool = data.get("tool")
        nested = tool.get("fasterpy") if isinstance(tool, dict) else None
        return here, nested if isinstance(nested, dict) else data
    if here.is_file() or not here.exists():
        here = here.parent
    for directory in (here, *here.parents):
        own = directory / CONFIG_FILE
        if own.is_file():
            data = _read_toml(own)
            nested = data.get("tool", {}).get("fasterpy") if isinstance(data.get("tool"), dict) else None
            return own, nested if isinstance(nested, dict) else data
        project = directory / "pyproject.toml"
        if project.is_file():
            table = _read_toml(project).get("tool", {}).get("fasterpy")
            if isinstance(table, dict):
                return project, table
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise FasterPyError(f"{path} is not valid TOML: {exc} — fix the file") from exc
    except OSError as exc:
        raise FasterPyError(f"cannot read {path}: {exc.strerror} — check its permissions") from exc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def dumps_toml(data: dict[str, Any]) -> str:
    """A flat table plus one level of sub-tables — all a FasterPyConfig needs. None is omitted
    (TOML has no null; omitted means "default")."""
    lines = ["# FasterPy settings (see README \"Configuration\")."]
    tables = []
    for key, value in data.items():
        if isinstance(value, dict):
            tables.append((key, value))
        elif value is not None:
            lines.append(f"{key} = {_toml_value(value)}")
    for name, table in tables:
        lines.append("")
        lines.append(f"[{name}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in table.items() if v is not None)
    return "\n".join(lines) + "\n"
