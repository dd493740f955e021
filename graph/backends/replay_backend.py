"""The `replay` backend: candidates read from a PIE-format JSONL file (published or pre-generated
model outputs), so they go through the same extraction and verification as live generations.

Rows are found by `request.key` (a problem id, submission id or row number) or, failing that, by the
request's code matching the row's input column. Repeated requests for the same row (after verifier
feedback) return the next unread candidates."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, ClassVar

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, wanted
from harness.errors import FasterPyError
from harness.files import read_jsonl

KEY_COLUMNS = ("problem_id", "submission_id_v0", "id")
CODE_COLUMNS = ("input", "slow_code", "src_code", "code_v0", "source")


def _norm(code: str) -> str:
    return "\n".join(line.rstrip() for line in code.strip().splitlines())


class ReplayBackend:
    name = "replay"
    options: ClassVar[dict[str, str]] = {
        "model": "PIE-format JSONL file of pre-generated candidates",
        "replay_column": "the JSONL column holding the candidates",
        "n": "candidates per round, read in order",
    }

    def __init__(self, config: GenerationConfig) -> None:
        if not config.model:
            raise FasterPyError("the replay backend needs --model PATH.jsonl (rows with a candidates column)")
        path = Path(config.model).expanduser()
        if not path.is_file():
            raise FasterPyError(f"replay file {path} does not exist — pass a PIE-format JSONL file as --model")
        self.config = config
        self.column = config.replay_column
        self.rows: list[dict[str, Any]] = read_jsonl(path)
        if self.rows and not any(self.column in r for r in self.rows):
            cols = ", ".join(sorted(self.rows[0]))
            raise FasterPyError(f"{path} has no column {self.column!r} (it has: {cols}) — choose one with replay_column")
        self._by_code: dict[str, int] = {}
        for i, r in enumerate(self.rows):
            for c in CODE_COLUMNS:
                if isinstance(r.get(c), str):
                    self._by_code.setdefault(_norm(r[c]), i)
        self._cursor: dict[int, int] = {}
        self.last_stats = GenerationStats()

    def _row_index(self, request: GenerationRequest) -> int | None:
        key = request.key
        if key is not None:
            if str(key).isdigit() and int(key) < len(self.rows):
                return int(key)
            for i, r in enumerate(self.rows):
                if any(str(r.get(c)) == str(key) for c in KEY_COLUMNS):
                    return i
        return self._by_code.get(_norm(request.code)) if request.code else None

    def generate(self, request: GenerationRequest) -> list[str]:
        t0 = time.perf_counter()
        idx = self._row_index(request)
        if idx is None:
            self.last_stats = GenerationStats(seconds=time.perf_counter() - t0)
            return []
        value = self.rows[idx].get(self.column)
        cands = [value] if isinstance(value, str) else [str(v) for v in (value or [])]
        start = self._cursor.get(idx, 0) if request.feedback else 0
        out = cands[start:start + wanted(request, self.config)]
        self._cursor[idx] = start + len(out)
        dt = time.perf_counter() - t0
        self.last_stats = GenerationStats(candidates=len(out), seconds=dt, first_candidate_s=dt if out else None)
        return out
