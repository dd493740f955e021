"""Training examples from a knowledge base (paper §5.4): the inference prompt with two retrieved
suggestions, answered by the pair's fast version, split into train and validation by problem."""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import FasterPyError
from harness.files import iter_jsonl, write_jsonl

if TYPE_CHECKING:  # kb is a light import, but keep module import cheap for the CLI anyway
    from kb.records import Record, Suggestion
    from kb.store import KnowledgeBase

# A suggestion this close to the input is the example's own record (or a copy of it): it would hand
# the model the answer's summary, which it never sees at inference time.
SELF_SIMILARITY = 0.9999


@dataclass
class BuildStats:
    sampled: int = 0
    written_train: int = 0
    written_val: int = 0
    train_problems: int = 0
    val_problems: int = 0
    dropped_self: int = 0  # suggestions dropped for similarity ≈ 1 or the same record id
    dropped_same_problem: int = 0  # suggestions dropped for coming from the same problem
    short_of_suggestions: int = 0  # examples left with fewer than k suggestions
    excluded_problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def parse_problem_list(value: str | Path | Sequence[str] | None) -> list[str]:
    """`--exclude-problems`: a file (one id per line, or a CSV with a `problem_id` column; `#`
    comments allowed) or comma/space-separated ids."""
    if value is None:
        return []
    if not isinstance(value, (str, Path)):
        return [str(v).strip() for v in value if str(v).strip()]
    path = Path(value)
    if path.is_file():
        lines = [ln.split("#", 1)[0].strip() for ln in path.read_text(encoding="utf-8").splitlines()]
        lines = [ln for ln in lines if ln]
        if lines and "," in lines[0]:
            header = [h.strip() for h in lines[0].split(",")]
            if "problem_id" not in header:
                raise FasterPyError(f"{path} is a CSV without a problem_id column — add one or list one id per line")
            col = header.index("problem_id")
            return [ln.split(",")[col].strip() for ln in lines[1:] if ln.split(",")[col].strip()]
        return lines
    text = str(value)
    if "/" in text or text.endswith((".txt", ".csv")):
        raise FasterPyError(f"exclude-problems file {text} does not exist — give a file or comma-separated ids")
    return [p for p in text.replace(",", " ").split() if p]


def assistant_reply(target: str) -> str:
    """The answer format the model is taught: the code in one ```python block (what extract_code takes)."""
    return f"```python\n{target.strip(chr(10))}\n```"


def filter_suggestions(
    record: Record, suggestions: Iterable[Suggestion], stats: BuildStats | None = None
) -> list[Suggestion]:
    """Drop the example's own record (same id or similarity ≈ 1) and anything from its problem."""
    kept: list[Suggestion] = []
    for s in suggestions:
        if s.id == record.id or s.similarity >= SELF_SIMILARITY:
            if stats is not None:
                stats.dropped_self += 1
            continue
        if record.problem_id and s.problem_id == record.problem_id:
            if stats is not None:
                stats.dropped_same_problem += 1
            continue
        kept.append(s)
    return kept


def example_for(
    kb: KnowledgeBase,
    record: Record,
    k: int = 2,
    exclude_problems: Sequence[str] = (),
    stats: BuildStats | None = None,
) -> dict[str, Any]:
    """One chat-messages training record for a KB pair, with the inference-time retrieval."""
    from graph.prompt import build_messages

    excluded = tuple(dict.fromkeys([*exclude_problems, *([record.problem_id] if record.problem_id else [])]))
    suggestions: list[Suggestion] = []
    # Ask for a few extra so dropping the record itself still leaves k; same retrieval as inference.
    for ask in (k, k + 2, k + 6):
        raw = kb.retrieve(record.slow_code, k=ask, exclude_problems=excluded, exclude_ids=[record.id])
        suggestions = filter_suggestions(record, raw, stats if ask == k else None)
        if len(suggestions) >= k or len(raw) < ask:
            break
    suggestions = suggestions[:k]
    if stats is not None and len(suggestions) < k:
        stats.short_of_suggestions += 1
    messages = build_messages(record.slow_code, suggestions)
    messages.append({"role": "assistant", "content": assistant_reply(record.target)})
    return {
        "messages": messages,
        "record_id": record.id,
        "problem_id": record.problem_id,
        "source": record.source,
        "rate": record.rate,
        "suggestions": [
            {"id": s.id, "problem_id": s.problem_id, "similarity": round(float(s.similarity), 6), "rate": s.rate}
            for s in suggestions
        ],
    }


