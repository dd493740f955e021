"""Turn pairs into knowledge-base records: rate (given or measured), diff summary, embedding.

Builds resume: pairs whose key is already stored are skipped, and records stored before an
interruption but missing from the index are re-embedded when the KB is reopened."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from kb.builders.pairs import Pair
from kb.builders.summarize import OfflineSummarizer, Summarizer
from kb.index import IndexParams
from kb.records import Record
from kb.store import MANIFEST, KnowledgeBase

RateMeasurer = Callable[[Pair], "float | None"]


@dataclass
class BuildReport:
    added: int = 0
    skipped_existing: int = 0
    skipped_low_rate: int = 0
    skipped_unmeasured: int = 0
    skipped_identical: int = 0
    measured: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def open_or_create(out: Path, embedder: str | None, params: IndexParams | None = None) -> KnowledgeBase:
    out = Path(out)
    if (out / MANIFEST).exists():
        return KnowledgeBase.open(out, embedder=embedder, writable=True, repair=True)
    return KnowledgeBase.create(out, embedder=embedder, params=params)


def pair_to_record(pair: Pair, rate: float, summary: str, summarizer: str) -> Record:
    meta = dict(pair.meta)
    meta["key"] = pair.key
    meta["summarizer"] = summarizer
    return Record(id=0, summary=summary, rate=round(float(rate), 4), slow_code=pair.slow,
                  slow_code_len=len(pair.slow), target=pair.fast, source=pair.source,
                  problem_id=pair.problem_id, meta=meta)


def build(kb: KnowledgeBase, pairs: Iterable[Pair], summarizer: Summarizer | None = None,
          measure: RateMeasurer | None = None, min_rate: float = 1.0, batch_size: int = 16,
          progress: bool = True, total: int | None = None, report: BuildReport | None = None) -> BuildReport:
    """Add `pairs` to `kb`. A pair without a rate is measured with `measure` (skipped when that is
    None or gives None); pairs below `min_rate` are dropped."""
    summarizer = summarizer or OfflineSummarizer()
    report = report or BuildReport()
    existing = kb.keys()
    pending: list[Record] = []

    def flush() -> None:
        if pending:
            ids = kb.add(pending, save=True)
            report.added += len(ids)
            pending.clear()

    iterator: Iterable[Pair] = pairs
    bar = None
    if progress:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                       TimeRemainingColumn(), transient=False)
        bar.start()
        task = bar.add_task("building KB", total=total)
    try:
        for pair in iterator:
            if bar is not None:
                bar.update(task, advance=1, description=f"building KB ({pair.source})")
            if pair.key in existing:
                report.skipped_existing += 1
                continue
            if _normalised(pair.slow) == _normalised(pair.fast):
                report.skipped_identical += 1  # nothing changed: no optimization to learn from
                continue
            rate = pair.rate
            if rate is None:
                rate = measure(pair) if measure is not None else None
                if rate is None:
                    report.skipped_unmeasured += 1
                    continue
                report.measured += 1
                pair.meta["rate_measured"] = True
            if rate < min_rate:
                report.skipped_low_rate += 1
                continue
            if pair.summary:
                summary, by = pair.summary, pair.summarizer or "given"
            else:
                summary, by = summarizer.summarize(pair.slow, pair.fast), summarizer.name
            pending.append(pair_to_record(pair, rate, summary, by))
            report.by_source[pair.source] = report.by_source.get(pair.source, 0) + 1
            existing.add(pair.key)
            if len(pending) >= batch_size:
                flush()
        flush()
    finally:
        if bar is not None:
            bar.stop()
    return report


def _normalised(code: str) -> str:
    """Code with layout, quotes and comments normalised away (the AST when it parses)."""
    import ast
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return "\n".join(line.rstrip() for line in code.strip().splitlines() if line.strip())


def count_pairs(loaders: list[Callable[[], Iterable[Pair]]]) -> int:
    return sum(sum(1 for _ in ld()) for ld in loaders)


def describe(report: BuildReport) -> dict[str, Any]:
    return {
        "added": report.added,
        "skipped_existing": report.skipped_existing,
        "skipped_low_rate": report.skipped_low_rate,
        "skipped_unmeasured": report.skipped_unmeasured,
        "skipped_identical": report.skipped_identical,
        "measured": report.measured,
        "by_source": report.by_source,
    }
