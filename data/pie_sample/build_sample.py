"""Rebuild data/pie_sample/ from ../shared/data/pie-dev (see PROVENANCE.md).

    .venv/bin/python data/pie_sample/build_sample.py /path/to/pie-dev

Picks one pair per problem, in problem-id order, keeping pairs whose slow and reference programs
both pass every public test in our harness with a slow runtime between 0.3 ms and 150 ms; stops at
12 problems. (Tier-A programs are PIE's 2to3-converted code, e.g. `eval(input())` on words, and
almost all fail under Python 3, so in practice the sample is tier B.) The model column `generated_answers` is filled with the human
reference program (a one-element list), so the shipped sample has no invented model output.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

from harness.correctness import is_correct
from harness.evaluate import load_tests
from harness.limits import Limits
from harness.pool import WorkerPool
from harness.program import run_program

HERE = Path(__file__).resolve().parent
TOTAL = 12
KEEP = ("problem_id", "tier", "cpu_time_v0", "cpu_time_v1", "submission_id_v0", "submission_id_v1", "user_id")


def main(src: Path) -> None:
    rows = [json.loads(line) for line in (src / "dev_pairs.jsonl").open()]
    tests_root = src / "public_test_cases"
    chosen: dict[str, dict] = {}
    seen = set()
    with WorkerPool(limits=Limits(timeout_s=2.0, memory_mb=512)) as pool:
        for row in sorted(rows, key=lambda r: (r["problem_id"], r.get("submission_id_v0", ""))):
            pid, tier = row["problem_id"], row["tier"][0]
            if pid in seen:
                continue
            tests = load_tests(tests_root, pid)
            if not tests:
                continue
            ok = True
            slow_rt = None
            for code in (row["slow_code"], row["reference_code"]):
                res = run_program(code, [t.input for t in tests], runs=2, drop=1, pool=pool, stop_on_failure=True)
                if not res.ok or not all(is_correct(t.output, out) for t, out in zip(tests, res.stdouts)):
                    ok = False
                    break
                slow_rt = res.runtime if slow_rt is None else slow_rt
            if not ok or not (0.0003 <= slow_rt <= 0.150):
                continue
            seen.add(pid)
            out = {k: row[k] for k in KEEP if k in row}
            out.update(input=row["slow_code"], target=row["reference_code"], generated_answers=[row["reference_code"]])
            chosen[pid] = out
            print(f"{pid} tier {tier} slow {slow_rt * 1000:.2f} ms", file=sys.stderr)
            if len(chosen) >= TOTAL:
                break
    tests_out = HERE / "tests"
    shutil.rmtree(tests_out, ignore_errors=True)
    with (HERE / "sample.jsonl").open("w") as f:
        for pid in sorted(chosen):
            f.write(json.dumps(chosen[pid]) + "\n")
            shutil.copytree(tests_root / pid, tests_out / pid)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "shared" / "data" / "pie-dev")
