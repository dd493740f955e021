"""`input()` → `sys.stdin.readline()`: input() goes through extra checks and prompt handling on every
call; readline on the buffered stream is several times faster for line-by-line reading."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    Rewrite,
    fresh_name,
    parent,
    replace_node,
    set_parents,
)

# Consumers that ignore a trailing newline, so the raw readline() result can go in directly.
_WS_FUNCS = {"int", "float", "eval"}
_WS_METHODS = {"split", "strip", "rstrip"}


def _newline_insensitive(call: ast.Call) -> bool:
    p = parent(call)
    if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id in _WS_FUNCS:
        return len(p.args) == 1 and not p.keywords and p.args[0] is call
    if isinstance(p, ast.Attribute) and p.attr in _WS_METHODS:
        gp = parent(p)
        return isinstance(gp, ast.Call) and gp.func is p and not gp.args and not gp.keywords
    return False


def _top_index(tree: ast.Module) -> int:
    """Index just after the module docstring and `from __future__` imports."""
    at = 0
    while at < len(tree.body):
        s = tree.body[at]
        is_doc = at == 0 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)
        if is_doc or (isinstance(s, ast.ImportFrom) and s.module == "__future__"):
            at += 1
            continue
        break
    return at


def _ensure_import_sys(tree: ast.Module) -> int | None:
    """Index of a module-level `import sys` that runs before any other code (added at the top when
    the program has none there); None if `sys` means something else in this program."""
    at = _top_index(tree)
    k = at
    while k < len(tree.body) and isinstance(tree.body[k], (ast.Import, ast.ImportFrom)):
        if isinstance(imp := tree.body[k], ast.Import) and any(a.name == "sys" and a.asname is None for a in imp.names):
            return k
        k += 1
    has_sys_import = any(
        isinstance(st, ast.Import) and any(a.name == "sys" and a.asname is None for a in st.names) for st in ast.walk(tree)
    )
    if not has_sys_import and any(isinstance(n, ast.Name) and n.id == "sys" for n in ast.walk(tree)):
        return None
    if any(isinstance(n, ast.arg) and n.arg == "sys" for n in ast.walk(tree)):
        return None
    # an `import sys` later in the file (or none): import it up front too, before the first read
    tree.body.insert(at, ast.Import(names=[ast.alias(name="sys")]))
    return at


def apply(tree: ast.Module) -> bool:
    set_parents(tree)
    # input rebound anywhere (e.g. `input = sys.stdin.readline` already) → leave it alone
    if any(isinstance(n, ast.Name) and n.id == "input" and not isinstance(n.ctx, ast.Load) for n in ast.walk(tree)):
        return False
    if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == "input" for n in ast.walk(tree)):
        return False
    calls = [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "input"
        and not n.args and not n.keywords
    ]
    if not calls:
        return False
    # A program that catches EOFError relies on input()'s end-of-file behaviour: keep it exact.
    catches_eof = any(isinstance(n, ast.Name) and n.id == "EOFError" for n in ast.walk(tree))
    sys_at = _ensure_import_sys(tree)
    if sys_at is None:
        return False
    set_parents(tree)
    helper: str | None = None
    for call in calls:
        if _newline_insensitive(call) and not catches_eof:
            new: ast.expr = _readline()
        else:
            if helper is None:
                helper = fresh_name(tree, "_input")
            new = ast.Call(func=ast.Name(id=helper, ctx=ast.Load()), args=[], keywords=[])
        replace_node(call, new)
    if helper is not None:
        tree.body[sys_at + 1:sys_at + 1] = helper_def(helper)
    return True


def _readline() -> ast.expr:
    return ast.Call(
        func=ast.Attribute(
            value=ast.Attribute(value=ast.Name(id="sys", ctx=ast.Load()), attr="stdin", ctx=ast.Load()),
            attr="readline", ctx=ast.Load(),
        ),
        args=[], keywords=[],
    )


def helper_def(name: str) -> list[ast.stmt]:
    # Same contract as input(): strip exactly one trailing newline, EOFError at end of input.
    # sys.stdin is looked up per call: a caller may swap it after import (tests, the harness).
    src = (
        f"def {name}():\n"
        "    line = sys.stdin.readline()\n"
        "    if not line:\n"
        "        raise EOFError('EOF when reading a line')\n"
        "    return line[:-1] if line[-1] == '\\n' else line\n"
    )
    return ast.parse(src).body


REWRITE = Rewrite(
    name="fast_input",
    title="read stdin with sys.stdin.readline instead of input()",
    conditions=(
        "input() is never rebound; calls with a prompt are left alone; the raw line goes in only where "
        "its newline cannot matter (int(), float(), .split(), .strip(), .rstrip()) and the program never "
        "names EOFError; elsewhere a helper strips one newline and raises EOFError like input()"
    ),
    keywords=("input", "stdin", "readline", "read all", "i/o", "io ", "reading"),
    apply=apply,
)
