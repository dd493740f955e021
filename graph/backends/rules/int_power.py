"""`i ** 2` → `i * i` (and `** 3`) where `i` is surely an int: a multiplication instead of the
generic power routine, several times cheaper in a hot loop (3.11).

Only for names every binding of which, in their scope, is a `for` (or comprehension) over the
builtin `range`: range yields exact ints, and int multiplication is exact, so the result is the
same int. A float would not do: pow() and repeated multiplication may round differently.
"""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    COMPREHENSIONS,
    Rewrite,
    ancestors,
    bindings_in_scope,
    declared_global_or_nonlocal,
    is_call_to,
    parent,
    rebound_anywhere,
    set_parents,
    walk_scope,
)

_EXPONENTS = (2, 3)


def _owner(node: ast.AST, name: str, scope: ast.AST) -> ast.AST | None:
    """The comprehension whose own variable `name` is at `node`, or None: the scope's `name`. A
    comprehension's variables are its own; only its first iterable is evaluated outside it."""
    inner = node
    for a in ancestors(node):
        if a is scope:
            return None
        if isinstance(a, COMPREHENSIONS) and inner is not a.generators[0].iter:
            if any(isinstance(t, ast.Name) and t.id == name for g in a.generators for t in ast.walk(g.target)):
                return a
        inner = a
    return None


def _comprehension_range_bound(comp: ast.AST, name: str) -> bool:
    """Every target in `comp` binding `name` is a whole target over range(...) (no walrus binds it there:
    a walrus binds in the enclosing scope, which bindings_in_scope covers)."""
    gens = comp.generators  # type: ignore[attr-defined]
    binding = [g for g in gens if any(isinstance(t, ast.Name) and t.id == name for t in ast.walk(g.target))]
    return all(isinstance(g.target, ast.Name) and is_call_to(g.iter, "range") for g in binding)


def _range_bound(scope: ast.AST, name: str) -> bool:
    """Every binding of `name` in `scope` itself (not a comprehension's own variable) is the whole
    target of a for loop over range(...)."""
    binds = [b for b in bindings_in_scope(scope, name) if not isinstance(parent(b), ast.comprehension)
             and not any(isinstance(a, ast.comprehension) and b in ast.walk(a.target) for a in ancestors(b))]
    if not binds:
        return False
    for b in binds:
        p = parent(b)
        if not (isinstance(b, ast.Name) and isinstance(b.ctx, ast.Store)):
            return False
        if isinstance(p, ast.For) and p.target is b and is_call_to(p.iter, "range"):
            continue
        return False
    return True


def _scopes(tree: ast.Module) -> list[ast.AST]:
    return [tree, *(n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)))]


def apply(tree: ast.Module) -> bool:
    if rebound_anywhere(tree, ("range",)):
        return False
    set_parents(tree)
    shared = declared_global_or_nonlocal(tree)  # rebound from another scope: not provable here
    changed = False
    for scope in _scopes(tree):
        # the scope's own code: a function's body, not its defaults and decorators (they run outside)
        nodes = [n for s in scope.body for n in [s, *walk_scope(s)]]  # type: ignore[attr-defined]
        proven: dict[tuple[int, str], bool] = {}
        for n in nodes:
            if not (isinstance(n, ast.BinOp) and isinstance(n.op, ast.Pow) and isinstance(n.left, ast.Name)
                    and isinstance(n.right, ast.Constant) and type(n.right.value) is int
                    and n.right.value in _EXPONENTS):
                continue
            name = n.left.id
            if name in shared:
                continue
            owner = _owner(n, name, scope)
            key = (id(owner), name)
            if key not in proven:
                proven[key] = (_range_bound(scope, name) if owner is None
                               else _comprehension_range_bound(owner, name))
            if not proven[key]:
                continue
            product: ast.expr = ast.Name(id=name, ctx=ast.Load())
            for _ in range(n.right.value - 1):
                product = ast.BinOp(left=product, op=ast.Mult(), right=ast.Name(id=name, ctx=ast.Load()))
            n.op, n.left, n.right = product.op, product.left, product.right  # type: ignore[attr-defined]
            changed = True
    return changed


REWRITE = Rewrite(
    name="int_power",
    title="i ** 2 → i * i for range() loop variables",
    conditions=(
        "the base is a name every binding of which in its scope is the whole target of a for loop or "
        "comprehension over the builtin range (so an exact int), never declared global/nonlocal; range "
        "never rebound; exponent the constant 2 or 3"
    ),
    keywords=("**", "power", "pow", "square", "multiplication", "arithmetic"),
    apply=apply,
)
