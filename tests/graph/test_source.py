"""graph.source: reading and checking the user's file, resolving targets, the function listing, and
splicing (only the target functions and what they newly need change; every other byte stays)."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from graph.source import SpliceError, list_functions, read_source, resolve_targets, splice_functions
from harness.errors import FasterPyError

ORIGINAL = '''\
#!/usr/bin/env python3
"""Module docstring."""
import os  # trailing comment kept
from typing import List

CONST = 3   # odd spacing kept


@decorator(  # multi-line decorator
    arg=1,
)
def untouched(x):
    # a comment inside an untouched function
    return x+1   # no black here


# comment that belongs to slow
def slow(xs: List[int]) -> int:
    """Docstring."""
    total = 0
    for x in xs:
        if x not in []:
            total += x
    return total


class Outer:
    """Class doc."""

    attr = 1

    @staticmethod
    def helper(y):
        return y

    def method(self, n):
        out = ""
        for i in range(n):
            out = out + str(i)
        return out

    class Inner:
        def deep(self):
            return [i for i in range(10)][0]

    def after(self):  # stays
        return   1


if __name__ == "__main__":
    print(slow([1, 2]))
'''

CANDIDATE = '''\
import os
import itertools
from functools import reduce
from collections import Counter

def slow(xs: List[int]) -> int:
    """Docstring."""
    return _fast_sum(xs)

def _fast_sum(xs):
    return sum(itertools.chain(xs))

def unrelated_new_helper():
    return Counter()

class Outer:
    def method(self, n):
        return "".join(map(str, range(n)))

    class Inner:
        def deep(self):
            return 0
'''


def _unchanged_outside(original: str, result: str, spans: list[tuple[int, int]]) -> None:
    """Every original line outside the replaced spans appears, byte for byte and in order."""
    orig_lines = original.splitlines(keepends=True)
    kept = [line for i, line in enumerate(orig_lines, 1) if not any(s <= i <= e for s, e in spans)]
    it = iter(result.splitlines(keepends=True))
    for line in kept:
        for candidate_line in it:
            if candidate_line == line:
                break
        else:
            raise AssertionError(f"line lost or changed: {line!r}")


def test_targets_replaced_everything_else_byte_identical():
    out = splice_functions(ORIGINAL, CANDIDATE, ["slow", "Outer.method", "Outer.Inner.deep"])
    ast.parse(out)
    # slow: lines 19-25 (def..return); method: 37-41; deep: 44-45
    _unchanged_outside(ORIGINAL, out, [(19, 25), (37, 41), (44, 45)])
    assert "return _fast_sum(xs)" in out
    assert '        return "".join(map(str, range(n)))\n' in out  # re-indented into the class
    assert "            return 0\n" in out  # nested class keeps its depth
    assert "def _fast_sum(xs):\n    return sum(itertools.chain(xs))\n" in out
    assert "import itertools\n" in out
    # unused candidate imports/helpers are not dragged in
    assert "reduce" not in out and "Counter" not in out and "unrelated_new_helper" not in out
    # os is already imported: not duplicated
    assert out.count("import os") == 1
    # the new import goes after the import block, the helper above the comment that heads `slow`
    assert out.index("import itertools") < out.index("CONST = 3")
    assert out.index("def _fast_sum") < out.index("# comment that belongs to slow") < out.index("def slow")


def test_exact_expected_output_for_simple_case():
    original = "import math\n\n\ndef f(x):\n    return sum([i for i in x])\n\n\ndef g():\n    return 1\n"
    candidate = "def f(x):\n    return sum(x)\n"
    assert splice_functions(original, candidate, ["f"]) == (
        "import math\n\n\ndef f(x):\n    return sum(x)\n\n\ndef g():\n    return 1\n")


def test_crlf_file_stays_crlf_and_byte_identical_elsewhere():
    original = ORIGINAL.replace("\n", "\r\n")
    out = splice_functions(original, CANDIDATE, ["slow", "Outer.method"])
    assert "\n" not in out.replace("\r\n", "")  # no bare LF crept in
    lf_version = splice_functions(ORIGINAL, CANDIDATE, ["slow", "Outer.method"])
    assert out == lf_version.replace("\n", "\r\n")


def test_no_final_newline_and_bom_preserved():
    original = "\ufeffdef f(x):\n    return [y for y in x][0]"
    out = splice_functions(original, "def f(x):\n    return x[0]\n", ["f"])
    assert out == "\ufeffdef f(x):\n    return x[0]"


def test_decorators_come_from_the_candidate_and_tabs_are_kept():
    original = "class A:\n\t@property\n\tdef v(self):\n\t\treturn sorted(self.xs)[0]\n\n\tdef w(self):\n\t\treturn 2\n"
    candidate = "class A:\n    @property\n    def v(self):\n        return min(self.xs)\n"
    out = splice_functions(original, candidate, ["A.v"])
    assert out == "class A:\n\t@property\n\tdef v(self):\n\t\treturn min(self.xs)\n\n\tdef w(self):\n\t\treturn 2\n"


def test_multiline_strings_are_not_reindented():
    original = "class A:\n    def f(self):\n        return 1\n"
    candidate = 'def f(self):\n    s = """a\nb"""\n    return s\n'  # method answered without its class
    out = splice_functions(original, candidate, ["A.f"])
    assert out == 'class A:\n    def f(self):\n        s = """a\nb"""\n        return s\n'


def test_missing_target_and_bad_candidate_raise_splice_error():
    with pytest.raises(SpliceError, match="does not define 'slow'"):
        splice_functions(ORIGINAL, "def other():\n    pass\n", ["slow"])
    with pytest.raises(SpliceError, match="not defined in the original"):
        splice_functions(ORIGINAL, CANDIDATE, ["nope"])
    with pytest.raises(SpliceError, match="does not parse"):
        splice_functions(ORIGINAL, "def slow(:\n", ["slow"])


def test_new_module_constant_helper_is_added():
    original = "def f(n):\n    return [i * i for i in range(n)]\n"
    candidate = "SQUARES = [i * i for i in range(1000)]\n\ndef f(n):\n    return SQUARES[:n] if n <= 1000 else [i * i for i in range(n)]\n"
    out = splice_functions(original, candidate, ["f"])
    ns: dict = {}
    exec(out, ns)
    assert ns["f"](5) == [0, 1, 4, 9, 16]
    assert out.startswith("SQUARES = ")


def test_two_space_file_gets_two_space_code_and_async_defs_work():
    original = "class A:\n  def f(self, xs):\n    out = []\n    for x in xs:\n      out.append(x)\n    return out\n\n\nasync def g():\n  return sorted([3, 1])[0]\n"
    candidate = "class A:\n    def f(self, xs):\n        if xs:\n            return list(xs)\n        return []\n\nasync def g():\n    return 1\n"
    out = splice_functions(original, candidate, ["A.f", "g"])
    assert out == ("class A:\n  def f(self, xs):\n    if xs:\n      return list(xs)\n    return []\n\n\n"
                   "async def g():\n  return 1\n")


def test_untouched_file_when_candidate_function_is_identical():
    out = splice_functions(ORIGINAL, ORIGINAL, ["slow", "Outer.method", "Outer.Inner.deep"])
    assert out == ORIGINAL
    crlf = ORIGINAL.replace("\n", "\r\n")
    assert splice_functions(crlf, ORIGINAL, ["slow", "Outer.method"]) == crlf


# -- reading, checking and resolving targets ---------------------------------------------------

TARGETS = textwrap.dedent("""
    square = lambda x: x * x

    class Box:
        def size(self):
            return 1

    def f():
        def inner():
            return 2
        return inner()
