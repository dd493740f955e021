"""Verifying a candidate: same behaviour as the original, and faster beyond noise.

Two modes:
- program mode (`verify_program`): a stdin→stdout script run on test inputs; outputs must match the
  expected outputs (Eq. 3 accuracy 1.0) or, without them, the original's outputs.
- function mode (`verify_functions`): the candidate is spliced into the original file and its target
  functions are replayed, in the sandbox, on the calls captured from a driver (graph.capture);
  results, exceptions, argument mutation and printed output must match the original's.
Optionally the user's own test command runs against the spliced file in a temporary copy of the
project (`run_test_command`). Timing goes through harness.compare (interleaved, bootstrap bound).

Every failure becomes a Verdict whose `feedback` is written for the model's next attempt.
"""

from __future__ import annotations

import difflib
import math
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from graph.equality import Tolerance, first_difference, render
from harness.compare import DEFAULT_CONFIDENCE, DEFAULT_THRESHOLD, SpeedupEstimate, compare_runtimes
from harness.errors import FasterPyError

STATUSES = ("accepted", "wrong_output", "exception", "timeout", "slower", "no_code", "error")


@dataclass
class Verdict:
    status: str
    feedback: str = ""
    speedup: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    runtime_before: float | None = None
    runtime_after: float | None = None
    tests_passed: int = 0
    tests_total: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def describe(self) -> str:
        """One line for reports: status, tests and speedup with its interval."""
        parts = [self.status, f"{self.tests_passed}/{self.tests_total} checks"]
        if self.speedup is not None:
            parts.append(f"{self.speedup:.2f}× (95% CI {self.ci_low:.2f}–{self.ci_high:.2f})")
        return ", ".join(parts)


@dataclass
class VerifyConfig:
    """Knobs of verification. Any config object (e.g. graph.config.FasterPyConfig) with attributes
    of these names — directly or under `.verify` — can be passed instead; see `VerifyConfig.of`."""

    threshold: float = DEFAULT_THRESHOLD  # minimum speedup the CI's lower bound must clear
    confidence: float = DEFAULT_CONFIDENCE
    repeats: int = 8  # interleaved rounds of original/candidate
    max_repeats: int = 24  # more rounds when the interval straddles the threshold
    statistic: str = "mean"  # "mean" or "median" of the rounds
    timeout_s: float = 10.0  # per sandboxed run
    memory_mb: int = 1024
    float_rel_tol: float = 1e-7
    float_abs_tol: float = 1e-9
    compare_stdout: bool = True  # function mode: what a call prints must match too
    min_call_time_s: float = 0.002  # function mode: repeat tiny calls until one timing is this long
    max_inner_repeats: int = 50
    timing_budget_s: float = 1.0  # function mode: original's time per timing round (largest calls first)
    test_cmd: str | None = None  # the user's tests, run against the candidate in a temp copy
    test_timeout_s: float = 300.0
    project_root: str | None = None  # what to copy for test_cmd (default: the file's project)
    workers: int | None = None

    @classmethod
    def of(cls, config: Any = None) -> "VerifyConfig":
        if config is None:
            return cls()
        if isinstance(config, cls):
            return config
        sources = [config]
        nested = config.get("verify") if isinstance(config, dict) else getattr(config, "verify", None)
        if nested is not None:
            if isinstance(nested, cls):
                return nested
            sources.insert(0, nested)
        values: dict[str, Any] = {}
        for f in fields(cls):
            for src in sources:
                v = src.get(f.name) if isinstance(src, dict) else getattr(src, f.name, None)
                if v is not None:
                    values[f.name] = v
                    break
        return cls(**values)

    def tolerance(self) -> Tolerance:
        return Tolerance(rel=float(self.float_rel_tol), abs=float(self.float_abs_tol))

    def limits(self, timeout_s: float | None = None):
        from harness.limits import Limits

        return Limits(timeout_s=float(timeout_s or self.timeout_s), memory_mb=int(self.memory_mb))


# ----------------------------------------------------------------------------------- helpers


