"""Repeated pure calls with the same arguments → cached: a pure, tree-recursive module-level
function gets `@functools.lru_cache(maxsize=None)`, so each distinct argument tuple is computed once."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    BUILTIN_NAMES,
    PURE_BUILTINS,
    Rewrite,
    bindings_in_scope,
    declared_global_or_nonlocal,
    fresh_name,
    names_stored,
    walk_scope,
)

_PURE_METHODS = {"count", "index", "find", "startswith", "endswith", "get", "bit_length", "upper", "lower", "split", "strip"}


def _const_globals(tree: ast.Module) -> set[str]:
    """Module names bound exactly once, by an assignment of an int/str/float/tuple constant."""
    out = set()
    shared = declared_global_or_nonlocal(tree)
    for s in tree.body:
        if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
            name = s.targets[0].id
            v = s.value
            simple = all(isinstance(n, (ast.Constant, ast.BinOp, ast.UnaryOp, ast.operator, ast.unaryop, ast.Tuple, ast.Load)) for n in ast.walk(v))
            if simple and len(bindings_in_scope(tree, name)) == 1 and name not in shared:
                out.add(name)
    return out


def _pure_recursive(fn: ast.FunctionDef, consts: set[str], funcs: set[str]) -> bool:
    a = fn.args
    if fn.decorator_list or a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs:
        return False
    params = {x.arg for x in a.args}
    if not params:
        return False
    nodes = list(walk_scope(fn))
    if any(isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Global,
                          ast.Nonlocal, ast.Yield, ast.YieldFrom, ast.Await, ast.Delete, ast.Try,
                          ast.With, ast.Raise)) for n in nodes):
        return False
    self_calls = 0
    local = names_stored(nodes) | params
    for n in nodes:
        if isinstance(n, ast.Call):
            f = n.func
            if isinstance(f, ast.Name) and f.id == fn.name:
                self_calls += 1
            elif isinstance(f, ast.Name) and f.id in PURE_BUILTINS and f.id not in local:
                pass
            elif isinstance(f, ast.Attribute) and f.attr in _PURE_METHODS:
                pass
            else:
                return False
        elif isinstance(n, (ast.Subscript, ast.Attribute)) and not isinstance(n.ctx, ast.Load):
            return False
        elif isinstance(n, ast.AugAssign) and not isinstance(n.target, ast.Name):
            return False
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            if n.id not in local and n.id not in consts and n.id != fn.name and n.id not in BUILTIN_NAMES:
                return False  # reads mutable module state: a cached result could go stale
    # params must stay hashable values; a call that passes a list would make lru_cache raise
    return self_calls >= 2 or _self_call_in_loop(fn)


def _self_call_in_loop(fn: ast.FunctionDef) -> bool:
    for n in walk_scope(fn):
        if isinstance(n, (ast.For, ast.While)):
            for m in ast.walk(n):
                if isinstance(m, ast.Call) and isinstance(m.func, ast.Name) and m.func.id == fn.name:
                    return True
    return False


def _args_hashable_at_calls(tree: ast.Module, name: str) -> bool:
    for n in ast.walk(tree):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == name:
            for a in n.args:
                if isinstance(a, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp, ast.Starred)):
                    return False
        elif isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load):
            continue
    return True


def apply(tree: ast.Module) -> bool:
    consts = _const_globals(tree)
    funcs = {s.name for s in tree.body if isinstance(s, ast.FunctionDef)}
    targets = [
        s for s in tree.body
        if isinstance(s, ast.FunctionDef) and len(bindings_in_scope(tree, s.name)) == 1
        and _pure_recursive(s, consts, funcs) and _args_hashable_at_calls(tree, s.name)
    ]
    if not targets:
        return False
    functools_name = None
    for s in tree.body:
        if isinstance(s, ast.Import):
            for a in s.names:
                if a.name == "functools":
                    functools_name = a.asname or a.name
    if functools_name is None:
        functools_name = "functools" if "functools" not in {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} else fresh_name(tree, "_functools")
        imp = ast.Import(names=[ast.alias(name="functools", asname=None if functools_name == "functools" else functools_name)])
        at = 1 if tree.body and isinstance(tree.body[0], ast.Expr) and isinstance(tree.body[0].value, ast.Constant) else 0
        while at < len(tree.body) and isinstance(head := tree.body[at], ast.ImportFrom) and head.module == "__future__":
            at += 1
        tree.body.insert(at, imp)
    for fn in targets:
        fn.decorator_list.append(ast.parse(f"{functools_name}.lru_cache(maxsize=None)", mode="eval").body)
    return True


REWRITE = Rewrite(
    name="memoize",
    title="cache a pure recursive function with functools.lru_cache",
    conditions=(
        "a top-level function, bound once, no decorators/defaults/*args; its body only reads its "
        "parameters, locals, builtins and module constants bound once; it calls only itself, pure "
        "builtins and non-mutating methods; no stores into items/attributes, no try/with/raise/yield/"
        "nested functions; it calls itself at least twice (or in a loop); no call site passes a literal "
        "list/dict/set (unhashable)"
    ),
    keywords=("memo", "cache", "lru_cache", "recursion", "recursive", "dynamic programming", "dp", "repeated"),
    apply=apply,
)
