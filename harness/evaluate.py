"""PIE-format evaluation: the library behind `fasterpy eval`.

Public API (stable):

    load_rows(path) -> list[dict]
    load_tests(tests_dir, problem_id) -> list[TestCase]
    resolve_columns(rows, slow_col=None, ref_col=None, model_col=None) -> Columns
    evaluate_rows(rows, tests_dir, options=EvalOptions(), pool=None, on_progress=None) -> EvalReport
    EvalOptions, EvalReport (.metrics, .reference_metrics, .rows, .counts, .to_dict())
    write_report(rows, path)   per-row JSONL, atomically

A row has a problem id, the slow (original) program, optionally the human reference, and the model's
program: a string, or a list of candidates (`candidate="first"` scores the first — Pass@1 —,
`"best"` scores the fastest correct one). Column names default to PIE's (`input`, `target`,
`generated_answers`) with common alternatives detected (`slow_code`, `reference_code`, ...). Tests
live at `<tests_dir>/<problem_id>/input.N.txt` with `output.N.txt`.

A row is scored only when its problem has tests and its original program passes them (see
harness.metrics); otherwise its `status` says why (`no_tests`, `origin_failed`, `bad_row`) and it
still counts in PIE's all-rows %Opt. A model program that does not parse is simply incorrect
(`syntax_error`). Programs of all rows run in parallel on the pool; timings taken under parallel
load are noisier than with `workers=1`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.correctness import accuracy
from harness.errors import FasterPyError
from harness.files import iter_jsonl, write_jsonl
from harness.limits import Limits
from harness.metrics import Metrics, Sample, compute_metrics, is_optimized
from harness.pie_tests import read_pie_tests

SLOW_COLUMNS = ("input", "slow_code", "slow_code_col", "src_code", "code_v0")
REF_COLUMNS = ("target", "reference_code", "reference_code_col", "tgt_code", "code_v1")
MODEL_COLUMNS = (
    "generated_answers", "model_generated_potentially_faster_code_col", "generated_code",
    "model_code", "prediction", "optimized_code",
)


@dataclass(frozen=True)
class TestCase:
    name: str
    input: str
    output: str

    __test__ = False


@dataclass(frozen=True)
class Columns:
    slow: str
    reference: str | None
    model: str | None


@dataclass
class EvalOptions:
    runs: int = 4
    drop: int = 1
    limits: Limits = field(default_factory=Limits)
    candidate: str = "first"  # or "best"
    include_reference: bool = True
    slow_col: str | None = None
    ref_col: str | None = None
    model_col: str | None = None
    strict_lines: bool = False  # PIE ignores extra output lines; True counts them
    clock: str = "wall"  # "cpu" times with the child's CPU time (steadier on a busy machine)


@dataclass
class EvalReport:
    columns: Columns
    options: dict
    rows: list[dict]
    metrics: Metrics
    reference_metrics: Metrics | None
    counts: dict[str, int]

    def to_dict(self) -> dict:
        return {
            "columns": self.columns.__dict__,
            "options": self.options,
            "metrics": self.metrics.to_dict(),
            "reference_metrics": self.reference_metrics.to_dict() if self.reference_metrics else None,
            "counts": self.counts,
        }


def load_rows(path: str | Path) -> list[dict]:
    p = Path(path)
    if not p.is_file():
        raise FasterPyError(f"input file {p} does not exist — pass a PIE-format JSONL file")
    rows = []
    for n, row in iter_jsonl(p, fix="one JSON object per line"):
        if not isinstance(row, dict):
            raise FasterPyError(f"{p}:{n} is not a JSON object — one object per line")
        rows.append(row)
    if not rows:
        raise FasterPyError(f"{p} has no rows — it must hold one JSON object per line")
    return rows


def load_tests(tests_dir: str | Path, problem_id: str) -> list[TestCase]:
    """The problem's PIE test folder, as harness test cases; an input without an output is left out."""
    return [TestCase(t.name, t.input, t.output) for t in read_pie_tests(Path(tests_dir) / str(problem_id))
            if t.output is not None]


