"""Loaders that turn each supported data format into `Pair`s.

- PIE pairs (jsonl with slow_code / reference_code or code_v0 / code_v1): rate = cpu_time_v0 / cpu_time_v1
  when both are present, else None (measured later with the harness on the problem's public tests).
- Mercury-style multi-solution sets: either the derived `pairs_slow_to_fastest.jsonl` (rates given) or
  a jsonl of {task, solutions: [{code, runtime}]}: sort by runtime, pair each with the fastest.
- ENAMEL: HumanEval canonical solution → expert-efficient reference (function-level).
- Energy-smells: PIE pairs with human-validated LLM summaries (used as the summary when accepted).
- Plain pairs: jsonl of {input, target, rate?, problem_id?, tests?: [{input, output}]}.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.errors import FasterPyError
from harness.files import iter_jsonl
from harness.pie_tests import read_pie_tests
from kb.builders.pairs import Pair


def _jsonl(path: Path) -> Iterator[dict[str, Any]]:
    for _, row in iter_jsonl(path):  # streamed: PIE's training set is large
        yield row


def load_tests_dir(tests_dir: Path, problem_id: str) -> list[tuple[str, str]]:
    """PIE evaluator layout: <tests_dir>/<pid>/input.N.txt + output.N.txt."""
    return [(t.input, t.output) for t in read_pie_tests(Path(tests_dir) / problem_id) if t.output is not None]


def load_tests_jsonl(path: Path) -> dict[str, list[tuple[str, str]]]:
    """pie-public-test-cases: {problem_id, tests: [{index, input, output}]} per line."""
    out: dict[str, list[tuple[str, str]]] = {}
    for row in _jsonl(path):
        out[row["problem_id"]] = [(t["input"], t["output"]) for t in row["tests"]]
    return out


def _pos(x: Any) -> float | None:
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def load_pie(path: Path, tests_dir: Path | None = None, source: str = "pie") -> Iterator[Pair]:
    for i, row in enumerate(_jsonl(path)):
        slow = row.get("slow_code") or row.get("code_v0") or row.get("input")
        fast = row.get("reference_code") or row.get("code_v1") or row.get("target")
        if not slow or not fast:
            raise FasterPyError(f"{path} row {i + 1} has no slow_code/reference_code (or code_v0/code_v1) — is it PIE format?")
        t0, t1 = _pos(row.get("cpu_time_v0")), _pos(row.get("cpu_time_v1"))
        pid = str(row.get("problem_id", ""))
        yield Pair(
            key=f"{source}:{i}",
            slow=slow,
            fast=fast,
            rate=(t0 / t1) if t0 and t1 else None,
            problem_id=pid,
            source=source,
            tests=load_tests_dir(tests_dir, pid) if tests_dir and pid else [],
            meta={k: row[k] for k in ("tier", "submission_id_v0", "submission_id_v1", "cpu_time_v0", "cpu_time_v1") if k in row},
        )


def load_mercury(path: Path, min_rate: float = 1.0, source: str = "mercury") -> Iterator[Pair]:
    """Derived pairs (task, slow_code, fast_code, rate) or raw solution sets (task, solutions)."""
    for i, row in enumerate(_jsonl(path)):
        task = str(row.get("task") or row.get("task_id") or row.get("slug") or "")
        if "solutions" in row:
            sols = [s for s in row["solutions"] if _pos(s.get("runtime")) is not None]
            sols.sort(key=lambda s: float(s["runtime"]))
            if len(sols) < 2:
                continue
            fastest = sols[0]
            for j, s in enumerate(sols[1:], 1):
                sol_rate = float(s["runtime"]) / float(fastest["runtime"])
                if sol_rate >= min_rate and s["code"].strip() != fastest["code"].strip():
                    yield Pair(key=f"{source}:{task}:{j}", slow=s["code"], fast=fastest["code"], rate=sol_rate,
                               problem_id=task, source=source)
            continue
        rate = _pos(row.get("rate"))
        if rate is None:
            rs, rf = _pos(row.get("slow_runtime_s")), _pos(row.get("fast_runtime_s"))
            rate = rs / rf if rs and rf else None
        if rate is None or rate < min_rate:
            continue
        yield Pair(key=f"{source}:{i}", slow=row["slow_code"], fast=row["fast_code"], rate=rate,
                   problem_id=task, source=source,
                   meta={"slow_runtime_s": row.get("slow_runtime_s"), "fast_runtime_s": row.get("fast_runtime_s")})


def load_enamel(directory: Path, source: str = "enamel") -> Iterator[Pair]:
    """HumanEval canonical (slow) → ENAMEL expert reference (fast), aligned by index."""
    d = Path(directory)
    slow_path, fast_path, csv_path = d / "humaneval-canonical.json", d / "enamel-references.json", d / "enamel.csv"
    for p in (slow_path, fast_path):
        if not p.exists():
            raise FasterPyError(f"{p} is missing — point --enamel at the folder holding the ENAMEL files")
    slow_all, fast_all = json.loads(slow_path.read_text()), json.loads(fast_path.read_text())
    rows = list(csv.DictReader(open(csv_path, encoding="utf-8"))) if csv_path.exists() else []
    for i, (s, f) in enumerate(zip(slow_all, fast_all)):
        s = s[0] if isinstance(s, list) else s
        f = f[0] if isinstance(f, list) else f
        if s.strip() == f.strip():
            continue
        row = rows[i] if i < len(rows) else {}
        yield Pair(key=f"{source}:{i}", slow=s, fast=f, rate=None, problem_id=row.get("task_id", f"HumanEval/{i}"),
                   source=source, meta={"entry_point": row.get("entry_point", ""),
                                        "input_generator": row.get("input_generator", ""),
                                        "input_levels": row.get("input_levels", ""),
                                        "checker": row.get("checker", "")})


def load_energy_smells(path: Path, tests: dict[str, list[tuple[str, str]]] | None = None,
                       source: str = "energy-smells") -> Iterator[Pair]:
    """Use the LLM summary when both annotators accepted it (Final_Agreement == 1)."""
    for i, row in enumerate(_jsonl(path)):
        accepted = str(row.get("Final_Agreement", "")).strip() in ("1", "1.0", "True", "true")
        summary = _first_sentences(" ".join(str(row.get("inefficiency_summary", "")).split())) if accepted else ""
        pid = str(row.get("problem_id", ""))
        yield Pair(key=f"{source}:{row.get('unique_index', i)}", slow=row["slow_code"], fast=row["fast_code"],
                   rate=None, problem_id=pid, source=source, summary=summary,
                   summarizer="human-validated-llm" if summary else "",
                   tests=(tests or {}).get(pid, []))


def _first_sentences(text: str, limit: int = 360) -> str:
    """Whole sentences up to about `limit` characters: suggestions go into a prompt, keep them short."""
    import re

    out = ""
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if out and len(out) + len(sentence) + 1 > limit:
            break
        out = f"{out} {sentence}".strip()
    return out


def load_plain(path: Path, source: str = "user") -> Iterator[Pair]:
    for i, row in enumerate(_jsonl(path)):
        slow = row.get("input") or row.get("slow_code") or row.get("slow")
        fast = row.get("target") or row.get("fast_code") or row.get("fast")
        if not slow or not fast:
            raise FasterPyError(f"{path} row {i + 1} needs 'input' and 'target' fields — see README 'fasterpy kb'")
        tests = [(t["input"], t.get("output", "")) for t in row.get("tests", [])]
        yield Pair(key=f"{source}:{row.get('id', i)}", slow=slow, fast=fast, rate=_pos(row.get("rate")),
                   problem_id=str(row.get("problem_id", "")), source=row.get("source", source),
                   summary=row.get("summary", ""), summarizer="given" if row.get("summary") else "", tests=tests)
