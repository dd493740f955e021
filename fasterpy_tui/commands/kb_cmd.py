"""`fasterpy kb build|add|query|stats|reindex`: the knowledge base from the command line.

Heavy libraries (hnswlib, tree-sitter, transformers) are imported inside the commands."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from harness.plugins import plugin_names

kb_app = typer.Typer(help="Build, query and inspect knowledge bases of measured slow→fast optimizations.",
                     no_args_is_help=True)

KB_OPT = typer.Option(None, "--kb", help="Knowledge-base directory (default: the shipped KB).")


@kb_app.command("build")
def build_cmd(
    out: Path = typer.Option(..., "--out", "-o", help="KB directory to create (or resume)."),
    pie: list[Path] = typer.Option([], "--pie", help="PIE-format pairs (jsonl; rate = cpu_time_v0/cpu_time_v1)."),
    pie_tests: Path | None = typer.Option(None, "--pie-tests", help="PIE public_test_cases/ dir (for measuring pairs without runtimes)."),
    tests_jsonl: Path | None = typer.Option(None, "--tests-jsonl", help="Tests per problem ({problem_id, tests}) jsonl(.gz)."),
    mercury: list[Path] = typer.Option([], "--mercury", help="Mercury-style pairs or solution sets (jsonl)."),
    mercury_min_rate: float = typer.Option(1.5, help="Drop Mercury pairs below this rate (their runtimes are noisy)."),
    enamel: Path | None = typer.Option(None, "--enamel", help="ENAMEL folder (canonical → expert solutions)."),
    energy: Path | None = typer.Option(None, "--energy", help="Energy-smells annotated pairs (jsonl)."),
    pairs: list[Path] = typer.Option([], "--pairs", help="Plain pairs jsonl: {input, target, rate?, problem_id?, tests?}."),
    min_rate: float = typer.Option(1.05, help="Drop pairs whose (given or measured) rate is below this."),
    embedder: str | None = typer.Option(None, help=f"Embedder for a new KB: {', '.join(plugin_names('fasterpy.embedders'))} (NAME:ARG passes a model dir)."),
    summarizer: str = typer.Option("offline", help=f"One of: {', '.join(plugin_names('fasterpy.summarizers'))} (offline: rule-based; llm: the paper's prompt)."),
    backend: str | None = typer.Option(None, help="Generation backend for --summarizer llm."),
    model: str | None = typer.Option(None, help="Model for --summarizer llm."),
    base_url: str | None = typer.Option(None, help="Server URL for an OpenAI-compatible backend."),
    measure: bool = typer.Option(True, "--measure/--no-measure", help="Measure missing rates with the harness."),
    measure_timeout: float = typer.Option(5.0, help="Per-test timeout (s) when measuring."),
    workers: int | None = typer.Option(None, help="Harness workers when measuring."),
    measure_cache: Path | None = typer.Option(None, help="Measurement cache (jsonl; default: <out>/measurements.jsonl)."),
    cached_only: bool = typer.Option(False, "--cached-only", help="Use cached measurements only; measure nothing new."),
    m_param: int = typer.Option(16, "--M", help="hnswlib M (new KB)."),
    ef_construction: int = typer.Option(200, help="hnswlib ef_construction (new KB)."),
    ef: int = typer.Option(64, help="hnswlib ef at query time (new KB)."),
    limit: int | None = typer.Option(None, help="Use at most this many pairs per source (quick builds)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Build (or resume building) a knowledge base from pair files."""
    from graph.backends.summarizer import choose_summarizer
    from kb.builders.build import Measuring, PairSources, build_kb, load_pairs
    from kb.index import IndexParams

    items = load_pairs(PairSources(pie=pie, pie_tests=pie_tests, tests_jsonl=tests_jsonl, mercury=mercury,
                                   mercury_min_rate=mercury_min_rate, enamel=enamel, energy=energy, plain=pairs,
                                   limit=limit))
    summ = choose_summarizer(summarizer, backend=backend, model=model, base_url=base_url)
    params = IndexParams(M=m_param, ef_construction=ef_construction, ef=ef)
    measuring = Measuring(enabled=measure, timeout_s=measure_timeout, workers=workers, cache=measure_cache,
                          cached_only=cached_only)
    outcome = build_kb(out, items, embedder=embedder, params=params, summarizer=summ, measuring=measuring,
                       min_rate=min_rate, progress=progress)
    typer.echo(json.dumps(outcome.summary, indent=2))
    typer.echo(f"knowledge base at {out}: {outcome.records} records")


