"""`eval(input())`: 2to3's spelling of Python 2's `input()`, common in PIE programs. The line it
evaluates is test data (numbers, tuples, lists), so a rewrite may count it as reading data rather
than as code that reaches names by string."""

from __future__ import annotations

import ast
from collections.abc import Iterable

from graph.backends.rules.core import is_call_to
from graph.backends.rules.fast_input import helper_def


def line_reader_helpers(tree: ast.Module) -> set[str]:
    """Module-level functions that are exactly fast_input's `input()` replacement."""
    return {s.name for s in tree.body
            if isinstance(s, ast.FunctionDef) and [ast.dump(s)] == [ast.dump(d) for d in helper_def(s.name)]}


def reads_a_line(call: ast.expr, helpers: set[str]) -> bool:
    """`input()`, `sys.stdin.readline()` or fast_input's helper, optionally `.strip()`ed."""
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in ("strip", "rstrip") \
            and not call.args and not call.keywords:
        call = call.func.value
    if not (isinstance(call, ast.Call) and not call.args and not call.keywords):
        return False
    f = call.func
    if isinstance(f, ast.Name):
        return f.id == "input" or f.id in helpers
    return (isinstance(f, ast.Attribute) and f.attr == "readline" and isinstance(f.value, ast.Attribute)
            and f.value.attr == "stdin" and isinstance(f.value.value, ast.Name) and f.value.value.id == "sys")


def data_evals(tree: ast.Module, nodes: Iterable[ast.AST]) -> list[ast.Call]:
    """The `eval(<a line of input>)` calls among nodes."""
    helpers = line_reader_helpers(tree)
    return [n for n in nodes if is_call_to(n, "eval") and len(n.args) == 1 and not n.keywords
            and reads_a_line(n.args[0], helpers)]


def without_data_evals(tree: ast.Module, nodes: Iterable[ast.AST]) -> list[ast.AST]:
    """nodes less the `eval(<a line of input>)` calls and their `eval` names: what a dynamic-scope
    check should look at."""
    nodes = list(nodes)
    evals = data_evals(tree, nodes)
    skip = {id(e) for e in evals} | {id(e.func) for e in evals}
    return [n for n in nodes if id(n) not in skip]
