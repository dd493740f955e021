"""What verification returns (Verdict), its settings (VerifyConfig), the pool it runs on
(verify_pool), and helpers shared by the program-mode, function-mode and project-test checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import KW_ONLY, dataclass, field, fields
from typing import Any

from harness.compare import DEFAULT_CONFIDENCE, DEFAULT_THRESHOLD, SpeedupEstimate
from harness.textdiff import unified_diff
from harness.verify.equality import FLOAT_TOLERANCE, Tolerance

STATUSES = ("accepted", "wrong_output", "exception", "timeout", "slower", "thin_evidence", "no_code", "error")


@dataclass
class Measures:
    """What judging a candidate measured. Verdict carries it, and graph.result.Attempt keeps it for
    each candidate of a run, so the two name and default every figure alike. Keyword-only: the
    records that extend it keep their own leading positional fields."""

    _: KW_ONLY
    speedup: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    runtime_before: float | None = None
    runtime_after: float | None = None
    tests_passed: int = 0
    tests_total: int = 0
    checks: int = 0  # inputs both sides agreed on, captured and generated (0: not counted, see tests_passed)
    coverage: float | None = None  # share of the original targets' lines the checks executed (0..1)
    thin_evidence: bool = False  # coverage below VerifyConfig.min_coverage_warn


@dataclass
class Verdict(Measures):
    status: str
    feedback: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def describe(self) -> str:
        """One line for reports: status, tests and speedup with its interval."""
        parts = [self.status, f"{self.tests_passed}/{self.tests_total} checks"]
        if self.coverage is not None:
            parts.append(f"{self.coverage:.0%} of lines" + (" (thin evidence)" if self.thin_evidence else ""))
        if self.speedup is not None:
            parts.append(f"{self.speedup:.2f}× (95% CI {self.ci_low:.2f}–{self.ci_high:.2f})")
        return ", ".join(parts)


@dataclass
class VerifyConfig:
    """Knobs of verification. Any config object (e.g. graph.config.FasterPyConfig) with attributes
    of these names — directly or under `.verify` — can be passed instead; see `VerifyConfig.of`."""

    threshold: float = DEFAULT_THRESHOLD  # minimum speedup the CI's lower bound must clear
    confidence: float = DEFAULT_CONFIDENCE
    repeats: int = 8  # interleaved rounds of original/candidate
    max_repeats: int = 24  # more rounds when the interval straddles the threshold
    statistic: str = "mean"  # "mean" or "median" of the rounds
    timeout_s: float = 10.0  # per sandboxed run
    memory_mb: int = 1024
    float_rel_tol: float = FLOAT_TOLERANCE
    float_abs_tol: float = FLOAT_TOLERANCE
    compare_stdout: bool = True  # function mode: what a call prints must match too
    min_call_time_s: float = 0.002  # function mode: repeat tiny calls until one timing is this long
    max_inner_repeats: int = 50
    timing_budget_s: float = 1.0  # function mode: original's time per timing round (largest calls first)
    test_cmd: str | None = None  # the user's tests, run against the candidate in a temp copy
    test_timeout_s: float = 300.0
    project_root: str | None = None  # what to copy for test_cmd (default: the file's project)
    generated_inputs: int = 30  # function mode: inputs generated per target from the captured ones; 0 = none
    generated_seed: int = 0  # the same seed generates the same inputs
    generated_budget_s: float = 3.0  # the original's estimated time on all generated inputs (fewer when slow)
    measure_coverage: bool = True  # function mode: trace which lines of the original the checks execute
    min_coverage_warn: float = 0.6  # below this share of lines the result rests on thin evidence
    min_coverage: float = 0.0  # below this share a faster candidate is rejected (thin_evidence)
    workers: int | None = None

    @classmethod
    def of(cls, config: Any = None) -> VerifyConfig:
        if config is None:
            return cls()
        if isinstance(config, cls):
            return config
        sources = [config]
        nested = config.get("verify") if isinstance(config, dict) else getattr(config, "verify", None)
        if nested is not None:
            if isinstance(nested, cls):
                return nested
            sources.insert(0, nested)
        values: dict[str, Any] = {}
        for f in fields(cls):
            for src in sources:
                v = src.get(f.name) if isinstance(src, dict) else getattr(src, f.name, None)
                if v is not None:
                    values[f.name] = v
                    break
        return cls(**values)

    def tolerance(self) -> Tolerance:
        return Tolerance(rel=float(self.float_rel_tol), abs=float(self.float_abs_tol))

    def limits(self, timeout_s: float | None = None):
        from harness.limits import Limits

        return Limits(timeout_s=float(timeout_s or self.timeout_s), memory_mb=int(self.memory_mb))


def tail(text: str, lines: int = 15, chars: int = 1500) -> str:
    kept = "\n".join((text or "").rstrip().splitlines()[-lines:])
    return kept[-chars:]


def output_diff(expected: str, got: str, context: int = 2, max_lines: int = 20) -> str:
    """A short unified diff of expected vs got output."""
    def lines(text: str) -> str:  # compared line by line: line endings and a final newline do not count
        return "".join(line + "\n" for line in text.splitlines())

    diff = unified_diff(lines(expected), lines(got), "expected", "got", n=context).splitlines()
    if len(diff) > max_lines:
        diff = diff[:max_lines] + [f"… ({len(diff) - max_lines} more diff lines)"]
    return "\n".join(diff) if diff else "(outputs differ only in whitespace or line endings)"


def syntax_problem(code: str, what: str = "candidate") -> str | None:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "invalid decimal literal" in PIE code: not ours to report
            compile(code, "<candidate>", "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").rstrip()
        return f"The {what} does not compile: SyntaxError: {exc.msg} at line {exc.lineno}" + (f":\n    {line}" if line else "")
    except (ValueError, OverflowError, RecursionError, MemoryError) as exc:
        return f"The {what} does not compile: {type(exc).__name__}: {exc}"
    return None


def speed_verdict(est: SpeedupEstimate, passed: int, total: int, details: dict[str, Any]) -> Verdict:
    details = dict(details, rounds=len(est.samples_a), threshold=est.threshold)
    common: dict[str, Any] = dict(speedup=est.speedup, ci_low=est.low, ci_high=est.high, runtime_before=est.runtime_a,
                  runtime_after=est.runtime_b, tests_passed=passed, tests_total=total, details=details)
    if est.accepted:
        return Verdict("accepted", f"correct and faster: {est.describe()}", **common)
    feedback = (f"The code is correct but not faster: {est.describe()}; it needs at least "
                f"{est.threshold:.2f}× with confidence. Find an algorithmic improvement (better complexity, "
                "fewer passes, builtins instead of Python loops), not a cosmetic rewrite.")
    return Verdict("slower", feedback, **common)


def verify_pool(read_roots: Sequence[str] = ()) -> Any:
    """The sandbox pool verification runs on when the caller passes none: harness.pool.shared_pool(1)
    with reads fenced to the interpreter, its libraries and `read_roots` (see
    project_tests.sandbox_read_roots). One worker, so an original and its candidate run under the
    same hash seed (set and dict orders of strings agree) and their timing rounds never overlap."""
    from harness.pool import shared_pool

    return shared_pool(1, read_roots=read_roots)


class RunFailed(Exception):
    def __init__(self, verdict: Verdict):
        super().__init__(verdict.feedback)
        self.verdict = verdict
