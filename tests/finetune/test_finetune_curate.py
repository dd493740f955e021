"""Curated training data on a small real KB (hnswlib + SQLite) and a real measurement log: only
harness-measured pairs at rate >= 1.5 pass, the fastest target per slow program wins, held-out
problems stay out, suggestions never come from the example's own record or problem, and the
counts after each filter add up."""

from __future__ import annotations

import contextlib
import json
import subprocess
from pathlib import Path

import pytest

from finetune.curate import build_curated, curate, format_table, load_measurements, stats_path
from finetune.dataset import BuildStats, filter_suggestions, parse_problem_list, read_examples
from harness.errors import FasterPyError
from kb.records import Record
from kb.store import KnowledgeBase

PROGRAMS = [
    "n = int(input())\nl = []\nfor i in range(n):\n    l.append(int(input()))\nprint(sum(l))",
    "s = input()\nc = 0\nfor ch in s:\n    if ch == 'a':\n        c += 1\nprint(c)",
    "a = list(map(int, input().split()))\nm = a[0]\nfor x in a:\n    if x > m:\n        m = x\nprint(m)",
    "n = int(input())\nt = 0\nfor i in range(1, n + 1):\n    t = t + i\nprint(t)",
    "x = input().split()\nr = ''\nfor w in x:\n    r = r + w\nprint(r)",
    "n = int(input())\nd = {}\nfor i in range(n):\n    d[i] = i * i\nprint(len(d))",
]


def _rec(rid: int, problem: str, slow: str, rate: float, source: str = "pie-dev", target: str = "print(1)") -> Record:
    return Record(id=rid, summary=f"1. summary {rid}", rate=rate, slow_code=slow, target=target, source=source,
                  problem_id=problem, meta={"key": f"{source}:{rid}"})


def _row(record: Record, rate: float | None = None, failure: str = "") -> dict:
    return {"digest": f"d{record.id}", "key": record.meta["key"],
            "rate": record.rate if rate is None else rate, "failure": failure}


