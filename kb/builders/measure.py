"""Measure a pair's rate with the harness when its source gives no runtimes.

Stdin programs (PIE style): both programs run on the pair's tests (4 runs, first dropped, Eq. 2);
both must reproduce the expected output; rate = mean runtime slow / mean runtime fast.
Function-level pairs (ENAMEL style): inputs come from the task's `input_generator`; both versions are
called on the same inputs in the sandbox, results must agree, rate = total time slow / fast."""

from __future__ import annotations

import statistics
from typing import Any

from kb.builders.pairs import Pair


class HarnessMeasurer:
    """Callable `measure(pair) -> rate | None`; owns one warm worker pool for the whole build."""

    def __init__(self, timeout_s: float = 5.0, workers: int | None = None, runs: int = 4, drop: int = 1,
                 min_accuracy: float = 1.0) -> None:
        from harness.limits import Limits
        from harness.pool import WorkerPool

        self.limits = Limits(timeout_s=timeout_s)
        self.runs, self.drop, self.min_accuracy = runs, drop, min_accuracy
        self.pool = WorkerPool(workers=workers, limits=self.limits)
        self.pool.__enter__()
        self.failures: dict[str, str] = {}

    def close(self) -> None:
        self.pool.__exit__(None, None, None)

    def __call__(self, pair: Pair) -> float | None:
        try:
            if pair.tests:
                return self._stdin_rate(pair)
            if pair.meta.get("input_generator") and pair.meta.get("entry_point"):
                return self._function_rate(pair)
        except Exception as exc:  # a pair that cannot be measured is skipped, the build goes on
            self.failures[pair.key] = f"{type(exc).__name__}: {exc}"
            return None
        self.failures[pair.key] = "no tests"
        return None

    def _program_runtime(self, code: str, tests: list[tuple[str, str]]) -> float | None:
        from harness.correctness import accuracy
        from harness.program import run_program

        res = run_program(code, [t[0] for t in tests], runs=self.runs, drop=self.drop, limits=self.limits,
                          pool=self.pool)
        times = []
        for run, (_, expected) in zip(res.tests, tests):
            if run.status != "ok" or accuracy(expected, run.stdout) < self.min_accuracy:
                return None
            times.append(run.mean_runtime)
        return statistics.fmean(times) if times else None

    def _stdin_rate(self, pair: Pair) -> float | None:
        slow = self._program_runtime(pair.slow, pair.tests)
        if slow is None:
            self.failures[pair.key] = "slow program failed its tests"
            return None
        fast = self._program_runtime(pair.fast, pair.tests)
        if fast is None:
            self.failures[pair.key] = "fast program failed its tests"
            return None
        return slow / fast if fast > 0 else None

    def _function_rate(self, pair: Pair) -> float | None:
        from harness.function import call_function

        calls = enamel_inputs(pair.meta["input_generator"], pair.meta.get("input_levels", ""))
        if not calls:
            self.failures[pair.key] = "input generator gave no inputs"
            return None
        entry = pair.meta["entry_point"]
        slow = call_function(pair.slow, entry, calls, limits=self.limits, repeats=3)
        fast = call_function(pair.fast, entry, calls, limits=self.limits, repeats=3)
        t_slow = t_fast = 0.0
        for a, b in zip(slow, fast):
            if a.exception or b.exception or a.result != b.result:
                self.failures[pair.key] = "results differ or raised"
                return None
            t_slow += statistics.median(a.runtimes[1:] or a.runtimes)
            t_fast += statistics.median(b.runtimes[1:] or b.runtimes)
        return t_slow / t_fast if t_fast > 0 else None


def enamel_inputs(generator_src: str, levels: str, per_level: int = 2, seed: int = 0,
                  max_size: int = 2000) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
    """Inputs from an ENAMEL `generate_input(size, lid, cid)`; sizes capped so a build stays short.
    The generator is dataset code (not model output), run in-process with a fixed seed."""
    import random

    ns: dict[str, Any] = {"random": random}
    exec("import random, math, string, itertools\n" + generator_src, ns)  # noqa: S102 - trusted dataset code
    gen = ns.get("generate_input")
    if gen is None:
        return []
    random.seed(seed)
    sizes = [int(x) for x in levels.split()] or [100]
    calls = []
    for lid, size in enumerate(sizes):
        for cid in range(per_level):
            args = gen(min(size, max_size), lid, cid)
            calls.append((tuple(args) if isinstance(args, tuple) else (args,), {}))
    return calls