def _tail(text: str, lines: int = 15, chars: int = 1500) -> str:
    kept = "\n".join((text or "").rstrip().splitlines()[-lines:])
    return kept[-chars:]


def output_diff(expected: str, got: str, context: int = 2, max_lines: int = 20) -> str:
    """A short unified diff of expected vs got output."""
    diff = list(difflib.unified_diff(expected.splitlines(), got.splitlines(), "expected", "got", n=context, lineterm=""))
    if len(diff) > max_lines:
        diff = diff[:max_lines] + [f"… ({len(diff) - max_lines} more diff lines)"]
    return "\n".join(diff) if diff else "(outputs differ only in whitespace or line endings)"


def _syntax_problem(code: str, what: str = "candidate") -> str | None:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "invalid decimal literal" in PIE code: not ours to report
            compile(code, "<candidate>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").rstrip()
        return f"The {what} does not compile: SyntaxError: {exc.msg} at line {exc.lineno}" + (f":\n    {line}" if line else "")
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        return f"The {what} does not compile: {type(exc).__name__}: {exc}"
    return None


def _speed_verdict(est: SpeedupEstimate, passed: int, total: int, details: dict[str, Any]) -> Verdict:
    details = dict(details, rounds=len(est.samples_a), threshold=est.threshold)
    common = dict(speedup=est.speedup, ci_low=est.low, ci_high=est.high, runtime_before=est.runtime_a,
                  runtime_after=est.runtime_b, tests_passed=passed, tests_total=total, details=details)
    if est.accepted:
        return Verdict("accepted", f"correct and faster: {est.describe()}", **common)
    feedback = (f"The code is correct but not faster: {est.describe()}; it needs at least "
                f"{est.threshold:.2f}× with confidence. Find an algorithmic improvement (better complexity, "
                "fewer passes, builtins instead of Python loops), not a cosmetic rewrite.")
    return Verdict("slower", feedback, **common)


class _RunFailed(Exception):
    def __init__(self, verdict: Verdict):
        super().__init__(verdict.feedback)
        self.verdict = verdict


# ----------------------------------------------------------------------------------- program mode


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
        found = sorted(d.glob("input.*.txt"), key=lambda p: (len(p.name), p.name))
        if not found:
            raise FasterPyError(f"{d} holds no input.N.txt files — use the PIE layout (input.0.txt, output.0.txt, …)")
        for p in found:
            inputs.append(p.read_text(encoding="utf-8", errors="replace"))
            out = p.with_name(p.name.replace("input.", "output.", 1))
            expected.append(out.read_text(encoding="utf-8", errors="replace") if out.is_file() else None)
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
    stderr = _tail(exc.get("traceback") or getattr(test, "stderr_tail", "") or
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
                   config: Any = None, pool: Any = None) -> Verdict:
    """Check a stdin→stdout candidate on `inputs`: correct (Eq. 3 accuracy 1.0 against `expected`, or
    the original's outputs when none) and faster beyond noise (interleaved, bootstrap lower bound)."""
    from harness.correctness import accuracy
    from harness.program import run_program

    cfg = VerifyConfig.of(config)
    if not candidate or not candidate.strip():
        return Verdict("no_code", "The answer contained no code. Output the complete optimized program in one ```python block.")
    if not inputs:
        raise FasterPyError("no test inputs — pass --tests DIR (PIE layout) or --input FILE")
    problem = _syntax_problem(candidate, "program")
    if problem:
        return Verdict("exception", problem, tests_total=len(inputs))
    limits = cfg.limits()
    total = len(inputs)

    def once(code: str):
        return run_program(code, inputs, runs=1, drop=0, limits=limits, pool=pool)

    if expected is None:
        ref = once(original)
        expected = []
        for i, t in enumerate(ref.tests):
            if t.status != "ok":
                why = _program_failure(t, i, total).feedback.replace("The code", "The original program", 1)
                return Verdict("error", f"{why}\nThere is no reference output to check against — pass expected "
                               "outputs (--tests DIR with output.N.txt files).", tests_total=total)
            expected.append(t.stdout)
    if len(expected) != total:
        raise FasterPyError(f"{total} test inputs but {len(expected)} expected outputs — give one output per input")
    got = once(candidate)
    passed = 0
    for i, (t, want) in enumerate(zip(got.tests, expected)):
        if t.status != "ok":
            return _program_failure(t, i, total)
        if accuracy(want, t.stdout) < 1.0:
            return Verdict("wrong_output", f"Wrong output on test {i + 1} of {total}:\n{output_diff(want, t.stdout)}",
                           tests_passed=passed, tests_total=total,
                           details={"test": i, "expected": want[-2000:], "got": t.stdout[-2000:]})
        passed += 1

    def timed(code: str):
        def run() -> float:
            res = once(code)
            bad = next(((i, t) for i, t in enumerate(res.tests) if t.status != "ok"), None)
            if bad is not None:  # it passed a moment ago: flaky (e.g. timing out under load)
                raise _RunFailed(_program_failure(bad[1], bad[0], total))
            return sum(float(t.mean_runtime or 0.0) for t in res.tests) / total
        return run

    try:
        est = compare_runtimes(timed(original), timed(candidate), repeats=cfg.repeats, threshold=cfg.threshold,
                               confidence=cfg.confidence, statistic=cfg.statistic, max_repeats=cfg.max_repeats)
    except _RunFailed as failed:
        return failed.verdict
    return _speed_verdict(est, passed, total, {"mode": "program"})


