"""Driver-side helper: records calls to target functions while a driver runs, and replays them.

This file is standalone (stdlib only, no imports from our packages) because it runs in two foreign
processes: as a script in the driver subprocess (`python _tracer.py SPEC.json`), and as module text
exec'd inside the harness sandbox, where `_fasterpy_replay` calls the code under test on the captured
arguments. Importing our package there would drag our own modules (and their names) into the user's
program.

How calls are caught: a trace function watches only for the *module frame* of the target file; at
each of its line events it replaces freshly defined target functions (and methods on freshly defined
classes) in the module's globals with recording wrappers, then tracing stops. That works the same
whether the file runs as `__main__`, is imported by a script, or is imported by pytest.

Values cross processes in two forms: the arguments as a pickle (classes and functions of the target
module pickled by reference to a placeholder module `__fasterpy_target__`, so they resolve to the
candidate's definitions on replay), and results/arguments-after/exceptions as a "value form" — nested
tuples of builtins — so they can be compared anywhere without the user's classes.
"""

from __future__ import annotations

import functools
import importlib
import io
import json
import operator
import os
import pickle
import shlex
import sys
import threading
import time
import traceback
import types

# Imported before the meta-path finder is installed: an import inside find_spec of a module not yet
# loaded (in a plain install nothing has imported importlib.machinery at start-up) would re-enter
# find_spec until RecursionError.
from importlib.machinery import PathFinder

TARGET_MODULE = "__fasterpy_target__"
_TARGET_NAMES = {TARGET_MODULE}  # + the names the recorder saw the target file loaded under
_MAX_DEPTH = 60

# --------------------------------------------------------------------------------------------------
# value form: a comparable, builtins-only picture of a value


def value_form(value, _depth=0, _seen=None):
    """Nested tuples of builtins describing `value` (what deep equality compares)."""
    if _seen is None:
        _seen = set()
    if _depth > _MAX_DEPTH:
        return ("deep",)
    if value is None or isinstance(value, (bool, int, str, bytes)):
        if type(value) in (bool, int, str, bytes) or value is None:
            return value
    if type(value) is float:
        return value
    if type(value) is complex:
        return ("complex", value.real, value.imag)
    vid = id(value)
    if vid in _seen:
        return ("cycle",)
    _seen = _seen | {vid}
    d = _depth + 1
    t = type(value)
    if t is list or isinstance(value, list):
        return ("list", tuple(value_form(v, d, _seen) for v in value))
    if t is tuple or isinstance(value, tuple):
        return ("tuple", tuple(value_form(v, d, _seen) for v in value))
    if isinstance(value, dict):
        return ("dict", tuple((value_form(k, d, _seen), value_form(v, d, _seen)) for k, v in value.items()))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(value_form(v, d, _seen) for v in value))
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    mod = getattr(t, "__module__", "") or ""
    if mod == "numpy" or mod.startswith("numpy."):
        if hasattr(value, "tolist") and hasattr(value, "shape"):
            if getattr(value, "shape", None) == ():
                return value_form(value.item(), d, _seen)
            return ("ndarray", tuple(value.shape), value_form(value.tolist(), d, _seen))
    if isinstance(value, int):  # IntEnum, bool subclasses ...
        return ("int", t.__qualname__, int(value))
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, BaseException):
        return ("exception", t.__qualname__, str(value))
    if isinstance(value, (types.FunctionType, types.BuiltinFunctionType, type)):
        mod_name = getattr(value, "__module__", "") or ""
        if mod_name in _TARGET_NAMES:  # the file under test, whatever name it was loaded under
            mod_name = TARGET_MODULE
        return ("ref", mod_name, getattr(value, "__qualname__", repr(value)))
    if isinstance(value, types.GeneratorType) or (hasattr(value, "__next__") and hasattr(value, "__iter__")):
        return ("iterator", t.__qualname__)
    state = None
    if hasattr(value, "__dict__") or hasattr(t, "__slots__"):
        state = {}
        for klass in t.__mro__:
            slots = getattr(klass, "__slots__", ())
            for slot in (slots,) if isinstance(slots, str) else slots:
                if slot not in ("__dict__", "__weakref__") and hasattr(value, slot):
                    state[slot] = getattr(value, slot)
        state.update(getattr(value, "__dict__", {}) or {})
    if state is not None:
        # Compared by class name and state, so the original's and the candidate's classes match.
        items = sorted(((str(k), value_form(v, d, _seen)) for k, v in state.items()), key=lambda kv: kv[0])
        return ("obj", t.__qualname__, tuple(items))
    # Library values with their own equality and no visible state (Decimal, datetime …): by repr.
    try:
        return ("repr", t.__qualname__, repr(value))
    except Exception:
        return ("opaque", t.__qualname__)


