"""`input()` → `sys.stdin.readline()`: input() goes through extra checks and prompt handling on every
call; readline on the buffered stream is several times faster for line-by-line reading."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    Rewrite,
    bindings_in_scope,
    fresh_name,
    parent,
    replace_node,
    set_parents,
)

# Consumers that ignore a trailing newline, so the raw readline() result can go in directly.
_WS_FUNCS = {"int", "float"}
_WS_METHODS = {"split", "strip", "rstrip"}


def _newline_insensitive(call: ast.Call) -> bool:
    p = parent(call)
    if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id in _WS_FUNCS:
        return len(p.args) == 1 and not p.keywords and p.args[0] is call
    if isinstance(p, ast.Attribute) and p.attr in _WS_METHODS:
        gp = parent(p)
        return isinstance(gp, ast.Call) and gp.func is p and not gp.args and not gp.keywords
    return False


def _ensure_import_sys(tree: ast.Module) -> bool:
    """Add `import sys` unless it is already imported at module level; False if `sys` means
    something else here."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Import) and any(a.name == "sys" and a.asname is None for a in stmt.names):
            return True
    if bindings_in_scope(tree, "sys") or any(isinstance(n, ast.Name) and n.id == "sys" for n in ast.walk(tree)):
        return False
    at = 0
    while at < len(tree.body):
        s = tree.body[at]
        is_doc = at == 0 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant) and isinstance(s.value.value, str)
        if is_doc or (isinstance(s, ast.ImportFrom) and s.module == "__future__"):
            at += 1
            continue
        break
    tree.body.insert(at, ast.Import(names=[ast.alias(name="sys")]))
    return True


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
    if not _ensure_import_sys(tree):
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
        tree.body[_after_imports(tree):_after_imports(tree)] = _helper_def(helper)
    return True


def _readline() -> ast.expr:
    return ast.Call(
        func=ast.Attribute(
            value=ast.Attribute(value=ast.Name(id="sys", ctx=ast.Load()), attr="stdin", ctx=ast.Load()),
            attr="readline", ctx=ast.Load(),
        ),
        args=[], keywords=[],
    )


def _helper_def(name: str) -> list[ast.stmt]:
    # Same contract as input(): strip exactly one trailing newline, EOFError at end of input.
    src = (
        f"def {name}(readline=sys.stdin.readline):\n"
        "    line = readline()\n"
        "    if not line:\n"
        "        raise EOFError('EOF when reading a line')\n"
        "    return line[:-1] if line[-1] == '\\n' else line\n"
    )
    return ast.parse(src).body


def _after_imports(tree: ast.Module) -> int:
    at = 0
    for i, s in enumerate(tree.body):
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            at = i + 1
        elif i == 0 and isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant):
            at = 1
    return at


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
