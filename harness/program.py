"""Program mode (PIE): run a stdin/stdout program on test inputs and time it.

Public API (stable):

    run_program(code, inputs, runs=4, drop=1, limits=None, pool=None, stop_on_failure=False,
                filename="main.py", clock="wall") -> ProgramResult
    submit_program(...) -> Future[ProgramResult]     same arguments, returns at once (for parallel use)
    ProgramResult(status, tests, runtime, error)     .ok, .stdouts, .to_dict()
    TestRun(status, stdout, stderr_tail, runtimes, mean_runtime, exit_code, signal, exception,
            stdout_stable, wall_runtimes, cpu_runtimes)
    STATUSES

Each run is a fresh fork of a warm worker (see harness.pool); the runtime of a run is measured
inside the child with perf_counter around `exec` of the already-compiled code plus the final flush
of stdout, so interpreter start-up and harness overhead are not counted (paper §5.7.2). Both the
wall-clock time (perf_counter, the paper's measure, `clock="wall"`, the default) and the child's CPU
time (thread_time of the main thread, `clock="cpu"`: much less disturbed by other load on a shared
machine; process_time is tick-grained once a CPU rlimit is set) are
recorded; `clock` picks which one `runtimes`/`mean_runtime`/`runtime` report. A test's
runtime is the mean of its runs after dropping the first `drop` (Eq. 2); the program's runtime is
the mean over its tests, defined only when every test ran `ok`.

Statuses: ok | exception | timeout | memory | output_limit | exit | killed | syntax_error | skipped.
`exit` is a non-zero exit status (sys.exit(3), os._exit(1)); sys.exit(0) and os._exit(0) are `ok`.
`killed` is death by a signal other than the limits' own (e.g. os.kill(os.getpid(), 9), SIGSEGV).
`skipped` marks tests not run because an earlier test failed and stop_on_failure was set.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field

from harness.errors import FasterPyError
from harness.limits import Limits

STATUSES = ("ok", "exception", "timeout", "memory", "output_limit", "exit", "killed", "syntax_error", "skipped")


@dataclass
class TestRun:
    """One test input's outcome over its runs."""

    status: str
    stdout: str
    stderr_tail: str = ""
    runtimes: list[float] = field(default_factory=list)
    mean_runtime: float | None = None
    exit_code: int | None = None
    signal: str | None = None
    exception: dict | None = None  # {"type", "message", "traceback"}
    stdout_stable: bool = True  # every run printed the same bytes
    wall_runtimes: list[float] = field(default_factory=list)
    cpu_runtimes: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    __test__ = False  # not a pytest class


@dataclass
class ProgramResult:
    status: str  # "ok" when every test ran ok, else the first failing test's status
    tests: list[TestRun]
    runtime: float | None  # mean over tests of each test's mean runtime (seconds); None unless ok
    error: dict | None = None  # the syntax error or first exception, for feedback

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def stdouts(self) -> list[str]:
        return [t.stdout for t in self.tests]

    def to_dict(self) -> dict:
        return asdict(self)


def _as_bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else bytes(data)


def build_request(
    code: str, inputs: Sequence[str | bytes], runs: int, limits: Limits, stop_on_failure: bool, filename: str
) -> dict:
    if not isinstance(code, str):
        raise FasterPyError(f"program code must be text, got {type(code).__name__} — pass the source as a str")
    if runs < 1:
        raise FasterPyError(f"runs must be at least 1, got {runs} — use e.g. --runs 4")
    return {
        "kind": "program",
        "code": code,
        "filename": filename,
        "inputs": [_as_bytes(x) for x in inputs] or [b""],
        "runs": int(runs),
        "stop_on_failure": bool(stop_on_failure),
        "limits": limits.to_dict(),
    }


def eq2_mean(runtimes: Sequence[float], drop: int) -> float | None:
    """Eq. 2: mean of the runs after dropping the first `drop` (warm-up) runs."""
    kept = list(runtimes)[drop:]
    return sum(kept) / len(kept) if kept else None


def parse_response(resp: dict, drop: int, clock: str = "wall") -> ProgramResult:
    if "syntax_error" in resp:
        err = resp["syntax_error"]
        return ProgramResult("syntax_error", [TestRun("syntax_error", "", exception=err)], None, err)
    tests: list[TestRun] = []
    for test in resp["tests"]:
        if test.get("skipped"):
            tests.append(TestRun("skipped", ""))
            continue
        runs = test["runs"]
        first_bad = next((r for r in runs if r["status"] != "ok"), None)
        rep = first_bad or runs[0]
        good = [r for r in runs if r["status"] == "ok" and r.get("runtime") is not None]
        wall = [float(r["runtime"]) for r in good]
        cpu = [float(r["cpu"]) if r.get("cpu") is not None else float(r["runtime"]) for r in good]
        runtimes = cpu if clock == "cpu" else wall
        status = rep["status"]
        tests.append(
            TestRun(
                status=status,
                stdout=runs[0]["stdout"].decode("utf-8", "replace"),
                stderr_tail=rep.get("stderr_tail", ""),
                runtimes=runtimes,
                mean_runtime=eq2_mean(runtimes, drop) if status == "ok" else None,
                exit_code=rep.get("exit_code"),
                signal=rep.get("signal"),
                exception=rep.get("exception"),
                stdout_stable=all(r.get("stdout_same", True) for r in runs[1:]),
                wall_runtimes=wall,
                cpu_runtimes=cpu,
            )
        )
    bad = next((t for t in tests if t.status != "ok"), None)
    if bad is None:
        means = [t.mean_runtime for t in tests if t.mean_runtime is not None]
        runtime = sum(means) / len(means) if means and len(means) == len(tests) else None
        return ProgramResult("ok", tests, runtime)
    return ProgramResult(bad.status, tests, None, bad.exception)


def submit_program(
    code: str,
    inputs: Sequence[str | bytes],
    runs: int = 4,
    drop: int = 1,
    limits: Limits | None = None,
    pool=None,
    stop_on_failure: bool = False,
    filename: str = "main.py",
    clock: str = "wall",
) -> Future[ProgramResult]:
    """Like run_program but returns a Future at once."""
    from harness.pool import default_pool

    if clock not in ("wall", "cpu"):
        raise FasterPyError(f"clock must be 'wall' or 'cpu', got {clock!r}")
    if drop < 0 or drop >= runs:
        raise FasterPyError(f"drop={drop} must be between 0 and runs-1 ({runs - 1}) — e.g. --runs 4 --drop 1")
    pool = pool or default_pool()
    req = build_request(code, inputs, runs, limits or pool.limits, stop_on_failure, filename)
    outer: Future[ProgramResult] = Future()

    def done(fut: Future) -> None:
        try:
            outer.set_result(parse_response(fut.result(), drop, clock))
        except BaseException as exc:  # hand harness failures to the caller's .result()
            outer.set_exception(exc)

    pool.submit(req).add_done_callback(done)
    return outer


def run_program(
    code: str,
    inputs: Sequence[str | bytes],
    runs: int = 4,
    drop: int = 1,
    limits: Limits | None = None,
    pool=None,
    stop_on_failure: bool = False,
    filename: str = "main.py",
    clock: str = "wall",
) -> ProgramResult:
    """Run `code` once per input, `runs` times each, in the sandbox; see the module docstring."""
    return submit_program(code, inputs, runs, drop, limits, pool, stop_on_failure, filename, clock).result()