# ----------------------------------------------------------------------------------- function mode


def replay_source(target_source: str, path: str) -> str:
    """The module text the sandbox runs for a replay: graph/_tracer.py plus the code under test."""
    from graph.capture import TRACER

    return (TRACER.read_text(encoding="utf-8")
            + f"\n\n_TARGET_SOURCE = {target_source!r}\n_TARGET_PATH = {path!r}\n")


def _inner_repeats(runtime: float, cfg: VerifyConfig) -> int:
    if runtime <= 0:
        return cfg.max_inner_repeats
    return int(min(cfg.max_inner_repeats, max(1, math.ceil(cfg.min_call_time_s / runtime))))


_POOL: Any = None


def _verify_pool() -> Any:
    """A single-worker sandbox pool shared by function-mode verifications (one hash seed)."""
    global _POOL
    from harness.pool import WorkerPool

    if _POOL is None or getattr(_POOL, "_closed", False):
        import atexit

        _POOL = WorkerPool(workers=1)
        atexit.register(_POOL.close)
    return _POOL


def _replay(source: str, jobs: list[tuple[str, bytes, int]], limits: Any, outcome_wanted: bool = True,
            pool: Any = None) -> list[dict]:
    """Run the jobs (target, args pickle, inner repeats) in one sandboxed process; one dict per job:
    the replay's outcome (or only its runtimes), or {'failure': status, 'text': …} when the call
    could not complete."""
    from harness.function import call_function

    calls = [((target, blob, reps, outcome_wanted), {}) for target, blob, reps in jobs]
    outcomes = call_function(source, "_fasterpy_replay", calls, limits=limits, module_name="_fasterpy_replay",
                             pool=pool or _verify_pool())
    out = []
    for outcome in outcomes:
        if outcome.status == "ok" and isinstance(outcome.result, dict):
            out.append(outcome.result)
        else:
            out.append(_outcome_problem(outcome))
    return out


def _outcome_problem(outcome: Any) -> dict:
    """A replay that could not complete (import error, timeout, memory, crash) as a dict."""
    exc = outcome.exception
    text = ""
    if exc is not None:
        text = getattr(exc, "traceback", "") or f"{getattr(exc, 'type', '')}: {getattr(exc, 'message', '')}"
    status = outcome.status
    if status in ("exception", "import_error"):
        status = "exception"
    return {"failure": status, "text": text or f"run stopped: {status}"}


def _describe_call(target: str, call: Any) -> str:
    size = f"{call.size} bytes of arguments"
    return f"{target}(…) [call #{call.order}, {size}]"


