"""Every rules rewrite of pie-dev programs prints exactly what the original prints on the PIE public
tests, run in the real harness sandbox. Default: the all-rewrites candidate of one program per
problem; `-m heavy`: every program, every candidate."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graph.backends.rules.engine import candidates

PIE = Path(__file__).resolve().parents[4] / "shared" / "data" / "pie-dev"


def _rows(one_per_problem: bool) -> list[dict]:
    if not (PIE / "dev_pairs.jsonl").is_file():
        pytest.fail(f"pie-dev data not found at {PIE} (CI lays out ../shared/data next to the repo)")
    rows, seen = [], set()
    for line in (PIE / "dev_pairs.jsonl").open():
        r = json.loads(line)
        if one_per_problem and r["problem_id"] in seen:
            continue
        seen.add(r["problem_id"])
        rows.append(r)
    return rows


def _inputs(pid: str) -> list[str]:
    d = PIE / "public_test_cases" / pid
    n = len(list(d.glob("input.*.txt")))
    return [(d / f"input.{i}.txt").read_text() for i in range(n)]


def _check(rows: list[dict], per_program: int) -> tuple[int, list[str]]:
    from harness.limits import Limits
    from harness.pool import WorkerPool
    from harness.program import submit_program

    checked, bad = 0, []
    with WorkerPool(workers=2, limits=Limits(timeout_s=10)) as pool:
        for r in rows:
            cands = candidates(r["slow_code"], limit=per_program)
            if not cands:
                continue
            inputs = _inputs(r["problem_id"])
            # original and candidates run side by side on the pool's workers
            futures = [submit_program(code, inputs, runs=1, drop=0, pool=pool) for code in [r["slow_code"], *(c.code for c in cands)]]
            orig, *results = [f.result() for f in futures]
            if not orig.ok:
                continue  # some PIE programs fail here already (see pie-dev SOURCE.md)
            for c, got in zip(cands, results):
                checked += 1
                if got.stdouts != orig.stdouts or not got.ok:
                    bad.append(f"{r['problem_id']} {c.rewrites}: {got.status}")
    return checked, bad


def test_rewritten_pie_dev_programs_print_the_same() -> None:
    rows = _rows(one_per_problem=True)
    checked, bad = _check(rows, per_program=1)
    assert not bad, bad
    assert checked >= 80  # nearly every problem's program gets at least fast_input


@pytest.mark.heavy
def test_every_candidate_of_every_pie_dev_program() -> None:
    checked, bad = _check(_rows(one_per_problem=False), per_program=4)
    assert not bad, bad
    assert checked > 1000
