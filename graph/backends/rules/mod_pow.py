"""`(10**n - 2 * 9**n + 8**n) % MOD` → `(pow(10, n, MOD) - 2 * pow(9, n, MOD) + pow(8, n, MOD)) % MOD`:
three-argument pow keeps every intermediate below MOD instead of building an int of n digits
(PIE p02554, n up to 10**6: about 300x faster).

Exact because, for ints, reduction modulo M is a ring homomorphism Z → Z/MZ: `E % M` depends only
on the residues of E's leaves when E is built from them by + - * and unary minus, and `pow(b, e, M)`
is congruent to `b ** e` modulo M for every int b and int e >= 0. Python's `%` returns the one
representative with the sign of M (for a negative M too), so `E % M == E' % M` whenever every leaf
of E is an exact int, M is a nonzero int and every exponent is >= 0. Hence the conditions: E's leaves
are proven ints (graph.backends.rules.int_typed), M is a constant int expression (`10**9 + 7`) or a
name assigned such a constant once, at module level, and never rebound. An exponent is surely >= 0
(a literal >= 0, `x % K` for a positive constant K, len(...), a range(n) loop variable) or a name;
a name may be negative at run time (then `b ** e` is a float and pow() a modular inverse), so it
is tested first: `E' % M if e >= 0 else E % M`, the original in the else branch. The test reads
only names that hold ints, so it runs no user code, and nothing inside E can rebind them (no walrus
in E, no global/nonlocal anywhere, no dynamic scope). E's leaves are evaluated in their
original order; only M, free of side effects, is read earlier. A program that reads an unbound name
raises NameError either way (possibly naming another name first).
"""

from __future__ import annotations

import ast

from graph.backends.rules.core import (
    Rewrite,
    ancestors,
    bindings_in_scope,
    parent,
    rebound_anywhere,
    replace_node,
    set_parents,
    uses_dynamic_scope,
)
from graph.backends.rules.data_eval import without_data_evals
from graph.backends.rules.int_typed import INT_BUILTINS, IntTyping, literal_int, match_bound

_RING_OPS = (ast.Add, ast.Sub, ast.Mult)


def _copy(node: ast.expr) -> ast.expr:
    """A fresh copy (copy.deepcopy would follow the parent links into the whole module)."""
    return ast.parse(ast.unparse(node), mode="eval").body


