"""Verifier traps: does function-mode verification reject every wrong candidate and accept every right one?

Each case of benchmarks/trap_cases.py (in-place mutation dropped, list returned as tuple / generator /
ndarray, float summation order, set/dict order leaking, another valid DFS order, a changed default,
a changed exception type, changed printing, global or class state not updated, right only on the
captured sizes, a stale cache) is run through the pipeline's own steps: the original's `__main__`
block is captured, each candidate is spliced in and verified with the default VerifyConfig
(generated inputs included). A right candidate counts as accepted only when its verdict is
"accepted" (correct *and* faster beyond noise); the right candidates are asymptotically faster on the
captured sizes. Prints a rich table; targets: 0 wrong accepted, every right one accepted.

    .venv/bin/python benchmarks/verifier_traps.py [--case NAME ...]
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from harness.verify import VerifyConfig


def _load_cases():
    spec = importlib.util.spec_from_file_location("trap_cases", Path(__file__).with_name("trap_cases.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _checks(verdict) -> str:
    """Checks passed: captured calls + generated inputs (Q1's stage, when it ran)."""
    ran = (verdict.details.get("generated") or {}).get("passed")
    return f"{verdict.tests_passed}" + (f" + {ran}" if ran is not None else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    args = parser.parse_args(argv)
    traps = _load_cases()
    cases = [c for c in traps.CASES if not args.case or c.name in args.case]
    config = VerifyConfig()
    table = Table(title="Verifier traps (default VerifyConfig)")
    for col in ("case", "trap", "wrong: verdict", "wrong accepted?", "right: verdict", "right accepted?",
                "right: checks (captured + generated)", "seconds"):
        table.add_column(col, overflow="fold")
    wrong_accepted = right_accepted = 0
    console = Console(width=180)
    with tempfile.TemporaryDirectory(prefix="fasterpy-traps-") as tmp:
        for case in cases:
            start = time.perf_counter()
            path, captured = traps.capture_case(case, tmp)
            wrong = traps.verify_candidate(case, case.wrong, path, captured, config)
            right = traps.verify_candidate(case, case.right, path, captured, config)
            seconds = time.perf_counter() - start
            wrong_accepted += wrong.accepted
            right_accepted += right.accepted
            speed = f" {right.speedup:.1f}×" if right.speedup is not None else ""
            table.add_row(case.name, case.trap, f"{wrong.status} ({case.caught_by})",
                          "[red]yes[/]" if wrong.accepted else "no", right.status + speed,
                          "yes" if right.accepted else "[red]no[/]", _checks(right), f"{seconds:.1f}")
            if right.accepted is False:
                console.print(f"[yellow]{case.name}: right candidate {right.status}[/]: {right.feedback[:400]}")
            if wrong.accepted:
                console.print(f"[red]{case.name}: wrong candidate accepted[/]")
    console.print(table)
    console.print(f"wrong candidates accepted: {wrong_accepted}/{len(cases)} (target 0); "
                  f"right candidates accepted: {right_accepted}/{len(cases)} (target {len(cases)})")
    return 0 if wrong_accepted == 0 and right_accepted == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