@kb_app.command("add")
def add_cmd(
    pairs_file: Path | None = typer.Argument(None, help="Plain pairs jsonl: {input, target, rate?, problem_id?, tests?}."),
    kb_dir: Path = typer.Option(..., "--kb", help="Knowledge base to add to (built with `kb build`)."),
    slow: Path | None = typer.Option(None, help="A slow program (with --fast)."),
    fast: Path | None = typer.Option(None, help="Its fast version."),
    rate: float | None = typer.Option(None, help="Measured speedup of --fast over --slow (else measured)."),
    problem_id: str = typer.Option("", help="Problem id for --slow/--fast."),
    summary: str = typer.Option("", help="Summary text (default: the offline summarizer)."),
    min_rate: float = typer.Option(1.0, help="Drop pairs below this rate."),
    measure: bool = typer.Option(True, "--measure/--no-measure"),
) -> None:
    """Add pairs to an existing knowledge base (no rebuild)."""
    from harness.errors import FasterPyError
    from kb.builders import sources
    from kb.builders.build import add_to_kb, user_pair

    items = list(sources.load_plain(pairs_file)) if pairs_file else []
    if slow or fast:
        if not (slow and fast):
            raise FasterPyError("--slow and --fast go together — pass both files")
        items.append(user_pair(slow, fast, rate=rate, problem_id=problem_id, summary=summary))
    if not items:
        raise FasterPyError("nothing to add — pass a pairs jsonl or --slow/--fast")
    typer.echo(json.dumps(add_to_kb(kb_dir, items, measure=measure, min_rate=min_rate), indent=2))


@kb_app.command("query")
def query_cmd(
    file: Path = typer.Argument(..., help="Python file holding the code to optimize."),
    function: list[str] = typer.Option([], "--function", "-f", help="Target function (repeatable; default: whole file)."),
    k: int = typer.Option(2, "-k", help="Number of suggestions."),
    m: int | None = typer.Option(None, "-m", help="Candidates retrieved before the filter (default: KB's)."),
    delta: float | None = typer.Option(None, help="Δs similarity window (default: KB's)."),
    threshold: float | None = typer.Option(None, help="Minimum similarity (default: KB's)."),
    exclude_problem: list[str] = typer.Option([], "--exclude-problem", help="Ignore records of this problem id."),
    kb_dir: Path | None = KB_OPT,
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    show_context: bool = typer.Option(False, "--show-context", help="Also print the extracted context."),
) -> None:
    """Retrieve optimization suggestions for functions in FILE."""
    from harness.errors import FasterPyError
    from kb.preprocess import extract_context
    from kb.store import KnowledgeBase

    if not file.exists():
        raise FasterPyError(f"{file} does not exist — check the path")
    source = file.read_text(encoding="utf-8", errors="replace")
    context = extract_context(source, function)
    kb = KnowledgeBase.open(kb_dir)
    sugg = kb.retrieve(context, k=k, m=m, delta=delta, threshold=threshold, exclude_problems=exclude_problem)
    if as_json:
        payload = {"file": str(file), "targets": function, "suggestions": [s.to_dict() for s in sugg]}
        if show_context:
            payload["context"] = context
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False))
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    if show_context:
        from rich.syntax import Syntax

        console.print(Syntax(context, "python"))
    table = Table(title=f"Suggestions for {file.name}" + (f" ({', '.join(function)})" if function else ""))
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("applicability", justify="right", no_wrap=True)
    table.add_column("rate", justify="right", no_wrap=True)
    table.add_column("suggestion", overflow="fold", ratio=1)
    table.add_column("kept because / from", max_width=24)
    for i, s in enumerate(sugg, 1):
        table.add_row(str(i), f"{s.similarity:.4f}", f"{s.rate:.2f}", s.summary,
                      f"{s.kept_because}\n{s.source}:{s.problem_id}")
    if not sugg:
        console.print("no suggestion above the similarity threshold (try --threshold 0)")
    else:
        console.print(table)


@kb_app.command("stats")
def stats_cmd(kb_dir: Path | None = KB_OPT,
              as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show what a knowledge base holds."""
    from kb.store import KnowledgeBase

    st = KnowledgeBase.open(kb_dir).stats()
    if as_json:
        typer.echo(json.dumps(st, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="Knowledge base", show_header=False)
    for key, value in st.items():
        table.add_row(key, json.dumps(value) if isinstance(value, (dict, list)) else str(value))
    Console().print(table)


@kb_app.command("reindex")
def reindex_cmd(kb_dir: Path = typer.Option(..., "--kb", help="Knowledge base to re-embed."),
                m_param: int | None = typer.Option(None, "--M"),
                ef_construction: int | None = typer.Option(None),
                ef: int | None = typer.Option(None)) -> None:
    """Rebuild the vector index from the stored records (after damage or to change parameters)."""
    from kb.index import IndexParams
    from kb.store import KnowledgeBase

    kb = KnowledgeBase.open(kb_dir, writable=True, repair=True)
    cur = IndexParams(**kb.manifest.get("index", {}))
    params = IndexParams(M=m_param or cur.M, ef_construction=ef_construction or cur.ef_construction, ef=ef or cur.ef)
    kb.reindex(params)
    typer.echo(f"reindexed {len(kb)} records ({kb.manifest['embedder']}, {params.to_dict()})")


def register(app: typer.Typer) -> None:
    app.add_typer(kb_app, name="kb")
