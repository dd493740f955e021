"""Does the LoRA adapter help? The pipeline (program mode, retrieval on, one attempt with one
candidate) on held-out pie-dev problems, with the base model and with base + adapter, in one run.

    python benchmarks/lora_effect.py                       # the committed adapter, its held-out problems
    python benchmarks/lora_effect.py --limit 3 --max-new-tokens 256

Both arms see identical prompts: the same retrieval from the same KB with the problem itself
excluded, greedy decoding. For each arm it reports the paper's metrics (harness.metrics: Pass@1,
@Speedup, %OPT, PIE's %Opt) on the model's single-shot candidate, scored by `harness.evaluate` on the
PIE public tests, plus how many candidates the pipeline's verifier accepted."""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from harness.files import read_jsonl  # noqa: E402

ADAPTER = ROOT / "data" / "adapters" / "qwen2.5-coder-0.5b-fasterpy"
PIE_DEV = ROOT.parent / "shared" / "data" / "pie-dev"


def heldout_rows(pairs: Path, problems: list[str]) -> list[dict]:
    """The first slow→fast pair of each held-out problem (PIE columns: input, target)."""
    rows: dict[str, dict] = {}
    for r in read_jsonl(pairs):
        if r["problem_id"] in problems and r["problem_id"] not in rows:
            rows[r["problem_id"]] = {"problem_id": r["problem_id"], "input": r["slow_code"],
                                     "target": r["reference_code"]}
    return [rows[p] for p in problems if p in rows]


def run_arm(name: str, rows: list[dict], tests: Path, args: argparse.Namespace, adapter: str | None,
            done: list[dict] | None = None, save: Callable[[list[dict]], None] | None = None) -> list[dict]:
    from graph.api import optimize_source
    from graph.config import FasterPyConfig
    from graph.pipeline.context import RunContext

    overrides = {
        "generation.backend": "transformers", "generation.model": args.model, "generation.adapter": adapter,
        "generation.temperature": 0.0, "generation.max_new_tokens": args.max_new_tokens, "generation.n": 1,
        "generation.seed": 42, "attempts": 1, "candidates": 1, "use_retrieval": True, "kb": args.kb,
        "timeout_s": args.timeout, "generation.threads": args.threads, "generation.timeout_s": 1800.0,
    }
    config = FasterPyConfig.load(ROOT, overrides)
    out = list(done or [])
    finished = {r["problem_id"] for r in out}
    svc = RunContext()
    try:
        for i, row in enumerate(rows, 1):
            pid = row["problem_id"]
            if pid in finished:
                continue
            t0 = time.perf_counter()
            result = optimize_source(row["input"], label=f"{pid}.py", config=config, context=svc,
                                     tests_dir=tests / pid, exclude_problems=[pid])
            attempts = result.attempts
            first = attempts[0] if attempts else None
            out.append({
                **row,
                "generated_answers": first.code if first and first.code else "",
                "verdict": first.status if first else result.status,
                "accepted": result.optimized,
                "pipeline_output": result.new_source if result.optimized else row["input"],
                "suggestions": [s.get("id") for t in result.targets for s in t.suggestions],
                "error": result.error,
                "seconds": round(time.perf_counter() - t0, 1),
            })
            why = f" — {result.error or (first.feedback if first else '')}"[:300] if out[-1]["verdict"] != "accepted" else ""
            print(f"[{name}] {i}/{len(rows)} {pid}: {out[-1]['verdict']} ({out[-1]['seconds']} s){why}", file=sys.stderr)
            if save is not None:
                save(out)  # per row: a time-boxed run keeps what it finished
    finally:
        svc.close()
    return out


def score(rows: list[dict], tests: Path, column: str) -> dict:
    from harness.evaluate import EvalOptions, evaluate_rows

    scored = [{"problem_id": r["problem_id"], "input": r["input"], "target": r["target"],
               "generated_answers": r[column]} for r in rows]
    report = evaluate_rows(scored, tests, EvalOptions(include_reference=False))
    return report.metrics.to_dict()


def _same_setup(a: dict, b: dict) -> bool:
    """Cached candidates are reusable per problem when everything but the problem list matches."""
    return {k: v for k, v in a.items() if k != "problems"} == {k: v for k, v in b.items() if k != "problems"}


