"""The pipeline's typed state. Everything in it is plain data (str, int, list, dict) so the SQLite
checkpointer can store it and an interrupted run resumes from the last finished node.

Fields that accumulate have reducers: a node returns only what it adds. `results` grows over the
whole run (`operator.add`); `attempts` and `feedback` grow within one target group and are cleared
when the next group starts by returning LangGraph's `Overwrite([])`, which bypasses the reducer.
What is not plain data (backend, knowledge base, pool, event sink, cancel flag) is in
`graph.pipeline.context.RunContext`, never in the state."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

FEEDBACK_KEEP = 4  # most recent verifier messages in the prompt (small models lose focus on more)


def keep_recent(current: list[str], new: list[str]) -> list[str]:
    """The feedback reducer: append, then keep the FEEDBACK_KEEP most recent messages."""
    return (list(current) + list(new))[-FEEDBACK_KEEP:]


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
    group: int  # index into groups: the group preprocess last started (it sets group = len(results))
    results: Annotated[list[dict[str, Any]], operator.add]  # finished groups, graph.result.TargetResult as dicts

    # -- the current group (preprocess resets these) --
    context: str  # extracted code shown to the model
    suggestions: list[dict[str, Any]]  # kb.records.Suggestion as dicts
    attempt: int  # 1-based
    candidates: list[str | None]  # code extracted from this attempt's replies (None: no code)
    attempts: Annotated[list[dict[str, Any]], operator.add]  # graph.result.Attempt as dicts, this group so far
    feedback: Annotated[list[str], keep_recent]  # verifier messages fed back to the next generation
    origins: list[str]  # per candidate: the cascade stage that wrote it ("rules", "llamacpp", …; "" = unknown)
    hot_lines: list[dict[str, Any]]  # the original's line profile: harness.verify.hotlines.HotLine as dicts
    examples: list[dict[str, str]]  # prompt mode "examples": retrieved {"slow": …, "fast": …} pairs
    free_done: bool  # the cascade's free stage (rules) has had its own round for this group
    free_round: bool  # the current candidates are that round's: decide accepts them only on a clear win
    search_s: Annotated[float, operator.add]  # seconds generate + verify spent on this group (the --budget)
