"""Program mode: a stdin→stdout candidate checked on test inputs (PIE layout or input files) against
the expected outputs — or the original's — and timed against the original, interleaved; the share of
the original's lines the inputs execute is measured (harness.verify.coverage)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from harness.compare import compare_runtimes
from harness.errors import FasterPyError
from harness.pie_tests import read_pie_tests
from harness.verify.coverage import PROGRAM, LineCoverage, mark_verdict, program_lines, program_run_lines
from harness.verify.verdict import (
    RunFailed,
    Verdict,
    VerifyConfig,
    output_diff,
    speed_verdict,
    syntax_problem,
    tail,
    verify_pool,
)


def load_program_tests(tests_dir: str | os.PathLike[str] | None = None,
                       input_files: list[str] | tuple[str, ...] = ()) -> tuple[list[str], list[str] | None]:
    """Test inputs (and expected outputs) from a PIE-layout folder (`input.N.txt` / `output.N.txt`)
    and/or explicit input files. Expected outputs are returned only when every input has one."""
    inputs: list[str] = []
    expected: list[str | None] = []
    if tests_dir is not None:
        d = Path(tests_dir)
        if not d.is_dir():
            raise FasterPyError(f"{d}: no such test folder — pass a folder with input.N.txt/output.N.txt files")
        found = read_pie_tests(d)
        if not found:
            raise FasterPyError(f"{d} holds no input.N.txt files — use the PIE layout (input.0.txt, output.0.txt, …)")
        for test in found:
            inputs.append(test.input)
            expected.append(test.output)
    for f in input_files:
        p = Path(f)
        if not p.is_file():
            raise FasterPyError(f"{p}: no such input file — check the --input path")
        inputs.append(p.read_text(encoding="utf-8", errors="replace"))
        expected.append(None)
    if not inputs:
        raise FasterPyError("no test inputs — pass --tests DIR (PIE layout) or --input FILE")
    return inputs, (None if any(e is None for e in expected) else [e or "" for e in expected])


def _program_failure(test, index: int, total: int) -> Verdict:
    where = f"on test {index + 1} of {total}"
    status = test.status
    exc = getattr(test, "exception", None) or {}
    stderr = tail(exc.get("traceback") or getattr(test, "stderr_tail", "") or
                   (f"{exc.get('type')}: {exc.get('message')}" if exc else ""))
    if status == "timeout":
        return Verdict("timeout", f"The code timed out {where} (killed after the time limit). It is probably "
                       "stuck in a loop or far slower than the original; keep the algorithm's complexity at most the original's.",
                       tests_passed=index, tests_total=total)
    if status == "memory":
        return Verdict("exception", f"The code ran out of memory {where} (MemoryError).", tests_passed=index, tests_total=total)
    if status == "output_limit":
        return Verdict("wrong_output", f"The code printed more than the output limit {where}.", tests_passed=index, tests_total=total)
    if status == "syntax_error":
        return Verdict("exception", f"The code does not compile:\n{stderr}", tests_passed=0, tests_total=total)
    label = {"exit": "exited with a non-zero status", "killed": "was killed"}.get(status, "raised an exception")
    return Verdict("exception", f"The code {label} {where}:\n{stderr}", tests_passed=index, tests_total=total)


def verify_program(original: str, candidate: str, inputs: list[str], expected: list[str] | None = None,
                   config: Any = None, pool: Any = None, read_roots: Sequence[str] = ()) -> Verdict:
    """Check a stdin→stdout candidate on `inputs`: correct (Eq. 3 accuracy 1.0 against `expected`, or
    the original's outputs when none) and faster beyond noise (interleaved, bootstrap lower bound).
    Runs on `pool`, by default verify_pool(read_roots): the program may read only the interpreter, its
    libraries and `read_roots` (e.g. sandbox_read_roots(the user's file, extra=[tests dir]))."""
    from harness.correctness import accuracy
    from harness.program import run_program

    cfg = VerifyConfig.of(config)
    if not candidate or not candidate.strip():
        return Verdict("no_code", "The answer contained no code. Output the complete optimized program in one ```python block.")
    if not inputs:
        raise FasterPyError("no test inputs — pass --tests DIR (PIE layout) or --input FILE")
    problem = syntax_problem(candidate, "program")
    if problem:
        return Verdict("exception", problem, tests_total=len(inputs))
    total = len(inputs)
    if expected is not None and len(expected) != total:
        raise FasterPyError(f"{total} test inputs but {len(expected)} expected outputs — give one output per input")
    orig_limits = cfg.limits()
    pool = pool or verify_pool(read_roots)

    def once(code: str, limits: Any, stop: bool = False):
        return run_program(code, inputs, runs=1, drop=0, limits=limits, pool=pool, stop_on_failure=stop)

    # The original runs first: it gives the reference outputs (when there are no expected ones), the
    # time a candidate may take, and it must run cleanly to be timed against at all.
    ref = once(original, orig_limits)
    for i, t in enumerate(ref.tests):
        if t.status != "ok":
            why = _program_failure(t, i, total).feedback.replace("The code", "The original program", 1)
            return Verdict("error", f"{why}\nA candidate cannot be checked or timed against a program that fails "
                           "its own tests — fix the original or the tests (or raise --timeout).", tests_total=total)
    if expected is None:
        expected = [t.stdout for t in ref.tests]
    slowest = max(float(t.mean_runtime or 0.0) for t in ref.tests)
    # A candidate 10x slower than the original fails anyway: do not wait the full limit for it.
    cand_limits = cfg.limits(max(1.0, min(cfg.timeout_s, 10 * slowest + 1.0)))
    got = once(candidate, cand_limits, stop=True)
    passed = 0
    for i, (t, want) in enumerate(zip(got.tests, expected, strict=False)):
        if t.status != "ok":
            return _program_failure(t, i, total)
        if accuracy(want, t.stdout) < 1.0:
            return Verdict("wrong_output", f"Wrong output on test {i + 1} of {total}:\n{output_diff(want, t.stdout)}",
                           tests_passed=passed, tests_total=total,
                           details={"test": i, "expected": want[-2000:], "got": t.stdout[-2000:]})
        passed += 1

    coverage = None
    if cfg.measure_coverage:  # the whole program's lines the test inputs execute (of the original)
        coverage = LineCoverage({PROGRAM: program_lines(original)}, checks=passed)
        coverage.add_all(program_run_lines(original, inputs, cfg.limits(max(cfg.timeout_s, 20 * slowest + 5.0)),
                                           pool), "test inputs")

    def timed(code: str, limits: Any, who: str):
        def run() -> float:
            res = once(code, limits)
            bad = next(((i, t) for i, t in enumerate(res.tests) if t.status != "ok"), None)
            if bad is not None:  # it passed a moment ago: flaky (e.g. timing out under load)
                failure = _program_failure(bad[1], bad[0], total)
                if who == "original":
                    failure = Verdict("error", failure.feedback.replace("The code", "The original program", 1),
                                      tests_total=total)
                raise RunFailed(failure)
            return sum(float(t.mean_runtime or 0.0) for t in res.tests) / total
        return run

    try:
        est = compare_runtimes(timed(original, orig_limits, "original"), timed(candidate, cand_limits, "candidate"),
                               repeats=cfg.repeats, threshold=cfg.threshold,
                               confidence=cfg.confidence, statistic=cfg.statistic, max_repeats=cfg.max_repeats)
    except RunFailed as failed:
        return failed.verdict
    return mark_verdict(speed_verdict(est, passed, total, {"mode": "program"}), coverage, cfg, original)
