"""The paper's generation prompt (§4.5) and the post-processing that takes code out of a reply."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

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
) -> list[dict[str, str]]:
    """System + user messages in the paper's template; earlier failures (our verify loop) are
    appended to the user turn so the model can avoid repeating them."""
    user = build_user_prompt(code, suggestions)
    if feedback:
        notes = "\n".join(f"- {f.strip()}" for f in feedback)
        user = user.removesuffix("Output:") + (
            "Earlier candidates were rejected by the verifier:\n" f"{notes}\nOutput:"
        )
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


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
