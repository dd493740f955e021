"""`--test-cmd`: the user's own tests run against a candidate in a temporary copy of the project,
never in the user's tree."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from harness.errors import FasterPyError
from harness.verify.verdict import Verdict, tail

_COPY_IGNORE = shutil.ignore_patterns(".git", ".hg", ".svn", ".venv", "venv", "env", "__pycache__", "*.pyc",
                                      ".mypy_cache", ".pytest_cache", ".ruff_cache", ".tox", ".nox",
                                      "node_modules", "build", "dist", "*.egg-info")


def find_project_root(path: str | os.PathLike[str]) -> Path:
    """The nearest folder above `path` that looks like a project root (pyproject, setup, .git)."""
    p = Path(path).resolve()
    for d in [p.parent, *p.parent.parents]:
        if any((d / m).exists() for m in ("pyproject.toml", "setup.py", "setup.cfg", ".git", "tox.ini", "pytest.ini")):
            return d
    return p.parent


def run_test_command(test_cmd: str, path: str | os.PathLike[str], new_source: str,
                     project_root: str | os.PathLike[str] | None = None, timeout_s: float = 300.0) -> Verdict | None:
    """Run the user's test command against `new_source` in a temporary copy of the project (never the
    user's tree). Returns None when the tests pass, else a wrong_output/timeout Verdict with the tail."""
    try:
        argv = shlex.split(test_cmd)
    except ValueError as exc:
        raise FasterPyError(f"cannot parse --test-cmd {test_cmd!r}: {exc} — check its quoting") from exc
    if not argv:
        raise FasterPyError("--test-cmd is empty — pass e.g. --test-cmd \"pytest -q tests/\"")
    path = Path(path).resolve()
    root = Path(project_root).resolve() if project_root else find_project_root(path)
    try:
        rel = path.relative_to(root)
    except ValueError as exc:
        raise FasterPyError(f"{path} is not inside the project {root} — pass the right project root") from exc
    if argv[0] in ("python", "python3") and shutil.which(argv[0]) is None:
        argv[0] = sys.executable
    if argv[0] in ("pytest", "py.test") and shutil.which(argv[0]) is None:
        argv = [sys.executable, "-m", "pytest", *argv[1:]]
    with tempfile.TemporaryDirectory(prefix="fasterpy-tests-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy, ignore=_COPY_IGNORE, symlinks=True)
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(new_source.encode("utf-8"))
        env = dict(os.environ)
        # The copy shadows an editable install of the user's own project.
        extra = [str(copy)] + ([str(copy / "src")] if (copy / "src").is_dir() else [])
        env["PYTHONPATH"] = os.pathsep.join(extra + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=copy, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError as exc:
            raise FasterPyError(f"--test-cmd: {argv[0]!r} not found — give a command on PATH") from exc
        try:
            out, _ = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            return Verdict("timeout", f"The project's tests (`{test_cmd}`) did not finish within {timeout_s:.0f} s "
                           f"with the new code:\n{tail(out.decode('utf-8', 'replace'))}",
                           details={"test_cmd": test_cmd})
        text = out.decode("utf-8", "replace")
        if proc.returncode != 0:
            return Verdict("wrong_output", f"The project's tests (`{test_cmd}`) fail with the new code "
                           f"(exit {proc.returncode}):\n{tail(text, lines=25, chars=2500)}",
                           details={"test_cmd": test_cmd, "test_output": text[-8000:],
                                    "test_seconds": time.monotonic() - started})
    return None
