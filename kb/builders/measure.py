"""Measure a pair's rate with the harness when its source gives no runtimes.

Stdin programs (PIE style): slow and fast run on the pair's tests in interleaved passes (each pass
`runs` runs per test, the first dropped — Eq. 2), both must reproduce the expected output, and every
kept run gives one runtime sample per program (mean over tests). Function-level pairs (ENAMEL style):
inputs come from the task's `input_generator`; both versions are called on the same inputs in the
sandbox, results must agree, one sample per repeat (total time over the calls).

"Same output" and "faster" are the verifier's rules, so a pair is judged as a pipeline candidate
is: outputs by Eq. 3 accuracy (harness.correctness, as harness.verify.verify_program), results by
harness.verify.value_difference with the verifier's float tolerance (as verify_functions), speed
by harness.compare's bootstrap (`accepted`: its lower bound clears `min_low`).

rate = mean(slow samples) / mean(fast samples). Tiny programs time within noise of each other, so a
pair is kept only when that bound says the fast version really is faster; otherwise it is skipped,
with the reason in `failures`. The measurement cache (a KB's measurements.jsonl) keeps each pair's
bound as `low` beside its rate (None when nothing was timed), for finetune.curate's bound filter."""

from __future__ import annotations

import hashlib
import json
import statistics
from pathlib import Path
from typing import Any

from harness.files import append_jsonl, read_jsonl
from kb.builders.pairs import Pair


class HarnessMeasurer:
    """Callable `measure(pair) -> rate | None`; owns one warm worker pool for the whole build."""

    def __init__(self, timeout_s: float = 5.0, workers: int | None = None, runs: int = 4, drop: int = 1,
                 passes: int = 2, min_low: float = 1.05, min_accuracy: float = 1.0) -> None:
        from harness.limits import Limits
        from harness.pool import WorkerPool

        self.limits = Limits(timeout_s=timeout_s)
        self.runs, self.drop, self.passes = runs, drop, passes
        self.min_low, self.min_accuracy = min_low, min_accuracy
        self.pool = WorkerPool(workers=workers, limits=self.limits)
        self.failures: dict[str, str] = {}
        self.estimates: dict[str, Any] = {}

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> HarnessMeasurer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, pair: Pair) -> float | None:
        try:
            if pair.tests:
                samples = self._stdin_samples(pair)
            elif pair.meta.get("input_generator") and pair.meta.get("entry_point"):
                samples = self._function_samples(pair)
            else:
                self.failures[pair.key] = "no tests to measure with"
                return None
        except Exception as exc:  # a pair that cannot be measured is skipped; the build goes on
            self.failures[pair.key] = f"{type(exc).__name__}: {exc}"
            return None
        if samples is None:
            return None
        return self._rate(pair, *samples)

    def _rate(self, pair: Pair, slow: list[float], fast: list[float]) -> float | None:
        from harness.compare import bootstrap_speedup

        if not slow or not fast or min(fast) <= 0:
            self.failures[pair.key] = "no runtime samples"
            return None
        est = bootstrap_speedup(slow, fast, threshold=self.min_low)
        self.estimates[pair.key] = est
        if not est.accepted:
            self.failures[pair.key] = f"not measurably faster ({est.describe()})"
            return None
        return statistics.fmean(slow) / statistics.fmean(fast)

    # -------------------------------------------------------------- stdin programs
    def _program_samples(self, code: str, tests: list[tuple[str, str]]) -> list[float] | None:
        from harness.correctness import accuracy
        from harness.program import run_program

        res = run_program(code, [t[0] for t in tests], runs=self.runs, drop=self.drop, limits=self.limits,
                          pool=self.pool, stop_on_failure=True)
        if res.status != "ok":
            return None
        per_run: list[list[float]] = []
        for run, (_, expected) in zip(res.tests, tests, strict=False):
            if accuracy(expected, run.stdout) < self.min_accuracy:
                return None
            per_run.append(run.runtimes[self.drop :])
        n = min(len(r) for r in per_run)
        return [statistics.fmean(r[i] for r in per_run) for i in range(n)]

    def _stdin_samples(self, pair: Pair) -> tuple[list[float], list[float]] | None:
        slow: list[float] = []
        fast: list[float] = []
        for p in range(self.passes):
            order = (("slow", pair.slow, slow), ("fast", pair.fast, fast))
            for label, code, acc in order if p % 2 == 0 else order[::-1]:
                got = self._program_samples(code, pair.tests)
                if got is None:
                    self.failures[pair.key] = f"{label} program failed its tests"
                    return None
                acc.extend(got)
        return slow, fast

    # -------------------------------------------------------------- function-level pairs
    def _function_samples(self, pair: Pair) -> tuple[list[float], list[float]] | None:
        from harness.function import call_function

        calls = enamel_inputs(pair.meta["input_generator"], pair.meta.get("input_levels", ""), pool=self.pool,
                              limits=self.limits)
        if not calls:
            self.failures[pair.key] = "input generator gave no inputs"
            return None
        entry = pair.meta["entry_point"]
        repeats = self.runs * self.passes
        from harness.verify import VerifyConfig, value_difference

        slow = call_function(pair.slow, entry, calls, limits=self.limits, repeats=repeats, pool=self.pool)
        fast = call_function(pair.fast, entry, calls, limits=self.limits, repeats=repeats, pool=self.pool)
        tol = VerifyConfig().tolerance()
        for a, b in zip(slow, fast, strict=False):
            if not a.ok or not b.ok or value_difference(a.result, b.result, tol) is not None:
                self.failures[pair.key] = "results differ or a call failed"
                return None
        n = min(min(len(o.runtimes) for o in slow), min(len(o.runtimes) for o in fast))
        t_slow = [sum(o.runtimes[i] for o in slow) for i in range(self.drop, n)]
        t_fast = [sum(o.runtimes[i] for o in fast) for i in range(self.drop, n)]
        return t_slow, t_fast