def verify_functions(path: str | os.PathLike[str], original_source: str, candidate_source: str,
                     targets: list[str], captured: Any, config: Any = None, pool: Any = None) -> Verdict:
    """Splice the candidate's target functions into the original file and replay the captured calls
    on it in the sandbox: results (float tolerance), exception types, argument mutation and stdout
    must match the original's; then time original vs candidate on the same calls, interleaved.
    `pool` should have one worker (the default is a shared single-worker pool): comparisons rely on
    both sides running under the same hash seed."""
    from graph.splice import SpliceError, splice_functions

    cfg = VerifyConfig.of(config)
    path = str(Path(path).resolve())
    if not candidate_source or not candidate_source.strip():
        return Verdict("no_code", "The answer contained no code. Output the complete optimized functions in one ```python block.")
    problem = _syntax_problem(candidate_source)
    if problem:
        return Verdict("exception", problem)
    try:
        spliced = splice_functions(original_source, candidate_source, targets)
    except SpliceError as exc:
        return Verdict("no_code", f"{exc}. Keep every target function's name and signature.")
    problem = _syntax_problem(spliced, "file with the new functions")
    if problem:
        return Verdict("exception", problem)

    jobs: list[tuple[str, Any]] = [(t, c) for t in targets for c in captured.calls.get(t, [])]
    total = len(jobs)
    if not total:
        raise FasterPyError("no captured calls to check the candidate on — capture inputs with a driver first (--driver)")
    orig_time = sum(c.runtime for _, c in jobs)
    # A candidate 20× slower than the original is rejected anyway; do not wait the full limit for it,
    # but never give either side less than a few times what the original needed in the driver.
    limits = cfg.limits(max(2.0, min(cfg.timeout_s, 20 * orig_time + 1.0), 3 * orig_time + 2.0))
    orig_limits = cfg.limits(max(cfg.timeout_s, 3 * orig_time + 5.0))
    tol = cfg.tolerance()
    orig_src = replay_source(original_source, path)
    cand_src = replay_source(spliced, path)
    details: dict[str, Any] = {"mode": "function", "spliced_source": spliced}

    # Correctness. Everything runs on one warm worker, so original and candidate share the hash seed
    # (set/dict order of strings) and differ only by their code. The original runs twice around the
    # candidate: calls where its two runs disagree (random, clock) cannot judge a rewrite.
    run_pool = pool or _verify_pool()
    first = [(t, c.args, 1) for t, c in jobs]
    orig_out = _replay(orig_src, first, orig_limits, pool=run_pool)
    cand_out = _replay(cand_src, first, limits, pool=run_pool)
    again_out = _replay(orig_src, first, orig_limits, pool=run_pool)
    passed = 0
    nondeterministic: list[str] = []
    for (target, call), orig, cand, again in zip(jobs, orig_out, cand_out, again_out):
        if "failure" in orig:
            return Verdict("error", f"The original {target} fails when replayed in the sandbox (which runs in an "
                           f"empty temporary directory, without network or subprocesses): {_tail(orig['text'])}",
                           tests_total=total, details=details)
        if "failure" in again or _same_outcome(orig, again, tol, cfg) is not None:
            nondeterministic.append(_describe_call(target, call))
            continue
        verdict = _compare_call(target, call, orig, cand, tol, cfg, passed, total)
        if verdict is not None:
            verdict.details.update(details)
            return verdict
        passed += 1
    if nondeterministic:
        details["nondeterministic_calls"] = nondeterministic
    if passed == 0:
        return Verdict("error", "Every captured call of the original gives a different result each time it runs "
                       "(random, time or I/O dependent), so no rewrite can be checked on them.",
                       tests_total=total, details=details)
    if cfg.test_cmd:
        verdict = run_test_command(cfg.test_cmd, path, spliced, cfg.project_root, cfg.test_timeout_s)
        if verdict is not None:
            verdict.tests_passed, verdict.tests_total = passed, total
            verdict.details.update(details)
            return verdict

    timing = _timing_jobs(jobs, cfg)
    details["timed_calls"] = len(timing)

    def timed(source: str):
        def run() -> float:
            outs = _replay(source, timing, limits, outcome_wanted=False, pool=run_pool)
            acc = 0.0
            for out in outs:
                if "failure" in out:
                    raise _RunFailed(Verdict("timeout" if out["failure"] == "timeout" else "exception",
                                             f"The code failed while being timed: {_tail(out['text'])}",
                                             tests_passed=passed, tests_total=total))
                acc += min(out["runtimes"])  # timeit practice: the least-disturbed repeat
            return acc
        return run

    try:
        est = compare_runtimes(timed(orig_src), timed(cand_src), repeats=cfg.repeats, threshold=cfg.threshold,
                               confidence=cfg.confidence, statistic=cfg.statistic, max_repeats=cfg.max_repeats)
    except _RunFailed as failed:
        failed.verdict.details.update(details)
        return failed.verdict
    return _speed_verdict(est, passed, total, details)


