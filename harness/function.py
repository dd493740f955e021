"""Function mode: import a module from source text inside the sandbox and call one of its functions.

Public API (stable):

    call_function(source, qualname, calls, limits=None, path=None, repeats=1, pool=None,
                  module_name=None, on_unpicklable="error") -> list[CallOutcome]
    CallOutcome(result, exception, stdout, args_after, runtimes, status, result_repr, ...)
    ExceptionInfo(type, message, traceback)
    OpaqueObject — stands in for instances of classes the caller cannot import (compares by state)

`calls` is a list of `(args, kwargs)`; each crosses into the sandbox by pickle (classes of the target
module are resolved to the freshly imported copy, whether they were pickled as `__main__.X` or
`<module_name>.X`). `qualname` is `func`, `Class.method` (pass the instance as the first argument) or
`Class.staticmethod`. One repeat = one forked child that imports the module once and makes every
call in order, as a program would; `runtimes[k]` of a call is its time in repeat k (perf_counter
around the call only). `result`, `stdout`, `exception` and `args_after` (the arguments after the call,
for mutation checks) come from the first repeat.

Values coming back are untrusted pickles: they are loaded with an allow-list unpickler in which
any class outside a small set of safe builtins/stdlib types becomes an `OpaqueObject` that records
its class path and state, so a generated program can never run code in the caller's process.

Arguments that cannot be pickled raise FasterPyError at once; a result that cannot be pickled
raises FasterPyError (on_unpicklable="error") or is replaced by an `Unpicklable(type, repr, error)`
marker (on_unpicklable="marker"). A module that fails to import gives every call status
"import_error" with the exception.
"""

from __future__ import annotations

import builtins
import io
import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import FasterPyError
from harness.limits import Limits

CALL_STATUSES = ("ok", "exception", "import_error", "timeout", "memory", "output_limit", "exit", "killed", "not_run")


@dataclass(frozen=True)
class ExceptionInfo:
    type: str
    message: str
    traceback: str = ""


@dataclass(frozen=True)
class Unpicklable:
    """Marker for a value the sandboxed code produced but pickle could not carry back."""

    type: str
    repr: str
    error: str


@dataclass
class CallOutcome:
    result: Any = None
    exception: ExceptionInfo | None = None
    stdout: str = ""
    args_after: tuple | None = None  # (args, kwargs) after the call
    runtimes: list[float] = field(default_factory=list)  # wall-clock seconds per repeat
    status: str = "ok"  # see CALL_STATUSES; "exception" means the function raised
    result_repr: str | None = None
    result_type: str | None = None
    cpu_runtimes: list[float] = field(default_factory=list)  # CPU seconds per repeat

    @property
    def ok(self) -> bool:
        return self.status == "ok"


class OpaqueObject:
    """An instance of a class the caller's process does not (or must not) import.

    Equality compares the class path and the pickled state, which is what a mutation or result
    check between two versions of a function needs."""

    _fasterpy_path = "?"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._fasterpy_args = (args, kwargs)
        self._fasterpy_state: Any = None

    def __setstate__(self, state: Any) -> None:
        self._fasterpy_state = state

    def _key(self) -> tuple:
        return (type(self)._fasterpy_path, getattr(self, "_fasterpy_args", None), self._fasterpy_state,
                getattr(self, "_fasterpy_items", None))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpaqueObject) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(type(self)._fasterpy_path)

    def __repr__(self) -> str:
        state = self._fasterpy_state if self._fasterpy_state is not None else self._fasterpy_args
        return f"<{type(self)._fasterpy_path} {state!r}>"

    # list/dict subclasses pickle their items with APPENDS / SETITEMS
    def append(self, item: Any) -> None:
        self.__dict__.setdefault("_fasterpy_items", []).append(item)

    def extend(self, items: Any) -> None:
        self.__dict__.setdefault("_fasterpy_items", []).extend(items)

    def __setitem__(self, key: Any, value: Any) -> None:
        self.__dict__.setdefault("_fasterpy_items", []).append((key, value))


_OPAQUE_CLASSES: dict[str, type] = {}

_SAFE_GLOBALS = {
    ("builtins", n)
    for n in (
        "int float complex bool str bytes bytearray list tuple dict set frozenset range slice object "
        "NoneType Ellipsis NotImplemented type getattr"
    ).split()
} | {
    ("builtins", n) for n in dir(builtins) if n.endswith(("Error", "Exception", "Warning"))
} | {
    ("copyreg", "_reconstructor"), ("copyreg", "__newobj__"),
    ("collections", "OrderedDict"), ("collections", "defaultdict"), ("collections", "deque"),
    ("collections", "Counter"), ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"),
    ("datetime", "timedelta"), ("datetime", "timezone"), ("decimal", "Decimal"), ("fractions", "Fraction"),
    ("array", "array"), ("array", "_array_reconstructor"), ("_codecs", "encode"),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "scalar"), ("numpy", "bool_"),
}


def _opaque_class(module: str, name: str) -> type:
    path = f"{module}.{name}"
    cls = _OPAQUE_CLASSES.get(path)
    if cls is None:
        cls = type(name.rsplit(".", 1)[-1], (OpaqueObject,), {"_fasterpy_path": path})
        _OPAQUE_CLASSES[path] = cls
    return cls


