"""Quality of the whole pipeline on the quality set: `batch` + `eval` per configuration, in one run.

The set is benchmarks/quality_problems.txt (made by benchmarks/quality_set.py: PIE problems whose slow
program takes >= 10 ms here and whose human reference is >= 1.5x faster), one pair per problem.
Configurations (issue 12, section 5):

    rules              the offline rules engine alone
    model              the packaged model alone (--model, llama.cpp)
    cascade            the default configuration (no overrides: rules, then the packaged model)
    cascade-noret      the cascade without retrieval
    cascade-summaries  the cascade, prompt mode "summaries" (the paper's suggestions)
    cascade-examples   the cascade, prompt mode "examples" (retrieved slow/fast code)
    cascade-lora       the cascade with the LoRA adapter (--adapter; default the shipped 1.5B one)
    reference          the human reference programs (no generation)

A configuration whose settings equal an earlier one's (e.g. cascade-summaries while "summaries" is
the default) reuses that one's rows instead of running again. Batch runs never retrieve the row's
own problem (`graph.batch`), so a problem whose pairs are in the shipped knowledge base is not its
own suggestion. The emitted programs are evaluated with the harness (`fasterpy eval`'s code,
harness.evaluate + harness.metrics): Pass@1, %OPT (PIE's: optimized rows over all rows), @Speedup
(Eq. 6), the geometric mean speedup (the evaluated speedup of each verified row, 1 for a row with
no verified candidate), verified rows and the median seconds the pipeline spent per problem. The
evaluation times one program at a time on the CPU clock by default (--clock), and a row that emits
its original program unchanged is scored at speedup 1: re-timing the same program here spreads it
0.7-1.5x, which PIE's %OPT would otherwise count as optimizations.

    .venv/bin/python benchmarks/pipeline_quality.py [--configs rules,model,cascade,...] [--limit N]
        [--problems-file benchmarks/quality_problems.txt] [--out DIR] [--cascade-backend cascade]
        [--model qwen2.5-coder-1.5b] [--attempts N] [--candidates N] [--max-new-tokens N] [--clock cpu|wall]
        [--report-only]

Resumable per (configuration, problem): each configuration appends its rows to DIR/<name>.jsonl as
they finish and a later run with the same --out skips the rows already there. --out defaults to
a folder in the user cache named after the problem list, so a long run continues across sessions.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))
PROBLEMS = REPO / "benchmarks" / "quality_problems.txt"
MODEL = "qwen2.5-coder-1.5b"


ADAPTER = REPO / "data" / "adapters" / "qwen2.5-coder-1.5b-fasterpy"


def configs(cascade: str, model: str, adapter: Path = ADAPTER) -> dict[str, dict[str, Any] | None]:
    """Each configuration's config overrides (dotted keys); None: the human reference, no generation."""
    return {
        "rules": {"generation.backend": "rules"},
        "model": {"generation.backend": "llamacpp", "generation.model": model},
        "cascade": {"generation.backend": cascade},
        "cascade-noret": {"generation.backend": cascade, "use_retrieval": False},
        "cascade-summaries": {"generation.backend": cascade, "prompt_mode": "summaries"},
        "cascade-examples": {"generation.backend": cascade, "prompt_mode": "examples"},
        "cascade-lora": {"generation.backend": cascade, "generation.adapter": str(adapter)},
        "reference": None,
    }


def read_problems(path: Path) -> list[dict]:
    """The list's entries: problem id plus the `key=value` fields of its comment (source, row, ...)."""
    if not path.is_file():
        raise SystemExit(f"error: {path} does not exist — run benchmarks/quality_set.py or pass --problems-file")
    entries = []
    for line in path.read_text().splitlines():
        pid, _, comment = line.partition("#")
        if pid.strip():
            entries.append({"problem_id": pid.strip(), **dict(re.findall(r"(\w+)=(\S+)", comment))})
    return entries


