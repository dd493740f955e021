"""Eq. 2–7 on hand-computed examples."""

from __future__ import annotations

import pytest

from harness.correctness import accuracy, is_correct, lines_match
from harness.metrics import Sample, compute_metrics, is_optimized
from harness.program import eq2_mean


def test_eq2_drops_warmup_runs():
    assert eq2_mean([10.0, 1.0, 2.0, 3.0], drop=1) == pytest.approx(2.0)
    assert eq2_mean([4.0, 2.0], drop=0) == pytest.approx(3.0)
    assert eq2_mean([5.0], drop=1) is None


def test_eq3_line_accuracy_with_numeric_tolerance():
    assert accuracy("1\n2\n3\n", "1\n2\n3") == 1.0
    assert accuracy("1\n2\n3\n4\n", "1\n0\n3\n") == pytest.approx(2 / 4)  # a missing line counts as wrong
    assert accuracy("0.3333333\n", "0.33333\n") == 1.0  # |a-b| < 1e-3
    assert accuracy("0.5\n", "0.502\n") == 0.0  # 2e-3 is too far
    assert accuracy("1.0\n", "1\n") == 1.0  # numerically equal
    assert accuracy("Yes\n", "yes\n") == 0.0  # text is compared exactly
    assert accuracy("a b\nc\n", "a b \nc\n") == 0.5  # like PIE: only the text's ends are stripped
    assert accuracy("", "") == 1.0 and accuracy("", "x") == 0.0
    # PIE ignores extra lines after the expected ones; strict mode counts them.
    assert accuracy("1\n", "1\n2\n") == 1.0
    assert accuracy("1\n", "1\n2\n", strict=True) == pytest.approx(0.5)
    assert lines_match("nan", "nan") and not lines_match("inf", "x")
    assert is_correct("\n3\n\n", "3")


def _s(o, m, model_ok=True, origin_ok=True, evaluable=True, pid="p"):
    return Sample(pid, o, origin_ok, m, model_ok, evaluable)


def test_eq4_to_7_hand_computed():
    samples = [
        _s(10.0, 5.0),  # correct, 2x faster → optimized
        _s(10.0, 9.5),  # correct, only 5% faster → not optimized (9.5 * 1.1 = 10.45)
        _s(4.0, 8.0),  # correct but slower
        _s(6.0, None, model_ok=False),  # wrong output
        _s(None, None, origin_ok=False, model_ok=False),  # original fails its tests: not scored
        _s(None, None, evaluable=False, model_ok=False),  # no tests: not scored
    ]
    m = compute_metrics(samples)
    assert m.rows == 6 and m.evaluable == 4 and m.correct == 3 and m.optimized == 1
    assert m.pass_at_1 == pytest.approx(3 / 4)  # Eq. 5
    assert m.runtime_mean_model == pytest.approx((5.0 + 9.5 + 8.0) / 3)  # Eq. 4 over correct samples
    assert m.runtime_mean_origin == pytest.approx((10.0 + 10.0 + 4.0) / 3)  # same samples
    assert m.speedup == pytest.approx(24.0 / 22.5)  # Eq. 6
    assert m.pct_opt == pytest.approx(1 / 4)  # Eq. 7 over scored samples
    assert m.pie_pct_opt == pytest.approx(1 / 6)  # PIE: over every row
    assert m.pie_speedup == pytest.approx((2.0 + 1 + 1 + 1 + 1 + 1) / 6)  # non-optimized rows count 1.0


def test_opt_threshold_is_strict():
    assert is_optimized(_s(11.0, 9.0))  # 9.9 < 11
    assert not is_optimized(_s(9.9, 9.0))  # 9.9 == 9.9 is not faster by 10%
    assert not is_optimized(_s(100.0, 1.0, model_ok=False))


def test_empty_sets_give_none_not_errors():
    m = compute_metrics([])
    assert m.pass_at_1 is None and m.speedup is None and m.pie_pct_opt is None
    m = compute_metrics([_s(1.0, None, model_ok=False)])
    assert m.pass_at_1 == 0.0 and m.runtime_mean_model is None and m.speedup is None