def _pick(rows: Sequence[dict], explicit: str | None, candidates: Sequence[str], what: str, flag: str,
          required: bool) -> str | None:
    keys = set().union(*(r.keys() for r in rows))
    if explicit:
        if explicit not in keys:
            raise FasterPyError(f"no row has the {what} column {explicit!r} — columns are: "
                                f"{', '.join(sorted(keys))}; pass {flag} NAME")
        return explicit
    for name in candidates:
        if name in keys:
            return name
    if required:
        raise FasterPyError(f"cannot find the {what} column (tried {', '.join(candidates)}) — columns are: "
                            f"{', '.join(sorted(keys))}; pass {flag} NAME")
    return None


def resolve_columns(rows: Sequence[dict], slow_col: str | None = None, ref_col: str | None = None,
                    model_col: str | None = None) -> Columns:
    slow = _pick(rows, slow_col, SLOW_COLUMNS, "slow-code", "--slow-col", True)
    assert slow is not None  # required: _pick raised instead of returning None
    return Columns(
        slow=slow,
        reference=_pick(rows, ref_col, REF_COLUMNS, "reference-code", "--ref-col", False),
        model=_pick(rows, model_col, MODEL_COLUMNS, "model-code", "--model-col", True),
    )


def _score(result, tests: list[TestCase], strict: bool) -> dict:
    """Correctness and runtime of one ProgramResult against the tests (Eq. 3 per test)."""
    accs = [accuracy(t.output, run.stdout, strict) if run.status == "ok" else 0.0
            for t, run in zip(tests, result.tests)]
    correct = result.ok and all(a == 1.0 for a in accs)
    failing = next((t.name for t, a in zip(tests, accs) if a < 1.0), None)
    return {
        "status": result.status if result.status != "ok" or correct else "wrong_output",
        "correct": correct,
        "accuracy": sum(accs) / len(accs) if accs else 0.0,
        "runtime": result.runtime if correct else None,
        "test_runtimes": [t.mean_runtime for t in result.tests],
        "first_failing_test": failing,
        "error": result.error,
    }


