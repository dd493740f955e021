"""What a rewrite is, plus the small AST analyses the rewrites share."""

from __future__ import annotations

import ast
import builtins
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeGuard

BUILTIN_NAMES = frozenset(dir(builtins))
# Builtins whose result depends only on their arguments and which never mutate them.
PURE_BUILTINS = frozenset(
    {"abs", "all", "any", "bool", "chr", "divmod", "float", "frozenset", "hash", "int", "len",
     "max", "min", "ord", "pow", "range", "repr", "round", "sorted", "str", "sum", "tuple",
     "bin", "hex", "oct", "isinstance", "enumerate", "zip", "map", "filter", "reversed", "list",
     "set", "dict"}
)
SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
LOOPS = (ast.For, ast.While, ast.AsyncFor)
Loop = ast.For | ast.While | ast.AsyncFor  # a node isinstance(node, LOOPS) accepts
COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


@dataclass(frozen=True)
class Rewrite:
    """One semantics-preserving rewrite. `apply` mutates the module in place and says whether it
    changed anything; it must check its own safety conditions (`conditions` says which, for docs
    and the TUI). `keywords` match the text of retrieved suggestions to rank the rewrite."""

    name: str
    title: str
    conditions: str
    keywords: tuple[str, ...]
    apply: Callable[[ast.Module], bool]


def set_parents(tree: ast.AST) -> None:
    for node in ast.walk(tree):
        for child in ast.iter_child_nodes(node):
            child._fp_parent = node  # type: ignore[attr-defined]


def parent(node: ast.AST) -> ast.AST | None:
    return getattr(node, "_fp_parent", None)


def ancestors(node: ast.AST) -> Iterator[ast.AST]:
    p = parent(node)
    while p is not None:
        yield p
        p = parent(p)


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Walk `node`'s subtree without entering nested function/class/lambda bodies
    (comprehensions are entered: they only read the enclosing scope's names)."""
    todo = list(ast.iter_child_nodes(node))
    while todo:
        n = todo.pop()
        yield n
        if isinstance(n, SCOPES):
            # decorators, defaults and bases still run in the enclosing scope
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)):
                todo.extend(n.decorator_list)
                todo.extend(n.args.defaults)
                todo.extend(d for d in n.args.kw_defaults if d is not None)
            elif isinstance(n, ast.ClassDef):
                todo.extend(n.decorator_list)
                todo.extend(n.bases)
            continue
        todo.extend(ast.iter_child_nodes(n))


def walk_body(stmts: Iterable[ast.stmt]) -> Iterator[ast.AST]:
    for s in stmts:
        yield s
        yield from walk_scope(s)


def names_stored(nodes: Iterable[ast.AST]) -> set[str]:
    out: set[str] = set()
    for n in nodes:
        if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.add(n.id)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            out.add(n.name)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            for a in n.names:
                out.add((a.asname or a.name).split(".")[0])
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            out.update(n.names)
        elif isinstance(n, ast.ExceptHandler) and n.name:
            out.add(n.name)
    return out


def names_loaded(nodes: Iterable[ast.AST]) -> set[str]:
    return {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def all_names(tree: ast.AST) -> set[str]:
    out = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    out |= {a.arg for a in ast.walk(tree) if isinstance(a, ast.arg)}
    out |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}
    return out


def declared_global_or_nonlocal(tree: ast.AST) -> set[str]:
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Global, ast.Nonlocal)):
            out.update(n.names)
    return out


def fresh_name(tree: ast.AST, base: str, taken: set[str] | None = None) -> str:
    """A name not used anywhere in the module (nor in `taken`, which it then joins)."""
    used = all_names(tree) | (taken if taken is not None else set())
    base = base if base.isidentifier() else "_v"
    for i in itertools.count():
        name = base if i == 0 else f"{base}{i}"
        if name not in used and name not in BUILTIN_NAMES:
            if taken is not None:
                taken.add(name)
            return name
    raise AssertionError("unreachable")


def uses_dynamic_scope(nodes: Iterable[ast.AST]) -> bool:
    """eval/exec/locals/globals/vars can read names by string: renaming or moving is unsafe."""
    for n in nodes:
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            if n.func.id in ("eval", "exec", "locals", "globals", "vars", "__import__"):
                return True
        if isinstance(n, ast.ImportFrom) and any(a.name == "*" for a in n.names):
            return True
    return False


