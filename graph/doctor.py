"""`fasterpy doctor`: what this machine offers FasterPy, probed for real, and what to do where
something is missing.

Each check returns a `Check`; `needed` marks what the current config cannot run without, and
`exit_code(checks)` is 1 when such a check is missing or broken. The sandbox layers are reported as
a started `harness.pool.WorkerPool` finds them and as a program run inside it sees its limits;
packaged models are hashed only when assembled; torch is imported only by the GPU check."""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import sqlite3
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

from graph.config import FasterPyConfig
from harness.errors import FasterPyError
from harness.limits import Limits, MiB

Status = Literal["ok", "missing", "warn", "error"]
FAILED: tuple[Status, ...] = ("missing", "error")
_SLOW_S = 1.0  # a checksum that takes longer than this says how long it took


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""
    needed: bool = False  # the current config cannot run without it

    @property
    def failed(self) -> bool:
        return self.needed and self.status in FAILED

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def run_checks(config: FasterPyConfig) -> list[Check]:
    """Every check, in the order the table shows them."""
    return [check_python(), *check_sandbox(config.limits()), check_llamacpp(config),
            *check_models(config), check_kb(config), check_gpu(config)]


def exit_code(checks: list[Check]) -> int:
    """1 when something the config needs is missing or broken, else 0."""
    return 1 if any(c.failed for c in checks) else 0


def _split_advice(message: str) -> tuple[str, str]:
    """A FasterPyError's "problem — what to do" as (problem, what to do)."""
    problem, _, advice = str(message).partition(" — ")
    return problem.strip(), advice.strip()


# ----------------------------------------------------------------------------- Python
def check_python() -> Check:
    """Always ok when it runs: FasterPy needs 3.11 (tomllib), so an older Python cannot import this
    module, and pip refuses to install it there (requires-python)."""
    version = ".".join(map(str, sys.version_info[:3]))
    return Check("Python", "ok", f"{version} at {sys.executable} (FasterPy needs 3.11 or newer)")


# ----------------------------------------------------------------------------- sandbox
_RLIMIT_PROBE = (
    "import resource\n"
    "for name in ('RLIMIT_AS', 'RLIMIT_CPU', 'RLIMIT_FSIZE', 'RLIMIT_NPROC'):\n"
    "    print(name, resource.getrlimit(getattr(resource, name))[0])\n"
)


def check_sandbox(limits: Limits | None = None) -> list[Check]:
    """Start a one-worker pool, read the layers its worker could enter, and run a program in it to
    see the rlimits a run really gets."""
    from harness.pool import WorkerPool
    from harness.program import run_program

    limits = limits or Limits()
    try:
        with WorkerPool(workers=1, limits=limits, read_roots=()) as pool:  # fenced, as the verifier's
            features = dict(pool.features)
            result = run_program(_RLIMIT_PROBE, [""], runs=1, drop=0, pool=pool)
    except (FasterPyError, OSError, RuntimeError) as exc:
        problem, advice = _split_advice(str(exc))
        return [Check("sandbox", "error", problem, advice or "run with FASTERPY_WORKER_DEBUG=1 to see why",
                      needed=True)]
    seen: dict[str, int] = {}
    for line in result.stdouts[0].splitlines() if result.ok else ():
        name, _, value = line.partition(" ")
        seen[name] = int(value)
    return [_network_check(features), _seccomp_check(features), _landlock_check(features), _read_fence_check(features),
            _rlimits_check(limits, seen, result.status), _nproc_check(features, seen)]


def _network_check(features: dict[str, Any]) -> Check:
    name = "sandbox: network namespace"
    if features.get("network_isolated"):
        return Check(name, "ok", "runs have no network: an empty network namespace")
    also = " (Landlock still denies TCP connect)" if int(features.get("landlock") or 0) >= 4 else ""
    return Check(name, "warn", f"unavailable: generated code can reach the network{also}",
                 "allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu "
                 "kernel.apparmor_restrict_unprivileged_userns=0) or run with CAP_SYS_ADMIN")


def _seccomp_check(features: dict[str, Any]) -> Check:
    name = "sandbox: seccomp"
    if features.get("seccomp"):
        return Check(name, "ok", "runs cannot fork, exec, ptrace or signal other processes")
    return Check(name, "warn", "unavailable: generated code can start processes, exec programs and signal yours",
                 "use a Linux kernel with seccomp filters on x86_64 or aarch64; in a container, allow "
                 "seccomp (Docker's default profile does)")