GENERATOR_ITEMS = 10000  # items of a returned generator that are compared


class _Drained:
    """A generator's first items, consumed at call time, and what is left of it."""

    def __init__(self, items, more, rest):
        self.items = items
        self.more = more  # it had more than GENERATOR_ITEMS items (those are not compared)
        self.rest = rest  # for the driver: the remaining items, still lazy

    def for_driver(self):
        import itertools

        return itertools.chain(self.items, self.rest)


def _drain(result):
    if isinstance(result, types.GeneratorType):
        import itertools

        items = list(itertools.islice(result, GENERATOR_ITEMS))
        extra = list(itertools.islice(result, 1))
        return _Drained(items, bool(extra), itertools.chain(extra, result))
    return result


def _result_form(result):
    if isinstance(result, _Drained):
        return ("generator", value_form(result.items), result.more)
    return value_form(result)


# --------------------------------------------------------------------------------------------------
# pickling arguments so target-module classes resolve on replay


class _TargetPickler(pickle.Pickler):
    """Pickles classes/functions of the target module (and the module itself) by a reference that the
    replay side resolves against the code under test; refuses objects of the driver's own __main__."""

    def __init__(self, file, target_modules):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self._targets = target_modules  # module names the target file is loaded under

    def reducer_override(self, obj):
        if isinstance(obj, types.ModuleType):
            if obj.__name__ in self._targets:
                return importlib.import_module, (TARGET_MODULE,)
            return NotImplemented
        if isinstance(obj, (type, types.FunctionType)):
            mod = getattr(obj, "__module__", None)
            if mod in self._targets:
                return operator.attrgetter(obj.__qualname__), (sys.modules[mod],)
            if mod == "__main__":
                raise pickle.PicklingError(
                    f"{obj.__qualname__} is defined in the driver script itself, so it cannot be replayed")
        return NotImplemented


def dumps_for_replay(obj, target_modules):
    buf = io.BytesIO()
    _TargetPickler(buf, target_modules).dump(obj)
    return buf.getvalue()


# --------------------------------------------------------------------------------------------------
# recording (driver side)


class _Tee(io.TextIOBase):
    def __init__(self, real):
        self.real = real
        self.buf = io.StringIO()

    def write(self, s):
        self.buf.write(s)
        try:
            self.real.write(s)
        except Exception:
            pass
        return len(s)

    def flush(self):
        try:
            self.real.flush()
        except Exception:
            pass