def build_subset(entries: list[dict], out_dir: Path) -> Path:
    """DIR/subset.jsonl (one PIE-format row per problem) and DIR/tests/<pid>/ (its public tests)."""
    from quality_set import SOURCES, tests_for

    from harness.files import atomic_write, read_jsonl, write_jsonl

    files: dict[str, list[dict]] = {}
    rows = []
    for e in entries:
        source = e.get("source", "pie-dev")
        if source not in files:
            files[source] = read_jsonl(SOURCES[source])
        r = files[source][int(e["row"])]
        if r["problem_id"] != e["problem_id"]:
            raise SystemExit(f"error: row {e['row']} of {source} is {r['problem_id']}, not {e['problem_id']} — "
                             "the problem list is stale: rerun benchmarks/quality_set.py")
        rows.append({"problem_id": e["problem_id"], "input": r["slow_code"],
                     "target": r.get("reference_code") or r["fast_code"], "source": source, "row": int(e["row"])})
        folder = out_dir / "tests" / e["problem_id"]
        for t in tests_for(e["problem_id"]):
            n = t.name.split(".")[1]
            atomic_write(folder / f"input.{n}.txt", t.input)
            atomic_write(folder / f"output.{n}.txt", t.output)
    path = out_dir / "subset.jsonl"
    write_jsonl(path, rows)
    return path


def model_missing(overrides: dict[str, Any], model: str) -> str | None:
    """Why the model stage cannot run here (None when it can)."""
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python not installed"
    try:
        from graph.backends.models import ensure_model

        ensure_model(overrides.get("generation.model") or model)
    except Exception as exc:  # FasterPyError: parts not installed / checksum
        return f"model not installed ({str(exc).splitlines()[0][:60]})"
    return None


def score(rows: list[dict], tests: Path, code_col: str, verified: list[bool], seconds: list[float],
          clock: str) -> dict:
    """The table's figures for one configuration's emitted programs (`code_col`), evaluated on one
    worker (no two programs timed at once). A row that emits its original program unchanged is
    scored with the original's runtime (speedup exactly 1): timing noise between two runs of the same
    program is not an optimization. `records` keeps each row's evaluation, so the figures can be
    recomputed on a subset of the problems (`summarize`) without timing anything again."""
    records = evaluate_config(rows, tests, code_col, verified, seconds, clock)
    return dict(summarize(records), records=records)


def evaluate_config(rows: list[dict], tests: Path, code_col: str, verified: list[bool], seconds: list[float],
                    clock: str) -> list[dict]:
    """One record per row: its PIE sample, its factor in the geometric mean, its per-problem entry,
    the pipeline's seconds on it and its judged candidates' verdicts."""
    from harness.evaluate import EvalOptions, evaluate_rows
    from harness.pool import WorkerPool

    with WorkerPool(workers=1) as pool:
        report = evaluate_rows([dict(r, generated_answers=r[code_col]) for r in rows], tests,
                               EvalOptions(model_col="generated_answers", slow_col="input", include_reference=False,
                                           clock=clock), pool=pool)
    records = []
    for i, (row, rep, ok) in enumerate(zip(rows, report.rows, verified)):
        origin, model = rep["origin"], rep["model"]
        rec: dict[str, Any] = {"problem_id": row["problem_id"], "verified": ok,
                               "seconds": seconds[i] if i < len(seconds) else None,
                               "statuses": list(row.get("fasterpy_attempt_statuses") or ())}
        if origin is None:  # no tests / bad row: reported, not scored
            records.append(dict(rec, sample=[row["problem_id"], None, False, None, False, False], factor=1.0,
                                entry=None))
            continue
        unchanged = row[code_col].strip() == row["input"].strip()
        runtime = origin["runtime"] if unchanged and model["correct"] else model["runtime"]
        speedup = origin["runtime"] / runtime if origin["correct"] and model["correct"] and runtime else None
        records.append(dict(rec, sample=[row["problem_id"], origin["runtime"], origin["correct"], runtime,
                                         model["correct"], True],
                            factor=speedup if ok and speedup else 1.0,
                            entry={"problem_id": row["problem_id"], "status": rep["status"], "verified": ok,
                                   "unchanged": unchanged, "speedup": speedup}))
    return records


def summarize(records: list[dict]) -> dict:
    """The table's figures from `evaluate_config`'s records (all of them or a subset)."""
    from harness.metrics import Sample, compute_metrics

    m = compute_metrics([Sample(*r["sample"]) for r in records])
    factors = [r["factor"] for r in records]
    seconds = [r["seconds"] for r in records if r["seconds"] is not None]
    return {
        "rows": len(records), "metrics": m.to_dict(), "verified": sum(bool(r["verified"]) for r in records),
        "geomean_speedup": math.exp(statistics.fmean(math.log(f) for f in factors)) if factors else None,
        "median_s": statistics.median(seconds) if seconds else None,
        "per_problem": [r["entry"] for r in records if r["entry"] is not None],
        "candidates": candidate_shares([{"fasterpy_attempt_statuses": r["statuses"]} for r in records]),
    }


