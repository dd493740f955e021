"""Coverage of the evidence: the share of the original target's lines the checks execute — captured
calls replayed under the line tracer, and the user's tests (--test-cmd) traced against the original;
`min_coverage` turns thin evidence into a rejection."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from graph.source import splice_functions
from harness.verify import VerifyConfig, capture_calls, verify_functions, verify_program
from harness.verify._tracer import LineRecorder
from harness.verify.coverage import LineCoverage, body_lines

# `key` is never passed by the driver: the planted untested branch.
MODULE = '''\
import random


def dedupe(xs, key=None):
    """Distinct items in first-seen order (by `key` when given)."""
    out = []
    if key is not None:
        seen = set()
        for x in xs:
            k = key(x)
            if k not in seen:
                seen.add(k)
                out.append(x)
        return out
    for x in xs:
        if x not in out:
            out.append(x)
    return out


def clamp(x, lo, hi):
    if x < lo:
        return lo
    if x > hi:
        return hi
    return x


if __name__ == "__main__":
    rng = random.Random(0)
    for n in (10, 300, 1500):
        dedupe([rng.randrange(n) for _ in range(n)])
    for x in (-5, 5, 50):
        clamp(x, 0, 10)
'''

FAST_DEDUPE = '''
def dedupe(xs, key=None):
    if key is not None:
        seen = set()
        out = []
        for x in xs:
            k = key(x)
            if k not in seen:
                seen.add(k)
                out.append(x)
        return out
    return list(dict.fromkeys(xs))
'''

CLAMP = "def clamp(x, lo, hi):\n    return lo if x < lo else hi if x > hi else x\n"

TESTS = '''\
from mod import dedupe


def test_key():
    assert dedupe(["a", "A", "b"], key=str.lower) == ["a", "b"]
'''

CFG = dict(repeats=4, max_repeats=8, timeout_s=5)


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    root = tmp_path / "proj"
    (root / "tests").mkdir(parents=True)
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\n")
    (root / "mod.py").write_text(MODULE)
    (root / "tests" / "test_mod.py").write_text(TESTS)
    return root


@pytest.fixture()
def captured(project: Path):
    return capture_calls(project / "mod.py", ["dedupe", "clamp"])


def _line_of(text: str, source: str = MODULE) -> int:
    return next(i for i, line in enumerate(source.splitlines(), 1) if line.strip() == text)


def test_body_lines_skip_def_docstring_and_decorators():
    src = textwrap.dedent('''\
        import functools


        @functools.lru_cache(None)
        def f(n):
            """doc"""
            global G
            total = (n +
                     1)
            return [i for i in range(total)]
        ''')
    assert body_lines(src, "/x/m.py", "f") == {8, 10}  # `global` has no code; 9 continues line 8
    assert body_lines(src, "/x/m.py", "missing") == set()


def test_planted_untested_branch_is_below_100_and_named_while_full_use_is_100():
    path = "/tmp/fasterpy_cov_mod.py"
    code = compile(MODULE, path, "exec")
    ns: dict = {"__name__": "m"}
    exec(code, ns)
    rec = LineRecorder(path, ["dedupe", "clamp"])
    old = sys.gettrace()
    sys.settrace(rec.global_trace)
    try:
        ns["dedupe"]([3, 1, 3])
        for x in (-5, 5, 50):
            ns["clamp"](x, 0, 10)
    finally:
        sys.settrace(old)
    cov = LineCoverage.of(MODULE, path, ["dedupe"])
    cov.add_all(rec.lines, "checked inputs")
    assert cov.fraction is not None and cov.fraction < 1.0
    assert _line_of("seen = set()") in cov.missing()["dedupe"]
    assert "seen = set()" in cov.describe_missing(MODULE)
    full = LineCoverage.of(MODULE, path, ["clamp"])
    full.add_all(rec.lines, "checked inputs")
    assert full.fraction == 1.0 and full.missing() == {}


def test_replayed_calls_measure_coverage_and_min_coverage_rejects(project: Path, captured):
    path = project / "mod.py"
    spliced = splice_functions(MODULE, FAST_DEDUPE, ["dedupe"])
    v = verify_functions(path, MODULE, spliced, ["dedupe"], captured, VerifyConfig(**CFG))
    assert v.status == "accepted", v.feedback
    assert v.coverage is not None and 0 < v.coverage < 0.6 and v.thin_evidence
    assert v.checks >= v.tests_passed > 0  # captured calls, and the generated inputs that were checked
    cov = v.details["coverage"]
    assert _line_of("seen = set()") in cov["missing"]["dedupe"] and cov["sources"] == ["checked inputs"]
    assert "% of lines (thin evidence)" in v.describe()

    strict = verify_functions(path, MODULE, spliced, ["dedupe"], captured, VerifyConfig(**CFG, min_coverage=0.9))
    assert strict.status == "thin_evidence" and not strict.accepted
    assert "seen = set()" in strict.feedback and f"line {_line_of('seen = set()')}" in strict.feedback
    lower = verify_functions(path, MODULE, spliced, ["dedupe"], captured, VerifyConfig(**CFG, min_coverage=0.3))
    assert lower.status == "accepted", lower.feedback

    whole = verify_functions(path, MODULE, splice_functions(MODULE, CLAMP, ["clamp"]), ["clamp"], captured,
                             VerifyConfig(repeats=2, max_repeats=2, threshold=0.01))
    assert whole.status in ("accepted", "slower"), whole.feedback
    assert whole.coverage == 1.0 and not whole.thin_evidence


def test_the_users_tests_add_the_lines_they_run(project: Path, captured):
    path = project / "mod.py"
    spliced = splice_functions(MODULE, FAST_DEDUPE, ["dedupe"])
    v = verify_functions(path, MODULE, spliced, ["dedupe"], captured,
                         VerifyConfig(**CFG, test_cmd="python -m pytest -q tests", min_coverage=1.0))
    assert v.status == "accepted", v.feedback
    assert v.coverage == 1.0 and v.details["coverage"]["sources"] == ["checked inputs", "tests"]
    assert not (project / "lines").exists() and not list(project.rglob("sitecustomize.py"))


PROGRAM_SRC = '''\
import sys
n = int(sys.stdin.readline())
if n < 0:
    print("negative")
else:
    total = 0
    for i in range(n):
        total += i * i
    print(total)
'''

PROGRAM_FAST = '''\
import sys
n = int(sys.stdin.readline())
if n < 0:
    print("negative")
else:
    print((n - 1) * n * (2 * n - 1) // 6)
'''


def test_program_mode_measures_the_whole_programs_lines():
    inputs = ["1000000\n", "700000\n"]
    v = verify_program(PROGRAM_SRC, PROGRAM_FAST, inputs, None, VerifyConfig(**CFG))
    assert v.status == "accepted", v.feedback
    assert v.coverage is not None and 0.8 < v.coverage < 1.0
    assert v.details["coverage"]["missing"] == {"program": [4]}  # print("negative"): no input is negative
    strict = verify_program(PROGRAM_SRC, PROGRAM_FAST, inputs, None, VerifyConfig(**CFG, min_coverage=0.95))
    assert strict.status == "thin_evidence" and 'program, line 4: print("negative")' in strict.feedback