class Recorder:
    def __init__(self, path, targets, max_calls):
        self.path = os.path.realpath(path)
        self.targets = list(targets)
        self.max_calls = max(1, int(max_calls))
        self.records = {t: [] for t in self.targets}
        self.seen = {t: 0 for t in self.targets}
        self.skipped = {t: [] for t in self.targets}
        self.active = set()
        self.wrapped = set()
        self.module_names = set()

    # -- installing wrappers -------------------------------------------------------------------
    def install(self):
        """Catch the target file when it is imported (tracing only while it executes)."""
        sys.meta_path.insert(0, _TargetFinder(self))

    def trace_now(self):
        """For a driver that runs the target file itself as __main__."""
        sys.settrace(self._global_trace)

    def _global_trace(self, frame, event, arg):
        code = frame.f_code
        if event == "call" and code.co_name == "<module>" and _same_file(code.co_filename, self.path):
            self.module_names.add(frame.f_globals.get("__name__", "__main__"))
            _TARGET_NAMES.update(self.module_names)
            frame.f_trace_lines = True
            return self._module_trace
        return None

    def _module_trace(self, frame, event, arg):
        self._wrap_in(frame.f_globals)
        if len(self.wrapped) == len(self.targets):
            sys.settrace(None)  # every target is wrapped: stop paying for tracing
            return None
        return self._module_trace

    def _wrap_in(self, g):
        for target in self.targets:
            parts = target.split(".")
            owner = None
            obj = g
            for name in parts[:-1]:
                obj = (obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None))
                if obj is None:
                    break
                owner = obj
            if obj is None:
                continue
            name = parts[-1]
            if owner is None:
                fn = g.get(name)
                if fn is None or getattr(fn, "__fasterpy_wrapped__", False) or not callable(fn):
                    continue
                g[name] = self._wrapper(target, fn)
            else:
                raw = owner.__dict__.get(name)
                if raw is None or getattr(raw, "__fasterpy_wrapped__", False):
                    continue
                if isinstance(raw, staticmethod):
                    w = staticmethod(self._wrapper(target, raw.__func__, method=False))
                    w.__fasterpy_wrapped__ = True
                elif isinstance(raw, classmethod):
                    w = classmethod(self._wrapper(target, raw.__func__, method=False))
                    w.__fasterpy_wrapped__ = True
                elif callable(raw):
                    w = self._wrapper(target, raw, method=True)
                else:
                    continue
                setattr(owner, name, w)
            self.wrapped.add(target)

    def _wrapper(self, target, fn, method=False):
        rec = self

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if target in rec.active:  # recursion: record only the outermost call
                return fn(*args, **kwargs)
            rec.seen[target] += 1
            try:
                before = dumps_for_replay((args, kwargs), rec.module_names)
            except Exception as exc:  # noqa: BLE001 - any pickling failure means "cannot replay"
                if len(rec.skipped[target]) < 5:
                    rec.skipped[target].append(f"{type(exc).__name__}: {exc}")
                return fn(*args, **kwargs)
            try:
                form_before = value_form((list(args), kwargs))
            except Exception:  # noqa: BLE001 - only used to tell whether the call mutates
                form_before = None
            tee = _Tee(sys.stdout)
            old_stdout = sys.stdout
            sys.stdout = tee
            rec.active.add(target)
            exc_info = None
            result = None
            start = time.perf_counter()
            try:
                result = _drain(fn(*args, **kwargs))
            except BaseException as exc:  # noqa: BLE001 - recorded, then re-raised
                exc_info = exc
            finally:
                elapsed = time.perf_counter() - start
                rec.active.discard(target)
                sys.stdout = old_stdout
            try:
                after = value_form((list(args), kwargs))
                record = {
                    "args": before,
                    "mutated": form_before is not None and form_before != after,
                    "size": len(before),
                    "result": _result_form(result) if exc_info is None else None,
                    "exception": None if exc_info is None else (type(exc_info).__qualname__, str(exc_info)),
                    "args_after": after,
                    "stdout": tee.buf.getvalue(),
                    "runtime": elapsed,
                    "order": rec.seen[target],
                }
            except Exception as exc:  # noqa: BLE001 - a value we cannot describe: skip the call, not the driver
                if len(rec.skipped[target]) < 5:
                    rec.skipped[target].append(f"result not comparable: {type(exc).__name__}: {exc}")
            else:
                rec._keep(target, record)
            if exc_info is not None:
                raise exc_info
            if isinstance(result, _Drained):  # the driver still gets an iterator over the same items
                return result.for_driver()
            return result

        wrapper.__fasterpy_wrapped__ = True
        return wrapper

    def _keep(self, target, record):
        recs = self.records[target]
        recs.append(record)
        if len(recs) >= 4 * self.max_calls:
            self.records[target] = spread_by_size(recs, 2 * self.max_calls)

    def dump(self, out_path, driver_error):
        data = {
            "targets": self.targets,
            "calls": {t: spread_by_size(r, self.max_calls) for t, r in self.records.items()},
            "seen": self.seen,
            "skipped": self.skipped,
            "wrapped": sorted(self.wrapped),
            "module_names": sorted(self.module_names),
            "driver_error": driver_error,
        }
        tmp = out_path + ".tmp"
        with open(tmp, "wb") as fh:
            pickle.dump(data, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, out_path)


class _TargetFinder:
    """Meta-path finder that lets the normal path finder locate modules and, for the target file,
    wraps its loader so the recorder's trace runs only while that module's body executes."""

    def __init__(self, rec):
        self.rec = rec
        self._busy = threading.local()

    def find_spec(self, name, path=None, target=None):
        # Whatever the path finder imports while searching (a lazily loaded codec, a path hook) comes
        # back here: let the rest of sys.meta_path handle it instead of recursing.
        if getattr(self._busy, "on", False):
            return None
        self._busy.on = True
        try:
            spec = PathFinder.find_spec(name, path)
        finally:
            self._busy.on = False
        if spec is None or not spec.origin or not _same_file(spec.origin, self.rec.path) or spec.loader is None:
            return None
        rec = self.rec
        real_exec = spec.loader.exec_module

        def exec_module(module):
            old = sys.gettrace()
            sys.settrace(rec._global_trace)
            try:
                real_exec(module)
            finally:
                sys.settrace(old)
            rec.module_names.add(module.__name__)
            _TARGET_NAMES.update(rec.module_names)
            rec._wrap_in(module.__dict__)

        spec.loader.exec_module = exec_module
        return spec


