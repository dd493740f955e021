"""Reads fenced in: a pool created with `read_roots` lets a run read the interpreter, its libraries,
its scratch directory and those roots, nothing else (Landlock read rules, set once per worker)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from graph.doctor import check_sandbox
from harness.function import call_function
from harness.pool import WorkerPool, shared_pool
from harness.program import run_program
from harness.verify import VerifyConfig, sandbox_read_roots, verify_program

_READER = r'''
import sys
for path in sys.stdin.read().split():
    try:
        with open(path) as f:
            print(path, "read", f.read().strip())
    except PermissionError:
        print(path, "denied")
'''


@pytest.fixture(scope="module")
def planted() -> dict[str, Path]:
    """A project folder with a module and a data file, and secrets beside it: a tmp dir outside the
    project, and a passwd-like file under /tmp."""
    base = Path(tempfile.mkdtemp(prefix="fasterpy-readfence-"))
    project = base / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'p'\n")
    (project / "data.txt").write_text("project-data\n")
    (project / "helper.py").write_text("FACTOR = 7\n")
    (project / "target.py").write_text("from helper import FACTOR\n\ndef times(x):\n    return x * FACTOR\n")
    outside = base / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("s3cr3t-token\n")
    etc = Path(tempfile.mkdtemp(prefix="fasterpy-etc-")) / "passwd"
    etc.write_text("root:x:0:0:root:/root:/bin/bash\n")
    return {"project": project, "secret": outside / "secret.txt", "passwd": etc}


@pytest.fixture(scope="module")
def fenced(planted: dict[str, Path]):
    with WorkerPool(workers=1, read_roots=[planted["project"]]) as pool:
        if not pool.features.get("read_fenced"):
            pytest.skip("this kernel has no Landlock read rules: reads are not fenced here")
        yield pool


def _read(pool: WorkerPool, *paths: Path) -> dict[str, str]:
    result = run_program(_READER, [" ".join(map(str, paths))], runs=1, drop=0, pool=pool)
    assert result.ok, result.tests[0]
    return {line.split(" ", 1)[0]: line.split(" ", 1)[1] for line in result.stdouts[0].splitlines()}


def test_a_planted_secret_outside_the_project_cannot_be_read(fenced: WorkerPool, planted: dict[str, Path]) -> None:
    seen = _read(fenced, planted["secret"], planted["passwd"], Path("/etc/passwd"), planted["project"] / "data.txt")
    assert seen[str(planted["secret"])] == "denied"
    assert seen[str(planted["passwd"])] == "denied"
    assert seen["/etc/passwd"] == "denied"
    assert seen[str(planted["project"] / "data.txt")] == "read project-data"


def test_the_same_files_are_readable_without_a_fence(planted: dict[str, Path]) -> None:
    # the fence is what denies them: an unfenced pool (the default) still reads everything
    with WorkerPool(workers=1) as pool:
        assert pool.read_roots is None and not pool.features["read_fenced"]
        seen = _read(pool, planted["secret"])
    assert seen[str(planted["secret"])] == "read s3cr3t-token"


def test_the_standard_library_site_packages_locale_and_scratch_still_work(fenced: WorkerPool, planted: dict[str, Path]) -> None:
    program = r'''
import decimal, fractions, json, locale, os, tempfile, time, zoneinfo, email.mime.text
import numpy
locale.setlocale(locale.LC_ALL, "")
print(time.localtime().tm_year > 2000, numpy.arange(4).sum())
with tempfile.NamedTemporaryFile("w", delete=False) as f:
    f.write("scratch")
print(open(f.name).read(), os.path.dirname(f.name) == os.getcwd())
print(sorted(os.listdir(PROJECT)))
try:
    os.listdir(PARENT)
except PermissionError:
    print("parent denied")
'''
    program = f"PROJECT = {str(planted['project'])!r}\nPARENT = {str(planted['project'].parent)!r}\n" + program
    result = run_program(program, [""], runs=1, drop=0, pool=fenced)
    assert result.ok, result.tests[0]
    lines = result.stdouts[0].splitlines()
    assert lines[0] == "True 6"
    assert lines[1] == "scratch True"
    assert "target.py" in lines[2] and "pyproject.toml" in lines[2]
    assert lines[3] == "parent denied"


def test_function_mode_imports_a_module_from_the_project_folder(fenced: WorkerPool, planted: dict[str, Path]) -> None:
    target = planted["project"] / "target.py"
    out = call_function(target.read_text(), "times", [((6,), {})], path=target, pool=fenced)
    assert out[0].status == "ok", out[0].exception
    assert out[0].result == 42


def test_the_verifier_fences_reads_to_the_project(planted: dict[str, Path]) -> None:
    roots = sandbox_read_roots(planted["project"] / "target.py")
    assert roots == (str(planted["project"].resolve()),)
    pool = shared_pool(1, read_roots=roots)
    assert pool is shared_pool(1, read_roots=list(roots))  # keyed by size and roots
    assert pool is not shared_pool(1)
    if not pool.features.get("read_fenced"):
        pytest.skip("this kernel has no Landlock read rules")
    leak = f"print(open({str(planted['secret'])!r}).read())\n"
    verdict = verify_program("print(1)\n", leak, [""], config=VerifyConfig(repeats=3, max_repeats=3), read_roots=roots)
    assert verdict.status == "exception"
    assert "PermissionError" in verdict.feedback
    assert "s3cr3t" not in verdict.feedback


def test_a_home_folder_project_root_narrows_to_the_files_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    (home / ".git").mkdir(parents=True)  # a dotfiles repository makes ~ look like a project
    (home / "scripts").mkdir()
    script = home / "scripts" / "job.py"
    script.write_text("print(1)\n")
    monkeypatch.setenv("HOME", str(home))
    assert sandbox_read_roots(script) == (str((home / "scripts").resolve()),)
    assert sandbox_read_roots("row-17.py", extra=[None]) == ()


def test_doctor_reports_the_read_fence() -> None:
    with WorkerPool(workers=1, read_roots=()) as pool:
        fenced = bool(pool.features["read_fenced"])
    row = {c.name: c for c in check_sandbox()}["sandbox: read fence"]
    assert (row.status == "ok") == fenced
    assert fenced or row.fix
