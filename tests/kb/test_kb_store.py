"""Real hnswlib + SQLite round-trips: create, reopen, add without rebuild, errors, repair, migrations."""

from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from harness.errors import FasterPyError
from kb.embedders import LexicalEmbedder
from kb.index import IndexParams
from kb.records import Record
from kb.store import INDEX_FILE, MANIFEST, MIGRATIONS, RECORDS_DB, SCHEMA_VERSION, KnowledgeBase, migrate

PROGRAMS = {
    "p1": "n = int(input())\nprint(sum([i for i in range(n)]))\n",
    "p2": "s = input()\nout = ''\nfor c in s:\n    out += c.upper()\nprint(out)\n",
    "p3": "a = list(map(int, input().split()))\nprint(max(a) - min(a))\n",
    "p4": "import sys\nn = int(sys.stdin.readline())\nprint(n * (n + 1) // 2)\n",
}


def _records(prefix: str = "k") -> list[Record]:
    return [
        Record(id=0, summary=f"1. tip {pid}", rate=1.5 + i, slow_code=code, source="test", problem_id=pid,
               target=code + "# fast\n", meta={"key": f"{prefix}:{pid}", "note": i})
        for i, (pid, code) in enumerate(PROGRAMS.items())
    ]


@pytest.fixture()
def kb_dir(tmp_path):
    path = tmp_path / "kb"
    kb = KnowledgeBase.create(path, embedder="lexical", params=IndexParams(M=8, ef_construction=50, ef=20))
    kb.add(_records())
    kb.close()
    return path


def test_round_trip_and_stats(kb_dir):
    kb = KnowledgeBase.open(kb_dir)
    assert len(kb) == 4 and len(kb.index) == 4
    st = kb.stats()
    assert st["records"] == 4 and st["embedder"] == "lexical" and st["dim"] == 1024
    assert st["index"] == {"M": 8, "ef_construction": 50, "ef": 20}
    assert st["schema_version"] == SCHEMA_VERSION
    recs = kb.records()
    assert [r.problem_id for r in recs] == ["p1", "p2", "p3", "p4"]
    assert recs[1].target.endswith("# fast\n") and recs[1].meta["note"] == 1 and recs[1].meta["key"] == "k:p2"
    assert recs[1].slow_code_len == len(PROGRAMS["p2"])
    # a query equal to a stored program finds it first with similarity ~1
    sugg = kb.retrieve(PROGRAMS["p2"], k=1, threshold=0.0)
    assert sugg[0].problem_id == "p2" and sugg[0].similarity == pytest.approx(1.0, abs=1e-4)
    assert sugg[0].kept_because == "closest"
    # the stored vectors are the embedder's
    vec = kb.index.get_vectors([recs[0].id])[0]
    np.testing.assert_allclose(vec, LexicalEmbedder().embed([PROGRAMS["p1"]])[0], atol=1e-5)


def test_add_without_rebuild_keeps_old_vectors(kb_dir):
    kb = KnowledgeBase.open(kb_dir, writable=True)
    before = kb.index.get_vectors([1, 2, 3, 4])
    new = Record(id=0, summary="1. new", rate=3.0, slow_code="x = [1, 2, 3]\nprint(2 in x)\n", problem_id="p9",
                 meta={"key": "new:1"})
    ids = kb.add([new])
    assert ids == [5]
    # a duplicate key is skipped (resume), the old vectors are untouched (no rebuild)
    assert kb.add([new]) == []
    np.testing.assert_array_equal(kb.index.get_vectors([1, 2, 3, 4]), before)
    kb.close()
    again = KnowledgeBase.open(kb_dir)
    assert len(again) == 5 and json.loads((kb_dir / MANIFEST).read_text())["count"] == 5
    assert again.retrieve(new.slow_code, k=1, threshold=0)[0].id == 5