def spread_by_size(records, limit):
    """At most `limit` records spread evenly over argument sizes (smallest and largest kept), in
    their original call order."""
    if len(records) <= limit:
        return list(records)
    ranked = sorted(range(len(records)), key=lambda i: (records[i]["size"], i))
    if limit == 1:
        picks = {ranked[-1]}
    else:
        picks = {ranked[round(j * (len(ranked) - 1) / (limit - 1))] for j in range(limit)}
        j = 0
        while len(picks) < limit:  # rounding collisions: fill from the unpicked
            if ranked[j] not in picks:
                picks.add(ranked[j])
            j += 1
    return [records[i] for i in sorted(picks)]


def _same_file(a, b):
    try:
        return os.path.realpath(a) == b
    except Exception:
        return False


# --------------------------------------------------------------------------------------------------
# running a driver (driver side)


def _run_driver(spec, rec):
    """Runs the driver in this process. Returns an error description or None."""
    path = spec["path"]
    driver = spec.get("driver")
    if not driver:
        sys.argv = [path]
        sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
        import runpy

        rec.trace_now()
        runpy.run_path(path, run_name="__main__")
        return None
    argv = shlex.split(driver)
    exe = os.path.basename(argv[0])
    if exe.startswith("python"):
        argv = argv[1:]
        if argv[:2] == ["-m", "pytest"]:
            return _run_pytest(argv[2:])
        import runpy

        if argv and argv[0] == "-m":
            if len(argv) < 2:
                return "the driver `python -m` names no module"
            sys.argv = [argv[1]] + argv[2:]
            sys.path.insert(0, os.getcwd())
            import importlib.util

            spec = importlib.util.find_spec(argv[1])
            if spec is not None and spec.origin and _same_file(spec.origin, rec.path):
                rec.trace_now()  # the target module itself is the script
            runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
            return None
        if not argv:
            return "the driver names no script"
        sys.argv = argv
        sys.path.insert(0, os.path.dirname(os.path.abspath(argv[0])))
        if _same_file(argv[0], rec.path):
            rec.trace_now()
        runpy.run_path(argv[0], run_name="__main__")
        return None
    if exe in ("pytest", "py.test"):
        return _run_pytest(argv[1:])
    return f"unsupported driver {driver!r}"


def _run_pytest(args):
    import pytest

    sys.path.insert(0, os.getcwd())
    code = pytest.main(list(args))
    if int(code) not in (0, 1):  # 1 = some tests failed: calls may still be usable
        return f"pytest exited with code {int(code)}"
    return None


def main(spec_path):
    with open(spec_path) as fh:
        spec = json.load(fh)
    # This script's directory must not shadow the user's modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    rec = Recorder(spec["path"], spec["targets"], spec.get("max_calls", 50))
    rec.install()
    error = None
    try:
        error = _run_driver(spec, rec)
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = f"the driver exited with status {exc.code}"
    except BaseException:  # noqa: BLE001 - reported to the parent, which raises a clear error
        crash = sys.exc_info()[1]
        assert crash is not None  # inside an except block
        here = os.path.abspath(__file__)
        frames = [f for f in traceback.extract_tb(crash.__traceback__)
                  if os.path.abspath(f.filename) != here and "runpy" not in f.filename]
        text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames[-10:]))
        error = "the driver crashed:\n" + (text + "".join(traceback.format_exception_only(type(crash), crash)))[-3000:]
    finally:
        sys.settrace(None)
    rec.dump(spec["out"], error)


# --------------------------------------------------------------------------------------------------
# line tracing (coverage of the evidence): on a replay of the original, and in the user's tests


