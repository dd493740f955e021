"""Function mode: the calls captured from a driver (harness.verify.capture) are replayed in the
sandbox on the original module and on the candidate module (the original file with the candidate's
functions spliced in by the caller, graph.source.splice_functions), compared — on them and on inputs
generated from them (harness/verify/generated.py) — then timed.

The sandbox runs harness/verify/_tracer.py's `_fasterpy_replay` shim (that file's text plus the code under
test) through harness.function.call_function; the shim returns only builtins ("value forms"), so
results holding the user's classes compare here without importing them."""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

from harness.compare import compare_runtimes
from harness.errors import FasterPyError
from harness.verify._tracer import MODULE_STATE
from harness.verify.coverage import LineCoverage, mark_verdict, replay_lines
from harness.verify.equality import Tolerance, first_difference, render
from harness.verify.generated import generate_calls
from harness.verify.project_tests import lines_under_tests, run_test_command, sandbox_read_roots
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


def replay_source(target_source: str, path: str, module_name: str | None = None) -> str:
    """The module text the sandbox runs for a replay: harness/verify/_tracer.py plus the code under test
    (and, for a module inside a package, its dotted name so relative imports resolve)."""
    from harness.verify.capture import TRACER

    return (TRACER.read_text(encoding="utf-8")
            + f"\n\n_TARGET_SOURCE = {target_source!r}\n_TARGET_PATH = {path!r}\n"
            + f"_TARGET_MODULE_NAME = {module_name!r}\n")


def _inner_repeats(runtime: float, cfg: VerifyConfig) -> int:
    if runtime <= 0:
        return cfg.max_inner_repeats
    return int(min(cfg.max_inner_repeats, max(1, math.ceil(cfg.min_call_time_s / runtime))))


def _replay(source: str, jobs: list[tuple[str, bytes, int]], limits: Any, outcome_wanted: bool = True,
            pool: Any = None, trace_lines: bool = False) -> list[dict]:
    """Run the jobs (target, args pickle, inner repeats) in one sandboxed process; one dict per job:
    the replay's outcome (or only its runtimes), or {'failure': status, 'text': …} when the call
    could not complete. trace_lines (never while timing) adds the executed lines ("lines")."""
    from harness.function import call_function

    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((target, blob, reps, outcome_wanted, trace_lines), {})
                                                           for target, blob, reps in jobs]
    outcomes = call_function(source, "_fasterpy_replay", calls, limits=limits, module_name="_fasterpy_replay",
                             pool=pool or verify_pool())
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
    label = getattr(call, "label", None)  # a generated input (harness/verify/generated.py) shows itself
    if label:
        return f"{target}{label} [input #{call.order} generated from the captured ones]"
    size = f"{call.size} bytes of arguments"
    return f"{target}(…) [call #{call.order}, {size}]"


