"""Set-level metrics (paper Eq. 4–7) and PIE's own %Opt and speedup.

Public API (stable):

    Sample(problem_id, origin_runtime, origin_correct, model_runtime, model_correct, evaluable=True)
    Metrics  (fields below; .to_dict())
    compute_metrics(samples) -> Metrics
    is_optimized(sample) -> bool
    OPT_FACTOR = 1.1

Definitions (runtimes in seconds, per program = mean over its tests of Eq. 2):

* A sample is *evaluable* when its problem has tests and the original (slow) program is correct on
  them; only evaluable samples enter the FasterPy metrics. The others are reported, not scored.
* Pass@1 (Eq. 5) = correct model programs / evaluable samples.
* Runtime_Mean (Eq. 4) = mean runtime over the samples whose model program is correct; reported for
  the model (`runtime_mean_model`) and for the original programs of the same samples
  (`runtime_mean_origin`), so the two means cover the same set.
* @Speedup (Eq. 6) = runtime_mean_origin / runtime_mean_model.
* %OPT (Eq. 7) = samples that are correct and `runtime_model * 1.1 < runtime_origin`, over evaluable
  samples.
* PIE's %Opt = the same optimized samples over *all* rows of the input (rows with no tests or a
  failing original count as not optimized), and PIE's mean speedup = mean over all rows of
  origin/model runtime for optimized rows and 1.0 for every other row (PIE's convention).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

OPT_FACTOR = 1.1


@dataclass(frozen=True)
class Sample:
    problem_id: str
    origin_runtime: float | None
    origin_correct: bool
    model_runtime: float | None
    model_correct: bool
    evaluable: bool = True


@dataclass(frozen=True)
class Metrics:
    rows: int
    evaluable: int
    correct: int
    optimized: int
    pass_at_1: float | None
    runtime_mean_model: float | None
    runtime_mean_origin: float | None
    speedup: float | None
    pct_opt: float | None
    pie_pct_opt: float | None
    pie_speedup: float | None

    def to_dict(self) -> dict:
        return asdict(self)


def _counts(s: Sample) -> bool:
    return s.evaluable and s.origin_correct and s.origin_runtime is not None


def _model_ok(s: Sample) -> bool:
    return _counts(s) and s.model_correct and s.model_runtime is not None


def is_optimized(s: Sample) -> bool:
    """Correct and at least 10% faster: runtime_model * 1.1 < runtime_origin (Eq. 7)."""
    ok = _model_ok(s)
    if not ok or s.model_runtime is None or s.origin_runtime is None:  # both are set once ok
        return ok
    return s.model_runtime * OPT_FACTOR < s.origin_runtime


def _pie_speedup(s: Sample) -> float:
    """origin/model runtime for an optimized sample, 1.0 for every other (PIE's convention)."""
    if is_optimized(s) and s.origin_runtime is not None and s.model_runtime is not None:
        return s.origin_runtime / s.model_runtime
    return 1.0


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def compute_metrics(samples: list[Sample]) -> Metrics:
    rows = len(samples)
    scored = [s for s in samples if _counts(s)]
    correct = [s for s in scored if _model_ok(s)]
    optimized = [s for s in scored if is_optimized(s)]
    rt_model = _mean([s.model_runtime for s in correct if s.model_runtime is not None])  # all, once correct
    rt_origin = _mean([s.origin_runtime for s in correct if s.origin_runtime is not None])
    speedup = rt_origin / rt_model if rt_model and rt_origin is not None else None
    pie_speedups = [_pie_speedup(s) for s in samples]
    return Metrics(
        rows=rows,
        evaluable=len(scored),
        correct=len(correct),
        optimized=len(optimized),
        pass_at_1=len(correct) / len(scored) if scored else None,
        runtime_mean_model=rt_model,
        runtime_mean_origin=rt_origin,
        speedup=speedup,
        pct_opt=len(optimized) / len(scored) if scored else None,
        pie_pct_opt=len(optimized) / rows if rows else None,
        pie_speedup=_mean(pie_speedups),
    )