def _landlock_check(features: dict[str, Any]) -> Check:
    name = "sandbox: Landlock"
    abi = int(features.get("landlock") or 0)
    if abi:
        extra = ["writes only inside the run's scratch directory"]
        if abi >= 4:
            extra.append("TCP bind/connect denied")
        if abi >= 6:
            extra.append("signals and abstract sockets scoped")
        return Check(name, "ok", f"ABI {abi}: " + ", ".join(extra))
    return Check(name, "warn", "unavailable: generated code can write and delete files anywhere you can",
                 "use Linux 5.13 or newer with Landlock enabled (landlock in /sys/kernel/security/lsm, "
                 "else add it to the lsm= boot parameter)")


def _read_fence_check(features: dict[str, Any]) -> Check:
    name = "sandbox: read fence"
    if features.get("read_fenced"):
        return Check(name, "ok", "a candidate reads only the interpreter, its libraries, the project folder "
                     "and its test inputs (Landlock read rules)")
    return Check(name, "warn", "unavailable: a candidate can read any file you can (~/.ssh, tokens) and print it "
                 "into feedback a hosted model may see; writes and network stay fenced as above",
                 "use Linux 5.13 or newer with Landlock enabled (landlock in /sys/kernel/security/lsm), "
                 "or use a local model")


def _rlimits_check(limits: Limits, seen: dict[str, int], status: str) -> Check:
    name = "sandbox: rlimits"
    if not seen:
        return Check(name, "error", f"the probe program did not run ({status})",
                     "run with FASTERPY_WORKER_DEBUG=1 to see the worker's errors", needed=True)
    wanted = {"RLIMIT_AS": limits.memory_mb * MiB, "RLIMIT_CPU": int(limits.timeout_s) + 1,
              "RLIMIT_FSIZE": limits.output_bytes}
    shown = (f"address space {_amount(seen['RLIMIT_AS'], MiB, 'MiB')}, CPU {_amount(seen['RLIMIT_CPU'], 1, 's')}, "
             f"file size {_amount(seen['RLIMIT_FSIZE'], MiB, 'MiB')}")
    lost = [key for key, value in wanted.items() if seen.get(key) != value]
    if not lost:
        return Check(name, "ok", shown)
    return Check(name, "warn", f"{shown}; not applied: {', '.join(lost)} (memory, CPU or output use is "
                 "then bounded only by the wall-clock timeout)",
                 "raise the hard limits this process runs under (ulimit -H) above the run's limits")


def _amount(value: int, unit: int, name: str) -> str:
    import resource

    return "unlimited" if value == resource.RLIM_INFINITY else f"{value // unit} {name}"


def _nproc_check(features: dict[str, Any], seen: dict[str, int]) -> Check:
    name = "sandbox: process limit"
    if features.get("nproc_limit") and seen.get("RLIMIT_NPROC") == 1:
        return Check(name, "ok", "RLIMIT_NPROC 1: a run cannot start processes")
    backup = "seccomp still blocks fork" if features.get("seccomp") else "nothing else stops fork"
    return Check(name, "warn", f"off (running as root, where RLIMIT_NPROC does not bind; {backup})",
                 "run FasterPy as a normal user")


# ----------------------------------------------------------------------------- generation
def _configured_backend(config: FasterPyConfig) -> str:
    from graph.backends.registry import resolve_backend_name

    try:
        return resolve_backend_name(config.generation)
    except FasterPyError:  # a model no backend claims: `optimize` reports that itself
        return ""


def check_llamacpp(config: FasterPyConfig) -> Check:
    name = "llama.cpp extra"
    needed = _configured_backend(config) == "llamacpp"
    if importlib.util.find_spec("llama_cpp") is None:
        return Check(name, "missing", "llama-cpp-python is not installed (GGUF models then load through "
                     "transformers: much slower)", "pip install 'fasterpy[llamacpp]'", needed=needed)
    try:
        version = importlib.metadata.version("llama-cpp-python")
    except importlib.metadata.PackageNotFoundError:
        version = "version unknown"
    return Check(name, "ok", f"llama-cpp-python {version}", needed=needed)