""")


def test_bad_targets(tmp_path: Path):
    path = tmp_path / "m.py"
    path.write_text(TARGETS)
    source = read_source(path)
    with pytest.raises(FasterPyError, match="is a lambda"):
        resolve_targets(source, ["square"], str(path))
    with pytest.raises(FasterPyError, match="is a class.*Box.size"):
        resolve_targets(source, ["Box"], str(path))
    with pytest.raises(FasterPyError, match="no function named 'nope'.*available functions: Box.size, f"):
        resolve_targets(source, ["nope"], str(path))
    with pytest.raises(FasterPyError, match="'f.inner' is nested inside a function — optimize 'f' instead"):
        resolve_targets(source, ["f.inner"], str(path))
    with pytest.raises(FasterPyError, match="pass -f NAME"):
        resolve_targets(source, [" "], str(path), required=True)


def test_targets_are_canonical_qualnames():
    assert resolve_targets(TARGETS, ["size", "f", "Box.size"]) == ["Box.size", "f"]
    assert resolve_targets(TARGETS, []) == []
    two = "class A:\n    def g(self):\n        pass\n\nclass B:\n    def g(self):\n        pass\n"
    with pytest.raises(FasterPyError, match="'g' is ambiguous — name one of A.g, B.g"):
        resolve_targets(two, ["g"])


def test_bad_files(tmp_path: Path):
    with pytest.raises(FasterPyError, match="no such file"):
        read_source(tmp_path / "missing.py")
    with pytest.raises(FasterPyError, match="does not exist"):
        read_source(tmp_path / "missing.py")
    with pytest.raises(FasterPyError, match="is a directory"):
        read_source(tmp_path)
    bad = tmp_path / "latin1.py"
    bad.write_bytes("def f():\n    return 'caf\xe9'\n".encode("latin-1"))
    with pytest.raises(FasterPyError, match="not UTF-8"):
        read_source(bad)
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n    pass\n")
    with pytest.raises(FasterPyError, match="syntax error at line 1"):
        read_source(broken)
    crlf = tmp_path / "crlf.py"
    crlf.write_bytes(b"\xef\xbb\xbfdef f():\r\n    return 1\r\n")
    assert read_source(crlf) == "\ufeffdef f():\r\n    return 1\r\n"  # exactly as stored


# -- the function listing ----------------------------------------------------------------------

LISTED = (Path(__file__).resolve().parents[1] / "fixtures" / "sample_module.py").read_text(encoding="utf-8")


def test_list_functions_spans_and_flags():
    infos = {f.qualname: f for f in list_functions(LISTED)}
    assert {"target", "target.inner", "Box.get", "Box.__init__", "fetch", "main"} <= set(infos)
    t = infos["target"]
    assert t.decorators == ["lru_cache(maxsize=None)"]
    assert t.start_line == LISTED.splitlines().index("@lru_cache(maxsize=None)") + 1
    assert t.def_line == t.start_line + 1
    assert LISTED.splitlines()[t.end_line - 1].strip().startswith("return sum")
    assert infos["fetch"].is_async and not infos["target"].is_async
    assert infos["Box.get"].is_method and not infos["target.inner"].is_method
    assert infos["target.inner"].parent == "target"


def test_list_functions_survives_a_syntax_error_elsewhere():
    infos = {f.qualname: f for f in list_functions(LISTED + "\ndef broken(:\n    pass\n")}
    assert {"target", "Box.get", "main"} <= set(infos)
