"""A loop that only appends to a fresh list → a list comprehension (no method lookup or call per item)."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    Rewrite,
    declared_global_or_nonlocal,
    enclosing_scope,
    inside_try,
    rebound_anywhere,
    set_parents,
    stmt_lists,
    walk_scope,
)


def _append_of(stmt: ast.stmt, name: str) -> ast.expr | None:
    if (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call)
            and isinstance(stmt.value.func, ast.Attribute) and stmt.value.func.attr == "append"
            and isinstance(stmt.value.func.value, ast.Name) and stmt.value.func.value.id == name
            and len(stmt.value.args) == 1 and not stmt.value.keywords
            and not isinstance(stmt.value.args[0], ast.Starred)):
        return stmt.value.args[0]
    return None


def _unwrap(loop: ast.For, name: str) -> tuple[list[ast.comprehension], ast.expr] | None:
    """Nested fors / ifs ending in one `name.append(e)` → comprehension generators and element."""
    gens: list[ast.comprehension] = []
    node: ast.stmt = loop
    while True:
        if isinstance(node, ast.For) and not node.orelse and len(node.body) == 1:
            gens.append(ast.comprehension(target=node.target, iter=node.iter, ifs=[], is_async=0))
            node = node.body[0]
        elif isinstance(node, ast.If) and not node.orelse and len(node.body) == 1 and gens:
            gens[-1].ifs.append(node.test)
            node = node.body[0]
        else:
            break
    elt = _append_of(node, name)
    return (gens, elt) if gens and elt is not None else None


def _has_await_yield_walrus(nodes: list[ast.AST]) -> bool:
    return any(isinstance(n, (ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)) for x in nodes for n in ast.walk(x))


def apply(tree: ast.Module) -> bool:
    if rebound_anywhere(tree, ("list",)):
        return False
    set_parents(tree)
    shared = declared_global_or_nonlocal(tree)
    changed = False
    for stmts in list(stmt_lists(tree)):
        i = 1
        while i < len(stmts):
            init, loop = stmts[i - 1], stmts[i]
            if not (isinstance(init, ast.Assign) and len(init.targets) == 1 and isinstance(init.targets[0], ast.Name)
                    and isinstance(init.value, ast.List) and not init.value.elts and isinstance(loop, ast.For)):
                i += 1
                continue
            name = init.targets[0].id
            found = _unwrap(loop, name)
            scope = enclosing_scope(loop)
            if found is None or name in shared or isinstance(scope, ast.ClassDef) or inside_try(loop):
                i += 1
                continue
            gens, elt = found
            parts: list[ast.AST] = [elt, *(g.iter for g in gens), *(c for g in gens for c in g.ifs)]
            if _has_await_yield_walrus(parts) or any(
                isinstance(n, ast.Name) and n.id == name for p in parts for n in ast.walk(p)
            ):
                i += 1
                continue
            # loop variables leak out of a for loop but not out of a comprehension
            targets = {n.id for g in gens for n in ast.walk(g.target) if isinstance(n, ast.Name)}
            if any(not isinstance(g.target, (ast.Name, ast.Tuple)) for g in gens) or targets & shared:
                i += 1
                continue
            inside = {id(n) for n in ast.walk(loop)}
            # at module level a function could read the leaked variable as a global
            pool = ast.walk(tree) if isinstance(scope, ast.Module) else walk_scope(scope)
            outside_uses = any(
                isinstance(n, ast.Name) and n.id in targets and id(n) not in inside for n in pool
            )
            if outside_uses:
                i += 1
                continue
            comp = ast.ListComp(elt=elt, generators=gens)
            stmts[i - 1:i + 1] = [ast.copy_location(ast.Assign(targets=[ast.Name(id=name, ctx=ast.Store())], value=comp), init)]
            changed = True
    return changed


REWRITE = Rewrite(
    name="comprehension",
    title="list-building loop → list comprehension",
    conditions=(
        "`xs = []` directly followed by for-loops/ifs (no else) whose only statement is `xs.append(e)`; "
        "e, the iterables and conditions do not mention xs and have no await/yield/walrus; the loop "
        "variables are not used outside the loop (a comprehension does not leak them); not in a class "
        "body, not inside try/with, xs not global/nonlocal"
    ),
    keywords=("comprehension", "append", "list", "loop", "build"),
    apply=apply,
)
