"""Why a candidate can be trusted: checks passed and the share of the original's lines they run,
speedup with its confidence interval, runtimes."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.widgets import Static


def fmt_seconds(value: float | None) -> str:
    if value is None:
        return "-"
    if value >= 1:
        return f"{value:.3f} s"
    if value >= 1e-3:
        return f"{value * 1e3:.2f} ms"
    return f"{value * 1e6:.1f} µs"


def fmt_speedup(speedup: float | None, low: float | None, high: float | None) -> str:
    if speedup is None:
        return "-"
    ci = f"  (95% CI {low:.2f}–{high:.2f}×)" if low is not None and high is not None else ""
    return f"{speedup:.2f}×{ci}"


class EvidencePanel(Static):
    """Filled from a `review.Candidate`'s verdict; empty until a run finishes."""

    BORDER_TITLE = "Evidence"

    def on_mount(self) -> None:
        self.show(None)

    def show(self, candidate) -> None:
        if candidate is None:
            self.update("No verified candidate yet — select functions and run (ctrl+r).")
            return
        v = candidate.verdict
        status_style = "bold green" if v.status == "accepted" else "bold red"
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        grid.add_row("target", f"{candidate.target} ({candidate.label})" if candidate.label else candidate.target)
        grid.add_row("verdict", Text(v.status, style=status_style))
        grid.add_row("evidence", v.evidence())
        if v.thin_evidence:
            grid.add_row("", Text(f"thin evidence: lines never run — {v.uncovered_text()}", style="bold yellow"))
        grid.add_row("speedup", fmt_speedup(v.speedup, v.ci_low, v.ci_high))
        grid.add_row("runtime", f"{fmt_seconds(v.runtime_before)} → {fmt_seconds(v.runtime_after)}")
        if candidate.mode:
            grid.add_row("checked by", candidate.mode)
        self.update(grid)