def stmt_lists(node: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list (bodies, orelse, finalbody, handlers) under node, including node's own."""
    for n in ast.walk(node):
        for fld in ("body", "orelse", "finalbody"):
            val = getattr(n, fld, None)
            if isinstance(val, list) and val and isinstance(val[0], ast.stmt):
                yield val
        if isinstance(n, ast.Match):
            for case in n.cases:
                yield case.body


def enclosing_scope(node: ast.AST) -> ast.AST:
    for a in ancestors(node):
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef, ast.Module)):
            return a
    return node


def inside_try(node: ast.AST, stop: ast.AST | None = None) -> bool:
    """Whether an exception raised at `node` could be caught within the same function."""
    for a in ancestors(node):
        if a is stop or isinstance(a, SCOPES):
            return False
        if isinstance(a, (ast.Try, getattr(ast, "TryStar", ast.Try))):
            return True
        if isinstance(a, (ast.With, ast.AsyncWith)):
            return True  # a context manager can swallow exceptions
    return False


def is_call_to(node: ast.AST, name: str) -> TypeGuard[ast.Call]:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name


def container_kind(value: ast.AST) -> str | None:
    """'list' / 'set' / 'dict' / 'deque' / 'str' when an expression surely builds that type."""
    if isinstance(value, (ast.List, ast.ListComp)):
        return "list"
    if isinstance(value, (ast.Set, ast.SetComp)):
        return "set"
    if isinstance(value, (ast.Dict, ast.DictComp)):
        return "dict"
    if isinstance(value, ast.Constant) and isinstance(value.value, str):
        return "str"
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult):
        # [0] * n
        if isinstance(value.left, ast.List) or isinstance(value.right, ast.List):
            return "list"
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Name):
        f = value.func.id
        if f in ("list", "sorted"):
            return "list"
        if f == "set":
            return "set"
        if f in ("dict",):
            return "dict"
        if f in ("deque", "defaultdict", "Counter", "OrderedDict"):
            return {"deque": "deque"}.get(f, "dict")
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        if value.func.attr == "split" and not value.keywords:
            return "list"
        if value.func.attr in ("deque",):
            return "deque"
        if value.func.attr in ("defaultdict", "Counter", "OrderedDict"):
            return "dict"
    return None


def bindings_in_scope(scope: ast.AST, name: str) -> list[ast.AST]:
    """Every node that (re)binds `name` in `scope` (not in nested functions/classes)."""
    out: list[ast.AST] = []
    for n in walk_scope(scope):
        if isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, (ast.Store, ast.Del)):
            out.append(n)
        elif isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == name:
            out.append(n)
        elif isinstance(n, (ast.Import, ast.ImportFrom)):
            if any((a.asname or a.name).split(".")[0] == name for a in n.names):
                out.append(n)
        elif isinstance(n, ast.ExceptHandler) and n.name == name:
            out.append(n)
    if isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = scope.args
        for arg in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg]:
            if arg is not None and arg.arg == name:
                out.append(arg)
    return out


def surely_container(scope: ast.AST, name: str) -> str | None:
    """The container kind of `name` if every binding in its scope assigns that kind, else None."""
    binds = bindings_in_scope(scope, name)
    root = [scope, *ancestors(scope)][-1]
    if not binds or name in declared_global_or_nonlocal(root):
        return None
    kinds = set()
    for b in binds:
        p = parent(b)
        if not (isinstance(b, ast.Name) and isinstance(p, ast.Assign) and len(p.targets) == 1 and p.targets[0] is b):
            return None
        kinds.add(container_kind(p.value))
    if len(kinds) == 1 and None not in kinds:
        return kinds.pop()
    return None


def replace_node(old: ast.AST, new: ast.AST) -> None:
    """Put `new` where `old` sits in its parent (parents must be set)."""
    p = parent(old)
    if p is None:  # what ast.iter_fields(None) raised
        raise AttributeError(f"{type(old).__name__} node has no parent")
    for fld, val in ast.iter_fields(p):
        if val is old:
            setattr(p, fld, new)
            new._fp_parent = p  # type: ignore[attr-defined]
            return
        if isinstance(val, list):
            for i, item in enumerate(val):
                if item is old:
                    val[i] = new
                    new._fp_parent = p  # type: ignore[attr-defined]
                    return
    raise AssertionError("node not found in its parent")


def rebound_anywhere(tree: ast.AST, names: Iterable[str]) -> bool:
    """Whether any of `names` (usually builtins a rewrite relies on) is bound anywhere in the module."""
    wanted = set(names)
    return bool(names_stored(ast.walk(tree)) & wanted) or any(
        isinstance(a, ast.arg) and a.arg in wanted for a in ast.walk(tree)
    )
