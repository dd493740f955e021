"""Which knowledge-base pairs are worth training on: speedups our harness measured, with the count
left after each filter.

The KB stores every kept pair of the sources (pie-dev, Mercury, ENAMEL, energy-smells) with its
slow program, fast target and rate; its `measurements.jsonl` holds the harness's outcome (rate, or
the reason none was kept) for each pair it measured, by pair key. A rate from a source file
(CodeNet cpu times for pie-dev tier A, Mercury's runtimes) is not a harness measurement and does
not pass. The filters, in order:

1. harness-measured — the record's key has a measurement whose rate is the record's rate;
2. correct on the tests — implied: `kb.builders.measure` returns a rate only after both programs
   reproduced the expected output (Eq. 3 accuracy 1.0) or the function results agreed; a row with
   a rate and a failure would be dropped here;
3. rate ≥ `min_rate`;
4. the bootstrap 95 % lower bound on the speedup ≥ `min_low` — the row's `low` (kb.builders.measure
   stores it); a row written before measurements stored it counts as the measurer's `min_low` (1.05
   for the shipped KB), which its bound cleared when it was accepted;
5. the fastest target per slow program (slow code compared with layout and comments normalised away);
6. not one of `exclude_problems` (e.g. the quality benchmark's problems).
"""

from __future__ import annotations

import ast
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import FasterPyError
from harness.files import iter_jsonl

if TYPE_CHECKING:
    from kb.records import Record

# What an accepted measurement guarantees about its bound when it stores none: the lower-bound
# threshold HarnessMeasurer applied (`min_low`, default 1.05), the one the shipped KB was built with.
ACCEPTED_LOW = 1.05


@dataclass
class Step:
    """One filter: how many pairs were left after it, by source."""

    name: str
    kept: int
    dropped: int
    kept_by_source: dict[str, int] = field(default_factory=dict)
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class CurateStats:
    steps: list[Step] = field(default_factory=list)
    measurement_log: dict[str, Any] = field(default_factory=dict)  # what measurements.jsonl holds
    settings: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"settings": self.settings, "measurement_log": self.measurement_log,
                "steps": [s.to_dict() for s in self.steps]}


def load_measurements(path: str | Path) -> dict[str, list[dict[str, Any]]]:
    """measurements.jsonl rows by pair key (a key can hold several rows if its pair changed)."""
    path = Path(path)
    if not path.is_file():
        raise FasterPyError(f"no measurement log at {path} — point --measurements at the measurements.jsonl "
                            "`fasterpy kb build` wrote, or pass --all-pairs to train on every KB pair")
    out: dict[str, list[dict[str, Any]]] = {}
    for lineno, row in iter_jsonl(path, skip_bad=True):
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            raise FasterPyError(f"{path}:{lineno} is not a measurement row (no `key`) — "
                                "use the measurements.jsonl `fasterpy kb build` wrote")
        out.setdefault(row["key"], []).append(row)
    return out


def normalised_code(code: str) -> str:
    """The program with layout, quotes and comments normalised away (its AST when it parses)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        return "\n".join(line.strip() for line in code.strip().splitlines() if line.strip())


def _key(record: Record) -> str:
    return str(record.meta.get("key", ""))


def _measured(record: Record, rows: Sequence[dict[str, Any]]) -> dict[str, Any] | None:
    """The measurement of this record's pair: a row under its key whose rate is the stored rate."""
    for row in reversed(rows):  # the latest row wins
        rate = row.get("rate")
        if isinstance(rate, (int, float)) and abs(round(float(rate), 4) - record.rate) <= 1e-4:
            return row
    return None


def _by_source(records: Iterable[Record]) -> dict[str, int]:
    return dict(sorted(Counter(r.source or "?" for r in records).items()))


