"""The shared bottom-layer helpers: atomic writes and backups, JSON lines, digests, PIE test folders,
the unified diff."""

from __future__ import annotations

import gzip
import hashlib
import os
from pathlib import Path

import pytest

from harness.errors import FasterPyError
from harness.files import (
    append_jsonl,
    atomic_write,
    backup_path,
    file_digest,
    iter_jsonl,
    read_jsonl,
    replacing,
    write_jsonl,
)
from harness.pie_tests import read_pie_tests
from harness.textdiff import unified_diff


def test_atomic_write_leaves_the_new_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    atomic_write(path, "old")
    atomic_write(path, b"new")
    assert path.read_bytes() == b"new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("old")
    with pytest.raises(RuntimeError), replacing(path) as tmp:
        tmp.write_text("half")
        raise RuntimeError("crash mid-write")
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.txt"]
    with pytest.raises(TypeError):
        atomic_write(path, 42)  # type: ignore[arg-type]
    assert path.read_text() == "old"


def test_atomic_write_keeps_the_mode(tmp_path: Path) -> None:
    path = tmp_path / "run.sh"
    path.write_text("old")
    path.chmod(0o750)
    atomic_write(path, "new")
    assert path.stat().st_mode & 0o777 == 0o750
    fresh = tmp_path / "fresh.txt"
    atomic_write(fresh, "x")
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0o600


def test_numbered_backups_are_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    assert backup_path(path).name == "m.py.bak"
    for text in ("v1", "v2", "v3", "v4"):
        atomic_write(path, text, backup="numbered")
    assert path.read_text() == "v4"
    assert [(tmp_path / n).read_text() for n in ("m.py.bak", "m.py.bak.1", "m.py.bak.2")] == ["v1", "v2", "v3"]
    assert backup_path(path).name == "m.py.bak.3"


def test_previous_backup_holds_the_version_before(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    for n in (1, 2, 3):
        write_jsonl(path, [{"n": n}], backup="previous")
    assert read_jsonl(path) == [{"n": 3}]
    assert read_jsonl(tmp_path / "r.jsonl.bak") == [{"n": 2}]
    assert not (tmp_path / "r.jsonl.bak.1").exists()


def test_jsonl_round_trip(tmp_path: Path) -> None:
    rows = [{"a": 1, "s": "é\u2028x"}, [1, 2], "text", None]
    path = tmp_path / "d" / "rows.jsonl"
    write_jsonl(path, rows[:2], ensure_ascii=False)
    for row in rows[2:]:
        append_jsonl(path, row)
    assert read_jsonl(path) == rows
    assert [n for n, _ in iter_jsonl(path)] == [1, 2, 3, 4]
    write_jsonl(path, [{"p": Path("x")}], default=str)
    assert read_jsonl(path) == [{"p": "x"}]


def test_blank_lines_are_skipped_and_gzip_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as fh:
        fh.write('{"a": 1}\n\n  \n{"a": 2}\r\n')
    assert list(iter_jsonl(path)) == [(1, {"a": 1}), (4, {"a": 2})]


def test_a_bad_line_is_reported_with_its_place_or_skipped(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(b'{"a": 1}\nnot json\n\xff\xfe\n{"a": 2}\n')
    with pytest.raises(FasterPyError, match=r"bad.jsonl:2 is not valid JSON \(.*\) — one object a line"):
        read_jsonl(path, fix="one object a line")
    path.write_bytes(b'{"a": 1}\n\xff\xfe\n')
    with pytest.raises(FasterPyError, match=r"bad.jsonl:2 is not UTF-8"):
        read_jsonl(path)
    path.write_bytes(b'{"a": 1}\nnot json\n\xff\xfe\n{"a": 2}\n')
    assert read_jsonl(path, skip_bad=True) == [{"a": 1}, {"a": 2}]
    with pytest.raises(FasterPyError, match="missing.jsonl does not exist"):
        read_jsonl(tmp_path / "missing.jsonl")


def test_a_half_written_last_line_is_skipped_then_dropped_by_the_next_append(tmp_path: Path) -> None:
    path = tmp_path / "out.jsonl"
    append_jsonl(path, {"k": 1})
    with path.open("ab") as fh:
        fh.write('{"k": 2, "s": "\u00e9'.encode()[:-1])  # a crash mid-line, even mid-character
    assert read_jsonl(path, skip_bad=True) == [{"k": 1}]
    with pytest.raises(FasterPyError, match="out.jsonl:2"):
        read_jsonl(path)
    append_jsonl(path, {"k": 3})
    assert path.read_text() == '{"k": 1}\n{"k": 3}\n'
    torn_only = tmp_path / "torn.jsonl"
    torn_only.write_text('{"k"')
    append_jsonl(torn_only, {"k": 4})
    assert torn_only.read_text() == '{"k": 4}\n'


def test_file_digest_is_sha256_of_the_bytes(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    data = os.urandom(3 << 20) + b"tail"
    path.write_bytes(data)
    assert file_digest(path) == hashlib.sha256(data).hexdigest()
    assert file_digest(path, "blake2b") == hashlib.blake2b(data).hexdigest()
    (tmp_path / "empty").write_bytes(b"")
    assert file_digest(tmp_path / "empty") == hashlib.sha256(b"").hexdigest()


def test_pie_tests_in_numeric_order_with_optional_outputs(tmp_path: Path) -> None:
    for n in (10, 9, 0, 2):
        (tmp_path / f"input.{n}.txt").write_text(f"in {n}\n")
        if n != 2:
            (tmp_path / f"output.{n}.txt").write_text(f"out {n}\n")
    (tmp_path / "input.x.txt").write_text("not a PIE test")
    (tmp_path / "output.11.txt").write_text("no input")
    (tmp_path / "input.12.txt").mkdir()
    (tmp_path / "input.3.txt").write_bytes(b"\xffbad bytes\n")
    tests = read_pie_tests(tmp_path)
    assert [t.name for t in tests] == ["input.0.txt", "input.2.txt", "input.3.txt", "input.9.txt", "input.10.txt"]
    assert [t.number for t in tests] == [0, 2, 3, 9, 10]
    assert tests[0].input == "in 0\n" and tests[0].output == "out 0\n"
    assert tests[1].output is None
    assert tests[2].input == "\ufffdbad bytes\n"
    assert read_pie_tests(tmp_path / "missing") == []


def test_unified_diff() -> None:
    assert unified_diff("a\n", "a\n") == ""
    diff = unified_diff("x = 1\ny = 2\n", "x = 1\ny = 3\n", "a/m.py", "b/m.py")
    assert diff.splitlines()[:3] == ["--- a/m.py", "+++ b/m.py", "@@ -1,2 +1,2 @@"]
    assert "-y = 2\n+y = 3\n" in diff
    marked = unified_diff("a", "b")
    assert marked.endswith("-a\n\\ No newline at end of file\n+b\n\\ No newline at end of file\n")
    assert unified_diff("a", "b", newline_marker=False).endswith("-a+b")
    assert "@@ -2 +2 @@" in unified_diff("1\n2\n3\n", "1\nX\n3\n", n=0)
