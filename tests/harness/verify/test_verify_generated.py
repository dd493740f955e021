"""Generated inputs (harness/verify/generated.py): inputs derived from the captured calls catch a
candidate that is right on every captured call, in the real sandbox; inputs the original fails on
are dropped; the same seed gives the same inputs; generated_inputs = 0 turns the stage off."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from graph.source import splice_functions
from harness.verify import VerifyConfig, capture_calls, verify_functions
from harness.verify.generated import generate_calls

MODULE = '''\
class Scale:
    def __init__(self, k):
        self.k = k


def total(xs):
    s = 0
    for x in xs:
        s = s + x
    return s


def absval(n):
    if n < 0:
        return -n
    return n


def mean(xs):
    return sum(xs) / len(xs)


def scaled(scale, xs):
    return [scale.k * x for x in xs]


if __name__ == "__main__":
    total(list(range(1, 3000)))
    total([9, 2, 6])
    absval(7)
    absval(12)
    mean([1.0, 2.0, 4.0])
    mean([3.5, 0.5])
    scaled(Scale(3), [1, 2, 3])
'''

FAST = VerifyConfig(repeats=2, max_repeats=2, timeout_s=5)
TARGETS = ["total", "absval", "mean", "scaled"]


@pytest.fixture(scope="module")
def module(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("generated") / "nums.py"
    path.write_text(MODULE)
    return path


@pytest.fixture(scope="module")
def captured(module: Path):
    return capture_calls(module, TARGETS)


def verify(module: Path, captured, candidate: str, target: str, config: VerifyConfig = FAST):
    sub = type(captured)(path=captured.path, targets=[target], calls={target: captured.calls[target]},
                         seen=captured.seen)
    spliced = splice_functions(MODULE, textwrap.dedent(candidate), [target])
    return verify_functions(module, MODULE, spliced, [target], sub, config)


WRONG_ON_EMPTY = """
    def total(xs):
        return sum(xs) if xs else -1
"""


def test_candidate_wrong_only_on_the_empty_list_is_rejected_with_the_input(module, captured):
    v = verify(module, captured, WRONG_ON_EMPTY, "total")
    assert v.status == "wrong_output", v.feedback
    assert "total([])" in v.feedback and "generated from the captured ones" in v.feedback
    assert "expected: 0" in v.feedback and "got:      -1" in v.feedback
    assert v.tests_passed == v.tests_total == 2  # every captured call passed
    assert v.details["generated"]["ran"] >= 1


def test_candidate_wrong_only_on_negative_numbers_is_rejected(module, captured):
    # captured: 7 and 12 only; the edges of that range include 0 and -1
    v = verify(module, captured, """
        def absval(n):
            return n
    """, "absval")
    assert v.status == "wrong_output", v.feedback
    assert "absval(-1)" in v.feedback and "expected: 1" in v.feedback


def test_user_class_argument_is_kept_as_captured_while_the_list_varies(module, captured):
    v = verify(module, captured, """
        def scaled(scale, xs):
            return [scale.k * x for x in xs] or None
    """, "scaled")
    assert v.status == "wrong_output", v.feedback
    assert "scaled(<argument 0 of captured call #1>, [])" in v.feedback


def test_correct_candidate_is_still_accepted(module, captured):
    v = verify(module, captured, """
        def total(xs):
            return sum(xs)
    """, "total", VerifyConfig(repeats=4, max_repeats=8, timeout_s=5))
    assert v.status == "accepted", v.feedback
    gen = v.details["generated"]
    assert gen["ran"] == gen["passed"] >= 10 and gen["dropped"] == 0


def test_inputs_the_original_raises_on_are_dropped(module, captured):
    # mean([]) raises ZeroDivisionError in the original: the candidate may do anything there
    v = verify(module, captured, """
        def mean(xs):
            return sum(xs) / len(xs) if xs else 0.0
    """, "mean")
    assert v.status in ("accepted", "slower"), v.feedback
    gen = v.details["generated"]
    assert gen["dropped"] >= 1 and gen["ran"] == gen["passed"] >= 1


def test_disabled_generation_keeps_the_old_behaviour(module, captured):
    v = verify(module, captured, WRONG_ON_EMPTY, "total", VerifyConfig(repeats=2, max_repeats=2, timeout_s=5,
                                                                       generated_inputs=0))
    assert v.status in ("accepted", "slower"), v.feedback  # right on every captured call
    assert v.details["generated"]["ran"] == 0 and "disabled" in v.details["generated"]["skipped"]


def test_same_seed_gives_the_same_inputs_covering_the_edges(captured):
    calls = captured.calls["total"]
    first = generate_calls(calls, 30, seed=0)
    assert [g.args for g in first] == [g.args for g in generate_calls(calls, 30, seed=0)]
    assert [g.args for g in first] != [g.args for g in generate_calls(calls, 30, seed=1)]
    assert len(first) == 30 and len({g.args for g in first}) == 30
    values = [pickle.loads(g.args)[0][0] for g in first]  # plain data only: safe to load here
    assert [] in values and any(-1 in xs for xs in values)  # empty, and a number below the range seen
    assert any(len(xs) >= 2 and xs[-1] == xs[0] for xs in values)  # a duplicate at the end
    assert all(len(xs) <= 2999 + 9 for xs in values)
    assert all(len(g.label) <= 300 for g in first)
    assert generate_calls(calls, 0, seed=0) == []