def verify_functions(path: str | os.PathLike[str], original_source: str, spliced_source: str,
                     targets: list[str], captured: Any, config: Any = None, pool: Any = None) -> Verdict:
    """Replay the captured calls of `targets` on `spliced_source` — the whole original module with the
    candidate's functions already spliced in — in the sandbox: results (float tolerance), exception
    types, argument mutation and stdout must match the original's, and after the calls (replayed in
    their captured order in one process) so must the module's globals and class attributes; then
    time original vs candidate
    on the same calls, interleaved. `pool` should have one worker (the default is verify_pool() with
    reads fenced to the file's project folder):
    comparisons rely on both sides running under the same hash seed."""
    cfg = VerifyConfig.of(config)
    path = str(Path(path).resolve())
    if not spliced_source or not spliced_source.strip():
        return Verdict("no_code", "The answer contained no code. Output the complete optimized functions in one ```python block.")
    problem = syntax_problem(spliced_source, "file with the new functions")
    if problem:
        return Verdict("exception", problem)

    jobs: list[tuple[str, Any]] = [(t, c) for t in targets for c in captured.calls.get(t, [])]
    total = len(jobs)
    if not total:
        raise FasterPyError("no captured calls to check the candidate on — capture inputs with a driver first (--driver)")
    orig_time = sum(c.runtime for _, c in jobs)
    # A candidate 10× slower than the original is rejected anyway; do not wait the full limit for it,
    # but never give either side less than a few times what the original needed in the driver.
    limits = cfg.limits(max(2.0, min(cfg.timeout_s, 10 * orig_time + 1.0), 3 * orig_time + 2.0))
    orig_limits = cfg.limits(max(cfg.timeout_s, 3 * orig_time + 5.0))
    tol = cfg.tolerance()
    module_name = getattr(captured, "module_name", None)
    orig_src = replay_source(original_source, path, module_name)
    cand_src = replay_source(spliced_source, path, module_name)
    details: dict[str, Any] = {"mode": "function", "spliced_source": spliced_source}

    # Correctness. Everything runs on one warm worker, so original and candidate share the hash seed
    # (set/dict order of strings) and differ only by their code. The original runs twice around the
    # candidate: calls where its two runs disagree (random, clock) cannot judge a rewrite.
    run_pool = pool or verify_pool(sandbox_read_roots(path, cfg.project_root))  # reads: its project only
    # The last job returns the module's globals and class attributes after the calls (MODULE_STATE).
    first = [(t, c.args, 1) for t, c in jobs] + [(MODULE_STATE, b"", 1)]
    orig_out = _replay(orig_src, first, orig_limits, pool=run_pool)
    cand_out = _replay(cand_src, first, limits, pool=run_pool)
    again_out = _replay(orig_src, first, orig_limits, pool=run_pool)
    states = (orig_out.pop(), cand_out.pop(), again_out.pop())
    passed = 0
    nondeterministic: list[str] = []
    checked: list[tuple[str, bytes]] = []  # (target, args pickle) of every input both sides agreed on
    for (target, call), orig, cand, again in zip(jobs, orig_out, cand_out, again_out, strict=False):
        if "failure" in orig:
            return Verdict("error", f"The original {target} fails when replayed in the sandbox (which runs in an "
                           f"empty temporary directory, without network or subprocesses): {tail(orig['text'])}",
                           tests_total=total, details=details)
        if "failure" in again or _same_outcome(orig, again, tol, cfg) is not None:
            nondeterministic.append(_describe_call(target, call))
            continue
        verdict = _compare_call(target, call, orig, cand, tol, cfg, passed, total)
        if verdict is not None:
            verdict.details.update(details)
            return verdict
        passed += 1
        checked.append((target, call.args))
    if nondeterministic:
        details["nondeterministic_calls"] = nondeterministic
    if passed == 0:
        return Verdict("error", "Every captured call of the original gives a different result each time it runs "
                       "(random, time or I/O dependent), so no rewrite can be checked on them.",
                       tests_total=total, details=details)
    problem = _state_difference(*states, tol)
    if problem:
        return Verdict("wrong_output", problem, tests_passed=passed, tests_total=total, details=details)
    if cfg.test_cmd:
        verdict = run_test_command(cfg.test_cmd, path, spliced_source, cfg.project_root, cfg.test_timeout_s)
        if verdict is not None:
            verdict.tests_passed, verdict.tests_total = passed, total
            verdict.details.update(details)
            return verdict

    generated = _check_generated(targets, captured, orig_src, cand_src, cfg, tol, run_pool, checked, passed, total)
    if isinstance(generated, Verdict):
        generated.details.update(details)
        return generated
    details["generated"] = generated

    coverage = _evidence_coverage(cfg, path, original_source, orig_src, targets, checked, orig_time, run_pool)

    timing = _timing_jobs(jobs, cfg)
    details["timed_calls"] = len(timing)

    def timed(source: str, run_limits: Any, who: str):
        def run() -> float:
            outs = _replay(source, timing, run_limits, outcome_wanted=False, pool=run_pool)
            acc = 0.0
            for out in outs:
                if "failure" in out:
                    if who == "original":
                        raise RunFailed(Verdict("error", f"The original failed while being timed: {tail(out['text'])}",
                                                tests_passed=passed, tests_total=total))
                    raise RunFailed(Verdict("timeout" if out["failure"] == "timeout" else "exception",
                                            f"The code failed while being timed: {tail(out['text'])}",
                                            tests_passed=passed, tests_total=total))
                acc += min(out["runtimes"])  # timeit practice: the least-disturbed repeat
            return acc
        return run

    try:
        est = compare_runtimes(timed(orig_src, orig_limits, "original"), timed(cand_src, limits, "candidate"),
                               repeats=cfg.repeats, threshold=cfg.threshold,
                               confidence=cfg.confidence, statistic=cfg.statistic, max_repeats=cfg.max_repeats)
    except RunFailed as failed:
        failed.verdict.details.update(details)
        return failed.verdict
    return mark_verdict(speed_verdict(est, passed, total, details), coverage, cfg, original_source)