def _leaves(node: ast.expr, out: list[ast.expr]) -> list[ast.expr]:
    """The operands of the + - * (and unary +/-) tree at `node`, left to right."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, _RING_OPS):
        _leaves(node.left, out)
        _leaves(node.right, out)
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        _leaves(node.operand, out)
    else:
        out.append(node)
    return out


def _is_guard(node: ast.AST) -> bool:
    """This rewrite's own `E' % M if e >= 0 and ... else E % M`."""
    if not (isinstance(node, ast.IfExp) and all(isinstance(b, ast.BinOp) and isinstance(b.op, ast.Mod)
                                                for b in (node.body, node.orelse))):
        return False
    tests = node.test.values if isinstance(node.test, ast.BoolOp) and isinstance(node.test.op, ast.And) else [node.test]
    return all(isinstance(t, ast.Compare) and isinstance(t.left, ast.Name) and len(t.ops) == 1
               and isinstance(t.ops[0], ast.GtE) and isinstance(t.comparators[0], ast.Constant)
               and t.comparators[0].value == 0 for t in tests)


def _in_original_branch(node: ast.AST) -> bool:
    """Inside the else branch of a guard: the original, kept as it was."""
    child = node
    for a in ancestors(node):
        if _is_guard(a) and child is a.orelse:  # type: ignore[attr-defined]
            return True
        child = a
    return False


class _Modulus:
    """Which right operands of `%` are nonzero constant ints."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self._names: dict[str, int | None] = {}
        self._match = match_bound(tree)

    def value(self, m: ast.expr) -> int | None:
        """M's value if it is a nonzero constant int, else None."""
        if isinstance(m, ast.Name):
            if m.id not in self._names:
                self._names[m.id] = self._constant_name(m.id)
            return self._names[m.id]
        v = literal_int(m)
        return v if v != 0 else None

    def _constant_name(self, name: str) -> int | None:
        """Bound exactly once in the whole module: `name = <nonzero constant int>` at module level."""
        if name in self._match or any(isinstance(a, ast.arg) and a.arg == name for a in ast.walk(self.tree)):
            return None
        if any(isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names for n in ast.walk(self.tree)):
            return None
        scopes = [self.tree, *(n for n in ast.walk(self.tree)
                               if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)))]
        binds = [b for s in scopes for b in bindings_in_scope(s, name)]
        if len(binds) != 1:
            return None
        (b,) = binds
        p = parent(b)
        if not (isinstance(b, ast.Name) and any(p is s for s in self.tree.body)):
            return None
        if (isinstance(p, ast.Assign) and any(t is b for t in p.targets)) or (
                isinstance(p, ast.AnnAssign) and p.target is b and p.value is not None):
            v = literal_int(p.value)  # type: ignore[arg-type]
            return v if v != 0 else None
        return None


def _rewrite(mod: ast.BinOp, ints: IntTyping, modulus: _Modulus) -> bool:
    if modulus.value(mod.right) is None or any(isinstance(n, ast.NamedExpr) for n in ast.walk(mod.left)):
        return False
    powers: list[ast.BinOp] = []
    guarded: list[str] = []
    for leaf in _leaves(mod.left, []):
        if isinstance(leaf, ast.BinOp) and isinstance(leaf.op, ast.Pow) and ints.expr(leaf.left):
            e = leaf.right
            if ints.nonneg(e):
                powers.append(leaf)
                continue
            if isinstance(e, ast.Name) and ints.expr(e):
                powers.append(leaf)
                if e.id not in guarded:
                    guarded.append(e.id)
                continue
            return False  # an exponent that may be negative and that the test cannot read cheaply
        if not ints.expr(leaf):
            return False
    if not powers:
        return False
    original = _copy(mod) if guarded else None
    for p in powers:
        call = ast.Call(func=ast.Name(id="pow", ctx=ast.Load()), args=[p.left, p.right, _copy(mod.right)], keywords=[])
        replace_node(p, call)
    if original is not None:
        tests: list[ast.expr] = [ast.Compare(left=ast.Name(id=g, ctx=ast.Load()), ops=[ast.GtE()],
                                             comparators=[ast.Constant(value=0)]) for g in guarded]
        test = tests[0] if len(tests) == 1 else ast.BoolOp(op=ast.And(), values=tests)
        guard = ast.IfExp(test=test, body=mod, orelse=original)
        replace_node(mod, guard)
        set_parents(guard)
    else:
        set_parents(mod)
    return True


def apply(tree: ast.Module) -> bool:
    mods = [n for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.Mod)
            and any(isinstance(leaf, ast.BinOp) and isinstance(leaf.op, ast.Pow) for leaf in _leaves(n.left, []))]
    if not mods or rebound_anywhere(tree, (*INT_BUILTINS, "pow")):
        return False
    if uses_dynamic_scope(without_data_evals(tree, ast.walk(tree))):
        return False
    set_parents(tree)
    modulus = _Modulus(tree)
    ints = IntTyping(tree, constant=modulus.value)
    changed = False
    for mod in mods:  # outer first (ast.walk is breadth-first); the copies made here are not in the list
        if not _in_original_branch(mod):
            changed |= _rewrite(mod, ints, modulus)
    return changed


REWRITE = Rewrite(
    name="mod_pow",
    title="(b ** e + ...) % M → (pow(b, e, M) + ...) % M",
    conditions=(
        "the power sits directly in the + - * tree of the left operand of %, every leaf of which is a proven "
        "int (int literals; names every binding of which stores int(...), len(...), an int literal or int "
        "arithmetic, a range() loop variable or a map(int, ...) unpacking; none declared global/nonlocal); "
        "M is a nonzero constant int expression or a name assigned one once at module level and never "
        "rebound; exponents surely >= 0 (literals, x % K for a positive constant K, len, abs, range(n) "
        "loop variables) or names, a name tested >= 0 first (the original runs otherwise); "
        "int/len/range/map/list/abs/pow never rebound; no exec/eval (but eval of an input line)"
    ),
    keywords=("pow(", "modular", "modulo", "mod ", "10**9", "1000000007", "exponent", "power", "**"),
    apply=apply,
)
