"""The run's runtime context: what the nodes need that cannot live in a checkpoint.

The graph is compiled with `context_schema=RunContext`; the caller creates one, passes it to
`graph.invoke(state, config, context=ctx)` and closes it afterwards (it is a context manager).
Nodes reach it as `runtime.context` (`runtime: Runtime[RunContext]`). It is rebuilt from the
checkpointed config on resume, so it holds only per-process things: the event sink, the sink for
each accepted candidate (`on_candidate`, called as soon as it is verified), the cancel flag, the
generation backend, the open knowledge base, captured calls and program tests (the sandbox pool is
the verifier's own, harness.verify.verify_pool). One context may serve several runs (batch rows):
`reset_run` forgets the per-run caches and keeps the backend and KB."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from graph.config import FasterPyConfig
from graph.events import CandidateEvent, CandidateSink, EventSink, ProgressEvent, ignore_candidates, ignore_events
from graph.pipeline.state import PipelineState
from harness.errors import FasterPyError


class RunCancelled(Exception):
    """The cancel event was set; the run stops at a node boundary and can be resumed."""


@dataclass
class RunContext:
    """Per-process helpers of a run, created lazily from the state's config."""

    on_event: EventSink = ignore_events
    on_candidate: CandidateSink = ignore_candidates  # called by the verify node for each accepted candidate
    cancel: threading.Event = field(default_factory=threading.Event)
    backend: Any = None  # a generation backend; None: created from the config on first use
    kb: Any = None  # an open KnowledgeBase; None: opened from the config on first use
    kb_error: str | None = None  # why there is no knowledge base (retrieval goes on without one)
    _config: FasterPyConfig | None = field(default=None, repr=False)
    _config_key: int | None = field(default=None, repr=False)
    _captured: dict[tuple[str, ...], Any] = field(default_factory=dict, repr=False)
    _tests: tuple[list[str], list[str] | None] | None = field(default=None, repr=False)
    notices: set[str] = field(default_factory=set, repr=False)  # one-line notices already shown (say each once)

    def __enter__(self) -> RunContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------

    def emit(self, node: str, message: str, target: str | None = None, step: int | None = None,
             total: int | None = None, **data: Any) -> None:
        self.on_event(ProgressEvent(node=node, message=message, target=target, step=step, total=total, data=data))

    def candidate(self, event: CandidateEvent) -> None:
        """Hand an accepted candidate to `on_candidate` (in the run's thread, before the run goes on)."""
        self.on_candidate(event)

    def notice(self, node: str, message: str | None, target: str | None = None) -> None:
        """Emit `message` once per process (e.g. how to install a missing model)."""
        if message and message not in self.notices:
            self.notices.add(message)
            self.emit(node, message, target, notice=message)

    def check_cancel(self) -> None:
        if self.cancel.is_set():
            raise RunCancelled("cancelled")

    def config(self, state: PipelineState) -> FasterPyConfig:
        key = id(state.get("config"))
        if self._config is None or self._config_key != key:
            self._config = FasterPyConfig.from_dict(state.get("config") or {})
            self._config_key = key
        return self._config

    def get_backend(self, cfg: FasterPyConfig) -> Any:
        if self.backend is None:
            from graph.backends.registry import get_backend

            self.backend = get_backend(cfg.generation)
        return self.backend

    def open_kb(self, cfg: FasterPyConfig) -> Any:
        """The open knowledge base, or None (with the reason in `kb_error`) when there is none."""
        if self.kb is None and self.kb_error is None:
            from graph.learn import retrieval_kb
            from kb.store import KnowledgeBase

            try:
                self.kb = KnowledgeBase.open(retrieval_kb(cfg))
            except FasterPyError as exc:
                if cfg.kb:  # a KB the user named must exist
                    raise
                self.kb_error = str(exc)
        return self.kb

    def captured(self, state: PipelineState, group: list[str]) -> Any:
        """Inputs of the target functions, recorded by running the driver (cached per group)."""
        key = tuple(group)
        if key not in self._captured:
            from harness.verify.capture import capture_calls

            cfg = self.config(state)
            self._captured[key] = capture_calls(state["path"], list(group), driver=cfg.driver)
        return self._captured[key]

    def tests(self, state: PipelineState) -> tuple[list[str], list[str] | None]:
        """(stdin inputs, expected outputs or None) for program mode."""
        if self._tests is None:
            from harness.verify import load_program_tests

            self._tests = load_program_tests(state.get("tests_dir"), state.get("input_files") or [])
        return self._tests

    def verify_config(self, cfg: FasterPyConfig) -> Any:
        from harness.verify import VerifyConfig

        return VerifyConfig(
            threshold=cfg.speedup_threshold, repeats=cfg.repeats, max_repeats=max(3 * cfg.repeats, 24),
            timeout_s=cfg.timeout_s, memory_mb=cfg.memory_mb, float_rel_tol=cfg.float_tolerance,
            float_abs_tol=cfg.float_tolerance, test_cmd=cfg.test_cmd,
            min_coverage_warn=cfg.min_coverage_warn, min_coverage=cfg.min_coverage,
            generated_inputs=cfg.generated_inputs, generated_seed=cfg.generated_seed,
            generated_budget_s=cfg.generated_budget_s,
        )

    def reset_run(self) -> None:
        """Forget what belongs to one run (captured calls, tests, config); keep backend and KB."""
        self._captured.clear()
        self._tests = None
        self._config = None
        self._config_key = None

    def close(self) -> None:
        if self.kb is not None:
            self.kb.close()
            self.kb = None