def arm_metrics(rows: list[dict], tests: Path) -> dict:
    """The paper's metrics on the single-shot candidates and on what the pipeline emitted."""
    return {
        "single_shot": score(rows, tests, "generated_answers"),
        "pipeline": score(rows, tests, "pipeline_output"),
        "accepted": sum(r["accepted"] for r in rows),
        "no_code": sum(r["verdict"] == "no_code" for r in rows),
        "verdicts": {r["problem_id"]: r["verdict"] for r in rows},
        "seconds": round(sum(r["seconds"] for r in rows), 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--adapter", type=Path, default=ADAPTER)
    ap.add_argument("--problems", type=Path, default=ROOT / "benchmarks" / "lora_effect_problems.txt",
                    help="held-out problem ids (kept out of the adapter's training data)")
    ap.add_argument("--pairs", type=Path, default=PIE_DEV / "dev_pairs.jsonl")
    ap.add_argument("--tests", type=Path, default=PIE_DEV / "public_test_cases")
    ap.add_argument("--kb", default=None, help="knowledge base (default: the shipped one)")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--max-new-tokens", type=int, default=384)
    ap.add_argument("--timeout", type=float, default=10.0, help="per sandboxed run (s)")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads for generation")
    ap.add_argument("--arms", default="base,lora", help="which arms: base, lora or both (default)")
    ap.add_argument("--cache", type=Path, help="directory caching each arm's generated candidates")
    ap.add_argument("--generate-only", action="store_true", help="generate (and cache) without scoring")
    ap.add_argument("--no-generate", action="store_true",
                    help="score only what --cache holds (the problems every arm finished)")
    ap.add_argument("--json", type=Path, help="write per-row results and metrics here")
    args = ap.parse_args()

    from finetune.dataset import parse_problem_list

    problems = parse_problem_list(args.problems)
    # Shortest programs first, so a time-boxed run covers the most problems.
    rows = sorted(heldout_rows(args.pairs, problems), key=lambda r: len(r["input"]))[: args.limit]
    arms = {"base": None, "base + LoRA": str(args.adapter)}
    wanted = {"base": "base", "lora": "base + LoRA"}
    arms = {k: v for k, v in arms.items() if k in {wanted[a] for a in args.arms.split(",")}}
    results, metrics = {}, {}
    for name, adapter in arms.items():
        # Generation is the slow part on CPU: an arm's candidates can be cached (--cache) and reused
        # when model, adapter, problems and decoding are unchanged; scoring always reruns here.
        signature = {"model": args.model, "adapter": adapter, "problems": [r["problem_id"] for r in rows],
                     "max_new_tokens": args.max_new_tokens, "kb": args.kb}
        cached = args.cache / f"{name.replace(' + ', '_').replace(' ', '_')}.json" if args.cache else None
        done: list[dict] = []
        if cached and cached.is_file() and _same_setup(json.loads(cached.read_text())["signature"], signature):
            done = [r for r in json.loads(cached.read_text())["rows"] if r["problem_id"] in signature["problems"]]
            print(f"[{name}] reusing {len(done)} generated candidates from {cached}", file=sys.stderr)

        def save(out: list[dict], cached: Path | None = cached, signature: dict = signature) -> None:
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                cached.write_text(json.dumps({"signature": signature, "rows": out}))

        if args.no_generate:
            results[name] = done
        else:
            results[name] = run_arm(name, rows, args.tests, args, adapter, done, save)
        if args.generate_only or args.no_generate:
            continue
        metrics[name] = arm_metrics(results[name], args.tests)

    if args.generate_only:
        return
    if args.no_generate:
        # Score only the problems every arm finished, so the arms are compared on the same set.
        common = set.intersection(*({r["problem_id"] for r in rs} for rs in results.values()))
        for name in results:
            results[name] = [r for r in results[name] if r["problem_id"] in common]
        rows = [r for r in rows if r["problem_id"] in common]
        metrics = {name: arm_metrics(rs, args.tests) for name, rs in results.items()}
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"LoRA effect: {args.model} on {len(rows)} held-out pie-dev problems (retrieval on, greedy, 1 candidate)")
    for col in ("arm", "Pass@1", "@Speedup", "%OPT", "PIE %Opt", "verifier accepted", "no code", "gen+verify s"):
        table.add_column(col, justify="right")
    fmt = lambda v, pct=False: "n/a" if v is None else (f"{100 * v:.1f}%" if pct else f"{v:.2f}")  # noqa: E731
    for name, m in metrics.items():
        s = m["single_shot"]
        table.add_row(name, fmt(s["pass_at_1"], True), fmt(s["speedup"]), fmt(s["pct_opt"], True),
                      fmt(s["pie_pct_opt"], True), f"{m['accepted']}/{len(rows)}", str(m["no_code"]), f"{m['seconds']:.0f}")
    Console().print(table)
    print(json.dumps(metrics))
    if args.json:
        args.json.write_text(json.dumps({"metrics": metrics, "rows": results}, indent=2))


if __name__ == "__main__":
    main()
