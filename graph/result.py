"""What an optimization run returns: per-target results with every attempt and the final diff.

Plain dataclasses (no LangGraph types) so scripts, `--json` and the TUI can use them directly."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from harness.verify.verdict import Measures

RunStatus = Literal["optimized", "no_improvement", "error", "cancelled"]


@dataclass
class Attempt(Measures):
    """One candidate the verifier judged. `number` is the attempt (1-based); `candidate` is its index
    among the candidates generated in that attempt. The figures (speedup, interval, runtimes, checks,
    coverage) are its verdict's, keyword-only (harness.verify.verdict.Measures)."""

    target: str
    number: int
    candidate: int
    status: str  # a harness.verify.Verdict status: accepted | wrong_output | exception | timeout | slower | thin_evidence | no_code | error
    feedback: str = ""
    uncovered: dict[str, list[int]] = field(default_factory=dict)  # target → lines no check executed
    code: str = ""

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    def evidence(self) -> str:
        """What the verdict rests on, e.g. "42 checks, 91 % of lines" ("-" before any check)."""
        if self.checks:
            checks = f"{self.checks} checks"
        elif not self.tests_total:
            return "-"
        else:
            checks = f"{self.tests_passed} checks" if self.tests_passed == self.tests_total \
                else f"{self.tests_passed}/{self.tests_total} checks"
        return checks if self.coverage is None else f"{checks}, {self.coverage * 100:.0f} % of lines"

    def uncovered_text(self, limit: int = 12) -> str:
        """The lines no check executed, e.g. "unique_skus: 14, 15" (empty when none are known)."""
        parts = [f"{t}: {', '.join(map(str, lines[:limit]))}" + (" …" if len(lines) > limit else "")
                 for t, lines in self.uncovered.items() if lines]
        return "; ".join(parts)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Attempt:
        return cls(**{k: d[k] for k in cls.__dataclass_fields__ if k in d})


@dataclass
class TargetResult:
    """The outcome for one group of targets (one function in mode "each", all of them in "together";
    `target` is their names joined by ", ")."""

    target: str
    targets: list[str]
    status: RunStatus
    suggestions: list[dict[str, Any]] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    best: Attempt | None = None
    reasons: list[str] = field(default_factory=list)  # why nothing was accepted
    context: str = ""  # the extracted code the model saw

    @property
    def speedup(self) -> float | None:
        return self.best.speedup if self.best else None

    @property
    def runtime_before(self) -> float | None:
        return self.best.runtime_before if self.best else None

    @property
    def runtime_after(self) -> float | None:
        return self.best.runtime_after if self.best else None

    @property
    def coverage(self) -> float | None:
        return self.best.coverage if self.best else None

    @property
    def thin_evidence(self) -> bool:
        return bool(self.best and self.best.thin_evidence)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TargetResult:
        return cls(
            target=d["target"],
            targets=list(d["targets"]),
            status=d["status"],
            suggestions=list(d.get("suggestions", [])),
            attempts=[Attempt.from_dict(a) for a in d.get("attempts", [])],
            best=Attempt.from_dict(d["best"]) if d.get("best") else None,
            reasons=list(d.get("reasons", [])),
            context=d.get("context", ""),
        )


@dataclass
class OptimizeResult:
    """The whole run. `new_source` equals `original_source` unless something was accepted; `diff` is
    the unified diff between them ("" when nothing changed). `written_to`/`backup` are set only when
    the caller applied the result (`--write`)."""

    status: RunStatus
    path: str
    run_id: str
    mode: str  # "function" | "program"
    targets: list[TargetResult] = field(default_factory=list)
    original_source: str = ""
    new_source: str = ""
    diff: str = ""
    error: str = ""
    seconds: float = 0.0
    written_to: str | None = None
    backup: str | None = None

    @property
    def optimized(self) -> bool:
        return self.status == "optimized"

    @property
    def attempts(self) -> list[Attempt]:
        return [a for t in self.targets for a in t.attempts]

    @property
    def exit_code(self) -> int:
        """0 optimized, 1 no verified improvement, 2 error, 130 cancelled (resumable)."""
        return {"optimized": 0, "no_improvement": 1, "error": 2, "cancelled": 130}[self.status]

    def to_dict(self, include_sources: bool = False) -> dict[str, Any]:
        d = asdict(self)
        if not include_sources:
            d.pop("original_source")
        for t, td in zip(self.targets, d["targets"], strict=True):
            td["speedup"] = t.speedup
            td["coverage"] = t.coverage
            td["thin_evidence"] = t.thin_evidence
        return d