def pair_digest(pair: Pair) -> str:
    h = hashlib.sha256()
    for part in (pair.slow, pair.fast, json.dumps(pair.tests), str(pair.meta.get("input_generator", "")),
                 str(pair.meta.get("entry_point", ""))):
        h.update(part.encode("utf-8", "replace") + b"\0")
    return h.hexdigest()


_GENERATOR_DRIVER = """
import random, math, string, itertools
from typing import *

{generator}


def _fasterpy_all_inputs(levels, per_level, seed, max_size):
    random.seed(seed)
    calls = []
    for lid, size in enumerate(levels):
        for cid in range(per_level):
            args = generate_input(min(size, max_size), lid, cid)
            calls.append(tuple(args) if isinstance(args, (tuple, list)) else (args,))
    return calls
"""


def enamel_inputs(generator_src: str, levels: str, per_level: int = 1, seed: int = 0, max_size: int = 1000,
                  pool: Any = None, limits: Any = None) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Inputs from an ENAMEL `generate_input(size, lid, cid)`, sizes capped so a build stays short.
    The generator runs in the harness sandbox: some loop until a random input passes a check (and
    can hang on unlucky draws), so it gets the same timeout and memory limit as the programs."""
    from harness.function import call_function
    from harness.limits import Limits

    sizes = [int(x) for x in levels.split()] or [100]
    source = _GENERATOR_DRIVER.format(generator=generator_src)
    out = call_function(source, "_fasterpy_all_inputs", [((sizes, per_level, seed, max_size), {})],
                        limits=limits or Limits(timeout_s=10.0), pool=pool)[0]
    if not out.ok or not isinstance(out.result, list):
        raise RuntimeError(f"input generator failed ({out.status}: {out.exception.message if out.exception else ''})")
    return [(tuple(args), {}) for args in out.result]


class LazyMeasurer:
    """Starts the harness pool only when a pair actually needs measuring, and remembers outcomes in
    a jsonl cache keyed by the pair's content, so a rebuild (or a resumed build) measures nothing twice."""

    def __init__(self, cache: Path | None = None, cached_only: bool = False, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.cached_only = cached_only
        self._m: HarnessMeasurer | None = None
        self.cache_path = Path(cache) if cache else None
        self.cache: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, str] = {}
        if self.cache_path and self.cache_path.exists():
            for row in read_jsonl(self.cache_path, skip_bad=True):  # skips a half-written last line
                try:
                    self.cache[row["digest"]] = row
                except KeyError:
                    continue

    @property
    def failures(self) -> dict[str, str]:
        return self._failures

    def __call__(self, pair: Pair) -> float | None:
        digest = pair_digest(pair)
        hit = self.cache.get(digest)
        if hit is None and self.cached_only:
            self._failures[pair.key] = "not in the measurement cache"
            return None
        if hit is None:
            if self._m is None:
                self._m = HarnessMeasurer(**self.kwargs)
            self._m.estimates.pop(pair.key, None)  # a bound left by an earlier pair of this key is not this one's
            rate = self._m(pair)
            est = self._m.estimates.get(pair.key)
            hit = {"digest": digest, "key": pair.key, "rate": rate, "low": est.low if est is not None else None,
                   "failure": self._m.failures.get(pair.key, "")}
            self.cache[digest] = hit
            if self.cache_path:
                append_jsonl(self.cache_path, hit)
        if hit["rate"] is None:
            self._failures[pair.key] = hit["failure"] or "not measured"
        return hit["rate"]

    def close(self) -> None:
        if self._m is not None:
            self._m.close()
