"""Which expressions surely hold an exact `int` (never a float, a bool or a subclass), and the value
of a constant int expression such as `10**9 + 7`: what an arithmetic rewrite needs to know before it
relies on the laws of integer arithmetic.

A name is an int when every binding that can reach its use is one: `x = int(...)`, `x = len(...)`,
`x = <int literal>`, `x = <int expression>`, `x += <int expression>`, a `for`/comprehension target
over the builtin `range`, or a plain element of a tuple/list target unpacking `map(int, ...)` or
`list(map(int, ...))`. Each of these can only ever store an exact int (int(), len() and range items
are exact ints, and so is int arithmetic on them). Self-reference (`x = x * 2`) is read as a greatest
fixpoint: if every binding stores an int whenever the names it reads hold ints, every value the name
ever holds is an int, by induction over the program's run. The caller must rule out what rebinds a
name outside these bindings: dynamic scope (exec, globals()), shadowed builtins; names declared
global/nonlocal anywhere or bound by a `match` pattern are never ints here.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

from graph.backends.rules.core import (
    ancestors,
    bindings_in_scope,
    declared_global_or_nonlocal,
    is_call_to,
    parent,
)

# The builtins the bindings above rely on; the caller refuses a program that binds any of them.
INT_BUILTINS = ("int", "len", "range", "map", "list", "abs")
_INT_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod, ast.LShift, ast.RShift, ast.BitAnd, ast.BitOr,
            ast.BitXor)
_AUG_OPS = (ast.Add, ast.Sub, ast.Mult, ast.FloorDiv, ast.Mod)
_MAX_BITS = 10_000  # the literal evaluator refuses to build larger ints (a `10**10**9` in the source)
Key = tuple[int, str]


def nonneg_int_literal(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) is int and node.value >= 0


def match_bound(tree: ast.AST) -> set[str]:
    """Names bound by `match` capture patterns (no Name node marks them)."""
    out: set[str] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.MatchAs, ast.MatchStar)) and n.name:
            out.add(n.name)
        elif isinstance(n, ast.MatchMapping) and n.rest:
            out.add(n.rest)
    return out


def _scopes_of(node: ast.AST) -> list[ast.AST]:
    """The scopes a name read at `node` is looked up in, innermost first (a function's defaults and
    decorators run in the enclosing scope; comprehensions are left to the caller)."""
    out: list[ast.AST] = []
    child = node
    for a in ancestors(node):
        if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            if any(child is s for s in a.body):
                out.append(a)
        elif isinstance(a, ast.Lambda):
            if child is a.body:
                out.append(a)
        elif isinstance(a, ast.Module):
            out.append(a)
        child = a
    return out


def _comprehension_of(bind: ast.AST) -> ast.AST | None:
    """The comprehension expression whose `for` target `bind` is part of, if any."""
    child, p = bind, parent(bind)
    while isinstance(p, (ast.Tuple, ast.List, ast.Starred)):
        child, p = p, parent(p)
    if isinstance(p, ast.comprehension) and p.target is child:
        return parent(p)
    return None


def _reads_comprehension_variable(use: ast.AST, comp: ast.AST) -> bool:
    """Whether `use` sits inside `comp` where its own variables are visible (not its first iterable,
    which runs in the enclosing scope)."""
    gens = comp.generators  # type: ignore[attr-defined]
    chain = [use, *ancestors(use)]
    if not any(a is comp for a in chain):
        return False
    return not any(a is gens[0].iter for a in chain)


class IntTyping:
    """Int proofs over one parsed module (parents set)."""

    def __init__(self, tree: ast.Module, constant: Callable[[ast.expr], int | None] | None = None) -> None:
        self.unprovable = declared_global_or_nonlocal(tree) | match_bound(tree)
        # the value of a constant int operand (a literal, or a name the caller proved constant)
        self.constant = constant or literal_int
        self._known: dict[Key, bool] = {}
        self._assumed: set[Key] = set()

    def expr(self, node: ast.AST) -> bool:
        """`node` evaluates to an exact int (or raises)."""
        if isinstance(node, ast.Constant):
            return type(node.value) is int
        if isinstance(node, ast.Name):
            return isinstance(node.ctx, ast.Load) and self.name(node)
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.Pow):  # int ** int is an int only for an exponent >= 0
                return self.expr(node.left) and self.nonneg(node.right)
            return isinstance(node.op, _INT_OPS) and self.expr(node.left) and self.expr(node.right)
        if isinstance(node, ast.UnaryOp):
            return isinstance(node.op, (ast.USub, ast.UAdd, ast.Invert)) and self.expr(node.operand)
        if is_call_to(node, "int") or is_call_to(node, "len"):
            return True
        if is_call_to(node, "abs"):
            return len(node.args) == 1 and not node.keywords and self.expr(node.args[0])
        return False

    def nonneg(self, e: ast.AST) -> bool:
        """An int that is never negative: a literal >= 0, len(...), abs(<int>), `<int> % K` for a
        positive constant K, or a name every binding of which loops over range(stop) or
        range(<literal >= 0>, stop[, <literal > 0>])."""
        if nonneg_int_literal(e) or is_call_to(e, "len"):
            return True
        if is_call_to(e, "abs"):
            return self.expr(e)
        if isinstance(e, ast.BinOp) and isinstance(e.op, ast.Mod):
            k = self.constant(e.right)
            return k is not None and k > 0 and self.expr(e.left)
        if isinstance(e, ast.Name) and isinstance(e.ctx, ast.Load):
            found = self.resolve(e)
            return found is not None and all(_counts_up_from_nonneg(b) for b in found[1])
        return False

    def name(self, use: ast.Name) -> bool:
        """Every binding that can reach this read of the name stores an exact int."""
        found = self.resolve(use)
        if found is None:
            return False
        scope, binds = found
        key = (id(scope), use.id)
        if key in self._assumed:
            return True
        if key in self._known:
            return self._known[key]
        self._assumed.add(key)
        try:
            ok = all(self._int_binding(b) for b in binds)
        finally:
            self._assumed.discard(key)
        if not ok or not self._assumed:  # a success under assumptions may still be withdrawn
            self._known[key] = ok
        return ok

    def resolve(self, use: ast.Name) -> tuple[ast.AST, list[ast.AST]] | None:
        """The scope the name is read from and its bindings there; None where that is not clear."""
        if use.id in self.unprovable:
            return None
        scopes = _scopes_of(use)
        if scopes and isinstance(scopes[0], ast.ClassDef):
            return None  # class bodies resolve names their own way: not worth proving
        for scope in scopes:
            if isinstance(scope, ast.ClassDef):
                continue  # invisible to the functions nested in it
            binds = bindings_in_scope(scope, use.id)
            comps = [c for b in binds if (c := _comprehension_of(b)) is not None]
            if len(comps) < len(binds):
                return scope, binds  # a plain binding: the name is local to this scope
            if any(_reads_comprehension_variable(use, c) for c in comps):
                return scope, binds  # a comprehension's own variable (all of them checked: conservative)
        return None  # a builtin or never bound

    def _int_binding(self, b: ast.AST) -> bool:
        if not (isinstance(b, ast.Name) and isinstance(b.ctx, ast.Store)):
            return False  # a parameter, def, import, except-as, del
        p = parent(b)
        if isinstance(p, ast.Assign) and any(t is b for t in p.targets):
            return self.expr(p.value)
        if isinstance(p, (ast.AnnAssign, ast.NamedExpr)) and p.target is b and p.value is not None:
            return self.expr(p.value)
        if isinstance(p, ast.AugAssign) and p.target is b:
            if isinstance(p.op, ast.Pow):
                return nonneg_int_literal(p.value)
            return isinstance(p.op, _AUG_OPS) and self.expr(p.value)
        if isinstance(p, (ast.For, ast.comprehension)) and p.target is b:
            return is_call_to(p.iter, "range")
        if isinstance(p, (ast.Tuple, ast.List)):
            assign = parent(p)
            return (isinstance(assign, ast.Assign) and any(t is p for t in assign.targets)
                    and _ints_of_map(assign.value))
        return False


def _counts_up_from_nonneg(b: ast.AST) -> bool:
    p = parent(b)
    if not (isinstance(b, ast.Name) and isinstance(p, (ast.For, ast.comprehension)) and p.target is b
            and is_call_to(p.iter, "range") and not p.iter.keywords and 1 <= len(p.iter.args) <= 3
            and not any(isinstance(a, ast.Starred) for a in p.iter.args)):
        return False
    args = p.iter.args
    return len(args) == 1 or (nonneg_int_literal(args[0]) and (
        len(args) == 2 or (nonneg_int_literal(args[2]) and args[2].value > 0)))  # type: ignore[attr-defined]


def _ints_of_map(value: ast.AST) -> bool:
    """`map(int, xs)` or `list(map(int, xs))`: every item an int."""
    if is_call_to(value, "list") and len(value.args) == 1 and not value.keywords:
        value = value.args[0]
    return (is_call_to(value, "map") and len(value.args) == 2 and not value.keywords
            and isinstance(value.args[0], ast.Name) and value.args[0].id == "int")


def literal_int(node: ast.AST) -> int | None:
    """The value of a constant int expression (int literals, + - * ** of them, `int(<float literal
    expression>)`), computed as CPython would; None when it is anything else or too large."""
    v = _evaluate(node, floats=False)
    return v if type(v) is int else None


def _evaluate(node: ast.AST, floats: bool) -> int | float | None:
    if isinstance(node, ast.Constant):
        v = node.value
        return v if type(v) is int or (floats and type(v) is float) else None
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _evaluate(node.operand, floats)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else +v)
    if is_call_to(node, "int") and len(node.args) == 1 and not node.keywords:
        v = _evaluate(node.args[0], floats=True)
        return int(v) if v is not None and math.isfinite(v) else None
    if not (isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult, ast.Pow))):
        return None
    a, b = _evaluate(node.left, floats), _evaluate(node.right, floats)
    if a is None or b is None or not _small_enough(a, b, node.op):
        return None
    try:
        v = {ast.Add: lambda: a + b, ast.Sub: lambda: a - b, ast.Mult: lambda: a * b,
             ast.Pow: lambda: a ** b}[type(node.op)]()
    except (ArithmeticError, ValueError):
        return None
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v if type(v) in (int, float) else None  # a negative float to a fractional power is complex


def _small_enough(a: int | float, b: int | float, op: ast.operator) -> bool:
    if not (type(a) is int and type(b) is int):
        return True  # float results are bounded (an overflow raises or gives inf, refused above)
    if isinstance(op, ast.Pow):
        return b >= 0 and (abs(a) <= 1 or a.bit_length() * b <= _MAX_BITS)
    if isinstance(op, ast.Mult):
        return a.bit_length() + b.bit_length() <= _MAX_BITS
    return True
