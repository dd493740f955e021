"""`sorted(xs)[0]` → `min(xs)` and `sorted(xs)[-1]` → `max(xs)`: O(n) instead of O(n log n) and no copy."""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    Rewrite,
    inside_try,
    is_call_to,
    rebound_anywhere,
    replace_node,
    set_parents,
)


def _index(node: ast.Subscript) -> int | None:
    s = node.slice
    if isinstance(s, ast.Constant) and type(s.value) is int:
        return s.value
    if isinstance(s, ast.UnaryOp) and isinstance(s.op, ast.USub) and isinstance(s.operand, ast.Constant) and type(s.operand.value) is int:
        return -s.operand.value
    return None


def apply(tree: ast.Module) -> bool:
    if rebound_anywhere(tree, ("sorted", "min", "max")):
        return False
    set_parents(tree)
    changed = False
    for node in list(ast.walk(tree)):
        if not (isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)):
            continue
        call = node.value
        if not (is_call_to(call, "sorted") and len(call.args) == 1 and not isinstance(call.args[0], ast.Starred)):
            continue
        idx = _index(node)
        if idx not in (0, -1):
            continue
        kw = {k.arg: k.value for k in call.keywords}
        if None in kw or set(kw) - {"key", "reverse"}:
            continue
        reverse = kw.get("reverse")
        if reverse is not None and not (isinstance(reverse, ast.Constant) and isinstance(reverse.value, bool)):
            continue
        rev = bool(reverse.value) if reverse is not None else False
        # sorted() is stable: [0] is the first of the smallest (what min returns); [-1] is the LAST
        # of the largest, which max only matches when no key distinguishes equal elements.
        if (idx == 0 and not rev):
            fn = "min"
        elif idx == 0 and rev:
            fn = "max"
        elif idx == -1 and not rev and "key" not in kw:
            fn = "max"
        elif idx == -1 and rev and "key" not in kw:
            fn = "min"
        else:
            continue
        # empty input: IndexError becomes ValueError; keep it exact where someone could catch it.
        if inside_try(node):
            continue
        keywords = [k for k in call.keywords if k.arg == "key"]
        replace_node(node, ast.Call(func=ast.Name(id=fn, ctx=ast.Load()), args=call.args, keywords=keywords))
        changed = True
    return changed


REWRITE = Rewrite(
    name="sorted_minmax",
    title="sorted(...)[0] / [-1] → min / max",
    conditions=(
        "one positional argument, constant reverse; [-1] only without key= (stability picks the last of "
        "equal elements, max the first); `sorted` and `min`/`max` not rebound; not inside try/with (an "
        "empty input raises ValueError instead of IndexError)"
    ),
    keywords=("sort", "min", "max", "smallest", "largest", "linear"),
    apply=apply,
)
