"""The functions touched since a git ref (`fasterpy optimize --changed [REF]`).

The working tree is compared with REF (`git diff -U0 REF -- '*.py'`). Added and changed lines are
mapped to the functions of the file as it is now; removed lines to the functions of the file as it
was at REF, kept only when that function still exists (a deleted function is not optimized).
Untracked .py files (not ignored) count as wholly new. Functions are the names
graph.source.target_names accepts (module-level defs and methods); a change inside a nested
function counts for the function around it.
"""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

from graph.source import list_functions, target_names
from harness.errors import FasterPyError

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def changed_functions(ref: str = "HEAD", path: str | os.PathLike[str] | None = None, *,
                      cwd: str | os.PathLike[str] | None = None) -> dict[Path, list[str]]:
    """{file: qualnames in source order} for every .py file (or just `path`) with functions touched
    between REF and the working tree. One-line FasterPyError for no git, not a repository, or a ref
    that does not exist."""
    if not ref or ref.startswith("-"):
        raise FasterPyError(f"{ref!r} is not a git ref — give a branch, tag or commit (e.g. --changed HEAD~1)")
    if path is not None and not Path(path).is_file():
        raise FasterPyError(f"{path} is not a file — give the Python file whose changed functions to optimize")
    where = Path(path).resolve().parent if path is not None else Path(cwd or os.getcwd()).resolve()
    top = Path(_git(["rev-parse", "--show-toplevel"], where, not_repo=where).strip())
    if _git_ok(["rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], top) is None:
        raise FasterPyError(f"git ref {ref!r} does not exist in {top} — give a branch, tag or commit "
                            "(e.g. --changed HEAD~1, --changed main); a repository without commits has no HEAD")
    spec = [os.path.relpath(Path(path).resolve(), top)] if path is not None else ["*.py"]
    diff = _git(["-c", "core.quotePath=false", "diff", "-U0", "--no-color", "--no-ext-diff", "--src-prefix=a/",
                 "--dst-prefix=b/", ref, "--", *spec], top)
    touched: dict[Path, list[str]] = {}
    for old, new, old_lines, new_lines in _parse_diff(diff):
        if new is None or not new.endswith(".py"):  # deleted files
            continue
        file = top / new
        now = _read(file)
        if now is None:
            continue
        names = _functions_at(now, new_lines)
        if old is not None and old_lines:
            before = _git_ok(["show", f"{ref}:{old}"], top)
            if before is not None:
                names |= _functions_at(before, old_lines) & set(_targets(now))
        if names:
            touched[file] = [q for q in _targets(now) if q in names]
    untracked = _git(["ls-files", "--others", "--exclude-standard", "-z", "--", *spec], top)
    for rel in filter(None, untracked.split("\0")):
        file = top / rel
        now = _read(file) if rel.endswith(".py") else None
        if now is not None and _targets(now):
            touched[file] = _targets(now)
    return dict(sorted(touched.items()))


def _git(args: list[str], cwd: Path, not_repo: Path | None = None) -> str:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL)
    except FileNotFoundError as exc:
        raise FasterPyError("git is not installed — install git to use --changed, or name the functions with -f") from exc
    if proc.returncode != 0:
        if not_repo is not None:
            raise FasterPyError(f"{not_repo} is not inside a git repository — --changed compares with a git ref; "
                                "run it inside a repository, or name the functions with -f (or pick them with --hot N)")
        last = (proc.stderr.strip().splitlines() or [""])[-1]
        raise FasterPyError(f"git {' '.join(args)} failed: {last} — check the repository")
    return proc.stdout


def _git_ok(args: list[str], cwd: Path) -> str | None:
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, errors="replace",
                          stdin=subprocess.DEVNULL)
    return proc.stdout if proc.returncode == 0 else None


def _unquote(name: str) -> str:
    """A path as git prints it in ---/+++ lines (C-quoted when unusual, with its a/ or b/ prefix)."""
    if name.startswith('"'):
        name = ast.literal_eval("b" + name).decode("utf-8", "replace")
    return name[2:]


def _parse_diff(diff: str) -> list[tuple[str | None, str | None, set[int], set[int]]]:
    """(old path, new path, removed old lines, added new lines) per file of a -U0 diff."""
    files: list[tuple[str | None, str | None, set[int], set[int]]] = []
    old: str | None = None
    for line in diff.splitlines():
        if line.startswith("--- "):
            old = None if line[4:] == "/dev/null" else _unquote(line[4:])
        elif line.startswith("+++ "):
            files.append((old, None if line[4:] == "/dev/null" else _unquote(line[4:]), set(), set()))
        elif line.startswith("@@") and files and (m := _HUNK.match(line)):
            o_start, o_len = int(m.group(1)), int(m.group(2) or 1)
            n_start, n_len = int(m.group(3)), int(m.group(4) or 1)
            files[-1][2].update(range(o_start, o_start + o_len))
            files[-1][3].update(range(n_start, n_start + n_len))
    return files


def _read(file: Path) -> str | None:
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _targets(source: str) -> list[str]:
    try:
        return target_names(source)
    except FasterPyError:  # a syntax error: no functions to optimize there
        return []


def _functions_at(source: str, lines: set[int]) -> set[str]:
    """Qualnames of the optimizable functions whose span (decorators included) holds one of `lines`;
    a line in a nested function belongs to the target around it."""
    targets = set(_targets(source))
    spans = [(i.start_line, i.end_line, i.qualname) for i in list_functions(source) if i.qualname in targets]
    return {q for start, end, q in spans if any(start <= n <= end for n in lines)}
