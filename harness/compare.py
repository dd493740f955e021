"""Deciding whether a candidate is faster *beyond noise*.

Runs of the original (A) and the candidate (B) are interleaved — A B, B A, A B, … — so slow drifts of
the machine (frequency scaling, a neighbour's build) hit both sides alike, and each round gives one
paired sample. The speedup is a ratio of means (or medians) of those samples; a paired bootstrap over
rounds gives its confidence interval, and a speedup is accepted only when the interval's lower bound
clears the threshold. Pure numpy/stdlib so it can be tested on synthetic samples.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

DEFAULT_THRESHOLD = 1.1
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class SpeedupEstimate:
    """speedup = runtime(original) / runtime(candidate); [low, high] is its confidence interval."""

    speedup: float
    low: float
    high: float
    accepted: bool
    threshold: float = DEFAULT_THRESHOLD
    confidence: float = DEFAULT_CONFIDENCE
    runtime_a: float = 0.0  # the statistic of the original's samples (seconds)
    runtime_b: float = 0.0  # the statistic of the candidate's samples (seconds)
    samples_a: tuple[float, ...] = field(default=(), repr=False)
    samples_b: tuple[float, ...] = field(default=(), repr=False)

    def describe(self) -> str:
        """'1.52× (95% CI 1.41–1.63)' — the form used in reports and in feedback to the model."""
        return f"{self.speedup:.2f}× ({self.confidence:.0%} CI {self.low:.2f}–{self.high:.2f})"


def _statistic(values: np.ndarray, statistic: str, axis: int = -1) -> np.ndarray:
    if statistic == "mean":
        return values.mean(axis=axis)
    if statistic == "median":
        return np.median(values, axis=axis)
    raise ValueError(f"statistic must be 'mean' or 'median', not {statistic!r}")


def bootstrap_speedup(
    runtimes_a: Sequence[float],
    runtimes_b: Sequence[float],
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    statistic: str = "mean",
    resamples: int = 2000,
    seed: int = 0,
) -> SpeedupEstimate:
    """Speedup of B over A with a percentile-bootstrap interval.

    When both lists have the same length they are treated as paired rounds of an interleaved run and
    resampled together (which cancels drift shared by the pair), and the interval is widened to
    cover a Student-t interval on the per-round log ratios too (the bootstrap alone is too
    optimistic with a handful of rounds); otherwise each side is resampled on its own. Accepted when
    the lower bound is at least `threshold`.
    """
    a = np.asarray(runtimes_a, dtype=float)
    b = np.asarray(runtimes_b, dtype=float)
    if a.size == 0 or b.size == 0:
        raise ValueError("bootstrap_speedup needs at least one runtime on each side")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("runtimes must be finite numbers")
    # A zero runtime (timer resolution) would make the ratio infinite; floor at 1 ns.
    a = np.maximum(a, 1e-9)
    b = np.maximum(b, 1e-9)
    point_a = float(_statistic(a, statistic))
    point_b = float(_statistic(b, statistic))
    speedup = point_a / point_b
    if a.size < 2 or b.size < 2:
        # One sample cannot tell signal from noise: report the ratio, never accept on it.
        return SpeedupEstimate(speedup, 0.0, float("inf"), False, threshold, confidence,
                               point_a, point_b, tuple(a), tuple(b))
    rng = np.random.default_rng(seed)
    if a.size == b.size:
        idx = rng.integers(0, a.size, size=(resamples, a.size))
        boot = _statistic(a[idx], statistic) / _statistic(b[idx], statistic)
    else:
        ia = rng.integers(0, a.size, size=(resamples, a.size))
        ib = rng.integers(0, b.size, size=(resamples, b.size))
        boot = _statistic(a[ia], statistic) / _statistic(b[ib], statistic)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(boot, [tail, 1.0 - tail])
    if a.size == b.size:  # paired rounds: also the t interval on log ratios; keep the wider bounds
        t_low, t_high = _log_ratio_interval(a, b, confidence)
        low, high = min(float(low), t_low), max(float(high), t_high)
    return SpeedupEstimate(
        speedup=speedup,
        low=float(low),
        high=float(high),
        accepted=bool(low >= threshold),
        threshold=threshold,
        confidence=confidence,
        runtime_a=point_a,
        runtime_b=point_b,
        samples_a=tuple(float(x) for x in a),
        samples_b=tuple(float(x) for x in b),
    )


# Two-sided 95% Student-t quantiles, df 1..30 (beyond that the series below is accurate to 1e-3).
_T95 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042)


def t_quantile(confidence: float, df: int) -> float:
    """Two-sided Student-t quantile (table at 95%, else a Cornish-Fisher expansion of the normal)."""
    from statistics import NormalDist

    if abs(confidence - 0.95) < 1e-12 and 1 <= df <= len(_T95):
        return _T95[df - 1]
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    v = float(max(df, 1))
    return z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v * v)


def _log_ratio_interval(a: np.ndarray, b: np.ndarray, confidence: float) -> tuple[float, float]:
    """Student-t interval of the geometric-mean speedup over paired rounds. With few rounds the
    percentile bootstrap is too narrow; this one widens properly, so the two together stay honest."""
    r = np.log(a) - np.log(b)
    half = t_quantile(confidence, r.size - 1) * float(r.std(ddof=1)) / np.sqrt(r.size)
    m = float(r.mean())
    return float(np.exp(m - half)), float(np.exp(m + half))


def _timed(run: Callable[[], float | None]) -> float:
    """A run reports its own runtime (e.g. measured inside a sandbox worker); if it returns None,
    the wall time of the call is used."""
    start = time.perf_counter()
    measured = run()
    elapsed = time.perf_counter() - start
    return float(measured) if measured is not None else elapsed


def compare_runtimes(
    run_a: Callable[[], float | None],
    run_b: Callable[[], float | None],
    repeats: int = 10,
    threshold: float = DEFAULT_THRESHOLD,
    confidence: float = DEFAULT_CONFIDENCE,
    statistic: str = "mean",
    warmup: int = 1,
    max_repeats: int | None = None,
    seed: int = 0,
) -> SpeedupEstimate:
    """Interleave `repeats` rounds of A and B (order alternating each round) and bootstrap the speedup.

    `run_a`/`run_b` perform one measured run and return its runtime in seconds (or None to be timed
    here). `warmup` rounds are run first and discarded. If, after `repeats` rounds, the interval
    still straddles the threshold, more rounds are added (doubling) up to `max_repeats`, so clear
    cases stay cheap and borderline ones get the samples they need.
    """
    if repeats < 2:
        raise ValueError("compare_runtimes needs at least 2 repeats to estimate noise")
    max_repeats = max(repeats, max_repeats or repeats)
    for i in range(warmup):
        if i % 2 == 0:
            _timed(run_a), _timed(run_b)
        else:
            _timed(run_b), _timed(run_a)
    a: list[float] = []
    b: list[float] = []

    def rounds(n: int) -> None:
        for _ in range(n):
            if len(a) % 2 == 0:
                a.append(_timed(run_a))
                b.append(_timed(run_b))
            else:
                b.append(_timed(run_b))
                a.append(_timed(run_a))

    rounds(repeats)
    estimate = bootstrap_speedup(a, b, threshold, confidence, statistic, seed=seed)
    while not estimate.accepted and estimate.high >= threshold and len(a) < max_repeats:
        rounds(min(len(a), max_repeats - len(a)))
        estimate = bootstrap_speedup(a, b, threshold, confidence, statistic, seed=seed)
    return estimate
