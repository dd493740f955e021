"""The pipeline's nodes: preprocess → retrieve → generate → verify → decide, and `route`, which
sends decide's outcome on.

Each node is a function of the state that returns the fields it changes (for the accumulating
fields, only what it adds: see `graph.pipeline.state`). What cannot live in a checkpoint (the
backend, the open KB, captured calls, the event sink, the cancel flag) comes from the runtime
context, `runtime.context`, a `graph.pipeline.context.RunContext`."""

from __future__ import annotations

import ast
import re
import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from graph.config import FasterPyConfig
from graph.events import CandidateEvent
from graph.pipeline.context import RunContext
from graph.pipeline.state import PipelineState
from graph.result import Attempt, TargetResult

__all__ = ["NODES", "route", "group_label"]

FEEDBACK_CHARS = 900
NOTES_WITH_CODE = 2  # rejected candidates quoted back per attempt (more crowd a small model's context)
TEMPERATURE_STEP, TEMPERATURE_MAX = 0.3, 1.0  # the fresh samples' temperature ladder
_EXTRA_FIELDS = ("case", "duplicate")  # attempt-record keys beyond graph.result.Attempt's fields


def group_label(group: list[str]) -> str:
    return ", ".join(group) if group else "program"


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= FEEDBACK_CHARS else text[: FEEDBACK_CHARS - 20] + "\n… (truncated)"


# -- the nodes ------------------------------------------------------------------------------


