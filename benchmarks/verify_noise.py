"""How often verification accepts a candidate, by its true speedup (function and program mode).

Candidates with a known speedup — identical code (1.0×), and versions doing 3/4 and 1/2 of the
original's work — are verified repeatedly with the default settings (threshold 1.1×, 95% bootstrap
interval over interleaved rounds). A good verifier never accepts 1.0×, and accepts clear gains.
Prints a rich table; figures go to docs/BENCHMARKS.md ("Verification").

    .venv/bin/python benchmarks/verify_noise.py --trials 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import textwrap
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from graph.source import splice_functions
from harness.verify import VerifyConfig, capture_calls, load_program_tests, verify_functions, verify_program

REPO = Path(__file__).resolve().parents[1]

MODULE = '''
def _pass(xs):
    total = 0
    for x in xs:
        total += x * x % 7
    return total


def target(xs):
    result = 0
    for _ in range(4):
        result = _pass(xs)
    return result


if __name__ == "__main__":
    for n in (2000, 20000, 60000):
        target(list(range(n)))
'''


def _variant(passes: int) -> str:
    return textwrap.dedent(f"""
        def target(xs):
            result = 0
            for _ in range({passes}):
                result = _pass(xs)
            return result
    """)


FAST_PAIRS = (REPO / "data/examples/count_pairs/count_pairs_fast.py").read_text()  # the O(n) reference

# count_pairs doing its quadratic scan once more (output unchanged): the original is ~2x this one
SLOWER_PAIRS_TWICE = """\
n, k = map(int, input().split())
a = list(map(int, input().split()))
for _ in range(2):
    count = 0
    for i in range(n):
        for j in range(i + 1, n):
            if a[i] + a[j] == k:
                count += 1
print(count)
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=5)
    args = ap.parse_args()
    cfg = VerifyConfig()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "work.py"
        path.write_text(MODULE)
        captured = capture_calls(path, ["target"])
        for label, passes, truth in (("function: identical", 4, 1.0), ("function: 3/4 of the work", 3, 4 / 3),
                                     ("function: 1/2 of the work", 2, 2.0)):
            cand = MODULE if passes == 4 else splice_functions(MODULE, _variant(passes), ["target"])
            results = []
            for _ in range(args.trials):
                t0 = time.perf_counter()
                v = verify_functions(path, MODULE, cand, ["target"], captured, cfg)
                results.append((v, time.perf_counter() - t0))
            rows.append((label, truth, results))

    original = (REPO / "data/examples/count_pairs/count_pairs.py").read_text()
    inputs, expected = load_program_tests(REPO / "data/examples/count_pairs/tests")
    for label, base, cand, truth in (("program: identical", original, original, 1.0),
                                     ("program: 2 scans → 1 scan", SLOWER_PAIRS_TWICE, original, 2.0),
                                     ("program: O(n²) → O(n)", original, FAST_PAIRS, None)):
        results = []
        for _ in range(args.trials):
            t0 = time.perf_counter()
            v = verify_program(base, cand, inputs, expected, cfg)
            results.append((v, time.perf_counter() - t0))
        rows.append((label, truth, results))

    table = Table(title=f"Verification acceptance by true speedup ({args.trials} trials each, threshold 1.1×, 95% CI)")
    for col in ("case", "true speedup", "accepted", "median estimate", "median 95% CI", "rounds", "median s/verify"):
        table.add_column(col)
    for label, truth, results in rows:
        vs = [v for v, _ in results]
        acc = sum(v.status == "accepted" for v in vs)
        table.add_row(
            label,
            "—" if truth is None else f"{truth:.2f}×",
            f"{acc}/{len(vs)}",
            f"{statistics.median(v.speedup for v in vs):.2f}×",
            f"{statistics.median(v.ci_low for v in vs):.2f}–{statistics.median(v.ci_high for v in vs):.2f}",
            f"{statistics.median(v.details.get('rounds', 0) for v in vs):.0f}",
            f"{statistics.median(s for _, s in results):.1f}",
        )
    Console(width=150).print(table)


if __name__ == "__main__":
    main()
