"""Hoist loop-invariant work out of loops: bound-method and module-attribute lookups
(`ans.append`, `sys.stdout.write`, `math.sqrt`) and pure builtin calls on unchanged
containers (`len(xs)`, `max(xs)`)."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    LOOPS,
    Loop,
    Rewrite,
    ancestors,
    bindings_in_scope,
    declared_global_or_nonlocal,
    enclosing_scope,
    fresh_name,
    names_stored,
    parent,
    rebound_anywhere,
    replace_node,
    set_parents,
    stmt_lists,
    surely_container,
    walk_body,
    walk_scope,
)

_METHODS = {
    "list": {"append", "extend", "pop", "insert", "remove", "index", "count"},
    "set": {"add", "discard", "remove", "update"},
    "dict": {"get", "setdefault", "pop", "update", "items", "keys", "values"},
    "deque": {"append", "appendleft", "pop", "popleft", "extend"},
    "str": {"join", "count", "find", "startswith", "endswith"},
}
_MUTATORS = {"append", "extend", "pop", "insert", "remove", "add", "discard", "update", "setdefault",
             "appendleft", "popleft", "clear", "sort", "reverse", "__setitem__", "popitem"}
_READERS = {"len", "sum", "min", "max", "sorted", "set", "tuple", "print", "any", "all", "enumerate",
            "reversed", "zip", "map", "filter", "str", "repr", "bool", "list", "frozenset", "range", "int", "abs"}


def _module_imports(tree: ast.Module) -> set[str]:
    """Names bound only by a top-level `import x` (modules: their attributes do not change)."""
    out = set()
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for a in stmt.names:
                if a.asname or "." not in a.name:
                    out.add(a.asname or a.name)
    return {n for n in out if len(bindings_in_scope(tree, n)) == 1 and not _bound_in_functions(tree, n)}


def _bound_in_functions(tree: ast.Module, name: str) -> bool:
    return name in declared_global_or_nonlocal(tree)


def _bound_before(binding: ast.AST, loop: ast.stmt) -> bool:
    """`binding`'s statement runs before `loop` on every path that reaches the loop."""
    stmt = parent(binding)
    while stmt is not None and not isinstance(stmt, ast.stmt):
        stmt = parent(stmt)
    if stmt is None:
        return False
    chain = [loop, *ancestors(loop)]
    up = parent(stmt)
    for lst in stmt_lists(up) if up is not None else ():
        if stmt in lst:
            for c in chain:
                if c in lst:
                    return lst.index(stmt) < lst.index(c)
            return False
    return False


def _loop_body_nodes(loop: Loop) -> list[ast.AST]:
    nodes = list(walk_body(loop.body))
    if isinstance(loop, ast.While):
        nodes += [loop.test, *ast.walk(loop.test)]
    return nodes


def _outer_loops(tree: ast.Module) -> list[Loop]:
    return [n for n in ast.walk(tree) if isinstance(n, LOOPS)
            and not any(isinstance(a, LOOPS) for a in ancestors(n) if enclosing_scope(a) is enclosing_scope(n))]


def _chain(node: ast.expr) -> list[str] | None:
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def hoist_lookups(tree: ast.Module) -> bool:
    set_parents(tree)
    modules = _module_imports(tree)
    shared = declared_global_or_nonlocal(tree)
    taken: set[str] = set()
    changed = False
    for loop in _outer_loops(tree):
        scope = enclosing_scope(loop)
        body = _loop_body_nodes(loop)
        stored = names_stored(body) | names_stored(walk_body([loop]))
        groups: dict[str, list[ast.Attribute]] = {}
        for n in body:
            if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)):
                continue
            ch = _chain(n.func)
            if ch is None or ch[0] in stored or ch[0] in shared:
                continue
            if ch[0] in modules and not isinstance(scope, ast.ClassDef):
                if ch[0] in names_stored(walk_scope(scope)) and not isinstance(scope, ast.Module):
                    continue  # a local shadows the module
                if len(ch) > 3 or (len(ch) == 3 and ch[1] not in ("stdin", "stdout")):
                    continue
            elif len(ch) == 2:
                kind = surely_container(scope, ch[0])
                if kind is None or ch[1] not in _METHODS.get(kind, ()):
                    continue
                binds = bindings_in_scope(scope, ch[0])
                if not any(_bound_before(b, loop) for b in binds):
                    continue
            else:
                continue
            groups.setdefault(".".join(ch), []).append(n.func)
        pre: list[ast.stmt] = []
        for dotted, attrs in groups.items():
            local = fresh_name(tree, dotted.replace(".", "_").lstrip("_"), taken)
            pre.append(ast.parse(f"{local} = {dotted}").body[0])
            for a in attrs:
                replace_node(a, ast.Name(id=local, ctx=ast.Load()))
        if pre:
            _insert_before(tree, loop, pre)
            changed = True
    return changed


def _insert_before(tree: ast.Module, loop: ast.stmt, new: list[ast.stmt]) -> None:
    for lst in stmt_lists(tree):
        for k, s in enumerate(lst):
            if s is loop:
                lst[k:k] = new
                return
    raise AssertionError("loop not found")


