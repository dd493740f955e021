"""Function mode: a module imported from text in the sandbox, called with pickled arguments."""

from __future__ import annotations

import pytest

from harness.errors import FasterPyError
from harness.function import OpaqueObject, Unpicklable, call_function, safe_loads

SOURCE = '''
import dataclasses

@dataclasses.dataclass
class Point:
    x: int
    y: int

class Acc:
    def __init__(self):
        self.items = []
    def add(self, v):
        self.items.append(v)
        return len(self.items)
    @staticmethod
    def twice(v):
        return 2 * v

CALLS = 0

def total(xs):
    global CALLS
    CALLS += 1
    print("summing", len(xs))
    xs.append(99)
    return sum(xs), CALLS

def boom(a):
    raise ValueError(f"bad {a}")

def make_point(a):
    return Point(a, a + 1)

def norm(p):
    return p.x * p.x + p.y * p.y

def gen():
    return (i for i in range(3))

def spin():
    while True:
        pass

def leaky():
    import math
    math.pi = 3
    return math.pi
'''


def test_result_stdout_mutation_and_runtimes(pool):
    outs = call_function(SOURCE, "total", [(([1, 2, 3],), {}), (([],), {})], pool=pool, repeats=3)
    first, second = outs
    assert first.ok and first.result == (105, 1)
    assert first.stdout == "summing 3\n"
    assert first.args_after == (([1, 2, 3, 99],), {})  # the argument was mutated in place
    assert second.result == (99, 2)  # calls share the module, like one program run
    assert len(first.runtimes) == 3 and all(t > 0 for t in first.runtimes)


def test_exception_is_returned_with_traceback(pool):
    [out] = call_function(SOURCE, "boom", [((5,), {})], pool=pool)
    assert out.status == "exception" and out.result is None
    assert out.exception.type == "ValueError" and out.exception.message == "bad 5"
    assert "in boom" in out.exception.traceback


def test_methods_static_methods_and_module_classes(pool):
    [out] = call_function(SOURCE, "Acc.twice", [((21,), {})], pool=pool)
    assert out.result == 42
    [pt] = call_function(SOURCE, "make_point", [((5,), {})], pool=pool)
    assert isinstance(pt.result, OpaqueObject)  # the caller never imports the sandboxed class
    assert pt.result == call_function(SOURCE, "make_point", [((5,), {})], pool=pool)[0].result
    assert pt.result != call_function(SOURCE, "make_point", [((6,), {})], pool=pool)[0].result
    assert pt.result_repr == "Point(x=5, y=6)"


def test_arguments_of_the_modules_own_classes_resolve_inside(pool, tmp_path):
    # A class pickled as __main__.Point (how a traced script sees it) is rebuilt from the sandboxed module.
    path = tmp_path / "geo.py"
    path.write_text(SOURCE)
    import sys
    import types

    main = types.ModuleType("__main__")
    saved = sys.modules["__main__"]
    try:
        sys.modules["__main__"] = main
        exec(compile(SOURCE, str(path), "exec"), main.__dict__)
        point = main.Point(3, 4)
        outs = call_function(SOURCE, "norm", [((point,), {})], pool=pool, path=path)
    finally:
        sys.modules["__main__"] = saved
    assert outs[0].result == 25, outs[0]


def test_unpicklable_arguments_raise_a_clear_error(pool):
    with pytest.raises(FasterPyError, match="cannot be pickled"):
        call_function(SOURCE, "total", [((lambda: 1,), {})], pool=pool)


def test_unpicklable_result_raises_or_is_marked(pool):
    with pytest.raises(FasterPyError, match="cannot be pickled"):
        call_function(SOURCE, "gen", [((), {})], pool=pool)
    [out] = call_function(SOURCE, "gen", [((), {})], pool=pool, on_unpicklable="marker")
    assert isinstance(out.result, Unpicklable) and out.result.type == "generator"


def test_hanging_call_times_out_and_later_calls_are_not_run(pool):
    outs = call_function(SOURCE, "spin", [((), {}), ((), {})], pool=pool)
    assert [o.status for o in outs] == ["timeout", "not_run"]


def test_import_errors_and_missing_names(pool):
    outs = call_function("def f(:\n", "f", [((), {})], pool=pool)
    assert outs[0].status == "import_error" and outs[0].exception.type == "SyntaxError"
    outs = call_function(SOURCE, "nope", [((), {})], pool=pool)
    assert outs[0].status == "import_error" and outs[0].exception.type == "AttributeError"
    with pytest.raises(FasterPyError):
        call_function(SOURCE, "not a name", [((), {})], pool=pool)


def test_module_patches_do_not_leak_between_calls_of_call_function(pool):
    for _ in range(pool.size * 2):
        assert call_function(SOURCE, "leaky", [((), {})], pool=pool)[0].result == 3
    [out] = call_function("import math\ndef pi():\n    return math.pi\n", "pi", [((), {})], pool=pool)
    assert out.result == pytest.approx(3.14159, abs=1e-4)


def test_safe_unpickler_never_runs_code():
    import pickle

    class Evil:
        def __reduce__(self):
            import os

            return (os.system, ("echo pwned",))

    blob = pickle.dumps(Evil())
    value = safe_loads(blob)
    assert isinstance(value, OpaqueObject)  # os.system became an inert stand-in


def test_a_modules_standard_library_imports_are_warmed_in_the_worker():
    from harness.limits import Limits
    from harness.pool import WorkerPool

    probe = "import sys\n\ndef loaded(names):\n    return [n for n in names if n in sys.modules]\n"
    wanted = ["dataclasses", "tomllib", "this"]
    user = ("import dataclasses\ntry:\n    import tomllib\nexcept ImportError:\n    tomllib = None\n"
            "import this  # prints the Zen of Python on import\n\ndef f():\n    return 1\n")
    with WorkerPool(workers=1, limits=Limits(timeout_s=10)) as pool:
        [before] = call_function(probe, "loaded", [((wanted,), {})], pool=pool)
        assert before.ok and before.result == []
        [out] = call_function(user, "f", [((), {})], pool=pool)
        assert out.ok and out.result == 1
        [after] = call_function(probe, "loaded", [((wanted,), {})], pool=pool)
        # the worker imported the stdlib modules the user's module needs, but never one that acts
        # on import (`this` was imported by the module itself, in its own child only)
        assert after.result == ["dataclasses", "tomllib"]