def _as_code(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def evaluate_rows(
    rows: Sequence[dict],
    tests_dir: str | Path,
    options: EvalOptions | None = None,
    pool=None,
    on_progress: Callable[[int, int], None] | None = None,
) -> EvalReport:
    """Run every row's programs on its problem's tests (in parallel) and score them."""
    from harness.pool import default_pool
    from harness.program import submit_program

    options = options or EvalOptions()
    if options.candidate not in ("first", "best"):
        raise FasterPyError(f"candidate must be 'first' or 'best', got {options.candidate!r}")
    if not Path(tests_dir).is_dir():
        raise FasterPyError(f"tests directory {tests_dir} does not exist — pass --tests DIR with DIR/<problem_id>/input.N.txt")
    columns = resolve_columns(rows, options.slow_col, options.ref_col, options.model_col)
    pool = pool or default_pool()

    jobs: dict[Future, tuple[int, str, int]] = {}  # future → (row, role, candidate index)
    reports: list[dict] = []
    tests_by_row: list[list[TestCase]] = []

    def submit(i: int, role: str, k: int, code: str, tests: list[TestCase]) -> None:
        fut = submit_program(code, [t.input for t in tests], runs=options.runs, drop=options.drop,
                             limits=options.limits, pool=pool, stop_on_failure=True,
                             filename=f"{role}.py", clock=options.clock)
        jobs[fut] = (i, role, k)

    for i, row in enumerate(rows):
        pid = row.get("problem_id")
        report: dict = {"index": i, "problem_id": pid, "status": "pending", "reason": None, "tests": 0,
                        "origin": None, "reference": None, "model": None, "speedup": None,
                        "optimized": False, "candidates": 0, "candidate_index": None}
        reports.append(report)
        tests: list[TestCase] = []
        tests_by_row.append(tests)
        slow = _as_code(row.get(columns.slow))
        model_value = row.get(columns.model) if columns.model else None
        candidates = model_value if isinstance(model_value, list) else [model_value]
        candidates = [c if isinstance(c, str) else "" for c in candidates if c is not None]
        if pid is None or slow is None:
            report.update(status="bad_row", reason=f"missing problem_id or {columns.slow!r}")
            continue
        tests.extend(load_tests(tests_dir, str(pid)))
        report["tests"] = len(tests)
        if not tests:
            report.update(status="no_tests", reason=f"no input.N.txt/output.N.txt in {Path(tests_dir) / str(pid)}")
            continue
        report["candidates"] = len(candidates)
        submit(i, "origin", 0, slow, tests)
        ref = _as_code(row.get(columns.reference)) if columns.reference and options.include_reference else None
        if ref is not None:
            submit(i, "reference", 0, ref, tests)
        use = candidates if options.candidate == "best" else candidates[:1]
        for k, code in enumerate(use):
            submit(i, "model", k, code, tests)

    results: dict[tuple[int, str, int], dict] = {}
    total = len(jobs)
    done = 0
    if on_progress:
        on_progress(0, total)
    for fut in as_completed(jobs):
        i, role, k = jobs[fut]
        results[(i, role, k)] = _score(fut.result(), tests_by_row[i], options.strict_lines)
        done += 1
        if on_progress:
            on_progress(done, total)

    samples: list[Sample] = []
    ref_samples: list[Sample] = []
    for i, report in enumerate(reports):
        pid = str(report["problem_id"])
        if report["status"] != "pending":
            samples.append(Sample(pid, None, False, None, False, evaluable=False))
            ref_samples.append(Sample(pid, None, False, None, False, evaluable=False))
            continue
        origin = results[(i, "origin", 0)]
        report["origin"] = origin
        report["reference"] = results.get((i, "reference", 0))
        scored = [(k, r) for (j, role, k), r in results.items() if j == i and role == "model"]
        scored.sort()
        if scored:
            pick_k, model = scored[0]
            if options.candidate == "best":
                good = [(r["runtime"], k, r) for k, r in scored if r["correct"]]
                if good:
                    _, pick_k, model = min(good, key=lambda x: (x[0], x[1]))
            report["model"] = model
            report["candidate_index"] = pick_k
        else:
            model = {"status": "no_code", "correct": False, "runtime": None}
            report["model"] = model
        if not origin["correct"]:
            report.update(status="origin_failed", reason=f"original program: {origin['status']}")
        else:
            report["status"] = "ok"
            if model["correct"]:
                report["speedup"] = origin["runtime"] / model["runtime"] if model["runtime"] else None
        sample = Sample(pid, origin["runtime"], origin["correct"], model.get("runtime"), model["correct"],
                        evaluable=True)
        samples.append(sample)
        report["optimized"] = is_optimized(sample)
        ref = report["reference"]
        if ref is not None:
            ref_samples.append(Sample(pid, origin["runtime"], origin["correct"], ref["runtime"], ref["correct"]))
        else:
            ref_samples.append(Sample(pid, None, False, None, False, evaluable=False))

    counts: dict[str, int] = {}
    for report in reports:
        counts[report["status"]] = counts.get(report["status"], 0) + 1
    has_ref = any(r["reference"] is not None for r in reports)
    opts = {"runs": options.runs, "drop": options.drop, "candidate": options.candidate,
            "limits": options.limits.to_dict(), "workers": pool.size, "strict_lines": options.strict_lines,
            "clock": options.clock}
    return EvalReport(columns, opts, reports, compute_metrics(samples),
                      compute_metrics(ref_samples) if has_ref else None, counts)


def write_report(rows: Sequence[dict], path: str | Path) -> Path:
    """Write one JSON object per row, atomically; an old file is kept as .bak."""
    target = Path(path)
    write_jsonl(target, rows, backup="previous", default=str)
    return target
