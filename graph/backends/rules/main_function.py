"""Module-level script code → `def main(): ...` + `main()`: inside a function every variable is a
fast local (array slot) instead of a dict lookup in the module globals."""

from __future__ import annotations

import ast
import symtable
from typing import TypeGuard

from graph.backends.rules.core import (
    BUILTIN_NAMES,
    COMPREHENSIONS,
    LOOPS,
    PURE_BUILTINS,
    Rewrite,
    fresh_name,
    names_loaded,
    names_stored,
    uses_dynamic_scope,
    walk_body,
)
from graph.backends.rules.data_eval import without_data_evals

_KEEP = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_main_guard(stmt: ast.stmt) -> TypeGuard[ast.If]:
    if not (isinstance(stmt, ast.If) and not stmt.orelse and isinstance(stmt.test, ast.Compare)):
        return False
    t = stmt.test
    sides = [t.left, *t.comparators]
    return (len(t.ops) == 1 and isinstance(t.ops[0], ast.Eq)
            and any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _globals_read_by_nested(source: str, kept_lines: set[int]) -> set[str]:
    """Names that functions/classes defined outside the moved code read or write as globals."""
    out: set[str] = set()

    def visit(table: symtable.SymbolTable, inside_kept: bool) -> None:
        for child in table.get_children():
            kept = inside_kept or child.get_lineno() in kept_lines
            if kept:
                for sym in child.get_symbols():
                    if sym.is_global() or sym.is_declared_global() or (child.get_type() == "class" and sym.is_referenced() and not sym.is_assigned()):
                        out.add(sym.get_name())
            visit(child, kept)

    visit(symtable.symtable(source, "<fasterpy>", "exec"), False)
    return out


def _pure_value(node: ast.AST, kept_names: set[str]) -> bool:
    """A constant-ish expression that can run at import time in any order (no I/O, no user calls)."""
    for n in ast.walk(node):
        if isinstance(n, ast.Call):
            if not (isinstance(n.func, ast.Name) and n.func.id in PURE_BUILTINS):
                return False
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            if n.id not in BUILTIN_NAMES and n.id not in kept_names:
                return False
        elif isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Lambda) + COMPREHENSIONS):
            return False
    return True


def apply(tree: ast.Module) -> bool:
    body = tree.body
    guard = next((s for s in body if _is_main_guard(s)), None)
    if guard is not None:
        moved = list(guard.body)
        kept = [s for s in body if s is not guard]
    else:
        start = 1 if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str) else 0
        moved = [s for s in body[start:] if not isinstance(s, _KEEP)]
        kept = [s for s in body if not any(s is m for m in moved)]
    if not moved or not any(isinstance(n, LOOPS + COMPREHENSIONS) for n in walk_body(moved)):
        return False
    if _uses_dynamic_scope(tree, moved) or any(isinstance(n, (ast.Global, ast.Nonlocal)) for s in moved for n in ast.walk(s)):
        return False
    # keep simple constants that functions read (MOD = 10**9 + 7) at module level
    kept_bound = names_stored(walk_body([s for s in kept if isinstance(s, _KEEP)]))
    needed = _needed_globals(tree, moved)
    for s in list(moved):
        if (isinstance(s, ast.Assign) and all(isinstance(t, ast.Name) for t in s.targets)
                and {t.id for t in s.targets if isinstance(t, ast.Name)} & needed and _pure_value(s.value, kept_bound)):
            moved.remove(s)
            kept_bound |= {t.id for t in s.targets if isinstance(t, ast.Name)}
    if not moved or not any(isinstance(n, LOOPS + COMPREHENSIONS) for n in walk_body(moved)):
        return False
    moved_bound = names_stored(walk_body(moved))
    kept_assigns = [s for s in body if not any(s is m for m in moved) and s is not guard]
    if moved_bound & needed:
        return False
    if moved_bound & names_stored(walk_body(kept_assigns)):
        return False  # kept constants rebound by the script
    if moved_bound & _read_at_import(kept_assigns):
        return False
    if _reads_builtin_before_binding(moved, moved_bound):
        return False
    name = fresh_name(tree, "main")
    fn = ast.FunctionDef(
        name=name, args=ast.arguments(posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]),
        body=moved, decorator_list=[], returns=None, type_params=[],  # type: ignore[call-arg]  # a 3.12 field; 3.11 stubs lack it
    )
    call = ast.Expr(value=ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=[], keywords=[]))
    if guard is not None:
        guard.body = [call]
        idx = body.index(guard)
        tree.body = [*[s for s in body[:idx]], fn, guard, *body[idx + 1:]]
    else:
        tree.body = [*[s for s in body if not any(s is m for m in moved)], fn, call]
    return True


