"""The pipeline's typed state. Everything in it is plain data (str, int, list, dict) so the SQLite
checkpointer can store it and an interrupted run resumes from the last finished node."""

from __future__ import annotations

from typing import Any, TypedDict


class PipelineState(TypedDict, total=False):
    # -- the run (set once by graph.api.initial_state) --
    run_id: str
    path: str  # the user's file (or a label such as "row-17.py" for batch rows)
    mode: str  # "function": replay captured calls | "program": stdin/stdout tests
    config: dict[str, Any]  # FasterPyConfig.to_dict()
    original_source: str
    tests_dir: str | None  # PIE layout: input.N.txt / output.N.txt
    input_files: list[str]  # stdin files (program mode, no expected outputs)
    exclude_problems: list[str]  # never retrieve these problems (batch: the row's own)
    key: str | None  # identifies the task to backends that need it (replay: the problem id)
    groups: list[list[str]]  # target groups: one with every target ("together") or one per target ("each"); [[]] = whole program

    # -- progress over groups --
    source: str  # the working source: original plus every accepted group
    group: int  # index into groups
    results: list[dict[str, Any]]  # finished groups, graph.result.TargetResult as dicts

    # -- the current group --
    context: str  # extracted code shown to the model
    suggestions: list[dict[str, Any]]  # kb.records.Suggestion as dicts
    attempt: int  # 1-based
    candidates: list[str | None]  # code extracted from this attempt's replies (None: no code)
    attempts: list[dict[str, Any]]  # graph.result.Attempt as dicts, this group so far
    feedback: list[str]  # verifier messages fed back to the next generation
    next: str  # decide's routing: "generate" | "preprocess" | "end"