def split_by_problem(
    problem_ids: Sequence[str], val_frac: float, seed: int
) -> tuple[set[str], set[str]]:
    """Assign whole problems to validation until it holds about val_frac of the examples."""
    if not 0.0 <= val_frac < 1.0:
        raise FasterPyError(f"--val-frac {val_frac} is outside [0, 1) — pick e.g. 0.05")
    counts: dict[str, int] = {}
    for pid in problem_ids:
        counts[pid] = counts.get(pid, 0) + 1
    problems = sorted(counts)
    random.Random(seed).shuffle(problems)
    goal = val_frac * len(problem_ids)
    val: set[str] = set()
    held = 0
    for pid in problems:
        if held >= goal or len(val) >= len(problems) - 1:
            break
        val.add(pid)
        held += counts[pid]
    return set(problems) - val, val


def _problem_key(record: Record) -> str:
    # A pair with no problem id is its own problem: it can never leak into the other split.
    return record.problem_id or f"record:{record.id}"


def build_dataset(
    kb: KnowledgeBase,
    n: int,
    output: Path,
    val_output: Path | None = None,
    val_frac: float = 0.05,
    seed: int = 42,
    k: int = 2,
    exclude_problems: Sequence[str] = (),
    on_progress: Any = None,
    records: Sequence[Record] | None = None,
) -> BuildStats:
    """Sample up to n pairs with a target (from `records`, e.g. finetune.curate's selection, else the
    whole KB), build their examples, write train and validation JSONL. Suggestions come from the
    whole KB as at inference, except the example's own record and problem and `exclude_problems`."""
    excluded = set(exclude_problems)
    source = kb.records() if records is None else records
    pool = [r for r in source if r.target.strip() and r.problem_id not in excluded]
    if not pool:
        raise FasterPyError("the knowledge base has no pairs with a target outside the excluded problems — "
                            "build it with targets (fasterpy kb build) or exclude fewer problems")
    rng = random.Random(seed)
    rng.shuffle(pool)
    chosen = pool[:n] if n > 0 else pool
    stats = BuildStats(sampled=len(chosen), excluded_problems=sorted(excluded))
    train_p, val_p = split_by_problem([_problem_key(r) for r in chosen], val_frac, seed)
    stats.train_problems, stats.val_problems = len(train_p), len(val_p)
    val_output = val_output or default_val_path(output)
    train_rows: list[dict[str, Any]] = []
    val_rows: list[dict[str, Any]] = []
    for i, record in enumerate(chosen):
        row = example_for(kb, record, k=k, exclude_problems=sorted(excluded), stats=stats)
        (val_rows if _problem_key(record) in val_p else train_rows).append(row)
        if on_progress is not None:
            on_progress(i + 1, len(chosen))
    write_jsonl(output, train_rows, backup="previous", ensure_ascii=False)
    write_jsonl(val_output, val_rows, backup="previous", ensure_ascii=False)
    stats.written_train, stats.written_val = len(train_rows), len(val_rows)
    return stats


def jsonl_stem(path: Path) -> str:
    """train.jsonl → train: the name the files written beside it are derived from."""
    return path.name[: -len(".jsonl")] if path.name.endswith(".jsonl") else path.name


def default_val_path(output: Path) -> Path:
    stem = jsonl_stem(output)
    if stem == "train":
        return output.with_name("val.jsonl")
    return output.with_name(f"{stem}.val.jsonl")


def read_examples(path: Path) -> list[dict[str, Any]]:
    """Chat-messages JSONL; every record must end in a non-empty assistant turn."""
    path = Path(path)
    if not path.is_file():
        raise FasterPyError(f"training data {path} does not exist — build it with `fasterpy finetune build-data`")
    rows: list[dict[str, Any]] = []
    for lineno, row in iter_jsonl(path, fix="one JSON object per line"):
        messages = row.get("messages") if isinstance(row, dict) else None
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str)
            for m in messages
        ):
            raise FasterPyError(f"{path}:{lineno} has no `messages` list of {{role, content}} — "
                                "use the format `fasterpy finetune build-data` writes")
        if not messages or messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
            raise FasterPyError(f"{path}:{lineno} has no assistant turn at the end — "
                                "each example needs the target code as the last, assistant message")
        rows.append(row)
    if not rows:
        raise FasterPyError(f"training data {path} is empty — build it with `fasterpy finetune build-data`")
    return rows
