"""Coverage of the evidence through the pipeline: the CLI prints "N checks, P % of lines", `--json`
carries the coverage fields, `--min-coverage` is a setting, and thin evidence is a visible note."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from rich.console import Console

from fasterpy_tui.commands.optimize_cmd import print_result
from graph.result import Attempt, OptimizeResult, TargetResult


def _run(fasterpy_bin, *args, cwd):
    env = dict(os.environ, COLUMNS="200")  # table cells unwrapped
    return subprocess.run([str(fasterpy_bin), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env=env)


def test_cli_prints_checks_and_coverage_and_json_carries_them(slow_stats: Path, fasterpy_bin, tmp_path):
    res = _run(fasterpy_bin, "optimize", slow_stats, "-f", "pairwise_close", "--min-coverage", "0.9",
               "--state-db", tmp_path / "runs.sqlite", cwd=slow_stats.parent)
    assert res.returncode == 0, res.stdout + res.stderr
    text = " ".join(res.stdout.split())
    assert "checks, 100 % of lines" in text and ", on " in text
    assert "thin evidence" not in text

    res = _run(fasterpy_bin, "optimize", slow_stats, "-f", "pairwise_close", "--json",
               "--state-db", tmp_path / "runs2.sqlite", cwd=slow_stats.parent)
    assert res.returncode == 0, res.stderr
    target = json.loads(res.stdout)["targets"][0]
    assert target["coverage"] == 1.0 and target["thin_evidence"] is False
    assert target["best"]["coverage"] == 1.0 and target["best"]["uncovered"] == {}


def test_min_coverage_out_of_range_is_one_line_error(slow_stats: Path, fasterpy_bin, tmp_path):
    res = _run(fasterpy_bin, "optimize", slow_stats, "-f", "pairwise_close", "--min-coverage", "80",
               "--state-db", tmp_path / "runs.sqlite", cwd=slow_stats.parent)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "min_coverage" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_thin_evidence_is_a_visible_note_and_in_the_dict():
    best = Attempt("f", 1, 1, "accepted", speedup=3.0, ci_low=2.0, ci_high=4.0, runtime_before=1e-3,
                   runtime_after=3e-4, tests_passed=7, tests_total=7, coverage=0.4, thin_evidence=True,
                   uncovered={"f": [12, 13]}, code="x")
    result = OptimizeResult("optimized", "m.py", "r1", "function",
                            targets=[TargetResult("f", ["f"], "optimized", attempts=[best], best=best)])
    console = Console(record=True, width=200)
    print_result(result, console)
    text = console.export_text()
    assert "7 checks, 40 % of lines" in text and "→ 300.0 µs, on 7 checks, 40 % of lines" in text
    assert "thin evidence" in text and "f: 12, 13" in text
    d = result.to_dict()["targets"][0]
    assert d["coverage"] == 0.4 and d["thin_evidence"] is True and d["best"]["uncovered"] == {"f": [12, 13]}
