"""Which embedder retrieves records of the same problem? (chooses the default embedder)

Each pie-dev slow program is a query against all the other pie-dev slow programs (its own record
excluded); a hit is a record of the same problem. Reports recall@1 and recall@5 (hit among the
top 1 / top 5), the chance level, and embedding throughput. Exact inner-product search, so the
figures measure the embedder, not the index.

    .venv/bin/python benchmarks/retrieval_quality.py [--embedders lexical,minilm] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from harness.files import read_jsonl  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "pie-dev" / "dev_pairs.jsonl"


def load(limit: int | None) -> tuple[list[str], list[str]]:
    rows = read_jsonl(DATA)
    if limit:
        rows = rows[:limit]
    return [r["slow_code"] for r in rows], [r["problem_id"] for r in rows]


def evaluate(vecs: np.ndarray, problems: list[str]) -> tuple[float, float, int]:
    sims = vecs @ vecs.T
    np.fill_diagonal(sims, -np.inf)  # own record excluded
    labels = np.asarray(problems)
    counts = Counter(problems)
    queries = [i for i, p in enumerate(problems) if counts[p] > 1]
    top5 = np.argsort(-sims[queries], axis=1)[:, :5]
    same = labels[top5] == labels[queries][:, None]
    return float(same[:, 0].mean()), float(same.any(axis=1).mean()), len(queries)


def chance(problems: list[str]) -> float:
    counts = Counter(problems)
    n = len(problems)
    q = [p for p in problems if counts[p] > 1]
    return float(np.mean([(counts[p] - 1) / (n - 1) for p in q]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedders", default="lexical,lexical-512,minilm")
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from kb.embedders import get_embedder

    codes, problems = load(args.limit)
    table = Table(title=f"Retrieval quality on pie-dev ({len(codes)} slow programs, {len(set(problems))} problems)")
    for col in ("embedder", "dim", "recall@1", "recall@5", "queries", "embed programs/s", "load s"):
        table.add_column(col, justify="right" if col != "embedder" else "left")
    table.add_row("chance (random ranking)", "-", f"{chance(problems):.3f}", "-", "-", "-", "-")
    for name in args.embedders.split(","):
        name = name.strip()
        try:
            t0 = time.perf_counter()
            emb = get_embedder(name)
            emb.embed(codes[:2])  # load weights / warm caches outside the timed part
            load_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            vecs = emb.embed(codes)
            rate = len(codes) / (time.perf_counter() - t0)
        except Exception as exc:  # an embedder without weights here is reported, not fatal
            table.add_row(name, "-", "n/a", "n/a", "-", "-", f"unavailable: {exc}"[:60])
            continue
        r1, r5, nq = evaluate(vecs, problems)
        table.add_row(name, str(emb.dim), f"{r1:.3f}", f"{r5:.3f}", str(nq), f"{rate:.0f}", f"{load_s:.1f}")
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
