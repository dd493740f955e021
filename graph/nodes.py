"""The pipeline's nodes: preprocess → retrieve → generate → verify → decide.

Each node is a function of the state that returns the fields it changes. What cannot live in a
checkpoint (the backend, the open KB, captured calls, the event sink, the cancel flag) is held by a
`Services` object the nodes close over; it is rebuilt from the checkpointed config on resume."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from graph.config import FasterPyConfig
from graph.events import EventSink, ProgressEvent, ignore_events
from graph.result import Attempt, TargetResult
from graph.state import PipelineState
from harness.errors import FasterPyError

FEEDBACK_KEEP = 4  # most recent verifier messages in the prompt (small models lose focus on more)
FEEDBACK_CHARS = 900


class RunCancelled(Exception):
    """The cancel event was set; the run stops at a node boundary and can be resumed."""


def group_label(group: list[str]) -> str:
    return ", ".join(group) if group else "program"


class Services:
    """Per-process helpers of a run, created lazily from the state's config."""

    def __init__(
        self,
        on_event: EventSink | None = None,
        cancel: threading.Event | None = None,
        backend: Any = None,
        kb: Any = None,
    ) -> None:
        self.on_event = on_event or ignore_events
        self.cancel = cancel or threading.Event()
        self._backend = backend
        self._config: FasterPyConfig | None = None
        self._config_key: int | None = None
        self._kb: Any = kb
        self._pool: Any = None
        self._kb_error: str | None = None
        self._captured: dict[tuple[str, ...], Any] = {}
        self._tests: tuple[list[str], list[str] | None] | None = None

    # -- plumbing ------------------------------------------------------------------------

    def emit(self, node: str, message: str, target: str | None = None, step: int | None = None,
             total: int | None = None, **data: Any) -> None:
        self.on_event(ProgressEvent(node=node, message=message, target=target, step=step, total=total, data=data))

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise RunCancelled("cancelled")

    def config(self, state: PipelineState) -> FasterPyConfig:
        key = id(state.get("config"))
        if self._config is None or self._config_key != key:
            self._config = FasterPyConfig.from_dict(state.get("config") or {})
            self._config_key = key
        return self._config

    def backend(self, cfg: FasterPyConfig) -> Any:
        if self._backend is None:
            from graph.backends.registry import get_backend

            self._backend = get_backend(cfg.generation)
        return self._backend

    def kb(self, cfg: FasterPyConfig) -> Any:
        """The open knowledge base, or None (with the reason in `kb_error`) when there is none."""
        if self._kb is None and self._kb_error is None:
            from graph.learn import retrieval_kb
            from kb.store import KnowledgeBase

            try:
                self._kb = KnowledgeBase.open(retrieval_kb(cfg))
            except FasterPyError as exc:
                if cfg.kb:  # a KB the user named must exist
                    raise
                self._kb_error = str(exc)
        return self._kb

    def captured(self, state: PipelineState, group: list[str]) -> Any:
        """Inputs of the target functions, recorded by running the driver (cached per group)."""
        key = tuple(group)
        if key not in self._captured:
            from graph.capture import capture_calls

            cfg = self.config(state)
            self._captured[key] = capture_calls(state["path"], list(group), driver=cfg.driver)
        return self._captured[key]

    def tests(self, state: PipelineState) -> tuple[list[str], list[str] | None]:
        """(stdin inputs, expected outputs or None) for program mode."""
        if self._tests is None:
            from graph.verify import load_program_tests

            self._tests = load_program_tests(state.get("tests_dir"), state.get("input_files") or [])
        return self._tests

    def verify_config(self, cfg: FasterPyConfig) -> Any:
        from graph.verify import VerifyConfig

        return VerifyConfig(
            threshold=cfg.speedup_threshold, repeats=cfg.repeats, max_repeats=max(3 * cfg.repeats, 24),
            timeout_s=cfg.timeout_s, memory_mb=cfg.memory_mb, float_rel_tol=cfg.float_tolerance,
            float_abs_tol=cfg.float_tolerance, test_cmd=cfg.test_cmd,
        )

    def pool(self, cfg: FasterPyConfig) -> Any:
        """One warm sandbox worker for program-mode runs (kept across batch rows)."""
        if self._pool is None:
            from harness.pool import WorkerPool

            self._pool = WorkerPool(workers=1, limits=cfg.limits())
        return self._pool

    def reset_run(self) -> None:
        """Forget what belongs to one run (captured calls, tests, config); keep backend and KB."""
        self._captured.clear()
        self._tests = None
        self._config = None
        self._config_key = None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._kb is not None:
            self._kb.close()
            self._kb = None


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= FEEDBACK_CHARS else text[: FEEDBACK_CHARS - 20] + "\n… (truncated)"