def preprocess(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Start the next unfinished group: extract its context, load its verification inputs."""
    ctx = runtime.context
    ctx.check_cancel()
    index = len(state.get("results") or [])
    group = state["groups"][index]
    label = group_label(group)
    n, total = index + 1, len(state["groups"])
    ctx.emit("preprocess", f"extracting the context of {label}", label, n, total)
    from kb.preprocess import extract_context

    context = extract_context(state["source"], group or None)
    if state["mode"] == "function":
        captured = ctx.captured(state, group)
        count = _count_calls(captured)
        ctx.emit("preprocess", f"captured {count} call(s) of {label} from the driver", label, n, total, calls=count)
    else:
        inputs, expected = ctx.tests(state)
        ctx.emit("preprocess", f"{len(inputs)} test input(s)" + (" with expected outputs" if expected else ""),
                 label, n, total, tests=len(inputs))
    hot = _profile_lines(ctx, state, group)
    if hot:
        ctx.emit("preprocess", f"hot line: {hot[0]['text']} ({100 * hot[0]['share']:.0f}% of the time)", label, n, total,
                 hot_lines=hot)
    return {"group": index, "context": context, "suggestions": [], "attempt": 1, "candidates": [], "origins": [],
            "attempts": Overwrite([]), "feedback": Overwrite([]), "hot_lines": hot, "examples": [],
            "free_done": False, "free_round": False, "search_s": Overwrite(0.0)}


def retrieve(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    ctx.check_cancel()
    cfg = ctx.config(state)
    label = group_label(state["groups"][state["group"]])
    if not cfg.use_retrieval:
        ctx.emit("retrieve", "retrieval off: prompting without suggestions", label)
        return {"suggestions": []}
    kb = ctx.open_kb(cfg)
    if kb is None:
        ctx.emit("retrieve", f"no knowledge base ({ctx.kb_error}); prompting without suggestions", label)
        return {"suggestions": []}
    r = cfg.retrieval
    found = kb.retrieve(state["context"], k=r.k, m=r.m, delta=r.delta, threshold=r.threshold,
                        exclude_problems=state.get("exclude_problems") or ())
    ctx.emit("retrieve", f"{len(found)} suggestion(s) from {kb.path}", label,
             suggestions=[s.to_dict() for s in found])
    examples = _examples(kb, found, state) if cfg.prompt_mode == "examples" else []
    return {"suggestions": [s.to_dict() for s in found], "examples": examples}


def generate(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """One attempt's candidates: fresh samples (at a ladder of temperatures) from the prompt with the
    hot lines, the retrieved suggestions or examples and the last attempt's failures; beside them,
    from the second attempt on, the best correct candidate so far sent back for refinement.

    A cascade's free stage (rules) first gets a round of its own: its candidates are verified before
    any model is asked, and a clear win there ends the search (decide)."""
    ctx = runtime.context
    ctx.check_cancel()
    started = time.monotonic()
    cfg = ctx.config(state)
    from graph.backends.base import GenerationRequest
    from graph.prompt import build_messages, refine_note
    from kb.records import Suggestion

    label = group_label(state["groups"][state["group"]])
    attempt = state["attempt"]
    backend = ctx.get_backend(cfg)
    ctx.notice("generate", getattr(backend, "notice", None), label)
    suggestions = [Suggestion(**s) for s in state.get("suggestions") or []]
    feedback = list(state.get("feedback") or [])
    extras: dict[str, Any] = {"hot_lines": state.get("hot_lines") or [], "examples": state.get("examples") or []}
    free_first = bool(getattr(backend, "free_first", False))
    base = _refine_base(state) if getattr(backend, "name", "") != "rules" and attempt > 1 else None
    fresh = max(1, cfg.candidates - (1 if base else 0))
    messages = build_messages(state["context"], suggestions, feedback, **extras)
    common: dict[str, Any] = dict(code=state["context"], suggestions=suggestions, feedback=feedback,
                                  key=state.get("key"), cancel=ctx.cancel)

    def finish(candidates: list[str | None], origins: list[str], free_round: bool) -> dict[str, Any]:
        ctx.emit("generate", f"{sum(c is not None for c in candidates)} of {len(candidates)} replies hold code",
                 label, attempt, cfg.attempts, replies=len(candidates), origins=origins)
        return {"candidates": candidates, "origins": origins, "free_done": True, "free_round": free_round,
                "search_s": time.monotonic() - started}

    if free_first and not state.get("free_done"):
        ctx.emit("generate", "asking the rules first (free): the model only when they do not clearly win",
                 label, attempt, cfg.attempts, messages=messages)
        candidates, origins = _ask(ctx, backend, [(GenerationRequest(messages=messages, n=fresh, stages="free",
                                                                     **common), fresh)])
        if any(c is not None for c in candidates):
            return finish(candidates, origins, free_round=True)
    ctx.emit("generate", f"asking {getattr(backend, 'name', 'the backend')} for {cfg.candidates} candidate(s)"
             + (" (one refines the best so far)" if base else ""), label, attempt, cfg.attempts, messages=messages)
    stages = "paid" if free_first else "all"  # the free stage had its round: its candidates are judged
    moves = [(GenerationRequest(messages=messages, n=fresh, temperatures=_ladder(cfg.generation.temperature, fresh),
                                variant=0, stages=stages, **common), fresh)]
    if base is not None:
        note = refine_note(base["candidate_code"], base.get("speedup"))
        moves.append((GenerationRequest(messages=build_messages(state["context"], suggestions, (), refine=note, **extras),
                                        n=1, variant=1, stages=stages, **common), 1))
    return finish(*_ask(ctx, backend, moves), free_round=False)


def _ask(ctx: RunContext, backend: Any, moves: list[tuple[Any, int]]) -> tuple[list[str | None], list[str]]:
    """Each move's replies as code (None: no code) and the cascade stage that wrote each."""
    from graph.prompt import extract_code

    candidates: list[str | None] = []
    origins: list[str] = []
    for request, n in moves:
        ctx.check_cancel()
        replies = backend.generate(request)
        ctx.check_cancel()  # a cancelled generation returns early with partial replies: never verify those
        sources = list((getattr(backend, "last_stats", None) and backend.last_stats.extra.get("sources")) or [])
        keep = n * max(1, len(set(sources)))  # each cascade stage answers for n
        candidates += [extract_code(r) for r in replies][:keep]
        origins += (sources + [""] * len(replies))[: min(keep, len(replies))]
    return candidates, origins


def verify(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Verify this attempt's candidates. A candidate that is the same program as one already judged
    (after normalising formatting: `normal_form`) reuses that verdict instead of running again; a
    correct candidate from a model stage gets the rules rewrites stacked on top, verified as one more.
    Each accepted candidate (not a duplicate) goes to the context's `on_candidate` as soon as it is
    verified."""
    ctx = runtime.context
    started = time.monotonic()
    cfg = ctx.config(state)
    group = state["groups"][state["group"]]
    label = group_label(group)
    attempt = state["attempt"]
    queue = list(zip(state.get("candidates") or [], state.get("origins") or [], strict=False))
    queue += [(c, "") for c in (state.get("candidates") or [])[len(queue):]]
    tried = {normal_form(a["code"]): a for a in state.get("attempts") or [] if a.get("code")}
    # the free round and the model's candidates share attempt 1: number on from the ones judged
    offset = sum(1 for a in state.get("attempts") or [] if a.get("number") == attempt)
    new: list[dict[str, Any]] = []
    i = 0
    while i < len(queue):
        cand, origin = queue[i]
        i += 1
        ctx.check_cancel()
        ctx.emit("verify", f"checking candidate {i} of {len(queue)}", label, i, len(queue), attempt=attempt)
        fields = _verify_one(ctx, state, cfg, group, cand, tried)
        extra = {k: fields.pop(k) for k in _EXTRA_FIELDS if k in fields}
        rec = Attempt(target=label, number=attempt, candidate=offset + i, **fields)
        record = dict(rec.__dict__, origin=origin, candidate_code=cand or "", **extra)
        if rec.code:
            tried.setdefault(normal_form(rec.code), record)
        ctx.emit("verify", f"candidate {i}: {rec.status}" + (f" {rec.speedup:.2f}×" if rec.speedup else "")
                 + (" (same program as one already judged)" if extra.get("duplicate") else ""),
                 label, i, len(queue), attempt=attempt, status=rec.status, speedup=rec.speedup,
                 ci_low=rec.ci_low, ci_high=rec.ci_high, feedback=rec.feedback, origin=origin)
        new.append(record)
        if rec.accepted and not extra.get("duplicate"):  # shown at once (the TUI's best so far), not at the end
            ctx.candidate(CandidateEvent(target=label, targets=tuple(group), attempt=rec, mode=state["mode"],
                                         run_id=state.get("run_id", "")))
        if cand and origin not in ("", "rules", "stacked") and rec.status in ("accepted", "slower") \
                and not extra.get("duplicate"):
            from graph.backends.cascade import stack

            stacked = stack(cand, [])
            if stacked is not None:
                queue.append((stacked, "stacked"))
    return {"attempts": new, "search_s": time.monotonic() - started}  # appended / summed by the reducers


def decide(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Accept the best verified candidate, retry with the verifier's feedback, or give up on the group.
    Where the run goes next is `route`'s call, from what this node wrote."""
    ctx = runtime.context
    ctx.check_cancel()
    cfg = ctx.config(state)
    group = state["groups"][state["group"]]
    label = group_label(group)
    attempt = state["attempt"]
    raw = list(state.get("attempts") or [])
    records = [Attempt.from_dict(a) for a in raw]
    accepted = [a for a in records if a.accepted]
    best = max(accepted, key=lambda a: (a.ci_low or 0.0, a.speedup or 0.0)) if accepted else None  # the fastest
    clear = best is not None and (best.ci_low or 0.0) >= cfg.early_stop * cfg.speedup_threshold
    spent = float(state.get("search_s") or 0.0)
    # An attempt is not started when one more of the attempts' average length would end past the
    # budget: the budget is a bound on the search, not the time after which the last attempt begins.
    per_attempt = spent / max(1, attempt)
    over = spent >= cfg.budget_s or spent + per_attempt > cfg.budget_s
    if over and attempt < cfg.attempts:
        ctx.emit("decide", f"search budget used ({spent:.0f} s of {cfg.budget_s:.0f} s; another attempt takes "
                 f"~{per_attempt:.0f} s): stopping", label, attempt, cfg.attempts, status="budget")
    if state.get("free_round") and not (clear or over):
        ctx.emit("decide", (f"the rules' best, candidate {best.number}.{best.candidate}, is {best.speedup:.2f}× (CI low "
                            f"{best.ci_low:.2f} < {cfg.early_stop:g} × {cfg.speedup_threshold:g}): asking the model"
                            if best is not None else "no rules candidate was accepted: asking the model"),
                 label, attempt, cfg.attempts, status="retry")
        return {"free_round": False, "candidates": [], "origins": []}  # the same attempt, now the model's turn
    if best is not None and (clear or over or attempt >= cfg.attempts):
        ctx.emit("decide", f"accepted candidate {best.number}.{best.candidate}: {best.speedup:.2f}× "
                 f"(CI {best.ci_low:.2f}–{best.ci_high:.2f})", label, attempt, cfg.attempts,
                 status="accepted", speedup=best.speedup)
        result = TargetResult(target=label, targets=list(group), status="optimized",
                              suggestions=list(state.get("suggestions") or []), attempts=records, best=best,
                              context=state.get("context", ""))
        return _finish_group(ctx, state, result, new_source=best.code)
    if attempt < cfg.attempts and not over:
        notes = _feedback_notes(ctx, state, cfg, [a for a in raw if a.get("number") == attempt])
        if best is not None:
            ctx.emit("decide", f"candidate {best.number}.{best.candidate} is {best.speedup:.2f}× faster (CI low "
                     f"{best.ci_low:.2f} < {cfg.early_stop:g} × {cfg.speedup_threshold:g}): searching on for a faster one",
                     label, attempt, cfg.attempts, status="retry")
        else:
            ctx.emit("decide", f"no candidate accepted in attempt {attempt}; trying again with the feedback",
                     label, attempt, cfg.attempts, status="retry")
        return {"attempt": attempt + 1, "feedback": notes, "candidates": [], "origins": []}  # feedback: the reducer keeps the latest
    reasons = list(dict.fromkeys(f"{a.status}: {a.feedback.strip().splitlines()[0] if a.feedback.strip() else a.status}"
                                 for a in records)) or ["no candidates were generated"]
    ctx.emit("decide", f"no verified improvement after {attempt} attempt(s); keeping the original",
             label, attempt, cfg.attempts, status="no_improvement", reasons=reasons)
    result = TargetResult(target=label, targets=list(group), status="no_improvement",
                          suggestions=list(state.get("suggestions") or []), attempts=records, reasons=reasons,
                          context=state.get("context", ""))
    return _finish_group(ctx, state, result, new_source=None)


def _finish_group(ctx: RunContext, state: PipelineState, result: TargetResult, new_source: str | None) -> dict[str, Any]:
    if len(state.get("results") or []) + 1 >= len(state["groups"]):
        ctx.emit("done", "finished", None, status="done")
    return {
        "results": [asdict(result)],  # appended by the reducer
        "source": new_source if new_source is not None else state["source"],
    }


def route(state: PipelineState) -> str:
    """After decide: the current group is still open (no result for it yet) → generate again;
    else the next group's preprocess, or the end when every group has its result."""
    done = len(state.get("results") or [])
    if done <= state["group"]:
        return "generate"
    return "preprocess" if done < len(state["groups"]) else END


def normal_form(code: str) -> str:
    """`code` with formatting and comments normalised away (its AST), to tell repeats apart."""
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return "\n".join(line.rstrip() for line in code.strip().splitlines())


def _ladder(base: float, n: int) -> list[float]:
    """Temperatures for an attempt's n fresh samples: the configured one first, then hotter."""
    return [round(min(base + TEMPERATURE_STEP * i, TEMPERATURE_MAX), 3) for i in range(n)]


def _refine_base(state: PipelineState) -> dict[str, Any] | None:
    """The best correct candidate so far that is not yet fast enough to stop on (the fastest
    accepted one counts too: decide keeps searching until the early-stop margin)."""
    correct = [a for a in state.get("attempts") or [] if a.get("status") in ("accepted", "slower")
               and a.get("candidate_code") and not a.get("duplicate")]
    return max(correct, key=lambda a: a.get("speedup") or 0.0) if correct else None


def _feedback_notes(ctx: RunContext, state: PipelineState, cfg: FasterPyConfig,
                    current: list[dict[str, Any]]) -> list[str]:
    """The last attempt's rejected candidates as feedback the model can act on (graph.prompt.feedback_note):
    at most NOTES_WITH_CODE quote their code; the rest are one line each."""
    from graph.prompt import feedback_note

    notes: list[str] = []
    seen: set[str] = set()
    for a in current:
        if a.get("status") == "accepted" or not (a.get("feedback") or a.get("status")):
            continue
        code = a.get("candidate_code") or None
        key = normal_form(code) if code else a.get("feedback", "")
        if key in seen:
            continue
        seen.add(key)
        if code and len([n for n in notes if "```" in n]) < NOTES_WITH_CODE:
            notes.append(feedback_note(a["status"], code, a.get("feedback") or "", a.get("case"), a.get("speedup"),
                                       cfg.speedup_threshold))
        else:
            notes.append(f"candidate {a['number']}.{a['candidate']} ({a['status']}): {_trim(a.get('feedback') or '')}")
    return notes


def _profile_lines(ctx: RunContext, state: PipelineState, group: list[str]) -> list[dict[str, Any]]:
    """The original's hot lines on the captured calls / test inputs; [] when it cannot be profiled
    (the verifier reports such failures itself, with more context)."""
    from harness.errors import FasterPyError
    from harness.verify import hotlines

    cfg = ctx.config(state)
    try:
        if state["mode"] == "function":
            found = hotlines.hot_lines_functions(state["path"], state["source"], ctx.captured(state, group),
                                                 ctx.verify_config(cfg))
        else:
            found = hotlines.hot_lines_program(state["source"], ctx.tests(state)[0], ctx.verify_config(cfg))
    except (FasterPyError, OSError, RuntimeError):
        return []
    return [h.to_dict() for h in found]


def _examples(kb: Any, found: list[Any], state: PipelineState) -> list[dict[str, str]]:
    """The retrieved records' slow and fast code as worked examples — never the input's own problem."""
    excluded = set(state.get("exclude_problems") or ())
    own = normal_form(state.get("context") or "")
    records = kb.get([s.id for s in found])
    out = []
    for s in found:
        r = records.get(s.id)
        if r is None or not r.target or r.problem_id in excluded or normal_form(r.slow_code) == own:
            continue
        out.append({"slow": r.slow_code, "fast": r.target})
    return out


NODES: dict[str, Callable[..., dict[str, Any]]] = {
    "preprocess": preprocess, "retrieve": retrieve, "generate": generate, "verify": verify, "decide": decide,
}


def _count_calls(captured: Any) -> int:
    for attr in ("total", "count"):
        v = getattr(captured, attr, None)
        if isinstance(v, int):
            return v
    calls = getattr(captured, "calls", None)
    if isinstance(calls, dict):
        return sum(len(v) for v in calls.values())
    try:
        return len(calls if calls is not None else captured)
    except TypeError:
        return 0


def _verify_one(svc: RunContext, state: PipelineState, cfg: FasterPyConfig, group: list[str],
                candidate: str | None, tried: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Splice a candidate into the working source and verify it; returns Attempt fields."""
    if candidate is None:
        return {"status": "no_code", "feedback": "the reply held no code: answer with the whole optimized code in one ```python block"}
    source = state["source"]
    from graph.source import SpliceError, splice_functions

    if group:
        try:
            full = splice_functions(source, candidate, list(group))
        except SpliceError as exc:
            return {"status": "error", "feedback": f"the candidate could not be used: {exc}", "code": ""}
    else:
        full = candidate
    if full == source or full.strip() == source.strip():
        return {"status": "slower", "feedback": "the candidate is the input code unchanged: change it to run faster",
                "speedup": 1.0, "code": full}
    prev = tried.get(normal_form(full))
    if prev is not None:  # the same program as one already judged: reuse the verdict instead of re-running
        return {"duplicate": True} | {k: prev[k] for k in ("status", "feedback", "speedup", "ci_low", "ci_high", "runtime_before",
                                     "runtime_after", "tests_passed", "tests_total", "checks", "coverage", "thin_evidence",
                                     "uncovered", "code") if k in prev}  # `if`: a run checkpointed before coverage
    from harness import verify as V

    vcfg = svc.verify_config(cfg)
    if state["mode"] == "function":
        verdict = V.verify_functions(state["path"], source, full, list(group), svc.captured(state, group), vcfg)
    else:
        inputs, expected = svc.tests(state)
        roots = V.sandbox_read_roots(state["path"], extra=[state.get("tests_dir"), *(state.get("input_files") or [])])
        verdict = V.verify_program(source, full, inputs, expected, vcfg, read_roots=roots)
    return {
        "status": verdict.status,
        "feedback": verdict.feedback or "",
        "speedup": verdict.speedup,
        "ci_low": verdict.ci_low,
        "ci_high": verdict.ci_high,
        "runtime_before": verdict.runtime_before,
        "runtime_after": verdict.runtime_after,
        "tests_passed": verdict.tests_passed or 0,
        "tests_total": verdict.tests_total or 0,
        "checks": verdict.checks,
        "coverage": verdict.coverage,
        "thin_evidence": verdict.thin_evidence,
        "uncovered": dict((verdict.details.get("coverage") or {}).get("missing") or {}),
        "code": full,
        "case": _failing_case(svc, state, group, verdict),
    }


_CALL_ORDER = re.compile(r"call #(\d+)")


def _failing_case(svc: RunContext, state: PipelineState, group: list[str], verdict: Any) -> str | None:
    """The input a rejected candidate failed on, as text for the feedback: a program's stdin, or a
    captured call's arguments (their recorded value form; the recording, not the live objects)."""
    if verdict.status not in ("wrong_output", "exception", "timeout"):
        return None
    details = verdict.details or {}
    if state["mode"] != "function":
        index = details.get("test")
        inputs = svc.tests(state)[0]
        return inputs[index] if isinstance(index, int) and 0 <= index < len(inputs) else None
    label = str(details.get("call") or "")
    found = _CALL_ORDER.search(label)
    if not found:
        return None
    from harness.verify.equality import render

    target = label.split("(", 1)[0]
    for call in getattr(svc.captured(state, group), "calls", {}).get(target, []):
        if call.order == int(found.group(1)):
            if call.mutated:
                return f"{label} (its arguments are changed in place; {call.size} bytes recorded)"
            form = call.args_after  # value form of (list(args), kwargs): ("tuple", (args form, kwargs form))
            if isinstance(form, tuple) and len(form) == 2 and form[0] == "tuple" and len(form[1]) == 2:
                args, kwargs = form[1]
                keywords = f" and keywords {render(kwargs, 80)}" if kwargs != ("dict", ()) else ""
                return f"{target} called with positional arguments {render(args, 240)}{keywords}"
            return f"{target} called with {render(form, 240)}"
    return None