def _check_generated(targets: list[str], captured: Any, orig_src: str, cand_src: str, cfg: VerifyConfig,
                     tol: Tolerance, pool: Any, checked: list[tuple[str, bytes]], passed: int,
                     total: int) -> Verdict | dict[str, Any]:
    """Inputs generated from the captured calls (harness/verify/generated.py), replayed like them:
    the original twice, then the candidate. Inputs on which the original raises, does not finish or
    disagrees with itself are dropped; the candidate must agree on every other one. Returns the
    first disagreement as a Verdict, else counts for `details["generated"]`: ran, passed, dropped
    (and `skipped` with the reason when none ran). Agreed inputs are appended to `checked`."""
    stats: dict[str, Any] = {"ran": 0, "passed": 0, "dropped": 0}
    if cfg.generated_inputs <= 0:
        return dict(stats, skipped="disabled (generated_inputs = 0)")
    jobs: list[tuple[str, Any]] = []
    share = cfg.generated_budget_s / max(1, len(targets))
    for t in targets:
        calls = captured.calls.get(t, [])
        # The original runs twice and the candidate once on each input; the largest captured call
        # stands for one generated call (generated sizes go up to the largest seen).
        cost = 3 * max((c.runtime for c in calls), default=0.0)
        n = cfg.generated_inputs if cost <= 0 else min(cfg.generated_inputs, int(share / cost))
        jobs += [(t, g) for g in generate_calls(calls, n, cfg.generated_seed)]
    if not jobs:
        return dict(stats, skipped="no argument of plain data to vary, or the captured calls are too slow for "
                    "generated_budget_s")
    limits = cfg.limits(max(2.0, cfg.generated_budget_s))
    deadline = time.monotonic() + 2 * cfg.generated_budget_s + 5.0
    first = _replay_dropping(orig_src, jobs, limits, pool, deadline)
    keep = [i for i, out in enumerate(first) if out is not None and "failure" not in out and out.get("exception") is None]
    # The second run (and the candidate's) makes exactly the calls kept, in order, so module state
    # left by a dropped call cannot tell them apart; it is the reference the candidate must match.
    again = _replay_dropping(orig_src, [jobs[i] for i in keep], limits, pool, deadline)
    want: dict[int, dict] = {}
    for i, out in zip(keep, again, strict=True):
        ref = first[i]
        if out is not None and ref is not None and "failure" not in out and _same_outcome(ref, out, tol, cfg) is None:
            want[i] = out
    stats["dropped"] = len(jobs) - len(want)
    if not want:
        return stats
    orig_time = sum(min(out["runtimes"]) for out in want.values())
    cand_limits = cfg.limits(max(2.0, min(cfg.timeout_s, 10 * orig_time + 1.0)))
    cand = _replay(cand_src, [(jobs[i][0], jobs[i][1].args, 1) for i in want], cand_limits, pool=pool)
    for (i, ref), got in zip(want.items(), cand, strict=True):
        target, call = jobs[i]
        stats["ran"] += 1
        verdict = _compare_call(target, call, ref, got, tol, cfg, passed, total)
        if verdict is not None:
            verdict.details["generated"] = stats
            return verdict
        stats["passed"] += 1
        checked.append((target, call.args))
    return stats