class LineRecorder:
    """Records the lines executed inside the target functions of one file (their nested functions
    and comprehensions included; targets=None: all of the file's code, under the key "").
    A code object stops being traced once all its lines were seen."""

    def __init__(self, path, targets):
        self.raw_path = path  # a pseudo file name ("main.py" of a program) matches as it is
        self.path = os.path.realpath(path) if path else path
        self.targets = [""] if targets is None else list(targets)
        self.lines = {t: set() for t in self.targets}
        self._files = {}  # co_filename → is it the target file
        self._codes = {}  # code object → (target, its lines not seen yet), or None when not a target's

    def _owner(self, code):
        if code in self._codes:
            return self._codes[code]
        entry = None
        name = code.co_filename
        same = self._files.get(name)
        if same is None:
            same = self._files[name] = name in (self.raw_path, self.path) or _same_file(name, self.path)
        if same:
            qual = getattr(code, "co_qualname", code.co_name)
            for t in self.targets:
                if not t or qual == t or qual.startswith(t + "."):
                    entry = (t, {line for _, _, line in code.co_lines() if line is not None})
                    break
        self._codes[code] = entry
        return entry

    def global_trace(self, frame, event, arg):
        if event != "call":
            return None
        entry = self._owner(frame.f_code)
        if entry is None or not entry[1]:
            return None
        return self._local_trace

    def _local_trace(self, frame, event, arg):
        if event == "line":
            entry = self._codes.get(frame.f_code)
            if entry is not None:
                self.lines[entry[0]].add(frame.f_lineno)
                entry[1].discard(frame.f_lineno)
                if not entry[1]:
                    frame.f_trace_lines = False  # every line of this code seen: stop paying for it
        return self._local_trace

    def start(self):
        sys.settrace(self.global_trace)
        threading.settrace(self.global_trace)

    def stop(self):
        sys.settrace(None)
        threading.settrace(None)

    def as_lists(self):
        return {t: sorted(v) for t, v in self.lines.items()}


def _start_line_recorder_from_env():
    """As the user's tests' sitecustomize: FASTERPY_TRACE_LINES is JSON {path, targets, out}; each
    Python process writes the lines it saw to out/lines-<pid>.json at exit."""
    spec = os.environ.get("FASTERPY_TRACE_LINES")
    if not spec:
        return
    import atexit

    spec = json.loads(spec)
    rec = LineRecorder(spec["path"], spec["targets"])

    def write():
        rec.stop()
        out = os.path.join(spec["out"], f"lines-{os.getpid()}.json")
        try:
            with open(out + ".tmp", "w") as fh:
                json.dump(rec.as_lists(), fh)
            os.replace(out + ".tmp", out)
        except OSError:
            pass

    atexit.register(write)
    rec.start()


PROGRAM_LINES_MARKER = "__fasterpy_lines__ "


def _trace_program(source, filename):
    """Program mode: run `source` as __main__ under the LineRecorder; the executed lines go to
    stderr as one marker line (stdout stays the program's)."""
    rec = LineRecorder(filename, None)
    code = compile(source, filename, "exec", dont_inherit=True)
    main_globals = {"__name__": "__main__", "__file__": filename, "__builtins__": __builtins__}
    rec.start()
    try:
        exec(code, main_globals)
    finally:
        rec.stop()
        try:
            sys.stdout.flush()
        except Exception:
            pass
        sys.stderr.write("\n" + PROGRAM_LINES_MARKER + json.dumps(sorted(rec.lines[""])) + "\n")
        sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# replay (sandbox side): this file's text plus _TARGET_SOURCE/_TARGET_PATH is the harness "source"

_loaded = None


def _target_module():
    global _loaded
    if _loaded is None:
        path = globals().get("_TARGET_PATH") or "<candidate>"
        mod = types.ModuleType(TARGET_MODULE)
        mod.__file__ = path
        sys.modules[TARGET_MODULE] = mod
        if path and os.path.dirname(path) not in sys.path:
            sys.path.insert(0, os.path.dirname(path))
        # A module inside a package (imported by the driver as pkg.mod) keeps its package, so its
        # relative imports work; the folder above the top package goes on sys.path.
        dotted = globals().get("_TARGET_MODULE_NAME") or ""
        if "." in dotted:
            mod.__package__ = dotted.rsplit(".", 1)[0]
            root = path
            for _ in range(dotted.count(".") + 1):
                root = os.path.dirname(root)
            if root not in sys.path:
                sys.path.insert(0, root)
        source = globals()["_TARGET_SOURCE"]
        import linecache

        # Tracebacks must quote the code under test, not the file on disk.
        linecache.cache[path] = (len(source), None, source.splitlines(True), path)
        exec(compile(source, path, "exec"), mod.__dict__)
        _loaded = mod
    return _loaded


