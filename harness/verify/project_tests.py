"""`--test-cmd`: the user's own tests run against a candidate in a temporary copy of the project,
never in the user's tree — and, traced, against the original to measure which lines they execute."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
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


def _argv(test_cmd: str) -> list[str]:
    try:
        argv = shlex.split(test_cmd)
    except ValueError as exc:
        raise FasterPyError(f"cannot parse --test-cmd {test_cmd!r}: {exc} — check its quoting") from exc
    if not argv:
        raise FasterPyError("--test-cmd is empty — pass e.g. --test-cmd \"pytest -q tests/\"")
    if argv[0] in ("python", "python3") and shutil.which(argv[0]) is None:
        argv[0] = sys.executable
    if argv[0] in ("pytest", "py.test") and shutil.which(argv[0]) is None:
        argv = [sys.executable, "-m", "pytest", *argv[1:]]
    return argv


def _run_in_copy(test_cmd: str, path: str | os.PathLike[str], new_source: str,
                 project_root: str | os.PathLike[str] | None, timeout_s: float,
                 trace_targets: list[str] | None = None) -> tuple[int | None, str, float, dict[str, set[int]]]:
    """Run the test command in a temporary copy of the project with `new_source` as the file.
    Returns (exit status or None on timeout, output, seconds, lines executed per target — only with
    `trace_targets`: a sitecustomize in the copy runs _tracer.py's LineRecorder in each process)."""
    argv = _argv(test_cmd)
    path = Path(path).resolve()
    root = Path(project_root).resolve() if project_root else find_project_root(path)
    try:
        rel = path.relative_to(root)
    except ValueError as exc:
        raise FasterPyError(f"{path} is not inside the project {root} — pass the right project root") from exc
    with tempfile.TemporaryDirectory(prefix="fasterpy-tests-") as tmp:
        copy = Path(tmp) / root.name
        shutil.copytree(root, copy, ignore=_COPY_IGNORE, symlinks=True)
        target = copy / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(new_source.encode("utf-8"))
        env = dict(os.environ)
        # The copy shadows an editable install of the user's own project.
        extra = [str(copy)] + ([str(copy / "src")] if (copy / "src").is_dir() else [])
        lines_dir = Path(tmp) / "lines"
        if trace_targets:
            from harness.verify.capture import TRACER

            site = Path(tmp) / "site"
            site.mkdir()
            lines_dir.mkdir()
            (site / "sitecustomize.py").write_text(TRACER.read_text(encoding="utf-8")
                                                   + "\n_start_line_recorder_from_env()\n", encoding="utf-8")
            extra.insert(0, str(site))
            env["FASTERPY_TRACE_LINES"] = json.dumps({"path": str(target), "targets": list(trace_targets),
                                                      "out": str(lines_dir)})
        env["PYTHONPATH"] = os.pathsep.join(extra + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        started = time.monotonic()
        try:
            proc = subprocess.Popen(argv, cwd=copy, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        except FileNotFoundError as exc:
            raise FasterPyError(f"--test-cmd: {argv[0]!r} not found — give a command on PATH") from exc
        code: int | None
        try:
            out, _ = proc.communicate(timeout=timeout_s)
            code = proc.returncode
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
            code = None
        lines: dict[str, set[int]] = {}
        for f in sorted(lines_dir.glob("lines-*.json")) if trace_targets else ():
            try:
                for t, seen in json.loads(f.read_text(encoding="utf-8")).items():
                    lines.setdefault(t, set()).update(seen)
            except (OSError, ValueError):
                continue
        return code, out.decode("utf-8", "replace"), time.monotonic() - started, lines


def sandbox_read_roots(path: str | os.PathLike[str] | None = None,
                       project_root: str | os.PathLike[str] | None = None,
                       extra: Sequence[str | os.PathLike[str] | None] = ()) -> tuple[str, ...]:
    """What a candidate run in the sandbox may read besides the interpreter and its libraries: the
    project folder of `path` (`project_root`, else find_project_root; a home folder or / found that
    way, e.g. a dotfiles ~/.git, narrows to the file's own folder), the folder above the file's top
    package (where its absolute imports start) and `extra` (test inputs). A `path` that is no file
    (a batch row's label) adds nothing."""
    roots: list[str] = []
    if path is not None and Path(path).is_file():
        file_dir = Path(path).resolve().parent
        root = Path(project_root).resolve() if project_root else find_project_root(path)
        if root in (Path.home().resolve(), Path(root.anchor)) or not file_dir.is_relative_to(root):
            root = file_dir
        roots.append(str(root))
        above = file_dir
        while (above / "__init__.py").is_file() and above.parent != above:
            above = above.parent
        if not above.is_relative_to(root):
            roots.append(str(above))
    roots += [str(Path(p).resolve()) for p in extra if p]
    return tuple(roots)


def run_test_command(test_cmd: str, path: str | os.PathLike[str], new_source: str,
                     project_root: str | os.PathLike[str] | None = None, timeout_s: float = 300.0) -> Verdict | None:
    """Run the user's test command against `new_source` in a temporary copy of the project (never the
    user's tree). Returns None when the tests pass, else a wrong_output/timeout Verdict with the tail."""
    code, text, seconds, _ = _run_in_copy(test_cmd, path, new_source, project_root, timeout_s)
    if code is None:
        return Verdict("timeout", f"The project's tests (`{test_cmd}`) did not finish within {timeout_s:.0f} s "
                       f"with the new code:\n{tail(text)}", details={"test_cmd": test_cmd})
    if code != 0:
        return Verdict("wrong_output", f"The project's tests (`{test_cmd}`) fail with the new code "
                       f"(exit {code}):\n{tail(text, lines=25, chars=2500)}",
                       details={"test_cmd": test_cmd, "test_output": text[-8000:], "test_seconds": seconds})
    return None


def lines_under_tests(test_cmd: str, path: str | os.PathLike[str], source: str, targets: list[str],
                       project_root: str | os.PathLike[str] | None = None,
                       timeout_s: float = 300.0) -> dict[str, set[int]]:
    """The lines of each target function that the user's tests execute with `source` (the original)
    as the file, traced in every Python process the command starts; cached per original."""
    from harness.verify.coverage import cached

    root = str(Path(project_root).resolve()) if project_root else ""
    return cached(["tests", test_cmd, str(Path(path).resolve()), root, source, *targets],
                  lambda: _run_in_copy(test_cmd, path, source, project_root, timeout_s, list(targets))[3])
