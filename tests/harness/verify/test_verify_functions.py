"""verify_functions: captured calls replayed on the spliced candidate in the real sandbox (the test
splices, as the pipeline does, with graph.source.splice_functions)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from graph.source import SpliceError, splice_functions
from harness.verify import VerifyConfig, capture_calls, verify_functions

MODULE = '''\
import random


def dedupe(xs):
    """Distinct items in first-seen order."""
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


def normalize(v):
    """Scale v in place so it sums to 1."""
    s = sum(v)
    for i in range(len(v)):
        v[i] = v[i] / s


def safe_ratio(a, b):
    return a / b


def report(xs):
    for x in xs[:3]:
        print("item", x)
    return len(xs)


def jitter(x):
    return x + random.random()


if __name__ == "__main__":
    rng = random.Random(0)
    for n in (10, 300, 1500):
        data = [rng.randrange(n) for _ in range(n)]
        dedupe(data)
        normalize([float(x + 1) for x in data])
        report(data)
        jitter(n)
    safe_ratio(3, 4)
    try:
        safe_ratio(1, 0)
    except ZeroDivisionError:
        pass
'''

FAST = VerifyConfig(repeats=4, max_repeats=8, timeout_s=5)


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    path = tmp_path_factory.mktemp("fmode") / "lib.py"
    path.write_text(MODULE)
    return path, MODULE


@pytest.fixture(scope="module")
def captured(module):
    path, _ = module
    return capture_calls(path, ["dedupe", "normalize", "safe_ratio", "report", "jitter"])


def verify(module, captured, candidate: str, targets: list[str], config: VerifyConfig = FAST):
    path, source = module
    sub = type(captured)(path=captured.path, targets=targets,
                         calls={t: captured.calls[t] for t in targets}, seen=captured.seen)
    spliced = splice_functions(source, textwrap.dedent(candidate), targets)
    return verify_functions(path, source, spliced, targets, sub, config)


def test_correct_faster_candidate_is_accepted_and_spliced(module, captured):
    v = verify(module, captured, """
        def dedupe(xs):
            return list(dict.fromkeys(xs))
    """, ["dedupe"])
    assert v.status == "accepted", v.feedback
    assert v.speedup > 1.1 and v.ci_low >= 1.1 and v.ci_low <= v.speedup <= v.ci_high
    assert v.tests_passed == v.tests_total == 3
    assert v.runtime_before > v.runtime_after > 0
    spliced = v.details["spliced_source"]
    assert "return list(dict.fromkeys(xs))" in spliced and "def normalize(v):" in spliced


def test_unchanged_code_is_not_accepted_as_faster(module, captured):
    v = verify(module, captured, MODULE, ["dedupe"])
    assert v.status == "slower"
    assert "correct but not faster" in v.feedback and "CI" in v.feedback


def test_wrong_result_is_rejected_with_expected_and_got(module, captured):
    v = verify(module, captured, """
        def dedupe(xs):
            return sorted(set(xs))
    """, ["dedupe"])
    assert v.status == "wrong_output"
    assert "expected:" in v.feedback and "got:" in v.feedback and "first difference at [" in v.feedback


def test_exception_is_rejected_with_traceback_tail(module, captured):
    v = verify(module, captured, """
        def dedupe(xs):
            seen = {}
            return [seen[x] for x in xs]
    """, ["dedupe"])
    assert v.status == "exception"
    assert "KeyError" in v.feedback and "seen[x]" in v.feedback  # the candidate's own line is quoted


def test_different_exception_type_is_rejected(module, captured):
    v = verify(module, captured, """
        def safe_ratio(a, b):
            if b == 0:
                raise ValueError("b is zero")
            return a / b
    """, ["safe_ratio"])
    assert v.status == "exception" and "ValueError" in v.feedback and "raises ZeroDivisionError" in v.feedback


def test_missing_mutation_is_rejected(module, captured):
    v = verify(module, captured, """
        def normalize(v):
            s = sum(v)
            scaled = [x / s for x in v]  # computed, but v is never updated
    """, ["normalize"])
    assert v.status == "wrong_output"
    assert "changes its arguments in place" in v.feedback


def test_extra_mutation_is_rejected(module, captured):
    v = verify(module, captured, """
        def dedupe(xs):
            out = list(dict.fromkeys(xs))
            xs.clear()
            return out
    """, ["dedupe"])
    assert v.status == "wrong_output"
    assert "leaves its arguments unchanged" in v.feedback


def test_stdout_difference_is_rejected(module, captured):
    v = verify(module, captured, """
        def report(xs):
            return len(xs)
    """, ["report"])
    assert v.status == "wrong_output" and "prints different output" in v.feedback and "-item" in v.feedback


def test_timeout_is_rejected(module, captured):
    v = verify(module, captured, """
        def dedupe(xs):
            while True:
                pass
    """, ["dedupe"], VerifyConfig(repeats=2, max_repeats=2, timeout_s=2))
    assert v.status == "timeout" and "timed out" in v.feedback


def test_no_code_missing_function_and_syntax_error(module, captured):
    path, source = module
    assert verify_functions(path, source, "   ", ["dedupe"], captured, FAST).status == "no_code"
    # the caller splices: a candidate without the target is refused there, before any verification
    with pytest.raises(SpliceError, match="does not define 'dedupe'"):
        splice_functions(source, "def other():\n    return 1\n", ["dedupe"])
    broken = source.replace("def dedupe(xs):", "def dedupe(xs:")
    v = verify_functions(path, source, broken, ["dedupe"], captured, FAST)
    assert v.status == "exception" and "SyntaxError" in v.feedback


def test_nondeterministic_target_cannot_be_verified(module, captured):
    v = verify(module, captured, """
        def jitter(x):
            return x + random.random()
    """, ["jitter"])
    assert v.status == "error" and "different result each time" in v.feedback


def test_method_target_with_driver_script_and_user_classes(tmp_path: Path):
    import shutil

    inv = tmp_path / "inventory"
    shutil.copytree(Path(__file__).resolve().parents[3] / "data" / "examples" / "inventory", inv)
    cap = capture_calls(inv / "inventory.py", ["Inventory.restock_list"], driver="python bench.py", cwd=inv)
    source = (inv / "inventory.py").read_text()
    candidate = (inv / "restock_list_fast.py").read_text()  # the reference faster method
    good = splice_functions(source, candidate, ["Inventory.restock_list"])
    v = verify_functions(inv / "inventory.py", source, good, ["Inventory.restock_list"], cap, FAST)
    assert v.status == "accepted", v.feedback
    bad = candidate.replace("remaining[sku] -= qty", "remaining[sku] -= qty\n            self.items[0].qty = -1")
    bad = splice_functions(source, bad, ["Inventory.restock_list"])
    v = verify_functions(inv / "inventory.py", source, bad, ["Inventory.restock_list"], cap, FAST)
    assert v.status == "wrong_output" and "positional argument [0]" in v.feedback


def test_hash_order_dependent_results_compare_under_one_seed(tmp_path: Path):
    # list(set(strings)) depends on the interpreter's hash seed, which differs between the driver and
    # the sandbox; original and candidate must still be compared under the same one.
    path = tmp_path / "words.py"
    path.write_text(textwrap.dedent('''
        def distinct_words(text):
            seen = []
            for w in text.split():
                if w not in seen:
                    seen.append(w)
            return list(set(seen))

        if __name__ == "__main__":
            distinct_words("the quick brown fox jumps over the lazy dog " * 50)
    '''))
    cap = capture_calls(path, ["distinct_words"])
    good = splice_functions(path.read_text(), "def distinct_words(text):\n    return list(set(text.split()))\n",
                            ["distinct_words"])
    v = verify_functions(path, path.read_text(), good, ["distinct_words"], cap, VerifyConfig(repeats=2, max_repeats=2, threshold=1.0))
    assert v.status in ("accepted", "slower"), v.feedback
    assert v.tests_passed == 1 and "nondeterministic_calls" not in v.details


def test_module_inside_a_package_keeps_its_relative_imports(tmp_path: Path):
    pkg = tmp_path / "proj" / "mypkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "helpers.py").write_text("def weight(x):\n    return x % 7\n")
    (pkg / "scoring.py").write_text(textwrap.dedent('''
        from .helpers import weight


        def score(xs):
            total = 0
            for i in range(len(xs)):
                total = total + weight(xs[i])
            return total
    '''))
    (tmp_path / "proj" / "bench.py").write_text("from mypkg.scoring import score\nprint(score(list(range(5000))))\n")
    cap = capture_calls(pkg / "scoring.py", ["score"], driver="python bench.py", cwd=tmp_path / "proj")
    assert cap.module_name == "mypkg.scoring"
    good = splice_functions((pkg / "scoring.py").read_text(), "def score(xs):\n    return sum(map(weight, xs))\n", ["score"])
    v = verify_functions(pkg / "scoring.py", (pkg / "scoring.py").read_text(), good, ["score"], cap,
                         VerifyConfig(repeats=2, max_repeats=2, threshold=1.0))
    assert v.status in ("accepted", "slower"), v.feedback
    assert v.tests_passed == 1


MEAN = '''\
def mean(xs):
    total = 0.0
    for x in xs:
        total += x
    return total / len(xs)


if __name__ == "__main__":
    mean([1 + i / 1000 for i in range(2000)])
'''


def test_float_results_compare_within_the_tolerance_and_the_config_key_sets_it(tmp_path: Path):
    # A result off by a tenth of the tolerance is the same result; off by ten times it, a wrong one.
    # The user's `float_tolerance` reaches the check through the pipeline's own VerifyConfig.
    from graph.config import FasterPyConfig
    from graph.pipeline.context import RunContext
    from harness.verify.equality import FLOAT_TOLERANCE

    path = tmp_path / "stats.py"
    path.write_text(MEAN)
    cap = capture_calls(path, ["mean"])
    quick = dict(repeats=2, max_repeats=2, threshold=1.0)

    def check(factor: float, config: VerifyConfig):
        candidate = f"def mean(xs):\n    return sum(xs) / len(xs) * (1 + {factor!r})\n"
        return verify_functions(path, MEAN, splice_functions(MEAN, candidate, ["mean"]), ["mean"], cap, config)

    assert VerifyConfig().tolerance().rel == VerifyConfig().tolerance().abs == FasterPyConfig().float_tolerance
    inside = check(FLOAT_TOLERANCE / 10, VerifyConfig(**quick))
    assert inside.status in ("accepted", "slower") and inside.tests_passed == inside.tests_total == 1, inside.feedback
    outside = check(FLOAT_TOLERANCE * 10, VerifyConfig(**quick))
    assert outside.status == "wrong_output" and "expected:" in outside.feedback, outside.feedback
    wider = RunContext().verify_config(FasterPyConfig(float_tolerance=FLOAT_TOLERANCE * 100))
    assert wider.tolerance().rel == wider.tolerance().abs == FLOAT_TOLERANCE * 100
    widened = check(FLOAT_TOLERANCE * 10, VerifyConfig.of({**vars(wider), **quick}))
    assert widened.status in ("accepted", "slower"), widened.feedback