def _timing_jobs(jobs: list[tuple[str, Any]], cfg: VerifyConfig) -> list[tuple[str, bytes, int]]:
    """The calls timed each round: the largest (slowest) first, until the original's time per round
    reaches the budget; tiny calls are repeated inside the sandbox to rise above timer noise."""
    ranked = sorted(range(len(jobs)), key=lambda i: -jobs[i][1].runtime)
    chosen: list[int] = []
    spent = 0.0
    for i in ranked:
        cost = jobs[i][1].runtime * _inner_repeats(jobs[i][1].runtime, cfg)
        if chosen and spent + cost > cfg.timing_budget_s:
            continue
        chosen.append(i)
        spent += cost
    return [(jobs[i][0], jobs[i][1].args, _inner_repeats(jobs[i][1].runtime, cfg)) for i in sorted(chosen)]


def _same_outcome(a: dict, b: dict, tol: Tolerance, cfg: VerifyConfig) -> str | None:
    """None when two outcomes agree, else what differs."""
    if (a.get("exception") is None) != (b.get("exception") is None):
        return "exception"
    if a.get("exception") is not None:
        if a["exception"][0] != b["exception"][0]:
            return "exception type"
    else:
        d = first_difference(b.get("result"), a.get("result"), tol)
        if d:
            return "result: " + d
    d = first_difference(b.get("args_after"), a.get("args_after"), tol)
    if d:
        return "arguments: " + d
    if cfg.compare_stdout and a.get("stdout", "") != b.get("stdout", ""):
        return "stdout"
    return None


def _args_path(where: str) -> str:
    # value form of arguments is ((args list), kwargs dict): make the path readable
    if where.startswith("[0]"):
        return "positional argument " + where[3:]
    if where.startswith("[1]"):
        return "keyword argument " + where[3:]
    return where


def _compare_call(target: str, call: Any, want: dict, cand: dict, tol: Tolerance, cfg: VerifyConfig,
                  passed: int, total: int) -> Verdict | None:
    """`want` is the original's outcome on the call, `cand` the candidate's."""
    label = _describe_call(target, call)
    common = dict(tests_passed=passed, tests_total=total, details={"call": label})
    if "failure" in cand:
        if cand["failure"] == "timeout":
            return Verdict("timeout", f"The code timed out on {label}: it ran past the time limit. Keep the "
                           "complexity at most the original's.", **common)
        return Verdict("exception", f"The module failed to load or crashed on {label}:\n{_tail(cand['text'])}", **common)
    want_exc = want.get("exception")
    got_exc = cand.get("exception")
    if got_exc is not None and (want_exc is None or got_exc[0] != want_exc[0]):
        expected = "returns normally" if want_exc is None else f"raises {want_exc[0]}"
        return Verdict("exception", f"{label} raised {got_exc[0]}: {got_exc[1]} (the original {expected}).\n"
                       f"{_tail(cand.get('traceback') or '')}", **common)
    if want_exc is not None and got_exc is None:
        return Verdict("wrong_output", f"{label}: the original raises {want_exc[0]}({want_exc[1]!r}) here, the new "
                       f"code returned {render(cand.get('result'))} instead. Keep the same errors for bad input.", **common)
    if want_exc is None:
        d = first_difference(want.get("result"), cand.get("result"), tol)
        if d:
            return Verdict("wrong_output", f"Wrong result for {label}:\n  expected: {render(want.get('result'), 300)}\n"
                           f"  got:      {render(cand.get('result'), 300)}\n  first difference at {d}", **common)
    d = first_difference(want.get("args_after"), cand.get("args_after"), tol)
    if d:
        return Verdict("wrong_output", f"The arguments are left in a different state after {label} "
                       f"({_args_path(d)}). The original "
                       + ("changes its arguments in place; make the same changes." if getattr(call, "mutated", False)
                          else "leaves its arguments unchanged; do not modify them (work on a copy)."), **common)
    if cfg.compare_stdout and cand.get("stdout", "") != want.get("stdout", ""):
        return Verdict("wrong_output", f"{label} prints different output:\n{output_diff(want.get('stdout', ''), cand.get('stdout', ''))}",
                       **common)
    return None


