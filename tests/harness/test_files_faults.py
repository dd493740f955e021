"""Nothing lost under faults: `--write` (graph.api.write_result) and the TUI's accept
(fasterpy_tui.document.Document.write), both through harness.files.replace_checked, injected for
real with a kill -9 of the writing process at many points, a full small tmpfs (ENOSPC), and two
processes accepting the same file at once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fasterpy_tui.document import Document
from harness.errors import FasterPyError
from harness.files import exclusive, lock_path

REPO = Path(__file__).resolve().parents[2]

# One writer process: load the file the way each caller does, say "ready", write on "go".
WRITER = textwrap.dedent('''
    import json, sys
    from pathlib import Path
    from harness.errors import FasterPyError
    how, path, new_file = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    new = new_file.read_text()
    if how == "tui":
        from fasterpy_tui.document import Document
        doc = Document.load(path)
        write = lambda: doc.write(new)
    else:
        from graph.api import write_result
        from graph.result import OptimizeResult
        result = OptimizeResult("optimized", str(path), "run", "function", original_source=path.read_text(),
                                new_source=new)
        write = lambda: write_result(result)
    if len(sys.argv) > 4:  # fill the disk first, leaving about that many bytes free
        import shutil
        leave = int(sys.argv[4])
        with open(path.parent / "filler", "wb") as f:
            f.write(b"x" * max(0, shutil.disk_usage(path.parent).free - leave))
    print("ready", flush=True)
    sys.stdin.readline()
    before = path.read_text()
    try:
        backup = write()
    except Exception as exc:
        files = sorted(p.name for p in path.parent.iterdir())
        def whole(name):
            try:
                return (path.parent / name).read_text() == before
            except FileNotFoundError:  # the other session's backup temp file, renamed since the listing
                return True
        baks_whole = all(whole(f) for f in files if ".bak" in f)
        print(json.dumps({"error": str(exc), "type": type(exc).__name__,
                          "user_error": isinstance(exc, FasterPyError), "now": path.read_text(),
                          "before": before, "files": files, "baks_whole": baks_whole}), flush=True)
    else:
        print(json.dumps({"backup": str(backup)}), flush=True)
''')


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _start(script: Path, how: str, path: Path, new_file: Path, *extra: str,
           prefix: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    proc = subprocess.Popen([*prefix, sys.executable, str(script), how, str(path), str(new_file), *extra],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(), cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.strip() == "ready", (line, proc.stderr.read() if proc.stderr else "")
    return proc


def _go(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None
    proc.stdin.write("go\n")
    proc.stdin.flush()


def _finish(proc: subprocess.Popen[str]) -> dict:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _backups(path: Path) -> list[Path]:
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name + ".bak"))


@pytest.fixture
def writer(tmp_path: Path) -> Path:
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    return script


def _sources(size: int) -> tuple[str, str]:
    old = "".join(f"def f{i}(x):\n    return x + {i}\n" for i in range(size))
    new = "".join(f"def f{i}(x):\n    return {i} + x  # faster\n" for i in range(size))
    return old, new


@pytest.mark.parametrize("how", ["api", "tui"])
def test_kill_9_at_any_point_leaves_the_old_or_the_new_file_and_a_whole_backup(tmp_path: Path, writer: Path,
                                                                              how: str) -> None:
    old, new = _sources(60_000)  # a few MB: writing, fsyncing and renaming take a while
    folder = tmp_path / "proj"
    folder.mkdir()
    path, new_file = folder / "target.py", tmp_path / "new.txt"
    new_file.write_text(new)

    def reset() -> None:
        for p in folder.iterdir():
            p.unlink()
        path.write_text(old)

    reset()
    proc = _start(writer, how, path, new_file)
    t0 = time.perf_counter()
    _go(proc)
    assert "backup" in _finish(proc)
    duration = time.perf_counter() - t0
    outcomes = set()
    steps = 24
    for step in range(steps + 1):
        reset()
        proc = _start(writer, how, path, new_file)
        _go(proc)
        time.sleep(duration * 1.2 * step / steps)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        now = path.read_text()
        assert now in (old, new), f"a mix after kill -9 at step {step}"
        backups = _backups(path)
        for backup in backups:
            assert backup.read_text() == old, f"a partial backup after kill -9 at step {step}"
        if now == new:
            assert backups, f"the new file without its backup at step {step}"
        outcomes.add("new" if now == new else "old")
        # a lock left by the killed writer never blocks the next session
        assert Document.load(path).write(now + "# next\n")
    assert outcomes == {"old", "new"}, "the kills should fall before and after the replace"


def _can_mount_tmpfs(where: Path) -> bool:
    if not (shutil.which("unshare") and shutil.which("mount")):
        return False
    where.mkdir(exist_ok=True)
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=64k none {where}"],
                           capture_output=True)
    return probe.returncode == 0


@pytest.mark.parametrize("how", ["api", "tui"])
@pytest.mark.parametrize("free", [2_000, 16_000])  # nothing fits / the backup fits but the new file not
def test_a_full_disk_leaves_the_file_untouched_and_says_so_in_one_line(tmp_path: Path, writer: Path, how: str,
                                                                      free: int) -> None:
    mnt = tmp_path / "small"
    if not _can_mount_tmpfs(mnt):
        pytest.skip("cannot mount a small tmpfs here (needs root: unshare -m + mount -t tmpfs)")
    old, new = _sources(300)  # ~9 KB old, ~12 KB new: more than the free space either way
    new_file = tmp_path / "new.txt"
    new_file.write_text(new)
    # the whole writer runs in a private mount namespace with a 64 KiB tmpfs on `mnt`
    script = tmp_path / "on_small_disk.sh"
    target = mnt / "target.py"
    script.write_text(textwrap.dedent(f'''
        set -e
        mount -t tmpfs -o size=64k none {mnt}
        printf '%s' "$OLD" > {target}
        exec "$@"
    '''))
    proc = subprocess.Popen(["unshare", "-m", "sh", str(script), sys.executable, str(writer), how, str(target),
                             str(new_file), str(free)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(_env(), OLD=old), cwd=REPO)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "ready", proc.stderr.read() if proc.stderr else ""
    _go(proc)
    report = _finish(proc)  # what the writer saw on its small disk right after the failed write
    assert report.get("user_error") is True, report  # a FasterPyError (NoSpaceError): one line, no traceback
    message = report["error"]
    assert "\n" not in message and "no space left" in message and "target.py is untouched" in message
    assert report["now"] == report["before"] == old  # the original is whole
    assert report["baks_whole"]  # a backup that fitted is complete
    for name in report["files"]:  # no temporary or lock file left behind
        assert name in ("target.py", "filler") or name.startswith("target.py.bak"), name


@pytest.mark.parametrize("how", ["api", "tui"])
def test_a_second_session_refuses_while_the_first_holds_the_file(tmp_path: Path, how: str) -> None:
    old, new = _sources(50)
    path = tmp_path / "target.py"
    path.write_text(old)
    holder = tmp_path / "holder.py"
    holder.write_text(textwrap.dedent('''
        import sys
        from harness.files import exclusive
        with exclusive(sys.argv[1]):
            print("locked", flush=True)
            sys.stdin.readline()
    '''))
    proc = subprocess.Popen([sys.executable, str(holder), str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, env=_env(), cwd=REPO)
    assert proc.stdout is not None and proc.stdin is not None
    assert proc.stdout.readline().strip() == "locked"
    doc = Document.load(path)
    try:
        with pytest.raises(FasterPyError, match="being written by another FasterPy session"):
            if how == "tui":
                doc.write(new)
            else:
                from graph.api import write_result
                from graph.result import OptimizeResult

                write_result(OptimizeResult("optimized", str(path), "r", "function", original_source=old,
                                            new_source=new))
        assert path.read_text() == old and not _backups(path)
    finally:
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(timeout=30)
    assert not lock_path(path).exists()  # the holder removed its lock file
    doc.write(new)  # and once it is gone the write goes through
    assert path.read_text() == new and [b.read_text() for b in _backups(path)] == [old]


@pytest.mark.parametrize("how", ["api", "tui"])
def test_two_sessions_accepting_at_once_one_wins_the_other_refuses(tmp_path: Path, writer: Path, how: str) -> None:
    old, _ = _sources(20_000)
    path = tmp_path / "target.py"
    versions = []
    for who in ("a", "b"):
        f = tmp_path / f"new_{who}.txt"
        f.write_text(old.replace("return x", f"return x  # {who}"))
        versions.append(f)
    for _round in range(6):
        for p in list(tmp_path.iterdir()):
            if p.name.startswith("target.py"):
                p.unlink()
        path.write_text(old)
        procs = [_start(writer, how, path, f) for f in versions]
        for proc in procs:
            _go(proc)
        reports = [_finish(proc) for proc in procs]
        won = [r for r in reports if "backup" in r]
        refused = [r for r in reports if "error" in r]
        assert len(won) == 1 and len(refused) == 1, reports
        assert refused[0]["type"] == "FasterPyError"
        assert ("another FasterPy session" in refused[0]["error"] or "changed on disk" in refused[0]["error"])
        assert path.read_text() in (versions[0].read_text(), versions[1].read_text())
        assert [b.read_text() for b in _backups(path)] == [old]  # one backup, of the original


def test_exclusive_is_reentrant_across_processes_only_once(tmp_path: Path) -> None:
    path = tmp_path / "f.py"
    path.write_text("x\n")
    with exclusive(path):
        with pytest.raises(FasterPyError, match="another FasterPy session"), exclusive(path):
            pass
    with exclusive(path):  # released and removed: free again
        pass
    assert not lock_path(path).exists()
