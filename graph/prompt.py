"""The paper's generation prompt (§4.5), the search's additions to it (failure feedback with the
candidate, hot lines, worked examples, refinement) and the post-processing that takes code out of
a reply."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

SYSTEM_PROMPT = (
    "You are an AI programming assistant. Try your best to optimize the Input code by focusing on "
    "reducing its runtime while maintaining correctness. Output the optimized code. Feel free to refer "
    "to the suggestions below for potential optimizations, but you're not restricted to them. "
    "Applicability represents the degree to which a suggestion fits the input code. Rate represents the "
    "degree to which a suggestion improves the input code."
)

class SuggestionLike(Protocol):
    similarity: float
    rate: float
    summary: str


def format_suggestion(s: SuggestionLike) -> str:
    return f"Applicability: {s.similarity:.4f}; Rate: {s.rate:.2f}; {s.summary.strip()}"


def build_user_prompt(code: str, suggestions: Iterable[SuggestionLike]) -> str:
    lines = "\n".join(format_suggestion(s) for s in suggestions)
    return f"Input code:\n```\n{code}\n```\nSuggestions:\n{lines}\nOutput:"


def build_messages(
    code: str,
    suggestions: Sequence[SuggestionLike],
    feedback: Sequence[str] = (),
    *,
    hot_lines: Sequence[Mapping[str, Any]] = (),
    examples: Sequence[Mapping[str, str]] = (),
    refine: str | None = None,
) -> list[dict[str, str]]:
    """System + user messages in the paper's template. Our search adds, each only when given: worked
    examples (prompt mode "examples": retrieved slow/fast pairs, in place of the suggestion lines),
    the original's hot lines (share of time per line), earlier failures (`feedback_note` texts) and a
    candidate to refine (`refine_note`), so the model sees where the time goes and its own mistakes."""
    user = build_user_prompt(code, [] if examples else suggestions)
    extra = []
    if examples:
        extra.append(format_examples(examples))
    if hot_lines:
        extra.append(format_hot_lines(hot_lines))
    if feedback:
        notes = "\n".join(f"- {f.strip()}" for f in feedback)
        extra.append("Earlier candidates were rejected by the verifier:\n" f"{notes}")
    if refine:
        extra.append(refine.strip())
    if extra:
        user = user.removesuffix("Output:") + "\n".join(extra) + "\nOutput:"
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


CODE_LINES = 60  # most lines of a candidate quoted back to the model
CASE_CHARS = 300  # most characters of a failing input quoted back


def _quote(code: str) -> str:
    lines = code.strip("\n").splitlines()
    if len(lines) > CODE_LINES:
        lines = lines[:CODE_LINES] + [f"# … ({len(lines) - CODE_LINES} more lines)"]
    return "```python\n" + "\n".join(lines) + "\n```"


def _clip(text: str, chars: int) -> str:
    text = text.strip()
    return text if len(text) <= chars else text[: chars - 12] + " … (trimmed)"


def feedback_note(status: str, candidate: str | None, failure: str, case: str | None = None,
                  speedup: float | None = None, threshold: float | None = None) -> str:
    """What a rejected candidate teaches the next attempt: the candidate itself and its concrete
    failure — for a wrong output the input (trimmed) with the expected and actual output, for an
    exception the last traceback lines, for a correct but slow one the measured ratio."""
    failure = failure.strip()
    if status == "wrong_output":
        head = "This candidate (wrong_output) gives a wrong result"
        body = (f"Failing input: {_clip(case, CASE_CHARS)}\n" if case else "") + _clip(failure, 900)
    elif status == "exception":
        head = "This candidate (exception) raised an exception"
        body = (f"Failing input: {_clip(case, CASE_CHARS)}\n" if case else "") + \
            "\n".join(failure.splitlines()[-6:])
    elif status == "slower" and speedup is not None:
        need = f" (it needs at least {threshold:.2f}×)" if threshold else ""
        head = f"This candidate (slower) is correct but only {speedup:.2f}× as fast as the original{need}"
        body = "Change the algorithm where the time goes (see the hot lines), not the formatting."
    else:
        head, body = f"This candidate was rejected ({status})", _clip(failure, 900)
    return f"{head}:\n{_quote(candidate)}\n{body}" if candidate else f"{head}: {body}"


def refine_note(candidate: str, speedup: float | None) -> str:
    """The best correct candidate so far, sent back for improvement."""
    ratio = f"{speedup:.2f}× as fast as the original" if speedup else "correct"
    return (f"This candidate is correct and {ratio}. Improve it further: keep its results identical "
            f"and make it faster.\n{_quote(candidate)}")


def format_hot_lines(hot_lines: Sequence[Mapping[str, Any]], top: int = 5) -> str:
    """`[{"line": 12, "share": 0.83, "text": "..."}]` → the prompt's "Hot lines" section."""
    rows = [f"  line {h['line']} ({100 * float(h['share']):.0f}% of the time): {str(h.get('text', '')).strip()}"
            for h in list(hot_lines)[:top]]
    return "Hot lines of the input code (share of its run time, measured):\n" + "\n".join(rows)


def format_examples(examples: Sequence[Mapping[str, str]]) -> str:
    """Retrieved pairs `{"slow": ..., "fast": ...}` as worked examples (prompt mode "examples")."""
    parts = [f"Example {i}: slow code\n{_quote(e['slow'])}\nfaster version\n{_quote(e['fast'])}"
             for i, e in enumerate(examples, 1)]
    return "Worked examples of similar code made faster:\n" + "\n".join(parts)


_FENCE = re.compile(r"```([A-Za-z0-9_+-]*)[^\n]*\n(.*?)(?:```|\Z)", re.DOTALL)


def _parses(code: str) -> bool:
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def extract_code(reply: str) -> str | None:
    """First ```python block, then any fenced block, then the whole reply if it parses; else None
    (the caller reports "no code in reply")."""
    blocks = [(lang.lower(), body) for lang, body in _FENCE.findall(reply)]
    for lang, body in blocks:
        if lang in ("python", "py", "python3") and body.strip():
            return body.strip("\n") + "\n"
    for _, body in blocks:
        if body.strip():
            return body.strip("\n") + "\n"
    text = reply.strip()
    if text and _parses(text):
        return text + "\n"
    return None
