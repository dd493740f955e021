"""The `rules` backend: offline, deterministic, no model. Replies are fenced blocks so callers
post-process every backend's output the same way (graph.prompt.extract_code)."""

from __future__ import annotations

import hashlib
import time
from typing import ClassVar

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, wanted
from graph.backends.rules.engine import candidates
from graph.prompt import extract_code


def _code_of(request: GenerationRequest) -> str:
    if request.code:
        return request.code
    # fall back to the code inside the user prompt
    for m in request.messages:
        if m.get("role") == "user":
            text = m.get("content", "").split("Suggestions:")[0]
            return extract_code(text) or ""
    return ""


class RulesBackend:
    name = "rules"
    options: ClassVar[dict[str, str]] = {
        "n": "candidates per round: distinct rule-based rewrites of the code (offline, no model)",
    }

    def __init__(self, config: GenerationConfig) -> None:
        self.config = config
        self.last_stats = GenerationStats()
        # how many candidates each program already got: a retry after feedback gets the next ones
        self._served: dict[str, int] = {}

    def generate(self, request: GenerationRequest) -> list[str]:
        t0 = time.perf_counter()
        code = _code_of(request)
        key = hashlib.sha256(code.encode()).hexdigest()
        skip = self._served.get(key, 0) if request.feedback else 0
        found = candidates(code, request.suggestions, limit=wanted(request, self.config), skip=skip)
        self._served[key] = skip + len(found)
        replies = [
            f"Applied rewrites: {', '.join(c.rewrites)}.\n```python\n{c.code.rstrip()}\n```" for c in found
        ]
        dt = time.perf_counter() - t0
        self.last_stats = GenerationStats(
            candidates=len(replies), seconds=dt, first_candidate_s=dt if replies else None,
            extra={"rewrites": [list(c.rewrites) for c in found]},
        )
        return replies