def check_models(config: FasterPyConfig) -> list[Check]:
    """Each packaged model: parts installed, assembled, sha256 of the assembled file; plus the
    configured model when it is a file of its own."""
    from graph.backends.models import KNOWN_MODELS, known_model

    wanted = known_model(config.generation.model) if config.generation.model else None
    checks = [_model_check(m, needed=m is wanted) for m in KNOWN_MODELS.values()]
    model = config.generation.model
    if model and wanted is None and model.lower().endswith(".gguf"):
        path = Path(model).expanduser()
        if path.is_file():
            checks.append(Check("model (configured)", "ok", str(path), needed=True))
        else:
            checks.append(Check("model (configured)", "missing", f"{path} does not exist",
                                "fix generation.model in your settings, or pick one from `fasterpy models`",
                                needed=True))
    return checks


def _model_check(model: Any, needed: bool) -> Check:
    from graph.backends.models import assembled_path, is_assembled, missing_parts

    name = f"model {model.name}"
    missing = missing_parts(model)
    total = len(model.distributions)
    if missing:
        return Check(name, "missing", f"not installed ({total - len(missing)}/{total} parts)",
                     f"pip install 'fasterpy[{model.extra}]'", needed=needed)
    path = assembled_path(model)
    if not is_assembled(model):
        return Check(name, "ok", f"installed ({total}/{total} parts), not assembled yet (done on first use)",
                     f"fasterpy models fetch {model.name}", needed=needed)
    start = time.perf_counter()
    with path.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    took = time.perf_counter() - start
    timing = f" in {took:.1f} s" if took > _SLOW_S else ""
    if digest != model.sha256:
        return Check(name, "error", f"assembled at {path}, but its sha256 is {digest[:12]}…, not {model.sha256[:12]}…",
                     f"rm '{path}' '{path}.verified' && fasterpy models fetch {model.name}", needed=needed)
    return Check(name, "ok", f"installed, assembled at {path}, sha256 verified{timing}", needed=needed)


# ----------------------------------------------------------------------------- knowledge base
def check_kb(config: FasterPyConfig) -> Check:
    """The KB the config retrieves from: opened as a run opens it (manifest, embedder, records,
    index checksum and size)."""
    from kb.store import KnowledgeBase, default_kb_path

    needed = config.use_retrieval
    try:
        path = Path(config.kb).expanduser() if config.kb else default_kb_path()
    except (FasterPyError, ImportError) as exc:  # an install without its package data
        problem, advice = _split_advice(str(exc))
        return Check("knowledge base", "missing", f"the shipped knowledge base cannot be found: {problem}",
                     advice or "reinstall FasterPy (pip install --force-reinstall fasterpy)", needed=needed)
    reindex = f"fasterpy kb reindex --kb {path}"
    try:
        kb = KnowledgeBase.open(path)
    except FasterPyError as exc:
        problem, advice = _split_advice(str(exc))
        status: Status = "missing" if not (path / "manifest.json").exists() else "error"
        return Check("knowledge base", status, problem, advice or reindex, needed=needed)
    except (sqlite3.DatabaseError, OSError, ValueError, RuntimeError) as exc:
        return Check("knowledge base", "error", f"{path} cannot be read: {exc}",
                     f"rebuild it (`fasterpy kb build --out {path}`) or run `{reindex}`", needed=needed)
    with kb:
        records, vectors = len(kb), len(kb.index)
        embedder, dim = kb.manifest["embedder"], kb.manifest["dim"]
    detail = f"{records} records, {vectors} vectors, embedder {embedder} ({dim}-d), at {path}"
    if not config.use_retrieval:
        detail += " (retrieval is off)"
    return Check("knowledge base", "ok", detail, needed=needed)


# ----------------------------------------------------------------------------- GPU
def check_gpu(config: FasterPyConfig) -> Check:
    """A CUDA device through torch (imported here only). Needed when the config asks for cuda."""
    device = config.generation.device or ""
    needed = device.startswith("cuda")
    if importlib.util.find_spec("torch") is None:
        return Check("GPU", "missing", "torch is not installed", "pip install torch (the transformers backend "
                     "and finetune need it)", needed=needed)
    import torch

    if not torch.cuda.is_available():
        return Check("GPU", "missing", f"no CUDA device (torch {torch.__version__}); models run on the CPU",
                     "optional: a CUDA GPU speeds up the transformers backend and finetune", needed=needed)
    count = torch.cuda.device_count()
    names = ", ".join(torch.cuda.get_device_name(i) for i in range(count))
    return Check("GPU", "ok", f"{count} CUDA device(s): {names} (torch {torch.__version__})", needed=needed)
