"""The pipeline's nodes: preprocess → retrieve → generate → verify → decide, and `route`, which
sends decide's outcome on.

Each node is a function of the state that returns the fields it changes (for the accumulating
fields, only what it adds: see `graph.pipeline.state`). What cannot live in a checkpoint (the
backend, the open KB, captured calls, the event sink, the cancel flag) comes from the runtime
context, `runtime.context`, a `graph.pipeline.context.RunContext`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from langgraph.graph import END
from langgraph.runtime import Runtime
from langgraph.types import Overwrite

from graph.config import FasterPyConfig
from graph.pipeline.context import RunContext
from graph.pipeline.state import PipelineState
from graph.result import Attempt, TargetResult

__all__ = ["NODES", "route", "group_label"]

FEEDBACK_CHARS = 900


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
    return {"group": index, "context": context, "suggestions": [], "attempt": 1, "candidates": [],
            "attempts": Overwrite([]), "feedback": Overwrite([])}


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
    return {"suggestions": [s.to_dict() for s in found]}


def generate(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    ctx.check_cancel()
    cfg = ctx.config(state)
    from graph.backends.base import GenerationRequest
    from graph.prompt import build_messages, extract_code
    from kb.records import Suggestion

    label = group_label(state["groups"][state["group"]])
    attempt = state["attempt"]
    suggestions = [Suggestion(**s) for s in state.get("suggestions") or []]
    feedback = list(state.get("feedback") or [])
    messages = build_messages(state["context"], suggestions, feedback)
    ctx.emit("generate", f"asking {cfg.generation.backend or 'the default backend'} for {cfg.candidates} candidate(s)", label,
             attempt, cfg.attempts, messages=messages)
    request = GenerationRequest(messages=messages, code=state["context"], suggestions=suggestions,
                                n=cfg.candidates, feedback=feedback, key=state.get("key"), cancel=ctx.cancel)
    replies = ctx.get_backend(cfg).generate(request)
    ctx.check_cancel()  # a cancelled generation returns early with partial replies: never verify those
    candidates = [extract_code(r) for r in replies][: max(cfg.candidates, 1)]
    ctx.emit("generate", f"{sum(c is not None for c in candidates)} of {len(candidates)} replies hold code",
             label, attempt, cfg.attempts, replies=len(replies))
    return {"candidates": candidates}


def verify(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = runtime.context
    cfg = ctx.config(state)
    group = state["groups"][state["group"]]
    label = group_label(group)
    attempt = state["attempt"]
    candidates = state.get("candidates") or []
    tried = {a["code"]: a for a in state.get("attempts") or [] if a.get("code")}
    new: list[dict[str, Any]] = []
    for i, cand in enumerate(candidates):
        ctx.check_cancel()
        ctx.emit("verify", f"checking candidate {i + 1} of {len(candidates)}", label, i + 1, len(candidates),
                 attempt=attempt)
        fields = _verify_one(ctx, state, cfg, group, cand, tried)
        rec = Attempt(target=label, number=attempt, candidate=i + 1, **fields)
        if rec.code:
            tried.setdefault(rec.code, dict(rec.__dict__))
        ctx.emit("verify", f"candidate {i + 1}: {rec.status}" + (f" {rec.speedup:.2f}×" if rec.speedup else ""),
                 label, i + 1, len(candidates), attempt=attempt, status=rec.status, speedup=rec.speedup,
                 ci_low=rec.ci_low, ci_high=rec.ci_high, feedback=rec.feedback)
        new.append(dict(rec.__dict__))
    return {"attempts": new}  # appended by the reducer


def decide(state: PipelineState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    """Accept the best verified candidate, retry with the verifier's feedback, or give up on the group.
    Where the run goes next is `route`'s call, from what this node wrote."""
    ctx = runtime.context
    ctx.check_cancel()
    cfg = ctx.config(state)
    group = state["groups"][state["group"]]
    label = group_label(group)
    attempt = state["attempt"]
    records = [Attempt.from_dict(a) for a in state.get("attempts") or []]
    current = [a for a in records if a.number == attempt]
    accepted = [a for a in records if a.accepted]
    if accepted:
        best = max(accepted, key=lambda a: (a.ci_low or 0.0, a.speedup or 0.0))
        ctx.emit("decide", f"accepted candidate {best.number}.{best.candidate}: {best.speedup:.2f}× "
                 f"(CI {best.ci_low:.2f}–{best.ci_high:.2f})", label, attempt, cfg.attempts,
                 status="accepted", speedup=best.speedup)
        result = TargetResult(target=label, targets=list(group), status="optimized",
                              suggestions=list(state.get("suggestions") or []), attempts=records, best=best,
                              context=state.get("context", ""))
        return _finish_group(ctx, state, result, new_source=best.code)
    if attempt < cfg.attempts:
        notes = [f"candidate {a.number}.{a.candidate} ({a.status}): {_trim(a.feedback)}" for a in current if a.feedback]
        ctx.emit("decide", f"no candidate accepted in attempt {attempt}; trying again with the feedback",
                 label, attempt, cfg.attempts, status="retry")
        return {"attempt": attempt + 1, "feedback": notes, "candidates": []}  # feedback: the reducer keeps the latest
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
    if full in tried:  # the model repeated itself: reuse the verdict instead of re-running
        prev = tried[full]
        return {k: prev[k] for k in ("status", "feedback", "speedup", "ci_low", "ci_high", "runtime_before",
                                     "runtime_after", "tests_passed", "tests_total", "code")}
    from harness import verify as V

    vcfg = svc.verify_config(cfg)
    if state["mode"] == "function":
        verdict = V.verify_functions(state["path"], source, full, list(group), svc.captured(state, group), vcfg)
    else:
        inputs, expected = svc.tests(state)
        verdict = V.verify_program(source, full, inputs, expected, vcfg)
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
        "code": full,
    }