# -- the nodes ------------------------------------------------------------------------------


def make_nodes(svc: Services) -> dict[str, Callable[[PipelineState], dict[str, Any]]]:
    def preprocess(state: PipelineState) -> dict[str, Any]:
        svc.check_cancel()
        group = state["groups"][state["group"]]
        label = group_label(group)
        n, total = state["group"] + 1, len(state["groups"])
        svc.emit("preprocess", f"extracting the context of {label}", label, n, total)
        from kb.preprocess import extract_context

        context = extract_context(state["source"], group or None)
        if state["mode"] == "function":
            captured = svc.captured(state, group)
            count = _count_calls(captured)
            svc.emit("preprocess", f"captured {count} call(s) of {label} from the driver", label, n, total, calls=count)
        else:
            inputs, expected = svc.tests(state)
            svc.emit("preprocess", f"{len(inputs)} test input(s)" + (" with expected outputs" if expected else ""),
                     label, n, total, tests=len(inputs))
        return {"context": context, "suggestions": [], "attempt": 1, "candidates": [], "attempts": [],
                "feedback": [], "next": ""}

    def retrieve(state: PipelineState) -> dict[str, Any]:
        svc.check_cancel()
        cfg = svc.config(state)
        label = group_label(state["groups"][state["group"]])
        if not cfg.use_retrieval:
            svc.emit("retrieve", "retrieval off: prompting without suggestions", label)
            return {"suggestions": []}
        kb = svc.kb(cfg)
        if kb is None:
            svc.emit("retrieve", f"no knowledge base ({svc._kb_error}); prompting without suggestions", label)
            return {"suggestions": []}
        r = cfg.retrieval
        found = kb.retrieve(state["context"], k=r.k, m=r.m, delta=r.delta, threshold=r.threshold,
                            exclude_problems=state.get("exclude_problems") or ())
        svc.emit("retrieve", f"{len(found)} suggestion(s) from {kb.path}", label,
                 suggestions=[s.to_dict() for s in found])
        return {"suggestions": [s.to_dict() for s in found]}

    def generate(state: PipelineState) -> dict[str, Any]:
        svc.check_cancel()
        cfg = svc.config(state)
        from graph.backends.base import GenerationRequest
        from graph.prompt import build_messages, extract_code
        from kb.records import Suggestion

        label = group_label(state["groups"][state["group"]])
        attempt = state["attempt"]
        suggestions = [Suggestion(**s) for s in state.get("suggestions") or []]
        feedback = list(state.get("feedback") or [])
        messages = build_messages(state["context"], suggestions, feedback)
        svc.emit("generate", f"asking {cfg.generation.backend or 'the default backend'} for {cfg.candidates} candidate(s)", label,
                 attempt, cfg.attempts, messages=messages)
        request = GenerationRequest(messages=messages, code=state["context"], suggestions=suggestions,
                                    n=cfg.candidates, feedback=feedback, key=state.get("key"), cancel=svc.cancel)
        replies = svc.backend(cfg).generate(request)
        svc.check_cancel()  # a cancelled generation returns early with partial replies: never verify those
        candidates = [extract_code(r) for r in replies][: max(cfg.candidates, 1)]
        svc.emit("generate", f"{sum(c is not None for c in candidates)} of {len(candidates)} replies hold code",
                 label, attempt, cfg.attempts, replies=len(replies))
        return {"candidates": candidates}

    def verify(state: PipelineState) -> dict[str, Any]:
        cfg = svc.config(state)
        group = state["groups"][state["group"]]
        label = group_label(group)
        attempt = state["attempt"]
        candidates = state.get("candidates") or []
        tried = {a["code"]: a for a in state.get("attempts") or [] if a.get("code")}
        new: list[dict[str, Any]] = []
        for i, cand in enumerate(candidates):
            svc.check_cancel()
            svc.emit("verify", f"checking candidate {i + 1} of {len(candidates)}", label, i + 1, len(candidates),
                     attempt=attempt)
            rec = _verify_one(svc, state, cfg, group, cand, tried)
            rec = Attempt(target=label, number=attempt, candidate=i + 1, **rec)
            if rec.code:
                tried.setdefault(rec.code, dict(rec.__dict__))
            svc.emit("verify", f"candidate {i + 1}: {rec.status}" + (f" {rec.speedup:.2f}×" if rec.speedup else ""),
                     label, i + 1, len(candidates), attempt=attempt, status=rec.status, speedup=rec.speedup,
                     ci_low=rec.ci_low, ci_high=rec.ci_high, feedback=rec.feedback)
            new.append(dict(rec.__dict__))
        return {"attempts": list(state.get("attempts") or []) + new}

    def decide(state: PipelineState) -> dict[str, Any]:
        svc.check_cancel()
        cfg = svc.config(state)
        group = state["groups"][state["group"]]
        label = group_label(group)
        attempt = state["attempt"]
        records = [Attempt.from_dict(a) for a in state.get("attempts") or []]
        current = [a for a in records if a.number == attempt]
        accepted = [a for a in records if a.accepted]
        if accepted:
            best = max(accepted, key=lambda a: (a.ci_low or 0.0, a.speedup or 0.0))
            svc.emit("decide", f"accepted candidate {best.number}.{best.candidate}: {best.speedup:.2f}× "
                     f"(CI {best.ci_low:.2f}–{best.ci_high:.2f})", label, attempt, cfg.attempts,
                     status="accepted", speedup=best.speedup)
            result = TargetResult(target=label, targets=list(group), status="optimized",
                                  suggestions=list(state.get("suggestions") or []), attempts=records, best=best,
                                  context=state.get("context", ""))
            return _finish_group(state, result, new_source=best.code)
        if attempt < cfg.attempts:
            notes = [f"candidate {a.number}.{a.candidate} ({a.status}): {_trim(a.feedback)}" for a in current if a.feedback]
            feedback = (list(state.get("feedback") or []) + notes)[-FEEDBACK_KEEP:]
            svc.emit("decide", f"no candidate accepted in attempt {attempt}; trying again with the feedback",
                     label, attempt, cfg.attempts, status="retry")
            return {"attempt": attempt + 1, "feedback": feedback, "candidates": [], "next": "generate"}
        reasons = list(dict.fromkeys(f"{a.status}: {a.feedback.strip().splitlines()[0] if a.feedback.strip() else a.status}"
                                     for a in records)) or ["no candidates were generated"]
        svc.emit("decide", f"no verified improvement after {attempt} attempt(s); keeping the original",
                 label, attempt, cfg.attempts, status="no_improvement", reasons=reasons)
        result = TargetResult(target=label, targets=list(group), status="no_improvement",
                              suggestions=list(state.get("suggestions") or []), attempts=records, reasons=reasons,
                              context=state.get("context", ""))
        return _finish_group(state, result, new_source=None)

    def _finish_group(state: PipelineState, result: TargetResult, new_source: str | None) -> dict[str, Any]:
        from dataclasses import asdict

        results = list(state.get("results") or []) + [asdict(result)]
        nxt = state["group"] + 1
        more = nxt < len(state["groups"])
        if not more:
            svc.emit("done", "finished", None, status="done")
        return {
            "results": results,
            "source": new_source if new_source is not None else state["source"],
            "group": nxt if more else state["group"],
            "next": "preprocess" if more else "end",
        }

    return {"preprocess": preprocess, "retrieve": retrieve, "generate": generate, "verify": verify, "decide": decide}


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


def _verify_one(svc: Services, state: PipelineState, cfg: FasterPyConfig, group: list[str],
                candidate: str | None, tried: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Splice a candidate into the working source and verify it; returns Attempt fields."""
    if candidate is None:
        return {"status": "no_code", "feedback": "the reply held no code: answer with the whole optimized code in one ```python block"}
    source = state["source"]
    from graph.splice import SpliceError, splice_functions

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
    from graph import verify as V

    vcfg = svc.verify_config(cfg)
    if state["mode"] == "function":
        # verify_functions splices the raw candidate itself (same splice as `full`)
        verdict = V.verify_functions(state["path"], source, candidate, list(group), svc.captured(state, group), vcfg)
    else:
        inputs, expected = svc.tests(state)
        verdict = V.verify_program(source, full, inputs, expected, vcfg, pool=svc.pool(cfg))
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
