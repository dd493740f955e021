"""Quality of the whole pipeline on a pie-dev subset: `batch` + `eval` per configuration.

Configurations: the offline rules backend and the packaged Qwen2.5-Coder-1.5B / 0.5B GGUF models
through llama.cpp, each with and without retrieval (a model that is not installed is listed as
skipped). Each batch run never retrieves the row's own problem. The emitted programs are then
evaluated with the harness (`fasterpy eval`'s code): the paper's Runtime_Mean, %OPT, Pass@1,
@Speedup, plus PIE's %Opt and the median seconds the pipeline spent per problem. The "original"
row is the slow programs themselves, evaluated in the same run (the baseline).

    .venv/bin/python benchmarks/pipeline_quality.py [--problems 8] [--attempts 2] [--candidates 1]
        [--configs rules,rules-noret,qwen1.5b,qwen1.5b-noret,qwen0.5b,qwen0.5b-noret] [--out DIR]

Outputs go to --out (default: a temp dir): one batch .jsonl per configuration and summary.json.
A second run with the same --out reuses its subset and resumes each configuration's rows.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
PIE = REPO.parent / "shared" / "data" / "pie-dev"

CONFIGS = {
    "rules": {"generation.backend": "rules", "use_retrieval": True},
    "rules-noret": {"generation.backend": "rules", "use_retrieval": False},
    "qwen0.5b": {"generation.backend": "llamacpp", "generation.model": "qwen2.5-coder-0.5b", "use_retrieval": True},
    "qwen0.5b-noret": {"generation.backend": "llamacpp", "generation.model": "qwen2.5-coder-0.5b", "use_retrieval": False},
    "qwen1.5b": {"generation.backend": "llamacpp", "generation.model": "qwen2.5-coder-1.5b", "use_retrieval": True},
    "qwen1.5b-noret": {"generation.backend": "llamacpp", "generation.model": "qwen2.5-coder-1.5b", "use_retrieval": False},
}


def pick_subset(n: int) -> list[dict]:
    """One row per problem whose slow program passes its own tests here (the metrics only score
    rows with a correct original), problems spread evenly over the sorted ids (deterministic)."""
    from harness.evaluate import EvalOptions, evaluate_rows
    from harness.files import read_jsonl

    rows: dict[str, dict] = {}
    for r in read_jsonl(PIE / "dev_pairs.jsonl"):
        if r["problem_id"] not in rows and (PIE / "public_test_cases" / r["problem_id"]).is_dir():
            rows[r["problem_id"]] = r
    ids = sorted(rows)
    probe = [dict(rows[p], generated_answers=rows[p]["slow_code"]) for p in ids]
    report = evaluate_rows(probe, PIE / "public_test_cases", EvalOptions(runs=1, drop=0, include_reference=False))
    ok = [p for p, r in zip(ids, report.rows) if r.get("status") == "ok"]
    step = max(1, len(ok) // n)
    return [rows[pid] for pid in ok[::step][:n]]


def model_missing(overrides: dict) -> str | None:
    """Why a configuration cannot run here (None when it can)."""
    if overrides.get("generation.backend") != "llamacpp":
        return None
    import importlib.util

    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python not installed"
    try:
        from graph.backends.models import ensure_model

        ensure_model(overrides["generation.model"])
    except Exception as exc:  # FasterPyError: parts not installed / checksum
        return f"model not installed ({str(exc).splitlines()[0][:60]})"
    return None


def evaluate(out_jsonl: Path, slow_only: bool = False):
    from harness.evaluate import EvalOptions, evaluate_rows, load_rows

    rows = load_rows(out_jsonl)
    if slow_only:  # the baseline: the original programs as the "model" output
        rows = [dict(r, generated_answers=r["slow_code"]) for r in rows]
    return evaluate_rows(rows, PIE / "public_test_cases", EvalOptions(model_col="generated_answers",
                                                                      include_reference=False)).metrics


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--problems", type=int, default=8)
    ap.add_argument("--attempts", type=int, default=2)
    ap.add_argument("--candidates", type=int, default=1)
    ap.add_argument("--llm-problems", type=int, default=None,
                    help="Run the model configurations on only the first N problems of the subset (CPU time).")
    ap.add_argument("--max-new-tokens", type=int, default=768)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--report-only", action="store_true",
                    help="Generate nothing: tabulate the rows already in --out (an interrupted or partial run).")
    args = ap.parse_args()

    from graph.batch import run_batch
    from graph.config import FasterPyConfig
    from harness.files import read_jsonl, write_jsonl

    out_dir = args.out or Path(tempfile.mkdtemp(prefix="fasterpy-pipeline-quality-"))
    out_dir.mkdir(parents=True, exist_ok=True)
    inp = out_dir / "subset.jsonl"
    if inp.is_file():  # reuse the subset of an earlier (or concurrent) run in the same --out
        subset = read_jsonl(inp)
    else:
        subset = pick_subset(args.problems)
        write_jsonl(inp, subset)
    console = Console(force_terminal=False, width=160)
    console.print(f"{len(subset)} pie-dev problems: {', '.join(r['problem_id'] for r in subset)} → {out_dir}")

    results: dict[str, dict] = {}
    baseline_done = False
    for name in [c.strip() for c in args.configs.split(",") if c.strip()]:
        overrides = dict(CONFIGS[name])
        why = model_missing(overrides)
        if why:
            results[name] = {"skipped": why}
            console.print(f"[yellow]{name}: skipped — {why}[/yellow]")
            continue
        overrides.update({"attempts": args.attempts, "candidates": args.candidates,
                          "generation.max_new_tokens": args.max_new_tokens, "generation.temperature": 0.2})
        cfg = FasterPyConfig.load(out_dir, overrides)
        out = out_dir / f"{name}.jsonl"
        if args.report_only and not (out.is_file() and out.read_text().strip()):
            results[name] = {"skipped": "not run (out of time)"}
            continue
        llm = overrides["generation.backend"] != "rules"
        limit = args.llm_problems if llm and args.llm_problems else None
        t0 = time.perf_counter()
        if not args.report_only:
            run_batch(inp, PIE / "public_test_cases", out, cfg, limit=limit,
                      on_row=lambda n, total, r, name=name: console.print(
                          f"  {name} {n}/{total}: {r.status if r else 'done before'}"
                          + (f" ({r.seconds:.1f} s)" if r else ""), highlight=False))
        wall = time.perf_counter() - t0
        rows = read_jsonl(out)
        secs = [r["fasterpy_seconds"] for r in rows]
        m = evaluate(out)
        results[name] = {"metrics": m.to_dict(), "median_s": statistics.median(secs) if secs else None,
                         "problems": len(rows), "attempt_statuses": [r.get("fasterpy_attempt_statuses") for r in rows],
                         "verified": sum(r["fasterpy_status"] == "optimized" for r in rows),
                         "errors": sum(r["fasterpy_status"] == "error" for r in rows), "wall_s": wall}
        if not baseline_done:
            results["original"] = {"metrics": evaluate(out, slow_only=True).to_dict(), "median_s": None,
                                   "verified": 0, "errors": 0, "problems": len(subset)}
            baseline_done = True
        (out_dir / "summary.json").write_text(json.dumps(results, indent=2))  # partial results survive

    table = Table(title=f"Pipeline quality on {len(subset)} pie-dev problems "
                        f"(attempts {args.attempts}, candidates {args.candidates}; own problem excluded from retrieval)")
    for col in ("configuration", "problems", "Runtime_Mean", "%OPT", "Pass@1", "@Speedup", "PIE %Opt", "verified rows",
                "median s/problem"):
        table.add_column(col, justify="right" if col != "configuration" else "left")
    order = ["original"] + [n for n in results if n != "original"]
    for name in order:
        r = results.get(name)
        if r is None:
            continue
        if "skipped" in r:
            table.add_row(name, *(["—"] * 7), f"skipped: {r['skipped']}")
            continue
        m = r["metrics"]

        def pct(v):
            return "—" if v is None else f"{100 * v:.1f}%"

        table.add_row(
            name,
            str(r.get("problems", len(subset))),
            "—" if m["runtime_mean_model"] is None else f"{1000 * m['runtime_mean_model']:.2f} ms",
            pct(m["pct_opt"]), pct(m["pass_at_1"]),
            "—" if m["speedup"] is None else f"{m['speedup']:.3f}×",
            pct(m["pie_pct_opt"]), f"{r['verified']}/{r.get('problems', len(subset))}" if name != "original" else "—",
            "—" if r["median_s"] is None else f"{r['median_s']:.1f}",
        )
    console.print(table)
    (out_dir / "summary.json").write_text(json.dumps(results, indent=2))
    console.print(f"summary: {out_dir / 'summary.json'}")


if __name__ == "__main__":
    main()
