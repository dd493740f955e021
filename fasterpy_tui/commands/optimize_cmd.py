"""`fasterpy optimize` (one file) and `fasterpy batch` (a PIE-format set).

Exit codes of `optimize`: 0 optimized, 1 no verified improvement, 2 error (one line on stderr,
nothing changed), 130 interrupted (resumable with --resume RUN_ID). Heavy imports stay inside the
commands so `fasterpy --help` starts fast."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

from fasterpy_tui.options import BUDGET_OPT

FUNCTION_OPT = typer.Option([], "--function", "-f", help="Function to optimize (repeatable; Class.method for methods).")
TESTS_OPT = typer.Option(None, "--tests", help="Program mode: directory of input.N.txt/output.N.txt tests (PIE layout).")
INPUT_OPT = typer.Option([], "--input", help="Program mode: a stdin file to check the program on (repeatable).")


def _config_overrides(
    kb: Path | None, retrieval: bool | None, attempts: int | None, threshold: float | None,
    mode: str | None, run_timeout: float | None, state_db: Path | None, seed: int | None,
    generation_overrides: dict[str, Any],
) -> dict[str, Any]:
    """Flags → dotted config keys. The shared generation flags come from
    fasterpy_tui.options; their `--candidates` (n) is the pipeline's candidates per attempt."""
    gen = dict(generation_overrides)
    candidates = gen.pop("n", None)
    out: dict[str, Any] = {f"generation.{k}": v for k, v in gen.items()}
    out.update({
        "kb": str(kb) if kb else None,
        "use_retrieval": retrieval,
        "attempts": attempts,
        "candidates": candidates,
        "speedup_threshold": threshold,
        "mode": mode,
        "timeout_s": run_timeout,
        "state_db": str(state_db) if state_db else None,
        "generation.seed": seed,
    })
    return out


def _load_config(config_file: Path | None, start: Path | None, overrides: dict[str, Any]):
    from graph.config import FasterPyConfig
    from harness.errors import FasterPyError

    if config_file is not None and not config_file.is_file():
        raise FasterPyError(f"settings file {config_file} does not exist — check the --config path")
    return FasterPyConfig.load(config_file or start, overrides)


