"""The `--driver` command line: what it may be, and running it under cProfile.

A driver is the file's own `__main__` block (driver None), or `python bench.py …`,
`python -m pkg.bench …`, `pytest tests/x.py …` / `python -m pytest …`. harness/verify/_tracer.py
runs it in the driver subprocess — under the call recorder for capture (capture.py), or under
cProfile here (harness/verify/_profiler.py reuses the tracer's runner).
"""

from __future__ import annotations

import ast
import json
import os
import pstats
import re
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import FasterPyError

PROFILER = Path(__file__).with_name("_profiler.py")

DRIVER_HOW = ('give a driver that calls it, e.g. --driver "python bench.py" or --driver "pytest tests/test_x.py", '
              "or add an `if __name__ == \"__main__\":` block that calls it")


def has_main_block(source: str) -> bool:
    """Whether the module has an `if __name__ == "__main__":` block."""
    tree = ast.parse(source.removeprefix("\ufeff"))
    for stmt in tree.body:
        if isinstance(stmt, ast.If):
            text = ast.unparse(stmt.test)
            if "__name__" in text and "__main__" in text:
                return True
    return False


def check_driver(driver: str, cwd: str | os.PathLike[str] | None = None) -> list[str]:
    """The driver's argv, or a one-line FasterPyError: unparsable, empty, not python/pytest, or a
    `python SCRIPT` whose script is not found (relative to `cwd`, when given)."""
    try:
        argv = shlex.split(driver)
    except ValueError as exc:
        raise FasterPyError(f"cannot parse the driver command {driver!r}: {exc} — check its quoting") from exc
    if not argv:
        raise FasterPyError("the driver command is empty — " + DRIVER_HOW)
    exe = os.path.basename(argv[0])
    if not (exe.startswith("python") or exe in ("pytest", "py.test")):
        raise FasterPyError(f"the driver must be a `python …` or `pytest …` command line, not {argv[0]!r} — "
                            "FasterPy runs it in-process under its call recorder")
    if exe.startswith("python") and cwd is not None:
        script = next((a for a in argv[1:] if not a.startswith("-")), None)
        if argv[1:2] != ["-m"] and script is not None and not (Path(cwd) / script).is_file():
            raise FasterPyError(f"the driver {driver!r} runs {script}, which is not found in {cwd} — "
                                "check the script's path (it is relative to the current directory)")
    return argv


@dataclass
class ProfiledRun:
    """cProfile's raw table ({(file, line, name): (primitive calls, calls, self s, cum s, callers)})
    and the driver's wall time. File names are as the code objects hold them (may be relative to cwd)."""

    stats: dict[tuple[str, int, str], tuple[Any, ...]]
    wall_s: float
    cwd: str


_PYTEST_NOT_FOUND = re.compile(r"(?:file or directory not found|module or package not found): (\S+)")


def profile_run(driver: str | None, path: str | os.PathLike[str] | None = None, *,
                cwd: str | os.PathLike[str] | None = None, timeout_s: float = 300.0) -> ProfiledRun:
    """Run the driver (or, for None, the `__main__` block of `path`) under cProfile in a subprocess.
    One-line FasterPyError when the driver is not found, crashes, exits non-zero or times out."""
    workdir = str(Path(cwd).resolve()) if cwd is not None else os.getcwd()
    file = str(Path(path).resolve()) if path is not None else ""
    if driver:
        check_driver(driver, workdir)
        who = f"the driver {driver!r}"
    else:
        if not file:
            raise FasterPyError("nothing to run — give a driver (--driver \"python script.py\" or "
                                "--driver \"pytest tests/\") or a FILE with an `if __name__ == \"__main__\":` block")
        if not has_main_block(Path(file).read_text(encoding="utf-8")):
            raise FasterPyError(f"{file} has no `if __name__ == \"__main__\":` block to run — {DRIVER_HOW}")
        who = f"the __main__ block of {Path(file).name}"
    with tempfile.TemporaryDirectory(prefix="fasterpy-profile-") as tmp:
        spec_path = os.path.join(tmp, "spec.json")
        out = os.path.join(tmp, "run")
        with open(spec_path, "w") as fh:
            json.dump({"path": file, "driver": driver, "out": out}, fh)
        env = dict(os.environ)
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the user's tree
        env.pop("PYTHONSTARTUP", None)
        try:
            proc = subprocess.run([sys.executable, str(PROFILER), spec_path], cwd=workdir, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, errors="replace",
                                  timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            raise FasterPyError(f"{who} ran longer than {timeout_s:.0f} s under the profiler — "
                                "use a shorter driver or raise the timeout") from exc
        if not os.path.exists(out + ".json"):
            last = (proc.stderr or proc.stdout or "").strip().splitlines()[-1:] or [""]
            raise FasterPyError(f"the profiled process died (exit {proc.returncode}) {last[0]} — fix the driver "
                                "or give another with --driver")
        with open(out + ".json") as fh:
            report = json.load(fh)
        error = report.get("error")
        if error:
            raise FasterPyError(_describe_failure(who, error, proc.stdout + "\n" + proc.stderr, workdir))
        stats = pstats.Stats(out + ".prof").stats  # type: ignore[attr-defined]
    return ProfiledRun(stats=stats, wall_s=float(report["wall_s"]), cwd=workdir)


def _describe_failure(who: str, error: dict[str, Any], output: str, cwd: str) -> str:
    """One line: what failed and what to do."""
    kind, message, where = error.get("kind"), error.get("message", ""), error.get("where")
    if kind == "pytest":
        missing = _PYTEST_NOT_FOUND.search(output)
        if missing:
            return (f"{who} names {missing.group(1)}, which pytest did not find in {cwd} — "
                    "check the test path (it is relative to the current directory)")
        return f"{who} failed: {message} — run it by hand to see why, then fix it or give another with --driver"
    if kind == "crash" and where is None and error.get("type") in ("FileNotFoundError", "ImportError",
                                                                   "ModuleNotFoundError"):
        return f"{who} is not found: {message} — check the script or module name (relative to {cwd})"
    if kind == "crash":
        at = f" (at {where})" if where else ""
        return f"{who} crashed: {error.get('type')}: {message}{at} — fix it, or give a working driver with --driver"
    return f"{who} failed: {message} — fix it, or give a working driver with --driver"