def _uses_dynamic_scope(tree: ast.Module, moved: list[ast.stmt]) -> bool:
    """uses_dynamic_scope, except `eval(input())` (2to3's spelling of Python 2 input, common in PIE):
    the line it evaluates is test data, and any name such data could mention resolves to the same
    object in main() (its locals, then the module's globals) as at module level."""
    return uses_dynamic_scope(without_data_evals(tree, walk_body(moved)))


def _needed_globals(tree: ast.Module, moved: list[ast.stmt]) -> set[str]:
    """Global names read/written by any function or class that is not part of the moved code."""
    ast.fix_missing_locations(tree)  # statements other rewrites built have none; unparse reads them
    src = ast.unparse(tree)
    # line numbers must match the parsed tree: re-parse the unparsed text and map by statement order
    fresh = ast.parse(src)
    moved_idx = {i for i, s in enumerate(tree.body) if any(s is m for m in moved)}
    guard_idx = {i for i, s in enumerate(tree.body) if _is_main_guard(s)}
    kept_lines: set[int] = set()
    for i, s in enumerate(fresh.body):
        if i in moved_idx or i in guard_idx:
            continue
        kept_lines.update(range(s.lineno, (s.end_lineno or s.lineno) + 1))
    return _globals_read_by_nested(src, kept_lines) | _default_and_decorator_reads(tree, moved)


def _default_and_decorator_reads(tree: ast.Module, moved: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for s in tree.body:
        if any(s is m for m in moved):
            continue
        if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for e in [*s.decorator_list, *s.args.defaults, *(d for d in s.args.kw_defaults if d)]:
                out |= names_loaded(ast.walk(e))
        elif isinstance(s, ast.ClassDef):
            for e in [*s.decorator_list, *s.bases]:
                out |= names_loaded(ast.walk(e))
    return out


def _read_at_import(stmts: list[ast.stmt]) -> set[str]:
    out: set[str] = set()
    for s in stmts:
        if isinstance(s, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Expr)):
            out |= names_loaded(ast.walk(s))
    return out


def _reads_builtin_before_binding(moved: list[ast.stmt], bound: set[str]) -> bool:
    """`sum = sum(a)` works at module level but is UnboundLocalError inside a function."""
    risky = bound & BUILTIN_NAMES
    if not risky:
        return False
    first_store: dict[str, tuple[int, int]] = {}
    loads: list[tuple[str, tuple[int, int]]] = []
    for n in walk_body(moved):
        if isinstance(n, ast.Name) and n.id in risky:
            pos = (n.lineno, n.col_offset)
            if isinstance(n.ctx, ast.Load):
                loads.append((n.id, pos))
            else:
                first_store[n.id] = min(first_store.get(n.id, pos), pos)
    for name, pos in loads:
        store = first_store.get(name)
        if store is None or pos[0] <= store[0]:
            return True
    return False


REWRITE = Rewrite(
    name="main_function",
    title="move module-level script code into main() so its variables are locals",
    conditions=(
        "only script statements move (imports, defs and classes stay, as does the __main__ guard, which "
        "then calls main()); the moved code contains a loop; no global/nonlocal, eval/exec/globals/locals "
        "(eval of an input line excepted: it evaluates data), or star import in it; no function, class, "
        "decorator or default outside it reads or writes a name it binds (simple constant assignments such functions need stay at module level); no builtin name "
        "is read before the moved code rebinds it (sum = sum(a))"
    ),
    keywords=("global", "local variable", "function", "main", "scope", "namespace"),
    apply=apply,
)