def _unchanged_in(nodes: list[ast.AST], name: str) -> bool:
    """`name` is only read in `nodes`: no rebinding, no mutating method, no item/attr store,
    no passing to anything but read-only builtins."""
    for n in nodes:
        if not (isinstance(n, ast.Name) and n.id == name):
            continue
        if not isinstance(n.ctx, ast.Load):
            return False
        p = parent(n)
        if isinstance(p, ast.Call) and isinstance(p.func, ast.Name) and p.func.id in _READERS:
            continue
        if isinstance(p, ast.Attribute) and p.attr not in _MUTATORS:
            gp = parent(p)
            if isinstance(gp, ast.Call) and gp.func is p and p.attr in ("count", "index", "get", "find", "keys", "values", "items", "startswith", "endswith", "join"):
                continue
            if not isinstance(gp, ast.Call):
                continue
            return False
        if isinstance(p, ast.Subscript) and isinstance(p.ctx, ast.Load):
            continue
        if isinstance(p, ast.Compare):
            continue
        if isinstance(p, (ast.For, ast.comprehension)) and p.iter is n:
            continue
        if isinstance(p, ast.BinOp) or isinstance(p, ast.BoolOp) or isinstance(p, ast.UnaryOp):
            continue
        return False
    return True


def _iterates_over(loop: ast.stmt, name: str) -> bool:
    """The loop body only runs when `name` is non-empty (for x in name / range(len(name)))."""
    if not isinstance(loop, ast.For):
        return False
    it = loop.iter
    if isinstance(it, ast.Name) and it.id == name:
        return True
    if isinstance(it, ast.Call) and isinstance(it.func, ast.Name) and it.func.id in ("enumerate", "range", "reversed") and len(it.args) == 1:
        a = it.args[0]
        if isinstance(a, ast.Name) and a.id == name:
            return it.func.id != "range"
        if isinstance(a, ast.Call) and isinstance(a.func, ast.Name) and a.func.id == "len" and len(a.args) == 1:
            return isinstance(a.args[0], ast.Name) and a.args[0].id == name and it.func.id == "range"
    return False


def hoist_calls(tree: ast.Module) -> bool:
    """len/sum/max/min of a container the loop never changes are computed once before the loop."""
    if rebound_anywhere(tree, ("len", "sum", "max", "min")):
        return False
    set_parents(tree)
    shared = declared_global_or_nonlocal(tree)
    taken: set[str] = set()
    changed = False
    for loop in _outer_loops(tree):
        scope = enclosing_scope(loop)
        body = _loop_body_nodes(loop)
        if isinstance(scope, ast.Module) and any(isinstance(n, ast.Call) and not (isinstance(n.func, ast.Name) and n.func.id in _READERS) for n in body if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)):
            continue  # a module-level loop calling user functions: they could change the global
        groups: dict[tuple[str, str], list[ast.Call]] = {}
        for n in body:
            if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("len", "sum", "max", "min")
                    and len(n.args) == 1 and not n.keywords and isinstance(n.args[0], ast.Name)):
                continue
            name = n.args[0].id
            if name in shared or surely_container(scope, name) not in ("list", "set", "dict", "str", "deque"):
                continue
            if not any(_bound_before(b, loop) for b in bindings_in_scope(scope, name)):
                continue
            if not _unchanged_in(body, name) or name in names_stored(walk_body([loop])):
                continue
            if n.func.id != "len" and not _iterates_over(loop, name):
                continue
            groups.setdefault((n.func.id, name), []).append(n)
        pre: list[ast.stmt] = []
        for (fn, name), calls in groups.items():
            local = fresh_name(tree, f"{fn}_{name}", taken)
            expr = f"{fn}({name})" if fn == "len" else f"{fn}({name}) if {name} else None"
            pre.append(ast.parse(f"{local} = {expr}").body[0])
            for c in calls:
                replace_node(c, ast.Name(id=local, ctx=ast.Load()))
        if pre:
            _insert_before(tree, loop, pre)
            changed = True
    return changed


HOIST_LOOKUPS = Rewrite(
    name="hoist_lookups",
    title="hoist loop-invariant method/attribute lookups into locals",
    conditions=(
        "the receiver is a module bound once by a top-level import (x.f, sys.stdin/stdout.f) or a local "
        "that is surely a list/set/dict/deque/str (every binding in its scope builds one, one of them runs "
        "before the loop), is never rebound in the loop, and is not global/nonlocal anywhere"
    ),
    keywords=("lookup", "attribute", "append", "local variable", "method", "hoist", "loop invariant", "dot"),
    apply=hoist_lookups,
)

HOIST_CALLS = Rewrite(
    name="hoist_calls",
    title="compute len/sum/max/min of an unchanged container once, outside the loop",
    conditions=(
        "argument is a container local the loop never rebinds, mutates or passes to non-builtins; "
        "sum/max/min only when the loop iterates over that container (so the body runs only when it is "
        "non-empty, and the hoisted value is not computed for an empty one); module-level loops that call "
        "user functions are skipped"
    ),
    keywords=("repeated", "recompute", "cache", "len(", "max(", "min(", "sum(", "invariant", "redundant", "once"),
    apply=hoist_calls,
)
