"""`x in <list>` → `x in <set>`: a hash lookup instead of a linear scan, for list literals of
constants and for lists built once and never changed afterwards."""

from __future__ import annotations

import ast
from typing import TypeGuard

from graph.backends.rules.core import (
    COMPREHENSIONS,
    LOOPS,
    Rewrite,
    ancestors,
    bindings_in_scope,
    declared_global_or_nonlocal,
    enclosing_scope,
    fresh_name,
    parent,
    rebound_anywhere,
    set_parents,
    walk_scope,
)

# Calls that read a list without changing it or keeping a reference that could.
_READERS = {"len", "sum", "min", "max", "sorted", "set", "frozenset", "tuple", "list", "print",
            "any", "all", "enumerate", "reversed", "zip", "map", "filter", "str", "repr", "bool"}
_LIST_METHODS_READ = {"count", "index", "copy"}


def _hashable_literal(node: ast.AST) -> TypeGuard[ast.List | ast.Tuple]:
    return isinstance(node, (ast.List, ast.Tuple)) and len(node.elts) >= 3 and all(
        isinstance(e, ast.Constant) and isinstance(e.value, (int, str)) and not isinstance(e.value, bool)
        for e in node.elts
    )


def _in_loop(node: ast.AST, scope: ast.AST) -> bool:
    for a in ancestors(node):
        if a is scope:
            return False
        if isinstance(a, LOOPS + COMPREHENSIONS):
            return True
    return False


def _literals(tree: ast.Module) -> bool:
    changed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            for i, (op, right) in enumerate(zip(node.ops, node.comparators)):
                if isinstance(op, (ast.In, ast.NotIn)) and _hashable_literal(right):
                    node.comparators[i] = ast.Set(elts=right.elts)
                    changed = True
    return changed


def _list_var_uses_ok(scope: ast.AST, name: str, bind: ast.Name) -> list[ast.Compare] | None:
    """The membership tests on `name` if every other use only reads it; None if it may change."""
    tests: list[ast.Compare] = []
    # nested functions could mutate it through a closure or as a global: look at all of them too
    for n in ast.walk(scope):
        if not (isinstance(n, ast.Name) and n.id == name) or n is bind:
            continue
        p = parent(n)
        if isinstance(p, ast.Compare) and n in p.comparators:
            k = p.comparators.index(n)
            if isinstance(p.ops[k], (ast.In, ast.NotIn)):
                tests.append(p)
                continue
            continue  # == etc. only reads
        if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id in _READERS and n in p.args:
            continue
        if isinstance(p, ast.Attribute) and p.attr in _LIST_METHODS_READ:
            continue
        if isinstance(p, ast.Subscript) and p.value is n and isinstance(p.ctx, ast.Load):
            continue
        if isinstance(p, (ast.For, ast.comprehension)) and p.iter is n:
            continue
        return None  # passed elsewhere, mutated, aliased, rebound...
    same_scope = {id(n) for n in walk_scope(scope)}
    if any(id(t) not in same_scope for t in tests):
        return None  # a nested function's `name` may be another variable: leave it all alone
    return tests


def _built_once(tree: ast.Module) -> bool:
    changed = False
    taken: set[str] = set()
    for assign in [n for n in ast.walk(tree) if isinstance(n, ast.Assign)]:
        if len(assign.targets) != 1 or not isinstance(assign.targets[0], ast.Name):
            continue
        target = assign.targets[0]
        v = assign.value
        builds_list = isinstance(v, (ast.List, ast.ListComp)) or (
            isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "list"
        ) or (isinstance(v, ast.Call) and isinstance(v.func, ast.Attribute) and v.func.attr == "split")
        if not builds_list:
            continue
        scope = enclosing_scope(assign)
        name = target.id
        if len(bindings_in_scope(scope, name)) != 1 or name in declared_global_or_nonlocal(tree):
            continue
        body = parent(assign)
        stmts = getattr(body, "body", None)
        if not isinstance(stmts, list) or assign not in stmts:
            continue
        if isinstance(scope, ast.Module):
            # functions could read the global list: every use in the module must be a read
            if any(isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load) and n is not target
                   for n in ast.walk(tree)):
                continue
        tests = _list_var_uses_ok(tree if isinstance(scope, ast.Module) else scope, name, target)
        if not tests or not any(_in_loop(t, scope) for t in tests):
            continue
        set_name = fresh_name(tree, f"{name}_set", taken)
        for t in tests:
            for k, c in enumerate(t.comparators):
                if isinstance(c, ast.Name) and c.id == name and isinstance(t.ops[k], (ast.In, ast.NotIn)):
                    t.comparators[k] = ast.Name(id=set_name, ctx=ast.Load())
        at = stmts.index(assign) + 1
        stmts.insert(at, ast.Assign(
            targets=[ast.Name(id=set_name, ctx=ast.Store())],
            value=ast.Call(func=ast.Name(id="set", ctx=ast.Load()), args=[ast.Name(id=name, ctx=ast.Load())], keywords=[]),
        ))
        changed = True
    return changed


def apply(tree: ast.Module) -> bool:
    if rebound_anywhere(tree, ("set", "list")):
        return False
    set_parents(tree)
    a = _literals(tree)
    set_parents(tree)
    b = _built_once(tree)
    return a or b


REWRITE = Rewrite(
    name="set_membership",
    title="membership tests against a set instead of a list",
    conditions=(
        "list literals of 3+ int/str constants become set literals; a list variable bound exactly once "
        "(literal, comprehension, list(...), .split()) gets a set copy only when it is never mutated, "
        "rebound, aliased or passed to anything but read-only builtins, and is tested inside a loop"
    ),
    keywords=("set", "membership", "lookup", " in ", "hash", "contains", "linear search"),
    apply=apply,
)