def one_line(message: str) -> str:
    """Errors are shown as one line: the first line, the last line of any traceback (the exception
    itself) and the advice ("— …")."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    if len(lines) <= 1:
        return lines[0] if lines else message
    advice = lines[-1] if lines[-1].startswith("—") else ""
    body = lines[:-1] if advice else lines
    text = body[0] if len(body) == 1 else f"{body[0]} … {body[-1]}"
    return f"{text} {advice}".strip()


class _Interrupts:
    """First Ctrl-C asks the run to stop at the next node (checkpointed, resumable); a second one
    aborts at once."""

    def __init__(self, cancel: threading.Event) -> None:
        self.cancel = cancel
        self._old: Any = None

    def __enter__(self) -> _Interrupts:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum: int, frame: Any) -> None:
        if self.cancel.is_set():
            raise KeyboardInterrupt
        self.cancel.set()
        print("stopping after the current step (Ctrl-C again to abort)…", file=sys.stderr)

    def __exit__(self, *exc: object) -> None:
        if self._old is not None:
            signal.signal(signal.SIGINT, self._old)


def _event_printer(console: Any):
    from rich.markup import escape

    def show(event: Any) -> None:
        where = f"[{event.node}]"
        target = f" {event.target}" if event.target else ""
        step = f" ({event.step}/{event.total})" if event.step and event.total else ""
        console.print(f"[dim]{escape(where + target + step)}[/dim] {escape(event.message)}", highlight=False)

    return show


def _notice_printer(console: Any):
    """Without --verbose only one-line notices (e.g. how to install the missing model) are shown."""
    def show(event: Any) -> None:
        if event.data.get("notice"):
            console.print(event.message, highlight=False, markup=False)

    return show


def _fmt_speedup(a: Any) -> str:
    if a.speedup is None:
        return "-"
    if a.ci_low is not None and a.ci_high is not None:
        return f"{a.speedup:.2f}× [{a.ci_low:.2f}–{a.ci_high:.2f}]"
    return f"{a.speedup:.2f}×"


def _fmt_seconds(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:.3f} s" if v >= 1 else f"{v * 1e3:.2f} ms" if v >= 1e-3 else f"{v * 1e6:.1f} µs"


def print_result(result: Any, console: Any) -> None:
    """Suggestions, attempts, the verified speedup with its interval, and the unified diff."""
    from rich.markup import escape
    from rich.syntax import Syntax
    from rich.table import Table

    console.print(f"[bold]{escape(result.path)}[/bold]  run {result.run_id}  ({result.mode} mode, {result.seconds:.1f} s)")
    for t in result.targets:
        console.rule(f"[bold]{escape(t.target)}[/bold]")
        if t.suggestions:
            table = Table(title="Suggestions", title_justify="left", show_lines=False)
            for col in ("applicability", "rate", "suggestion"):
                table.add_column(col)
            for s in t.suggestions:
                table.add_row(f"{s['similarity']:.3f}", f"{s['rate']:.2f}", escape(" ".join(s["summary"].split())))
            console.print(table)
        else:
            console.print("[dim]no suggestions retrieved[/dim]")
        table = Table(title="Attempts", title_justify="left")
        for col in ("#", "status", "speedup [95% CI]", "evidence", "feedback"):
            table.add_column(col)
        for a in t.attempts:
            first = a.feedback.strip().splitlines()[0] if a.feedback.strip() else ""
            style = "green" if a.accepted else ""
            table.add_row(f"{a.number}.{a.candidate}", f"[{style}]{a.status}[/{style}]" if style else a.status,
                          _fmt_speedup(a), escape(a.evidence()), escape(first[:100]))
        console.print(table)
        if t.best is not None:
            b = t.best
            console.print(
                f"[bold green]verified {b.speedup:.2f}× faster[/bold green] (95% CI {b.ci_low:.2f}–{b.ci_high:.2f}), "
                f"{_fmt_seconds(b.runtime_before)} → {_fmt_seconds(b.runtime_after)}, "
                f"on {escape(b.evidence())}"
            )
            if b.thin_evidence:
                console.print(f"[bold yellow]thin evidence:[/bold yellow] the checks execute only "
                              f"{b.coverage * 100:.0f} % of the original's lines (never run: "
                              f"{escape(b.uncovered_text())}) — add inputs that reach them (--driver, --test-cmd)")
        else:
            console.print("[bold yellow]no verified improvement[/bold yellow] — kept the original:")
            for r in t.reasons[:6]:
                console.print(f"  - {escape(r)}")
    if result.diff:
        console.rule("diff")
        if console.is_terminal:
            console.print(Syntax(result.diff, "diff", theme="ansi_dark", word_wrap=True))
        else:  # piped: the exact diff, never cropped to the console width (it can be fed to `patch`)
            console.file.write(result.diff)
            console.file.flush()


def optimize_command(
    file: Path | None = typer.Argument(None, help="The Python file to optimize (omit with --resume; optional with --changed)."),
    ref: str | None = typer.Argument(None, metavar="[REF]", help="With --changed: the git ref to compare the working tree with (default HEAD)."),
    function: list[str] = FUNCTION_OPT,
    hot: int | None = typer.Option(None, "--hot", metavar="N", help="Optimize the N hottest functions of FILE, measured under the driver (see `fasterpy profile`)."),
    changed: bool = typer.Option(False, "--changed", help="Optimize the functions changed since REF (git; default HEAD): FILE's, or without FILE every changed .py file's."),
    tests: Path | None = TESTS_OPT,
    input_files: list[Path] = INPUT_OPT,
    driver: str | None = typer.Option(None, "--driver", help="Command whose run supplies the functions' inputs, e.g. \"python bench.py\" or \"pytest tests/x.py\" (default: the file's __main__ block)."),
    test_cmd: str | None = typer.Option(None, "--test-cmd", help="Your tests, also run against the candidate in a temporary copy of the project."),
    min_coverage: float | None = typer.Option(None, "--min-coverage", metavar="X", help="Reject a faster candidate when the checks execute less than this share (0–1) of the original's lines."),
    write: bool = typer.Option(False, "--write", help="Apply a verified improvement to FILE (backup: FILE.bak)."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON on stdout."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Stream progress events to stderr."),
    resume_id: str | None = typer.Option(None, "--resume", metavar="RUN_ID", help="Continue an interrupted run."),
    learn: bool = typer.Option(False, "--learn", help="Add an accepted optimization to your knowledge base."),
    kb: Path | None = typer.Option(None, "--kb", help="Knowledge base to retrieve from (default: the shipped KB)."),
    retrieval: bool | None = typer.Option(None, "--retrieval/--no-retrieval", help="Use retrieved suggestions."),
    attempts: int | None = typer.Option(None, "--attempts", help="Generate→verify rounds per target."),
    budget: float | None = BUDGET_OPT,
    threshold: float | None = typer.Option(None, "--threshold", help="Accept when the speedup's CI lower bound clears this (default 1.1)."),
    mode: str | None = typer.Option(None, "--mode", help="together | each: several targets in one prompt or one by one."),
    run_timeout: float | None = typer.Option(None, "--run-timeout", help="Seconds per sandboxed run (default 10)."),
    state_db: Path | None = typer.Option(None, "--state-db", help="SQLite run database (default: <cache>/runs.sqlite)."),
    config_file: Path | None = typer.Option(None, "--config", help="Settings file (default: nearest fasterpy.toml / pyproject.toml)."),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed.", rich_help_panel="Generation"),
    generation_overrides: dict = None,  # type: ignore[assignment]  # filled by @generation_options
) -> None:
    """Optimize functions in FILE; print suggestions, attempts, the verified speedup and the diff.

    The functions are those named with -f, the N hottest under the driver (--hot N), or those changed
    since a git ref (`--changed`, with REF after FILE); the three ways do not combine."""
    from rich.console import Console

    from graph import api
    from harness.errors import FasterPyError

    err = Console(stderr=True)
    out = Console(stderr=True) if as_json else Console()
    cancel = threading.Event()
    on_event = _event_printer(err) if verbose else _notice_printer(err)
    overrides = _config_overrides(kb, retrieval, attempts, threshold, mode, run_timeout, state_db, seed,
                                  generation_overrides or {})
    overrides.update({"budget_s": budget, "driver": driver, "test_cmd": test_cmd, "min_coverage": min_coverage,
                      "learn": True if learn else None})
    if changed and ref is None and file is not None and not file.exists() and file.suffix != ".py":
        file, ref = None, str(file)  # `--changed main`: the one positional is the ref, not a file
    if ref is not None and not changed:
        raise FasterPyError(f"unexpected argument {ref!r} — a REF goes with --changed (fasterpy optimize [FILE] REF --changed)")
    if resume_id and (file is not None or function or hot is not None or changed):
        raise FasterPyError("--resume continues a run as it was started — drop FILE, -f, --hot and --changed")
    if sum((bool(function), hot is not None, changed)) > 1:
        raise FasterPyError("-f, --hot and --changed each choose the functions to optimize — use one of them")
    if hot is not None and file is None and not resume_id:
        raise FasterPyError("--hot picks the hottest functions of one FILE — name it: fasterpy optimize FILE --hot N")
    if changed and (tests is not None or input_files):
        raise FasterPyError("--changed picks functions (function mode) — drop --tests/--input")
    with _Interrupts(cancel):
        if resume_id:
            result = api.resume(resume_id, on_event=on_event, cancel=cancel, state_db=state_db)
            raise typer.Exit(_report(result, None, as_json, write, learn, config_file, state_db, out, err))
        if changed:
            from graph.changed import changed_functions

            jobs = list(changed_functions(ref or "HEAD", file).items())
            if not jobs:
                err.print(f"no function changed since {ref or 'HEAD'}" + (f" in {file}" if file else "")
                          + " — nothing to optimize")
                raise typer.Exit(0)
            if file is None:
                raise typer.Exit(_optimize_files(jobs, config_file, overrides, on_event, cancel, as_json, write,
                                                 learn, state_db, out, err))
            function = jobs[0][1]
            err.print(f"changed since {ref or 'HEAD'}: {', '.join(function)}")
        if file is None:
            raise FasterPyError("name a FILE to optimize (or --resume RUN_ID, or --changed)")
        cfg = _load_config(config_file, file, overrides)
        if hot is not None:
            function = _hottest(file, hot, cfg.driver, err)
        result = api.optimize(file, function, cfg, on_event=on_event, cancel=cancel, tests_dir=tests,
                              input_files=input_files)
    raise typer.Exit(_report(result, cfg, as_json, write, learn, config_file, state_db, out, err))


def _hottest(file: Path, n: int, driver: str | None, err: Any) -> list[str]:
    """`--hot N`: profile the driver, print the chosen functions and their share, return their names."""
    from graph.profile import hottest_in_file, profile_driver
    from harness.errors import FasterPyError

    if n < 1:
        raise FasterPyError(f"--hot {n} picks no function — give how many of the hottest to optimize, e.g. --hot 3")
    with err.status(f"profiling {driver or f'the __main__ block of {file.name}'} …"):  # a spinner, on a terminal only
        timings = profile_driver(driver, file)
    chosen = hottest_in_file(timings, file, n)
    shares = ", ".join(f"{t.qualname} ({t.share:.1%} of the run)" for t in chosen)
    err.print(f"hottest in {file.name}: {shares}", soft_wrap=True, highlight=False)
    return [t.qualname for t in chosen]


def _optimize_files(jobs: list[tuple[Path, list[str]]], config_file: Path | None, overrides: dict[str, Any],
                    on_event: Any, cancel: threading.Event, as_json: bool, write: bool, learn: bool,
                    state_db: Path | None, out: Any, err: Any) -> int:
    """`--changed` without FILE: each changed file in turn, then a summary. Exit code: 2 if a file
    failed, else 0 if any was optimized, else 1."""
    from rich.markup import escape
    from rich.table import Table

    from graph import api
    from harness.errors import FasterPyError

    rows: list[tuple[str, str, str]] = []
    dicts: list[dict[str, Any]] = []
    codes: list[int] = []
    for path, functions in jobs:
        err.rule(f"{path}: {', '.join(functions)}")
        try:
            cfg = _load_config(config_file, path, overrides)
            result = api.optimize(path, functions, cfg, on_event=on_event, cancel=cancel)
            if result.status == "cancelled":
                codes.append(_report(result, cfg, as_json, write, learn, config_file, state_db, out, err))
                break
            code = _report(result, cfg, as_json, write, learn, config_file, state_db, out, err, dicts)
        except FasterPyError as exc:
            typer.echo(f"error: {path.name}: {one_line(str(exc))}", err=True)
            code, status = 2, "error"
        else:
            status = result.status
        codes.append(code)
        rows.append((str(path), ", ".join(functions), status))
    if as_json:
        sys.stdout.write(json.dumps(dicts, indent=2, default=str) + "\n")
    table = Table(title=f"--changed: {len(rows)} file(s)", title_justify="left")
    for col in ("file", "functions", "result"):
        table.add_column(col)
    for row in rows:
        table.add_row(*(escape(c) for c in row))
    err.print(table)
    if 130 in codes:
        return 130
    return 2 if 2 in codes else 0 if 0 in codes else 1


def _report(result: Any, cfg: Any, as_json: bool, write: bool, learn: bool, config_file: Path | None,
            state_db: Path | None, out: Any, err: Any, collect: list[dict[str, Any]] | None = None) -> int:
    """Print one run's result (or its JSON; into `collect` when given), apply and learn as asked;
    return the exit code."""
    from graph import api
    from harness.errors import FasterPyError

    if result.status == "error":
        raise FasterPyError(one_line(result.error))
    if result.status == "cancelled":
        err.print(f"interrupted — resume with: fasterpy optimize --resume {result.run_id}"
                  + (f" --state-db {state_db}" if state_db else ""))
        return 130
    if result.optimized and write:
        api.write_result(result)
    if cfg is None and learn and result.optimized:  # a resumed run learns by its file's settings
        cfg = _load_config(config_file, Path(result.path), {"learn": True})
    learned: list[int] = []
    if cfg is not None:
        from graph.learn import learn_accepted

        learned = learn_accepted(result, cfg)
    if as_json:
        data = result.to_dict()
        data["learned_ids"] = learned
        if collect is not None:
            collect.append(data)
        else:
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
    else:
        print_result(result, out)
        if result.written_to:
            out.print(f"[bold]wrote {result.written_to}[/bold] (backup of the original: {result.backup})")
        elif result.optimized:
            out.print("[dim]not applied — re-run with --write to apply (a backup FILE.bak is kept)[/dim]")
        if learned:
            out.print(f"added {len(learned)} record(s) to your knowledge base")
    return int(result.exit_code)


def batch_command(
    input_path: Path = typer.Argument(..., metavar="INPUT.jsonl", help="PIE-format rows (problem_id + slow code)."),
    tests: Path = typer.Option(..., "--tests", help="PIE public_test_cases/ directory (<problem_id>/input.N.txt …)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output .jsonl (appended; rows already there are skipped)."),
    src_col: str | None = typer.Option(None, "--src-col", help="Column with the slow program (default: input, src_code, slow_code)."),
    out_col: str = typer.Option("generated_answers", "--out-col", help="Column for the emitted program (what `fasterpy eval` reads)."),
    limit: int | None = typer.Option(None, "--limit", help="Only the first N rows."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Stream progress events to stderr."),
    kb: Path | None = typer.Option(None, "--kb", help="Knowledge base to retrieve from (default: the shipped KB)."),
    retrieval: bool | None = typer.Option(None, "--retrieval/--no-retrieval", help="Use retrieved suggestions."),
    attempts: int | None = typer.Option(None, "--attempts", help="Generate→verify rounds per row."),
    threshold: float | None = typer.Option(None, "--threshold", help="Accept when the speedup's CI lower bound clears this."),
    run_timeout: float | None = typer.Option(None, "--run-timeout", help="Seconds per sandboxed run."),
    budget: float | None = BUDGET_OPT,
    ray_address: str | None = typer.Option(None, "--ray", metavar="ADDRESS", help="Run the rows as Ray tasks: 'local' starts a cluster on this machine, 'auto' joins the one `ray start` runs, or host:port / ray://host:10001 (needs the ray extra).", rich_help_panel="Scaling out"),
    max_concurrency: int | None = typer.Option(None, "--max-concurrency", min=1, help="openai backend: most requests in flight to the server from one process (default 8; with --ray, per worker).", rich_help_panel="Scaling out"),
    config_file: Path | None = typer.Option(None, "--config", help="Settings file."),
    seed: int | None = typer.Option(None, "--seed", help="Sampling seed.", rich_help_panel="Generation"),
    generation_overrides: dict = None,  # type: ignore[assignment]  # filled by @generation_options
) -> None:
    """Run the pipeline over a PIE-format set (program mode); the output feeds `fasterpy eval`."""
    import statistics

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from graph.batch import run_batch

    err = Console(stderr=True)
    overrides = _config_overrides(kb, retrieval, attempts, threshold, None, run_timeout, None, seed,
                                  generation_overrides or {})
    overrides.update({"budget_s": budget, "generation.max_concurrency": max_concurrency})
    cfg = _load_config(config_file, None, overrides)
    ray = None
    if ray_address is not None:
        from graph.batch_ray import RaySettings  # imports no Ray itself

        ray = RaySettings(address=ray_address)
    on_event = _event_printer(err) if verbose else None
    with Progress(TextColumn("batch"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), console=err, transient=False) as bar:
        task = bar.add_task("", total=None)

        def on_row(n: int, total: int, result: Any) -> None:
            note = "skipped (already done)" if result is None else f"{result.status} ({result.seconds:.1f} s)"
            bar.update(task, completed=n, total=total, description=note)

        summary = run_batch(input_path, tests, out, cfg, src_col=src_col, out_col=out_col, limit=limit,
                            on_row=on_row, on_event=on_event, ray=ray)
    med = statistics.median(summary.seconds) if summary.seconds else 0.0
    err.print(f"{summary.done} row(s) processed, {summary.skipped} already done, {summary.optimized} optimized, "
              f"{summary.errors} error(s); median {med:.1f} s per row → {out}")


def register(app: typer.Typer) -> None:
    from fasterpy_tui.options import generation_options

    app.command("optimize")(generation_options(optimize_command))
    app.command("batch")(generation_options(batch_command))
