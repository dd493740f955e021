"""Where the original spends its time, line by line: its captured calls (function mode) or its test
inputs (program mode) run once in the sandbox under a line tracer that charges the time from one
line event to the next to the line that was running, in the code under test only (time in library
calls counts toward the line that made them). The shares tell the model which lines to work on.

The tracer is a few lines of its own, appended to harness/verify/_tracer.py's replay shim (whose
`_target_module` loads the code under test), not a change to that shim."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.verify.verdict import VerifyConfig, verify_pool

_LINE_TIMER = r'''
def _fasterpy_line_timer(path):
    import time as _t
    times, last = {}, [None, 0.0]

    def local(frame, event, arg):
        now = _t.perf_counter()
        if last[0] is not None:
            times[last[0]] = times.get(last[0], 0.0) + (now - last[1])
        last[0] = frame.f_lineno if event == "line" else None
        last[1] = _t.perf_counter()
        return local

    def outer(frame, event, arg):
        if frame.f_code.co_filename != path:
            return None
        return local(frame, event, arg)

    return outer, times


def _fasterpy_hotlines(qualname, args_pickle):
    import sys
    outer, times = _fasterpy_line_timer(globals().get("_TARGET_PATH"))
    _target_module()
    sys.settrace(outer)
    try:
        _fasterpy_replay(qualname, args_pickle, 1, False)
    finally:
        sys.settrace(None)
    return times


def _fasterpy_hotlines_program(source, stdin_text):
    import io
    import sys
    outer, times = _fasterpy_line_timer("<program>")
    code = compile(source, "<program>", "exec")
    sys.stdin, old_out = io.StringIO(stdin_text), sys.stdout
    sys.stdout = io.StringIO()
    sys.settrace(outer)
    try:
        exec(code, {"__name__": "__main__"})
    except (Exception, SystemExit):
        pass
    finally:
        sys.settrace(None)
        sys.stdout = old_out
    return times
'''


@dataclass(frozen=True)
class HotLine:
    line: int  # 1-based, in the source profiled
    share: float  # of the time spent in the code under test, 0..1
    seconds: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "share": self.share, "seconds": self.seconds, "text": self.text}


def rank_lines(source: str, times: dict[int, float], top: int = 5) -> list[HotLine]:
    """The `top` lines by time, with their share of the total and their text."""
    lines = source.splitlines()
    total = sum(times.values()) or 1.0
    ranked = sorted(times.items(), key=lambda kv: -kv[1])[:top]
    return [HotLine(line=n, share=t / total, seconds=t, text=lines[n - 1].strip() if 0 < n <= len(lines) else "")
            for n, t in ranked if t > 0]


def _merge(outcomes: list[Any]) -> dict[int, float]:
    times: dict[int, float] = {}
    for outcome in outcomes:
        if outcome.status == "ok" and isinstance(outcome.result, dict):
            for line, t in outcome.result.items():
                times[int(line)] = times.get(int(line), 0.0) + float(t)
    return times


def hot_lines_functions(path: str, source: str, captured: Any, config: Any = None, top: int = 5,
                        max_calls: int = 20, pool: Any = None) -> list[HotLine]:
    """Hot lines of `source` (the module at `path`) over up to `max_calls` captured calls per target."""
    from harness.function import call_function
    from harness.verify.functions import replay_source

    cfg = VerifyConfig.of(config)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((target, c.args), {}) for target, recs in captured.calls.items() for c in recs[:max_calls]]
    if not calls:
        return []
    module = replay_source(source, path) + _LINE_TIMER
    outcomes = call_function(module, "_fasterpy_hotlines", calls, limits=cfg.limits(), module_name="_fasterpy_replay",
                             pool=pool or verify_pool())
    return rank_lines(source, _merge(outcomes), top)


def hot_lines_program(source: str, inputs: list[str], config: Any = None, top: int = 5, max_inputs: int = 5,
                      pool: Any = None) -> list[HotLine]:
    """Hot lines of the program `source` run on up to `max_inputs` stdin texts."""
    from harness.function import call_function

    cfg = VerifyConfig.of(config)
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = [((source, text), {}) for text in inputs[:max_inputs]]
    if not calls:
        return []
    outcomes = call_function(_LINE_TIMER, "_fasterpy_hotlines_program", calls, limits=cfg.limits(),
                             module_name="_fasterpy_hotlines", pool=pool or verify_pool())
    return rank_lines(source, _merge(outcomes), top)


__all__ = ["HotLine", "hot_lines_functions", "hot_lines_program", "rank_lines"]