def candidate_shares(rows: list[dict]) -> dict[str, Any]:
    """What the search's judged candidates were, over the configuration's rows: the share that was
    correct (accepted, or correct but not faster enough) and the count of each verdict."""
    counts: dict[str, int] = {}
    for row in rows:
        for status in row.get("fasterpy_attempt_statuses") or ():
            counts[status] = counts.get(status, 0) + 1
    judged = sum(n for k, n in counts.items() if k != "no_code")
    correct = counts.get("accepted", 0) + counts.get("slower", 0)
    return {"judged": judged, "correct_share": correct / judged if judged else None, "counts": counts}


def run_config(name: str, overrides: dict[str, Any], subset: Path, tests: Path, out: Path, args, console) -> None:
    from graph.batch import run_batch
    from graph.config import FasterPyConfig

    given = dict(overrides, **{"attempts": args.attempts, "candidates": args.candidates,
                               "generation.max_new_tokens": args.max_new_tokens, "budget_s": args.budget})
    cfg = FasterPyConfig.load(subset.parent, given)
    run_batch(subset, tests, out, cfg, limit=args.limit,
              on_row=lambda n, total, r: console.print(
                  f"  {name} {n}/{total}: {r.status if r else 'done before'}" + (f" ({r.seconds:.1f} s)" if r else ""),
                  highlight=False))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems-file", type=Path, default=PROBLEMS)
    ap.add_argument("--configs", default="rules,model,cascade,cascade-noret,cascade-summaries,cascade-examples,reference")
    ap.add_argument("--limit", type=int, default=None, help="Only the first N problems of the list.")
    ap.add_argument("--cascade-backend", default="cascade", help="The backend the cascade configurations use.")
    ap.add_argument("--model", default=MODEL, help="The model of the `model` configuration.")
    ap.add_argument("--attempts", type=int, default=None, help="Default: the configuration's own.")
    ap.add_argument("--candidates", type=int, default=None, help="Default: the configuration's own.")
    ap.add_argument("--max-new-tokens", type=int, default=None, help="Default: the configuration's own.")
    ap.add_argument("--budget", type=float, default=None, help="Search seconds per target (default: the configuration's own).")
    ap.add_argument("--adapter", type=Path, default=ADAPTER, help="The LoRA adapter of the cascade-lora configuration.")
    ap.add_argument("--clock", choices=("cpu", "wall"), default="cpu",
                    help="The evaluation's clock (cpu: the child's CPU time, steadier on a shared machine).")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--report-only", action="store_true",
                    help="Generate nothing: tabulate the rows already in --out (an interrupted or partial run).")
    ap.add_argument("--generate-only", action="store_true",
                    help="Run the configurations' batches and score nothing (a long run fed one problem at a time "
                         "with growing --limit; tabulate at the end with --report-only).")
    args = ap.parse_args()

    from harness.files import read_jsonl
    from harness.plugins import plugin_names
    from kb.paths import cache_dir

    table_of = configs(args.cascade_backend, args.model, args.adapter)
    names = [c.strip() for c in args.configs.split(",") if c.strip()]
    unknown = [n for n in names if n not in table_of]
    if unknown:
        raise SystemExit(f"error: unknown configuration {unknown[0]!r} — choose from {', '.join(table_of)}")
    entries = read_problems(args.problems_file)
    digest = hashlib.sha256(args.problems_file.read_bytes()).hexdigest()[:10]
    out_dir = args.out or cache_dir() / "pipeline-quality" / digest
    out_dir.mkdir(parents=True, exist_ok=True)
    subset = build_subset(entries, out_dir)
    tests = out_dir / "tests"
    rows = read_jsonl(subset)[: args.limit]
    console = Console(force_terminal=False, width=160)
    console.print(f"{len(rows)} problems from {args.problems_file.name} → {out_dir} (load {os.getloadavg()[0]:.2f})")

    backends = set(plugin_names("fasterpy.backends"))
    results: dict[str, dict] = {}
    ran: dict[str, str] = {}  # settings → the configuration whose rows hold them
    for name in names:
        overrides = table_of[name]
        if overrides is None:  # the human reference
            if args.generate_only:
                continue
            results[name] = score(rows, tests, "target", [True] * len(rows), [], args.clock)
            for rec in results[name]["records"]:  # the reference is "verified" where it is correct
                rec["verified"] = rec["entry"] is not None and rec["entry"]["speedup"] is not None
            results[name]["verified"] = sum(r["verified"] for r in results[name]["records"])
            continue
        backend = overrides["generation.backend"]
        if backend not in backends:
            results[name] = {"skipped": f"backend {backend!r} not installed"}
            continue
        note = model_missing(overrides, args.model) if backend != "rules" else None
        if note and backend == "llamacpp":
            results[name] = {"skipped": note}
            continue
        settings = json.dumps(overrides, sort_keys=True)
        if name.startswith("cascade-") and overrides.get("prompt_mode"):
            from graph.config import FasterPyConfig

            default_mode = FasterPyConfig.load(subset.parent).prompt_mode
            if overrides["prompt_mode"] == default_mode:
                settings = json.dumps({k: v for k, v in overrides.items() if k != "prompt_mode"}, sort_keys=True)
        source = ran.setdefault(settings, name)
        out = out_dir / f"{source}.jsonl"
        t0 = time.perf_counter()
        if source == name and not args.report_only:
            run_config(name, overrides, subset, tests, out, args, console)
        if args.generate_only:
            continue
        if not (out.is_file() and out.read_text().strip()):
            results[name] = {"skipped": "not run yet" if source == name else f"same as {source}, not run yet"}
            continue
        done = {r["problem_id"]: r for r in read_jsonl(out, skip_bad=True)}
        emitted = [done[r["problem_id"]] for r in rows if r["problem_id"] in done]
        results[name] = score(emitted, tests, "generated_answers",
                              [r["fasterpy_status"] == "optimized" for r in emitted],
                              [r["fasterpy_seconds"] for r in emitted], args.clock)
        results[name].update(wall_s=time.perf_counter() - t0, same_as=None if source == name else source,
                             note=f"cascade ran as rules only: {note}" if note else None)
        (out_dir / "summary.json").write_text(json.dumps(results, indent=2))  # partial results survive

    if args.generate_only:
        return
    print_table(console, f"Pipeline quality on {len(rows)} problems of {args.problems_file.name} "
                         f"(own problem excluded from retrieval; evaluated on the {args.clock} clock, 4 runs, first "
                         f"dropped; load {os.getloadavg()[0]:.2f})", results)
    scored = {n: r for n, r in results.items() if "records" in r}
    common = set.intersection(*({x["problem_id"] for x in r["records"]} for r in scored.values())) if scored else set()
    if any(len(r["records"]) > len(common) for r in scored.values()):
        # a partial configuration (an ablation run on fewer problems) is compared on the problems every one has
        sub_results = {n: summarize([x for x in r["records"] if x["problem_id"] in common]) for n, r in scored.items()}
        results["common"] = {"problems": sorted(common), "results": sub_results}
        print_table(console, f"The same evaluation on the {len(common)} problems every configuration has "
                             f"({', '.join(sorted(common)) if len(common) <= 12 else 'listed in summary.json'})",
                    sub_results)
    for name, r in results.items():
        if r.get("note"):
            console.print(f"* {name}: {r['note']}")
    (out_dir / "summary.json").write_text(json.dumps(results, indent=2))
    console.print(f"summary: {out_dir / 'summary.json'}")