def _replay_dropping(source: str, jobs: list[tuple[str, Any]], limits: Any, pool: Any,
                     deadline: float) -> list[dict | None]:
    """The original's outcome per job; one that stops the run (timeout, crash) keeps its failure and
    the jobs after it run again in a new process, until `deadline` (then they stay None)."""
    out: list[dict | None] = [None] * len(jobs)
    pending = list(range(len(jobs)))
    while pending and time.monotonic() < deadline:
        results = _replay(source, [(jobs[i][0], jobs[i][1].args, 1) for i in pending], limits, pool=pool)
        rest = []
        for i, res in zip(pending, results, strict=True):
            if res.get("failure") == "not_run":
                rest.append(i)
            else:
                out[i] = res
        if len(rest) == len(pending):
            break
        pending = rest
    return out


def _evidence_coverage(cfg: VerifyConfig, path: str, original_source: str, orig_src: str, targets: list[str],
                       checked: list[tuple[str, bytes]], orig_time: float, pool: Any) -> LineCoverage | None:
    """Which lines of the original targets the checked inputs and the user's tests execute."""
    if not cfg.measure_coverage:
        return None
    cov = LineCoverage.of(original_source, path, targets)
    cov.checks = len(checked)
    if not cov.total:
        return None
    # Line tracing slows the original down several times: a generous limit, and a call that still
    # does not finish only adds no lines.
    limits = cfg.limits(max(cfg.timeout_s, 20 * orig_time + 5.0))

    def traced(source: str, jobs: list[tuple[str, bytes, int]], run_limits: Any) -> list[dict]:
        return _replay(source, jobs, run_limits, outcome_wanted=False, pool=pool, trace_lines=True)

    cov.add_all(replay_lines(traced, orig_src, checked, limits), "checked inputs")
    if cfg.test_cmd:
        cov.add_all(lines_under_tests(cfg.test_cmd, path, original_source, targets, cfg.project_root,
                                      cfg.test_timeout_s), "tests")
    return cov


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


def _state_difference(orig: dict, cand: dict, again: dict, tol: Tolerance) -> str | None:
    """What differs between the original's and the candidate's module globals and class attributes
    after the same calls, or None. Names the original's two runs disagree on (a clock, a random
    value) and names only the candidate has (its own caches, helpers) are not compared."""
    if "state" not in orig or "state" not in cand or "state" not in again:
        return None  # a run failed: the per-call comparison reports it
    want, got, stable = orig["state"], cand["state"], again["state"]
    for name, form in want.items():
        if name not in stable or first_difference(form, stable[name], tol):
            continue
        if name not in got:
            return (f"After the captured calls the module-level `{name}` is no longer plain data as in the "
                    f"original (expected {render(form)}). Keep the same module globals and class attributes.")
        d = first_difference(form, got[name], tol, name)
        if d:
            return (f"After the captured calls the module-level `{name}` differs from the original's:\n"
                    f"  expected: {render(form, 300)}\n  got:      {render(got[name], 300)}\n"
                    f"  first difference at {d}\n"
                    "The calls' effects on module globals and class attributes must stay the same "
                    "(a cache of your own under a new name is fine).")
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
    common: dict[str, Any] = dict(tests_passed=passed, tests_total=total, details={"call": label})
    if "failure" in cand:
        if cand["failure"] == "timeout":
            return Verdict("timeout", f"The code timed out on {label}: it ran past the time limit. Keep the "
                           "complexity at most the original's.", **common)
        return Verdict("exception", f"The module failed to load or crashed on {label}:\n{tail(cand['text'])}", **common)
    want_exc = want.get("exception")
    got_exc = cand.get("exception")
    if got_exc is not None and (want_exc is None or got_exc[0] != want_exc[0]):
        expected = "returns normally" if want_exc is None else f"raises {want_exc[0]}"
        return Verdict("exception", f"{label} raised {got_exc[0]}: {got_exc[1]} (the original {expected}).\n"
                       f"{tail(cand.get('traceback') or '')}", **common)
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