def summarise_log(measurements: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    rows = [r for rows in measurements.values() for r in rows]
    reasons = Counter(str(r.get("failure", "")).split(" (")[0].split(":")[0] for r in rows if r.get("rate") is None)
    return {"rows": len(rows), "with_rate": sum(r.get("rate") is not None for r in rows),
            "failed_because": dict(reasons.most_common())}


def curate(
    records: Sequence[Record],
    measurements: dict[str, list[dict[str, Any]]],
    min_rate: float = 1.5,
    min_low: float = ACCEPTED_LOW,
    exclude_problems: Sequence[str] = (),
    exclude_note: str = "",
) -> tuple[list[Record], CurateStats]:
    """The records that pass every filter (module docstring), and the count after each."""
    stats = CurateStats(settings={"min_rate": min_rate, "min_low": min_low, "accepted_low": ACCEPTED_LOW,
                                  "exclude_problems": len(set(exclude_problems))},
                        measurement_log=summarise_log(measurements))
    pool = [r for r in records if r.target.strip()]

    def step(name: str, kept: list[Record], before: int, note: str = "") -> list[Record]:
        stats.steps.append(Step(name, len(kept), before - len(kept), _by_source(kept), note))
        return kept

    pool = step("KB pairs with a target", pool, len(records))
    found: dict[int, dict[str, Any]] = {}
    for r in pool:
        row = _measured(r, measurements.get(_key(r), ()))
        if row is not None:
            found[r.id] = row
    not_measured = Counter(r.source or "?" for r in pool if r.id not in found)
    pool = step("harness-measured", [r for r in pool if r.id in found], len(pool),
                "rate from the source, not the harness: " + ", ".join(f"{n} {s}" for s, n in sorted(not_measured.items())))
    pool = step("correct on the tests", [r for r in pool if not found[r.id].get("failure")], len(pool),
                "a harness rate exists only when both versions reproduced the expected outputs")
    pool = step(f"rate >= {min_rate:g}", [r for r in pool if float(found[r.id]["rate"]) >= min_rate], len(pool))

    def low(r: Record) -> float:
        value = found[r.id].get("low")
        return float(value) if isinstance(value, (int, float)) else ACCEPTED_LOW

    stored = sum(isinstance(found[r.id].get("low"), (int, float)) for r in pool)
    pool = step(f"95% lower bound >= {min_low:g}", [r for r in pool if low(r) >= min_low], len(pool),
                f"{stored} rows store their bound; the rest count as {ACCEPTED_LOW:g} (accepted means "
                f"the bound cleared the measurer's threshold)")
    best: dict[str, Record] = {}
    for r in pool:
        key = normalised_code(r.slow_code)
        held = best.get(key)
        if held is None or float(found[r.id]["rate"]) > float(found[held.id]["rate"]):
            best[key] = r
    winners = {r.id for r in best.values()}
    pool = step("fastest target per slow program", [r for r in pool if r.id in winners], len(pool))
    excluded = set(exclude_problems)
    pool = step("not a held-out problem", [r for r in pool if r.problem_id not in excluded], len(pool), exclude_note)
    return pool, stats



def stats_path(output: Path) -> Path:
    """The stats JSON written next to the training data: train.jsonl → train.stats.json."""
    from finetune.dataset import jsonl_stem

    return output.with_name(f"{jsonl_stem(output)}.stats.json")


def build_curated(
    kb: Any,
    output: Path,
    measurements: Path,
    val_output: Path | None = None,
    min_rate: float = 1.5,
    min_low: float = ACCEPTED_LOW,
    exclude_problems: Sequence[str] = (),
    exclude_note: str = "",
    n: int = 0,
    val_frac: float = 0.05,
    seed: int = 42,
    k: int = 2,
    on_progress: Any = None,
) -> dict[str, Any]:
    """Curate the KB's pairs, build train/validation JSONL from them (finetune.dataset), and write
    every count to `stats_path(output)`; returns what it wrote there."""
    import json

    from finetune.dataset import build_dataset, default_val_path
    from harness.files import atomic_write

    chosen, stats = curate(kb.records(), load_measurements(measurements), min_rate=min_rate, min_low=min_low,
                           exclude_problems=exclude_problems, exclude_note=exclude_note)
    if not chosen:
        raise FasterPyError(f"no pair passed the filters (rate >= {min_rate:g}, bound >= {min_low:g}) — "
                            "lower --min-rate/--min-low or measure more pairs with `fasterpy kb build`")
    build = build_dataset(kb, n, output, val_output, val_frac, seed, k, exclude_problems, on_progress=on_progress,
                          records=chosen)
    val_path = val_output or default_val_path(output)
    stats.steps.append(Step("validation split (whole problems)", build.written_train, build.written_val,
                            note=f"{build.written_val} examples on {build.val_problems} problems go to {val_path.name}"))
    report = {"kb": str(getattr(kb, "path", "")), "measurements": str(measurements), "train": str(output),
              "val": str(val_path), **stats.to_dict(), "build": build.to_dict()}
    report["build"]["excluded_problems"] = len(build.excluded_problems)
    atomic_write(stats_path(output), json.dumps(report, indent=2) + "\n")
    return report


def format_table(report: dict[str, Any]) -> str:
    """The counts after each filter, as the CLI prints them (a rich table, rendered to text)."""
    import io

    from rich.console import Console
    from rich.table import Table

    log = report["measurement_log"]
    reasons = ", ".join(f"{n} {why}" for why, n in log["failed_because"].items())
    table = Table(title=f"measurement log: {log['rows']} pairs measured by the harness, {log['with_rate']} kept a "
                        f"rate ({reasons})", title_justify="left")
    for col, justify in (("filter", "left"), ("kept", "right"), ("dropped", "right"), ("kept by source", "left")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for step in report["steps"]:
        table.add_row(step["name"], str(step["kept"]), str(step["dropped"]),
                      ", ".join(f"{k} {v}" for k, v in step["kept_by_source"].items()))
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False, color_system=None)
    console.print(table)
    for step in report["steps"]:
        if step["note"]:
            console.print(f"  {step['name']}: {step['note']}", highlight=False)
    return out.getvalue().rstrip()