def print_table(console: Console, title: str, results: dict[str, dict]) -> None:
    table = Table(title=title)
    for col in ("configuration", "rows", "Pass@1", "%OPT (PIE)", "@Speedup", "geomean speedup", "verified rows",
                "median s/problem", "correct candidates"):
        table.add_column(col, justify="left" if col == "configuration" else "right")
    for name, r in results.items():
        if "skipped" in r:
            table.add_row(name, *(["—"] * 7), f"skipped: {r['skipped']}")
            continue
        m = r["metrics"]

        def pct(v: float | None) -> str:
            return "—" if v is None else f"{100 * v:.1f}%"

        label = name + (f" (= {r['same_as']})" if r.get("same_as") else "") + (" *" if r.get("note") else "")
        table.add_row(label, str(r["rows"]), pct(m["pass_at_1"]), pct(m["pie_pct_opt"]),
                      "—" if m["speedup"] is None else f"{m['speedup']:.3f}×",
                      "—" if r["geomean_speedup"] is None else f"{r['geomean_speedup']:.3f}×",
                      f"{r['verified']}/{r['rows']}", "—" if r["median_s"] is None else f"{r['median_s']:.1f}",
                      "—" if not r.get("candidates", {}).get("judged") else
                      f"{100 * r['candidates']['correct_share']:.0f}% of {r['candidates']['judged']}")
    console.print(table)


if __name__ == "__main__":
    main()