def test_exclude_problems(kb_dir):
    kb = KnowledgeBase.open(kb_dir)
    got = kb.retrieve(PROGRAMS["p1"], k=4, m=4, delta=1.0, threshold=-1.0, exclude_problems=["p1"])
    assert got and all(s.problem_id != "p1" for s in got)
    got = kb.retrieve(PROGRAMS["p1"], k=4, m=4, delta=1.0, threshold=-1.0, exclude_problems=["p1", "p2", "p3", "p4"])
    assert got == []


def test_mismatched_embedder_is_a_clear_error(kb_dir):
    with pytest.raises(FasterPyError, match="built with embedder 'lexical', not 'minilm'"):
        KnowledgeBase.open(kb_dir, embedder="minilm")
    manifest = json.loads((kb_dir / MANIFEST).read_text())
    manifest["dim"] = 512
    (kb_dir / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(FasterPyError, match="1024-d vectors but the index holds 512-d"):
        KnowledgeBase.open(kb_dir)


def test_damaged_index_is_a_clear_error_and_reindex_repairs(kb_dir):
    raw = bytearray((kb_dir / INDEX_FILE).read_bytes())
    raw[len(raw) // 2 : len(raw) // 2 + 64] = b"\xff" * 64
    (kb_dir / INDEX_FILE).write_bytes(bytes(raw))
    with pytest.raises(FasterPyError, match="damaged.*fasterpy kb reindex"):
        KnowledgeBase.open(kb_dir)
    (kb_dir / INDEX_FILE).write_bytes(b"garbage")
    with pytest.raises(FasterPyError, match="damaged"):
        KnowledgeBase.open(kb_dir)
    kb = KnowledgeBase.open(kb_dir, writable=True, repair=True)
    kb.reindex()
    kb.close()
    fixed = KnowledgeBase.open(kb_dir)
    assert len(fixed.index) == 4 and fixed.retrieve(PROGRAMS["p3"], k=1, threshold=0)[0].problem_id == "p3"


def test_index_record_count_mismatch_and_resume_repair(kb_dir):
    # Simulate a build interrupted after the SQLite insert but before the index was saved.
    with sqlite3.connect(kb_dir / RECORDS_DB) as conn:
        conn.execute(
            "INSERT INTO records (id, key, slow_code_len, summary, rate, slow_code) VALUES (9, 'late', 3, 's', 2.0, 'x=1')"
        )
    with pytest.raises(FasterPyError, match="holds 4 vectors but the store has 5 records"):
        KnowledgeBase.open(kb_dir)
    kb = KnowledgeBase.open(kb_dir, repair=True)
    assert len(kb.index) == 5 and 9 in kb.index.labels()
    kb.close()
    assert len(KnowledgeBase.open(kb_dir).index) == 5


def test_missing_kb_and_existing_kb_errors(tmp_path, kb_dir):
    with pytest.raises(FasterPyError, match="no knowledge base at"):
        KnowledgeBase.open(tmp_path / "nothing")
    with pytest.raises(FasterPyError, match="already holds a knowledge base"):
        KnowledgeBase.create(kb_dir)


def test_schema_migration_from_v1(tmp_path):
    db = tmp_path / "old.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.executescript(MIGRATIONS[0])
    conn.execute("INSERT INTO schema_version VALUES (1)")
    conn.execute("INSERT INTO records (id, slow_code_len, summary, rate, slow_code) VALUES (1, 1, 's', 2.0, 'x')")
    conn.commit()
    assert migrate(conn) == 1
    cols = [r[1] for r in conn.execute("PRAGMA table_info(records)")]
    assert "summarizer" in cols
    assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT summarizer FROM records").fetchone()[0] == ""
    conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(FasterPyError, match="newer than this FasterPy"):
        migrate(conn)


def test_default_kb_opens_and_retrieves():
    kb = KnowledgeBase.open()
    st = kb.stats()
    assert st["records"] >= 100 and st["indexed"] == st["records"]
    sugg = kb.retrieve("n = int(input())\nfor i in range(n):\n    print(i)\n", k=2, threshold=0.0)
    assert 1 <= len(sugg) <= 2 and sugg[0].kept_because == "closest"
    assert all(s.summary.startswith("1.") or s.summary for s in sugg)
