"""String `s += piece` in a loop → collect pieces in a list and `"".join` once after the loop:
repeated concatenation can copy the whole string every iteration."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    LOOPS,
    Loop,
    Rewrite,
    declared_global_or_nonlocal,
    fresh_name,
    inside_try,
    names_loaded,
    rebound_anywhere,
    set_parents,
    stmt_lists,
    walk_body,
    walk_scope,
)


def _accumulations(loop: Loop, name: str) -> list[ast.stmt] | None:
    """The `name += e` / `name = name + e` statements in the loop, if they are its only uses."""
    found: list[ast.stmt] = []
    for n in walk_body(loop.body):
        if isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name) and n.target.id == name:
            if not isinstance(n.op, ast.Add) or name in names_loaded(walk_scope(n.value)) | _own(n.value, name):
                return None
            found.append(n)
        elif (isinstance(n, ast.Assign) and len(n.targets) == 1 and isinstance(n.targets[0], ast.Name)
              and n.targets[0].id == name):
            rest = _rest_after(n.value, name)
            if rest is None:
                return None
            found.append(n)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            if name in {x.id for x in ast.walk(n) if isinstance(x, ast.Name)}:
                return None
    # any other mention of the name (a read) means the partial string is observed
    mentions = sum(1 for n in walk_body(loop.body) if isinstance(n, ast.Name) and n.id == name)
    expected = sum(1 if isinstance(s, ast.AugAssign) else 2 for s in found)
    if mentions != expected or not found:
        return None
    return found


def _own(node: ast.AST, name: str) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and n.id == name}


def _add_chain(node: ast.expr) -> list[ast.expr]:
    """`a + b + c` (left-nested) → [a, b, c]."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return [*_add_chain(node.left), node.right]
    return [node]


def _rest_after(value: ast.expr, name: str) -> ast.expr | None:
    """For `name + x + y`, the expression `x + y` (same evaluation order); None otherwise."""
    parts = _add_chain(value)
    if len(parts) < 2 or not (isinstance(parts[0], ast.Name) and parts[0].id == name):
        return None
    if any(name in _own(p, name) for p in parts[1:]):
        return None
    rest = parts[1]
    for p in parts[2:]:
        rest = ast.BinOp(left=rest, op=ast.Add(), right=p)
    return rest


def _piece(stmt: ast.stmt) -> ast.expr:
    if isinstance(stmt, ast.AugAssign):
        return stmt.value
    rest = _rest_after(stmt.value, stmt.targets[0].id)  # type: ignore[attr-defined]
    assert rest is not None
    return rest


def apply(tree: ast.Module) -> bool:
    if rebound_anywhere(tree, ("str",)):
        return False
    set_parents(tree)
    changed = False
    shared = declared_global_or_nonlocal(tree)
    taken: set[str] = set()
    for stmts in list(stmt_lists(tree)):
        i = 0
        while i < len(stmts):
            loop = stmts[i]
            if not isinstance(loop, LOOPS) or loop.orelse or inside_try(loop):
                i += 1
                continue
            # the accumulator must be a str constant bound in this block before the loop
            cand = None
            for prev in reversed(stmts[:i]):
                if (isinstance(prev, ast.Assign) and len(prev.targets) == 1 and isinstance(prev.targets[0], ast.Name)
                        and isinstance(prev.value, ast.Constant) and isinstance(prev.value.value, str)):
                    name = prev.targets[0].id
                    between = stmts[stmts.index(prev) + 1:i]
                    if name not in {n.id for s in between for n in ast.walk(s) if isinstance(n, ast.Name)}:
                        cand = name
                        break
            if cand is None or cand in shared:
                i += 1
                continue
            if isinstance(loop, ast.While) and cand in _own(loop.test, cand):
                i += 1
                continue
            accs = _accumulations(loop, cand)
            if not accs:
                i += 1
                continue
            parts = fresh_name(tree, f"{cand}_parts", taken)
            append = fresh_name(tree, f"{parts}_append", taken)
            for acc in accs:
                call = ast.Expr(value=ast.Call(func=ast.Name(id=append, ctx=ast.Load()), args=[_piece(acc)], keywords=[]))
                ast.copy_location(call, acc)
                _swap_stmt(tree, acc, call)
            pre = ast.parse(f"{parts} = [{cand}]\n{append} = {parts}.append").body
            post = ast.parse(f"{cand} = ''.join({parts})").body
            stmts[i:i + 1] = [*pre, loop, *post]
            changed = True
            i += len(pre) + 2
    return changed


def _swap_stmt(tree: ast.Module, old: ast.stmt, new: ast.stmt) -> None:
    for stmts in stmt_lists(tree):
        for k, s in enumerate(stmts):
            if s is old:
                stmts[k] = new
                return
    raise AssertionError("statement not found")


REWRITE = Rewrite(
    name="str_join",
    title="string += in a loop → list of pieces + ''.join",
    conditions=(
        "the accumulator starts as a str constant in the same block, untouched until the loop; inside the "
        "loop it is only extended (s += e / s = s + e, e not mentioning s), never read, not global or "
        "nonlocal, not captured by a nested function; no loop else; not inside try/with (a half-built "
        "string could be observed after an exception)"
    ),
    keywords=("string", "concat", "join", "+=", "str", "append"),
    apply=apply,
)
