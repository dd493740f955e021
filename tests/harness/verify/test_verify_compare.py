"""harness.compare on synthetic runtimes: clear speedups are accepted, noise is not."""

from __future__ import annotations

import numpy as np
import pytest

from harness.compare import SpeedupEstimate, bootstrap_speedup, compare_runtimes


def test_clear_speedup_is_accepted_with_interval_around_it():
    rng = np.random.default_rng(1)
    a = 0.100 * (1 + 0.05 * rng.standard_normal(12))
    b = 0.050 * (1 + 0.05 * rng.standard_normal(12))
    est = bootstrap_speedup(a, b, threshold=1.1)
    assert est.accepted
    assert est.low <= est.speedup <= est.high
    assert 1.8 < est.low and est.high < 2.2
    assert "CI" in est.describe() and "×" in est.describe()


def test_pure_noise_is_rejected():
    rng = np.random.default_rng(2)
    a = 0.1 * (1 + 0.15 * rng.standard_normal(10))
    b = 0.1 * (1 + 0.15 * rng.standard_normal(10))
    est = bootstrap_speedup(a, b, threshold=1.1)
    assert not est.accepted
    assert est.low < 1.0 < est.high


def test_small_real_gain_below_threshold_is_rejected():
    # 5% faster, very low noise: real, but not the 1.1x asked for
    a = np.full(10, 0.105) + np.linspace(0, 1e-4, 10)
    b = np.full(10, 0.100) + np.linspace(0, 1e-4, 10)
    assert not bootstrap_speedup(a, b, threshold=1.1).accepted
    assert bootstrap_speedup(a, b, threshold=1.02).accepted  # the threshold is configurable


def test_one_noisy_outlier_does_not_buy_acceptance():
    a = [0.1] * 9 + [2.0]  # one hiccup of the original
    b = [0.1] * 10
    assert not bootstrap_speedup(a, b, statistic="median").accepted
    # the mean is pulled up, but the interval shows how fragile it is
    est = bootstrap_speedup(a, b, statistic="mean")
    assert est.low < 1.1 or not est.accepted


def test_paired_rounds_cancel_shared_drift():
    drift = np.linspace(1.0, 3.0, 10)  # the machine slows down during the measurement
    a = 0.12 * drift
    b = 0.10 * drift
    est = bootstrap_speedup(a, b, threshold=1.1)
    assert est.accepted and est.speedup == pytest.approx(1.2)


def test_single_sample_never_accepted_and_bad_input_rejected():
    assert not bootstrap_speedup([1.0], [0.1]).accepted
    with pytest.raises(ValueError):
        bootstrap_speedup([], [0.1])
    with pytest.raises(ValueError):
        bootstrap_speedup([float("nan"), 1.0], [0.1, 0.1])


def test_compare_runtimes_interleaves_and_extends_when_undecided():
    order: list[str] = []
    rng = np.random.default_rng(3)

    def run_a() -> float:
        order.append("a")
        return 0.10 * (1 + 0.02 * rng.standard_normal())

    def run_b() -> float:
        order.append("b")
        return 0.05 * (1 + 0.02 * rng.standard_normal())

    est = compare_runtimes(run_a, run_b, repeats=4, threshold=1.1, warmup=1)
    assert isinstance(est, SpeedupEstimate) and est.accepted
    assert len(est.samples_a) == 4
    # warm-up round, then A B, B A, A B, B A
    assert order == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]

    calls = {"n": 0}

    def borderline_a() -> float:
        calls["n"] += 1
        return 0.11 * (1 + 0.2 * rng.standard_normal())

    def borderline_b() -> float:
        return 0.10 * (1 + 0.2 * rng.standard_normal())

    est = compare_runtimes(borderline_a, borderline_b, repeats=4, max_repeats=16, warmup=0)
    assert len(est.samples_a) > 4  # straddling the threshold buys more rounds
    assert len(est.samples_a) <= 16


def test_compare_runtimes_times_runs_that_return_none():
    import time

    est = compare_runtimes(lambda: time.sleep(0.004), lambda: None, repeats=3, warmup=0)
    assert est.runtime_a > est.runtime_b


def test_few_noisy_rounds_get_a_wide_interval():
    # 4 rounds that happen to favour B by ~15% under heavy noise: the bootstrap alone would accept.
    a = [0.118, 0.101, 0.125, 0.112]
    b = [0.100, 0.092, 0.104, 0.099]
    est = bootstrap_speedup(a, b, threshold=1.1)
    assert not est.accepted
    assert est.low < 1.1 < est.speedup


def test_t_quantile_matches_table_and_series():
    from harness.compare import t_quantile

    assert t_quantile(0.95, 3) == pytest.approx(3.182)
    assert t_quantile(0.95, 100) == pytest.approx(1.984, abs=2e-3)
    assert t_quantile(0.90, 10) == pytest.approx(1.812, abs=0.02)
