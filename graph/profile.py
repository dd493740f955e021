"""Which of the project's functions are slow: a driver run under cProfile, mapped to qualnames.

`profile_driver` runs the driver (the same `--driver` command lines function mode captures inputs
with, or the file's `__main__` block) in a subprocess under cProfile (harness.verify.driver) and
keeps the functions defined in the user's project — not site-packages, the standard library,
FasterPy itself or pytest's test files (test_*.py, *_test.py, conftest.py), which only call the
code worth optimizing — named as graph.source.list_functions names them (`func`, `Class.method`).
`hottest_in_file` picks the N hottest optimizable functions of one file (`optimize --hot N`).
"""

from __future__ import annotations

import os
import sysconfig
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from graph.source import FunctionInfo, list_functions, read_source, target_names
from harness.errors import FasterPyError
from harness.verify.driver import profile_run
from harness.verify.project_tests import find_project_root

_PACKAGES = ("harness", "kb", "graph", "finetune", "fasterpy_tui")  # FasterPy's own code is not the user's
_HERE = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class FunctionTiming:
    qualname: str      # "func" or "Class.method", as graph.source.list_functions names it
    path: str          # absolute file path
    line: int          # 1-based line of the def
    self_s: float      # seconds spent in the function itself
    cum_s: float       # seconds including callees
    calls: int
    share: float       # cum_s / total driver time, 0..1


def profile_driver(driver: str | None, path: str | os.PathLike[str] | None = None, *,
                   cwd: str | os.PathLike[str] | None = None,
                   project_root: str | os.PathLike[str] | None = None,
                   timeout_s: float = 300.0) -> list[FunctionTiming]:
    """Run the driver (a `python …`/`pytest …` command line as for `--driver`, or None = the __main__ block of
    `path`) under cProfile in a subprocess; return the functions defined in files under project_root
    (default: the project root of `path` or cwd), hottest (cum_s) first. FasterPyError (one line, what
    to do) for a driver not found, a driver that crashes, or no function of the project in the profile."""
    workdir = Path(cwd).resolve() if cwd is not None else Path.cwd()
    if path is not None and not Path(path).is_file():
        raise FasterPyError(f"{path} is not a file — give the Python file to profile")
    if project_root is not None:
        root = Path(project_root).resolve()
    else:  # find_project_root looks from a file's folder upwards
        root = find_project_root(path if path is not None else workdir / "__main__.py")
    own = os.path.realpath(path) if path is not None else ""
    run = profile_run(driver, path, cwd=workdir, timeout_s=timeout_s)
    total = max(run.wall_s, 1e-9)
    found: dict[tuple[str, str], list[float]] = {}  # (path, qualname) -> [self, cum, calls, line]
    listings: dict[str, list[FunctionInfo]] = {}
    for (filename, line, name), (_cc, calls, self_s, cum_s, _callers) in run.stats.items():
        if filename.startswith(("<", "~")):  # built-ins, exec'd strings, frozen modules
            continue
        file = os.path.realpath(os.path.join(run.cwd, filename))
        if not _in_project(file, root) or (_is_test_file(file) and file != own):
            continue
        if file not in listings:
            listings[file] = _functions(file)
        fn = _function_at(listings[file], line, name)
        if fn is None:  # module bodies, lambdas, comprehensions
            continue
        acc = found.setdefault((file, fn[0]), [0.0, 0.0, 0, fn[1]])
        acc[0] += self_s
        acc[1] += cum_s
        acc[2] += calls
    if not found:
        who = f"the driver {driver!r}" if driver else f"the __main__ block of {Path(path or '').name}"
        raise FasterPyError(f"the profile of {who} has no function of the project {root} in it — give a driver "
                            "that runs the project's code (--driver \"python script.py\" or --driver \"pytest tests/\"), "
                            "or run from inside the project")
    timings = [FunctionTiming(qualname=q, path=f, line=int(a[3]), self_s=a[0], cum_s=a[1], calls=int(a[2]),
                              share=min(1.0, a[1] / total)) for (f, q), a in found.items()]
    timings.sort(key=lambda t: (-t.cum_s, -t.self_s, t.path, t.line))
    return timings


def hottest_in_file(timings: list[FunctionTiming], path: str | os.PathLike[str], n: int) -> list[FunctionTiming]:
    """The `n` hottest functions of `path` that can be optimize targets (module level and methods, not
    functions nested in functions). FasterPyError when the profile has none of them."""
    file = os.path.realpath(path)
    targets = set(target_names(read_source(file), str(path)))
    mine = [t for t in timings if t.path == file and t.qualname in targets]
    if not mine:
        raise FasterPyError(f"the driver never called a function of {path} — give a driver that does with "
                            "--driver, or name the functions with -f")
    return mine[:n]


def _in_project(file: str, root: Path) -> bool:
    p = Path(file)
    if not p.is_relative_to(root) or any(part in ("site-packages", "dist-packages") for part in p.parts):
        return False
    if any(p.is_relative_to(lib) for lib in _library_dirs()):
        return False
    return not any(p.is_relative_to(_HERE / pkg) for pkg in _PACKAGES)


def _is_test_file(file: str) -> bool:
    name = os.path.basename(file)
    return name == "conftest.py" or (name.startswith("test_") or name.endswith("_test.py")) and name.endswith(".py")


@cache
def _library_dirs() -> tuple[Path, ...]:
    paths = sysconfig.get_paths()
    return tuple({Path(os.path.realpath(paths[k])) for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths})


def _function_at(infos: list[FunctionInfo], line: int, name: str) -> tuple[str, int] | None:
    """(qualname, def line) of the function `name` whose definition starts at `line` (cProfile's line
    is the code object's first line: the first decorator's, or the `def`'s)."""
    for info in infos:
        if info.name == name and info.start_line <= line <= info.def_line:
            return info.qualname, info.def_line
    return None


def _functions(file: str) -> list[FunctionInfo]:
    try:
        source = Path(file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return list_functions(source)
