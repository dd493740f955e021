"""Turn pairs into knowledge-base records: rate (given or measured), diff summary, embedding.

`build` adds pairs to an open KB; `load_pairs` + `build_kb` are `fasterpy kb build` (read the
pair files, open or create the KB, measure missing rates, build), `user_pair` + `add_to_kb` are
`fasterpy kb add`. Builds resume: pairs whose key is already stored are skipped, and records stored
before an interruption but missing from the index are re-embedded when the KB is reopened."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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


@dataclass
class PairSources:
    """The pair files of one build, by format (see kb.builders.sources); `limit` caps each file."""

    pie: list[Path] = field(default_factory=list)
    pie_tests: Path | None = None  # PIE public_test_cases/, to measure pairs without runtimes
    tests_jsonl: Path | None = None  # {problem_id, tests} rows, for pairs that come without tests
    mercury: list[Path] = field(default_factory=list)
    mercury_min_rate: float = 1.5  # Mercury runtimes are noisy
    enamel: Path | None = None
    energy: Path | None = None
    plain: list[Path] = field(default_factory=list)
    limit: int | None = None


def load_pairs(src: PairSources) -> list[Pair]:
    """Every pair of `src`, with tests from `tests_jsonl` filled in where a pair has none."""
    import itertools

    from harness.errors import FasterPyError
    from kb.builders import sources

    tests_by_problem = sources.load_tests_jsonl(src.tests_jsonl) if src.tests_jsonl else {}
    streams: list[Iterable[Pair]] = []
    for p in src.pie:
        streams.append(sources.load_pie(p, tests_dir=src.pie_tests, source=p.parent.name if p.parent.name else "pie"))
    for p in src.mercury:
        streams.append(sources.load_mercury(p, min_rate=src.mercury_min_rate))
    if src.enamel:
        streams.append(sources.load_enamel(src.enamel))
    if src.energy:
        streams.append(sources.load_energy_smells(src.energy, tests=tests_by_problem))
    for p in src.plain:
        streams.append(sources.load_plain(p))
    if not streams:
        raise FasterPyError("no input given — pass at least one of --pie, --mercury, --enamel, --energy, --pairs")
    items: list[Pair] = []
    for stream in streams:
        items.extend(itertools.islice(stream, src.limit) if src.limit else stream)
    if tests_by_problem:
        for it in items:
            if not it.tests and it.problem_id in tests_by_problem:
                it.tests = tests_by_problem[it.problem_id]
    return items


@dataclass
class Measuring:
    """How pairs without a rate get one: measured with the harness (unless `enabled` is off),
    outcomes cached in `cache` (jsonl); `cached_only` measures nothing new."""

    enabled: bool = True
    timeout_s: float = 5.0
    workers: int | None = None
    cache: Path | None = None
    cached_only: bool = False


@contextlib.contextmanager
def _measurer(measuring: Measuring) -> Iterator[Any]:
    if not measuring.enabled:
        yield None
        return
    from kb.builders.measure import LazyMeasurer

    meas = LazyMeasurer(cache=measuring.cache, cached_only=measuring.cached_only, timeout_s=measuring.timeout_s,
                        workers=measuring.workers)
    try:
        yield meas
    finally:
        meas.close()


@dataclass
class BuildOutcome:
    summary: dict[str, Any]  # describe(report), plus why pairs could not be measured
    records: int  # records in the KB afterwards


def build_kb(out: Path, pairs: list[Pair], *, embedder: str | None = None, params: IndexParams | None = None,
             summarizer: Summarizer | None = None, measuring: Measuring | None = None, min_rate: float = 1.05,
             progress: bool = True) -> BuildOutcome:
    """Build the KB at `out` from `pairs`, or resume building it. `embedder` and `params` apply to a
    new KB; measurements are cached in `<out>/measurements.jsonl` unless `measuring.cache` says
    otherwise."""
    import collections
    import dataclasses

    measuring = measuring or Measuring()
    if measuring.cache is None:
        measuring = dataclasses.replace(measuring, cache=Path(out) / "measurements.jsonl")
    kb = open_or_create(out, embedder, params)
    with _measurer(measuring) as meas:
        report = build(kb, pairs, summarizer=summarizer, measure=meas, min_rate=min_rate, progress=progress,
                       total=len(pairs))
    summary = describe(report)
    if meas is not None and meas.failures:
        reasons = collections.Counter(r.split(" (")[0].split(":")[0] for r in meas.failures.values())
        summary["not_measured_because"] = dict(reasons.most_common())
    return BuildOutcome(summary=summary, records=len(kb))


def user_pair(slow: Path, fast: Path, *, rate: float | None = None, problem_id: str = "",
              summary: str = "") -> Pair:
    """A pair from two program files; its key is their content, so adding it twice adds it once."""
    import hashlib

    s, f = Path(slow).read_text(), Path(fast).read_text()
    key = "user:" + hashlib.sha256((s + "\0" + f).encode()).hexdigest()[:16]
    return Pair(key=key, slow=s, fast=f, rate=rate, problem_id=problem_id, source="user", summary=summary,
                summarizer="given" if summary else "")


def add_to_kb(kb_dir: Path, pairs: list[Pair], *, measure: bool = True, min_rate: float = 1.0) -> dict[str, Any]:
    """Add `pairs` to an existing KB (no rebuild, no measurement cache); returns `describe(report)`."""
    kb = KnowledgeBase.open(kb_dir, writable=True, repair=True)
    with _measurer(Measuring(enabled=measure)) as meas:
        report = build(kb, pairs, measure=meas, min_rate=min_rate, progress=False)
    return describe(report)