class SafeUnpickler(pickle.Unpickler):
    """Loads untrusted pickles: only allow-listed globals; every other class becomes opaque."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _SAFE_GLOBALS:
            if module == "builtins" and name == "getattr":
                return _safe_getattr
            if module == "builtins" and name == "NoneType":
                return type(None)
            return super().find_class(module, name)
        return _opaque_class(module, name)


def _safe_getattr(obj: Any, name: str) -> Any:
    """Pickled bound methods arrive as getattr(obj, name); never resolve real attributes."""
    return _opaque_class(getattr(type(obj), "_fasterpy_path", type(obj).__name__), name)


def safe_loads(data: bytes) -> Any:
    return SafeUnpickler(io.BytesIO(data)).load()


def _pickle_calls(calls: Sequence[tuple[tuple, dict]]) -> list[bytes]:
    blobs = []
    for i, call in enumerate(calls):
        try:
            args, kwargs = call
            args, kwargs = tuple(args), dict(kwargs)
        except (TypeError, ValueError) as exc:
            raise FasterPyError(f"call {i} must be an (args, kwargs) pair, got {type(call).__name__} — "
                                "pass calls=[((1, 2), {}), ...]") from exc
        try:
            blobs.append(pickle.dumps((args, kwargs), protocol=4))
        except Exception as exc:
            raise FasterPyError(
                f"arguments of call {i} cannot be pickled ({type(exc).__name__}: {exc}) — "
                "the sandbox receives arguments by pickle; pass plain data, or objects of module-level classes"
            ) from exc
    return blobs


def build_request(source: str, qualname: str, calls: Sequence, limits: Limits, path: str | Path | None,
                  repeats: int, module_name: str | None) -> dict:
    if not isinstance(source, str):
        raise FasterPyError(f"source must be text, got {type(source).__name__} — pass the module's code as a str")
    if not qualname or any(not part.isidentifier() for part in qualname.split(".")):
        raise FasterPyError(f"{qualname!r} is not a function name — use `func` or `Class.method`")
    if repeats < 1:
        raise FasterPyError(f"repeats must be at least 1, got {repeats}")
    sys_path = []
    filename = "<module>"
    if path is not None:
        p = Path(path).resolve()
        filename = str(p)
        sys_path.append(str(p.parent))  # sibling modules of the file stay importable
        module_name = module_name or p.stem
    return {
        "kind": "function",
        "source": source,
        "filename": filename,
        "module_name": module_name or "fasterpy_target",
        "qualname": qualname,
        "calls": _pickle_calls(calls),
        "repeats": int(repeats),
        "sys_path": sys_path,
        "limits": limits.to_dict(),
    }


def _exc(info: dict | None) -> ExceptionInfo | None:
    if not info:
        return None
    return ExceptionInfo(str(info.get("type", "")), str(info.get("message", "")), str(info.get("traceback", "")))


def parse_response(resp: dict, n_calls: int, qualname: str, on_unpicklable: str) -> list[CallOutcome]:
    outcomes = [CallOutcome(status="not_run") for _ in range(n_calls)]
    for k, rep in enumerate(resp["repeats"]):
        frames = rep.get("frames") or []
        end = next((f for f in frames if isinstance(f, dict) and f.get("event") == "end"), None)
        seen = set()
        i = 0
        while i < len(frames):
            head = frames[i]
            i += 1
            if not isinstance(head, dict) or head.get("event") != "call":
                continue
            result_blob = frames[i] if i < len(frames) and isinstance(frames[i], bytes) else b""
            args_blob = frames[i + 1] if i + 1 < len(frames) and isinstance(frames[i + 1], bytes) else b""
            i += 2
            idx = head.get("index")
            if not isinstance(idx, int) or not 0 <= idx < n_calls:
                continue
            seen.add(idx)
            out = outcomes[idx]
            out.runtimes.append(float(head.get("runtime") or 0.0))
            out.cpu_runtimes.append(float(head.get("cpu") or head.get("runtime") or 0.0))
            if k > 0:
                continue
            out.exception = _exc(head.get("exception"))
            out.status = "exception" if out.exception else "ok"
            out.stdout = str(head.get("stdout") or "")
            out.result_repr = head.get("result_repr")
            out.result_type = head.get("result_type")
            if head.get("result_error"):
                if on_unpicklable == "error":
                    raise FasterPyError(
                        f"the result of {qualname} (call {idx}, a {out.result_type}) cannot be pickled: "
                        f"{head['result_error']} — return plain data, or call with on_unpicklable='marker'"
                    )
                out.result = Unpicklable(str(out.result_type), str(out.result_repr), str(head["result_error"]))
            elif out.exception is None and result_blob:
                out.result = safe_loads(result_blob)
            if args_blob:
                out.args_after = safe_loads(args_blob)
        if k == 0 and end is not None and end.get("status") == "import_error":
            for out in outcomes:
                out.status = "import_error"
                out.exception = _exc(end.get("exception"))
        elif k == 0 and rep["status"] != "ok":
            # The child died or hit a limit: the call in progress gets that status.
            pending = [j for j in range(n_calls) if j not in seen]
            if pending:
                out = outcomes[pending[0]]
                out.status = rep["status"]
                out.exception = _exc(rep.get("exception")) or ExceptionInfo(
                    rep["status"], f"run stopped: {rep['status']}" + (f" ({rep['signal']})" if rep.get("signal") else ""))
    return outcomes


def call_function(
    source: str,
    qualname: str,
    calls: Sequence[tuple[tuple, dict]],
    limits: Limits | None = None,
    path: str | Path | None = None,
    repeats: int = 1,
    pool=None,
    module_name: str | None = None,
    on_unpicklable: str = "error",
) -> list[CallOutcome]:
    """Call `qualname` of the module `source` once per (args, kwargs) in the sandbox; see module doc."""
    from harness.pool import default_pool

    if on_unpicklable not in ("error", "marker"):
        raise FasterPyError(f"on_unpicklable must be 'error' or 'marker', got {on_unpicklable!r}")
    pool = pool or default_pool()
    req = build_request(source, qualname, calls, limits or pool.limits, path, repeats, module_name)
    resp = pool.call(req)
    return parse_response(resp, len(req["calls"]), qualname, on_unpicklable)