@pytest.fixture()
def kb_and_log(tmp_path: Path) -> tuple[Path, list[Record]]:
    """12 problems; per problem a harness-measured pair at 2.0× and one at 1.2×, plus pairs whose
    rate came from their source (tier A, Mercury), a duplicate slow program measured at 3.0× and
    4.0× (the 4.0× wins), and a measurement whose rate is not the record's."""
    records: list[Record] = []
    rid = 1
    for p in range(12):
        base = PROGRAMS[p % len(PROGRAMS)] + f"\n# problem {p}\n" + "y = 0\n" * p
        records.append(_rec(rid, f"p{p:03d}", base, 2.0, target=f"print({p})"))
        records.append(_rec(rid + 1, f"p{p:03d}", base + "z = 1\n", 1.2))
        rid += 2
    tier_a = _rec(rid, "p100", PROGRAMS[0] + "\nw = 2\n", 5.0)
    mercury = _rec(rid + 1, "two-sum", PROGRAMS[1] + "\nw = 3\n", 6.0, source="mercury")
    # The same slow program twice (layout and a comment differ): the faster target must win.
    dup_slow = "n = int(input())\nfor i in range(n):\n    print(i)"
    dup_a = _rec(rid + 2, "p200", dup_slow, 3.0, source="energy-smells", target="print('a')")
    dup_b = _rec(rid + 3, "p200", "n = int( input() )  # same\nfor i in range(n):\n    print(i)\n", 4.0,
                 target="print('b')")
    odd = _rec(rid + 4, "p300", PROGRAMS[2] + "\nw = 4\n", 2.5)
    records += [tier_a, mercury, dup_a, dup_b, odd]
    kb = KnowledgeBase.create(tmp_path / "kb", embedder="lexical")
    kb.add(records)
    stored = kb.records()
    kb.close()
    by_key = {r.meta["key"]: r for r in stored}
    rows = [_row(by_key[r.meta["key"]]) for r in records if r not in (tier_a, mercury, odd)]
    rows.append(_row(by_key[odd.meta["key"]], rate=1.9))  # a measurement of an earlier version of that pair
    rows.append({"digest": "x", "key": "pie-dev:999", "rate": None, "failure": "slow program failed its tests"})
    (tmp_path / "kb" / "measurements.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return tmp_path / "kb", stored


def _steps(stats) -> dict[str, int]:
    return {s.name: s.kept for s in stats.steps}


def test_filters_and_counts(kb_and_log: tuple[Path, list[Record]]) -> None:
    kb_dir, records = kb_and_log
    chosen, stats = curate(records, load_measurements(kb_dir / "measurements.jsonl"), min_rate=1.5,
                           exclude_problems=["p003", "p004"])
    kept = _steps(stats)
    assert kept["KB pairs with a target"] == len(records) == 29
    assert kept["harness-measured"] == 26  # tier A, Mercury and the mismatched rate are not
    assert kept["rate >= 1.5"] == 14  # the twelve 1.2× pairs dropped
    assert kept["fastest target per slow program"] == 13
    assert kept["not a held-out problem"] == 11 == len(chosen)
    # each step's dropped + kept is the previous step's kept
    before = len(records)
    for s in stats.steps:
        assert s.kept + s.dropped == before
        assert sum(s.kept_by_source.values()) == s.kept
        before = s.kept
    rates = {r.id: r.rate for r in chosen}
    assert min(rates.values()) >= 1.5
    assert {r.source for r in chosen} <= {"pie-dev", "energy-smells"}
    assert not {r.problem_id for r in chosen} & {"p003", "p004", "p100", "two-sum", "p300"}
    dup = [r for r in chosen if r.problem_id == "p200"]
    assert len(dup) == 1 and dup[0].rate == 4.0 and dup[0].target == "print('b')"
    assert stats.measurement_log["failed_because"] == {"slow program failed its tests": 1}


def test_bound_floor_above_what_the_log_guarantees_drops_pairs_without_a_stored_bound(
        kb_and_log: tuple[Path, list[Record]]) -> None:
    kb_dir, records = kb_and_log
    log = load_measurements(kb_dir / "measurements.jsonl")
    first = next(r for r in records if r.meta["key"] == "pie-dev:1")
    log["pie-dev:1"][0]["low"] = 1.4  # a row that stores its bound
    chosen, stats = curate(records, log, min_rate=1.5, min_low=1.1)
    assert [r.id for r in chosen] == [first.id]
    assert "1 rows store their bound" in stats.steps[4].note


def test_suggestions_from_own_record_and_same_problem_are_dropped(kb_and_log: tuple[Path, list[Record]]) -> None:
    kb_dir, records = kb_and_log
    with KnowledgeBase.open(kb_dir) as kb:
        record = next(r for r in kb.records() if r.meta["key"] == "pie-dev:1")
        raw = kb.retrieve(record.slow_code, k=6)  # no exclusions: its own record and its 1.2× sibling come back
        assert record.id in {s.id for s in raw}
        assert any(s.problem_id == record.problem_id and s.id != record.id for s in raw)
        stats = BuildStats()
        kept = filter_suggestions(record, raw, stats)
    assert kept and all(s.id != record.id and s.problem_id != record.problem_id for s in kept)
    assert stats.dropped_self >= 1 and stats.dropped_same_problem >= 1


def test_build_writes_problem_disjoint_splits_and_stats(kb_and_log: tuple[Path, list[Record]], tmp_path: Path) -> None:
    kb_dir, _ = kb_and_log
    quality = tmp_path / "quality_problems.txt"
    quality.write_text("# header, with a comma\np003  # source=pie-dev row=1\np004  # source=x\n")
    out = tmp_path / "data" / "train.jsonl"
    with KnowledgeBase.open(kb_dir) as kb:
        report = build_curated(kb, out, kb_dir / "measurements.jsonl", exclude_problems=parse_problem_list(quality),
                               val_frac=0.2, seed=1)
    train, val = read_examples(out), read_examples(out.with_name("val.jsonl"))
    assert stats_path(out) == out.with_name("train.stats.json")
    assert json.loads(stats_path(out).read_text()) == json.loads(json.dumps(report))
    assert len(train) + len(val) == report["steps"][-2]["kept"] == 11
    assert report["steps"][-1]["kept"] == len(train) and report["steps"][-1]["dropped"] == len(val)
    train_p, val_p = {r["problem_id"] for r in train}, {r["problem_id"] for r in val}
    assert val and train and not train_p & val_p
    assert not (train_p | val_p) & {"p003", "p004"}
    for row in train + val:
        for s in row["suggestions"]:
            assert s["id"] != row["record_id"] and s["problem_id"] != row["problem_id"]
            assert s["problem_id"] not in ("p003", "p004")
    table = format_table(report)
    assert "harness-measured" in table and "fastest target per slow program" in table


def test_missing_log_and_empty_selection_are_one_line_errors(kb_and_log: tuple[Path, list[Record]],
                                                             tmp_path: Path) -> None:
    kb_dir, _ = kb_and_log
    with pytest.raises(FasterPyError, match="no measurement log"):
        load_measurements(tmp_path / "none.jsonl")
    with KnowledgeBase.open(kb_dir) as kb, pytest.raises(FasterPyError, match="no pair passed"):
        build_curated(kb, tmp_path / "t.jsonl", kb_dir / "measurements.jsonl", min_rate=50.0)


def test_build_data_cli_curates_by_default(kb_and_log: tuple[Path, list[Record]], tmp_path: Path,
                                           fasterpy_bin: Path) -> None:
    kb_dir, _ = kb_and_log
    out = tmp_path / "ft" / "train.jsonl"
    res = subprocess.run([str(fasterpy_bin), "finetune", "build-data", "--kb", str(kb_dir), "-o", str(out),
                          "--exclude-problems", "p003,p004", "--val-frac", "0.2", "--no-progress"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "rate >= 1.5" in res.stdout and "train.stats.json" in res.stdout
    stats = json.loads((out.parent / "train.stats.json").read_text())
    assert stats["build"]["written_train"] + stats["build"]["written_val"] == 11


def test_the_bound_a_real_measurement_stores_is_the_one_the_filter_applies(tmp_path: Path) -> None:
    # a floor between the guaranteed 1.05 and the stored bound keeps the pair only if curate reads the
    # stored bound; a floor just above it drops the pair
    from kb.builders.build import pair_to_record
    from kb.builders.measure import LazyMeasurer
    from kb.builders.pairs import Pair

    slow = "n = int(input())\ns = 0\nfor i in range(n):\n    s += i\nprint(s)\n"
    fast = "n = int(input())\nprint(n * (n - 1) // 2)\n"
    pair = Pair(key="pie-dev:m1", slow=slow, fast=fast, rate=None, problem_id="sum",
                tests=[("200000\n", f"{200000 * 199999 // 2}\n")])
    log = tmp_path / "measurements.jsonl"
    with contextlib.closing(LazyMeasurer(cache=log, timeout_s=10, workers=1)) as measure:
        rate = measure(pair)
    assert rate is not None, measure.failures
    low = load_measurements(log)["pie-dev:m1"][0]["low"]
    assert low > 1.1, low
    record = pair_to_record(pair, rate, "1. closed form", "offline")
    kept, stats = curate([record], load_measurements(log), min_rate=1.0, min_low=(1.05 + low) / 2)
    assert kept == [record] and "1 rows store their bound" in stats.steps[4].note
    dropped, _ = curate([record], load_measurements(log), min_rate=1.0, min_low=low + 0.01)
    assert dropped == []