# ----------------------------------------------------------------------------------- --test-cmd

_COPY_IGNORE = shutil.ignore_patterns(".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "*.pyc",
                                      ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
                                      "node_modules", "build", "dist", "*.egg-info")


def find_project_root(path: str | os.PathLike[str]) -> Path:
    """The nearest folder above `path` that looks like a project root (pyproject, setup, .git)."""
    p = Path(path).resolve()
    for d in [p.parent, *p.parent.parents]:
        if any((d / m).exists() for m in ("pyproject.toml", "setup.py", "setup.cfg", ".git", "tox.ini", "pytest.ini")):
            return d
    return p.parent


def run_test_command(test_cmd: str, path: str | os.PathLike[str], new_source: str,
                     project_root: str | os.PathLike[str] | None = None, timeout_s: float = 300.0) -> Verdict | None:
    """Run the user's test command against `new_source` in a temporary copy of the project (never the
    user's tree). Returns None when the tests pass, else a wrong_output/timeout Verdict with the tail."""
    try:
        argv = shlex.split(test_cmd)
    except ValueError as exc:
        raise FasterPyError(f"cannot parse --test-cmd {test_cmd!r}: {exc} — check its quoting") from exc
    if not argv:
        raise FasterPyError("--test-cmd is empty — pass e.g. --test-cmd \"pytest -q tests/\"")
    path = Path(path).resolve()
    root = Path(project_root).resolve() if project_root else find_project_root(path)
    try:
        rel = path.relative_to(root)
    except ValueError as exc:
        raise FasterPyError(f"{path} is not inside the project {root} — pass the right project root") from exc
    if argv[0] in ("python", "python3") and shutil.which(argv[0]) is None:
        argv[0] = sys.executable
    if argv[0] in ("pytest", "py.test") and shutil.which(argv[0]) is None:
        argv = [sys.executable, "-m", "pytest", *argv[1:]]
    with tempfile.TemporaryDirectory(prefix="fasterpy-tests-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy, ignore=_COPY_IGNORE, symlinks=True)
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(new_source.encode("utf-8"))
        env = dict(os.environ)
        # The copy shadows an editable install of the user's own project.
        extra = [str(copy)] + ([str(copy / "src")] if (copy / "src").is_dir() else [])
        env["PYTHONPATH"] = os.pathsep.join(extra + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=copy, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError as exc:
            raise FasterPyError(f"--test-cmd: {argv[0]!r} not found — give a command on PATH") from exc
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return Verdict("timeout", f"The project's tests (`{test_cmd}`) did not finish within {timeout_s:.0f} s "
                           f"with the new code:\n{_tail(out.decode('utf-8', 'replace'))}",
                           details={"test_cmd": test_cmd})
        text = out.decode("utf-8", "replace")
        if proc.returncode != 0:
            return Verdict("wrong_output", f"The project's tests (`{test_cmd}`) fail with the new code "
                           f"(exit {proc.returncode}):\n{_tail(text, lines=25, chars=2500)}",
                           details={"test_cmd": test_cmd, "test_output": text[-8000:],
                                    "test_seconds": time.monotonic() - started})
    return None