def _user_traceback(exc):
    """The traceback of `exc` limited to frames of the code under test (not this shim)."""
    path = globals().get("_TARGET_PATH")
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == path] or \
        traceback.extract_tb(exc.__traceback__)[-3:]
    text = "Traceback (most recent call last):\n" + "".join(traceback.format_list(frames[-8:]))
    return (text + "".join(traceback.format_exception_only(type(exc), exc)))[-1500:]


def _resolve(mod, qualname):
    """The callable the recorder wrapped: for methods the plain function (self/cls are part of the
    recorded arguments), for staticmethods the function itself."""
    owner = mod
    parts = qualname.split(".")
    for name in parts[:-1]:
        owner = getattr(owner, name)
    if isinstance(owner, type):
        for klass in owner.__mro__:
            raw = klass.__dict__.get(parts[-1])
            if raw is not None:
                return raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
    return getattr(owner, parts[-1])


MODULE_STATE = "<module state>"  # the replay job that returns module_state_form instead of calling
_STATE_TYPES = (type(None), bool, int, float, complex, str, bytes, bytearray, list, tuple, dict, set, frozenset)


def _is_state(value, module_name):
    import collections

    return isinstance(value, (_STATE_TYPES, collections.deque)) or type(value).__module__ == module_name


def module_state_form(mod):
    """{name: value form} of the module's data: its global variables and its classes' attributes
    (`Class.attr`) that hold plain data or instances of its own classes — what a call can change
    besides its arguments. Functions, classes, imported modules and library objects are left out."""
    name = mod.__name__
    state = {}
    for key, value in list(vars(mod).items()):
        if key.startswith("__"):
            continue
        if isinstance(value, type) and value.__module__ == name:
            for attr, v in list(vars(value).items()):
                if not attr.startswith("__") and _is_state(v, name):
                    state[f"{key}.{attr}"] = value_form(v)
        elif not isinstance(value, type) and _is_state(value, name):
            state[key] = value_form(value)
    return state


def _fasterpy_replay(qualname, args_pickle, repeats=1, outcome_wanted=True, trace_lines=False):
    """Call the target on the captured arguments; returns builtins only (value forms, runtimes).
    Timing rounds pass outcome_wanted=False: only the runtimes come back. trace_lines=True (never
    for timing) adds "lines": the line numbers of the target's body that the first run executed.
    The qualname MODULE_STATE returns {"state": module_state_form(…)} after the calls before it."""
    mod = _target_module()
    if qualname == MODULE_STATE:
        return {"state": module_state_form(mod), "runtimes": []}
    fn = _resolve(mod, qualname)
    runtimes = []
    outcome = None
    lines = None
    for i in range(max(1, repeats)):
        args, kwargs = pickle.loads(args_pickle)  # fresh arguments each run: calls may mutate them
        tee = io.StringIO()
        old = sys.stdout
        sys.stdout = tee
        exc = None
        result = None
        recorder = LineRecorder(globals().get("_TARGET_PATH"), [qualname]) if trace_lines and i == 0 else None
        old_trace = sys.gettrace()
        if recorder is not None:
            sys.settrace(recorder.global_trace)
        start = time.perf_counter()
        try:
            result = _drain(fn(*args, **kwargs))  # a generator's work happens when it is consumed
        except Exception as e:  # noqa: BLE001 - an exception is an outcome to compare
            exc = e
        finally:
            elapsed = time.perf_counter() - start
            if recorder is not None:
                sys.settrace(old_trace)
                lines = recorder.as_lists()[qualname]
            sys.stdout = old
        runtimes.append(elapsed)
        if i == 0 and not outcome_wanted:
            outcome = {}
        elif i == 0:
            outcome = {
                "result": _result_form(result) if exc is None else None,
                "exception": None if exc is None else (type(exc).__qualname__, str(exc)),
                "traceback": None if exc is None else _user_traceback(exc),
                "args_after": value_form((list(args), kwargs)),
                "stdout": tee.getvalue(),
            }
    outcome["runtimes"] = runtimes
    if lines is not None:
        outcome["lines"] = lines
    return outcome


if __name__ == "__main__":
    main(sys.argv[1])
