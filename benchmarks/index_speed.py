"""hnswlib vs exact numpy search at knowledge-base scale (60k × 768, inner product).

Clustered unit vectors (centres + noise) stand in for code embeddings; queries are fresh draws from
the same distribution. Reports build time, p50/p99 single-query latency and recall@10 against exact
search, for several `ef` values, with exact numpy search as the baseline in the same run.

    .venv/bin/python benchmarks/index_speed.py [--n 60000] [--dim 768] [--queries 500] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def clustered(n: int, dim: int, clusters: int, rng: np.random.Generator) -> np.ndarray:
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + 0.9 * rng.standard_normal((n, dim)).astype(np.float32)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def percentiles(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 99))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=60_000)
    ap.add_argument("--dim", type=int, default=768)
    ap.add_argument("--queries", type=int, default=500)
    ap.add_argument("--clusters", type=int, default=300)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--M", type=int, default=16)
    ap.add_argument("--ef-construction", type=int, default=200)
    ap.add_argument("--efs", default="32,64,128")
    args = ap.parse_args()

    from rich.console import Console
    from rich.table import Table

    from kb.index import IndexParams, VectorIndex

    rng = np.random.default_rng(42)
    data = clustered(args.n + args.queries, args.dim, args.clusters, rng)
    base, queries = data[: args.n], data[args.n :]
    k = 10

    # exact baseline: one query at a time, as retrieval does
    exact_ids, exact_t = [], []
    for q in queries:
        t0 = time.perf_counter()
        sims = base @ q
        top = np.argpartition(-sims, k)[:k]
        top = top[np.argsort(-sims[top])]
        exact_t.append(time.perf_counter() - t0)
        exact_ids.append(set(top.tolist()))

    t0 = time.perf_counter()
    index = VectorIndex(args.dim, IndexParams(M=args.M, ef_construction=args.ef_construction), capacity=args.n,
                        threads=args.threads)
    index.add(base, np.arange(args.n))
    build_s = time.perf_counter() - t0
    index.raw.set_num_threads(1)

    table = Table(title=f"Vector search, {args.n} × {args.dim} (inner product), {args.queries} queries, k={k}")
    for col in ("method", "build s", "p50 ms", "p99 ms", "recall@10", "p50 speedup vs exact"):
        table.add_column(col, justify="right" if col != "method" else "left")
    e50, e99 = percentiles(exact_t)
    table.add_row("exact numpy (baseline)", "-", f"{e50:.3f}", f"{e99:.3f}", "1.000", "1.0×")
    for ef in (int(x) for x in args.efs.split(",")):
        index.params.ef = ef
        times, hits = [], 0
        for q, truth in zip(queries, exact_ids):
            t0 = time.perf_counter()
            labels, _ = index.query(q, k)
            times.append(time.perf_counter() - t0)
            hits += len(truth & set(labels.tolist()))
        p50, p99 = percentiles(times)
        table.add_row(f"hnswlib M={args.M} efC={args.ef_construction} ef={ef}", f"{build_s:.1f}", f"{p50:.3f}",
                      f"{p99:.3f}", f"{hits / (k * len(queries)):.3f}", f"{e50 / p50:.1f}×")
    Console(width=130).print(table)


if __name__ == "__main__":
    main()
