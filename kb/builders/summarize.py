"""Summaries of how a slow→fast patch speeds code up, in the paper's "1. …; 2. …" form.

- `OfflineSummarizer`: deterministic; compares performance-relevant features of the two programs
  (input reading, data structures, library algorithms, loop structure, memoization, output) and
  describes the two most important changes.
- `LLMSummarizer`: the paper's SUMMARY_PROMPT through a plain `generate(messages) -> str`
  callable; graph.backends.summarizer adapts a generation backend to it (the `llm` summarizer).

Summarizers are entry points in the `fasterpy.summarizers` group (harness.plugins): a class or
function called with no argument, or with the generation backend when one is given.
"""

from __future__ import annotations

import ast
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from harness.plugins import load_plugin, plugin_names
from kb.builders.pairs import unified_diff

SUMMARIZERS_GROUP = "fasterpy.summarizers"

# The paper's summary prompt (§5.2.2): how a slow→fast patch speeds the code up.
SUMMARY_PROMPT = (
    "You are an expert in the field of code execution efficiency optimization. Based on the "
    "unified-style patch: {diff}, summarize how it optimizes code execution efficiency. Provide up to "
    "two key points. Your output format should be: (If there is one summary) 1. xxx; 2. xxx"
)

Messages = list[dict[str, str]]


class Summarizer(Protocol):
    name: str

    def summarize(self, slow: str, fast: str) -> str: ...


# ----------------------------------------------------------------------------- feature extraction


@dataclass
class _Features:
    text: str
    tree: ast.AST | None
    max_loop_depth: int = 0
    loops: int = 0
    comprehensions: int = 0
    prints_in_loop: int = 0
    recursive: bool = False
    str_concat_in_loop: int = 0
    list_pop0: int = 0
    in_list_literal: int = 0
    toplevel_loops: int = 0
    functions: int = 0
    assigns: int = 0
    calls: int = 0
    sets: int = 0  # set literals, set comprehensions, set()/frozenset() calls
    imports: frozenset[str] = frozenset()

    def has(self, pattern: str) -> bool:
        return re.search(pattern, self.text, re.M) is not None

    def count(self, pattern: str) -> int:
        return len(re.findall(pattern, self.text, re.M))


def _features(code: str) -> _Features:
    try:
        with warnings.catch_warnings():  # old submissions trigger SyntaxWarnings (e.g. `1if x else 2`)
            warnings.simplefilter("ignore")
            tree: ast.AST | None = ast.parse(code)
    except (SyntaxError, ValueError):
        tree = None
    f = _Features(text=code, tree=tree)
    if tree is None:
        f.loops = len(re.findall(r"^\s*(for|while)\b", code, re.M))
        return f

    def walk(node: ast.AST, depth: int, func: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            d = depth
            if isinstance(child, (ast.For, ast.While, ast.AsyncFor)):
                f.loops += 1
                d = depth + 1
                f.max_loop_depth = max(f.max_loop_depth, d)
                if isinstance(node, ast.Module):
                    f.toplevel_loops += 1
            elif isinstance(child, (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
                f.comprehensions += 1
                d = depth + 1
                f.max_loop_depth = max(f.max_loop_depth, d)
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                f.functions += 1
                walk(child, 0, child.name)
                continue
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Name):
                if child.func.id == "print" and depth > 0:
                    f.prints_in_loop += 1
                if func and child.func.id == func:
                    f.recursive = True
            if isinstance(child, ast.Call) and isinstance(child.func, ast.Attribute):
                if child.func.attr == "pop" and child.args and isinstance(child.args[0], ast.Constant) and child.args[0].value == 0:
                    f.list_pop0 += 1
            if isinstance(child, ast.AugAssign) and isinstance(child.op, ast.Add) and depth > 0:
                if isinstance(child.value, (ast.Constant, ast.JoinedStr, ast.Call)) and (
                    isinstance(child.value, ast.JoinedStr)
                    or (isinstance(child.value, ast.Constant) and isinstance(child.value.value, str))
                    or (isinstance(child.value, ast.Call) and isinstance(child.value.func, ast.Name) and child.value.func.id == "str")
                ):
                    f.str_concat_in_loop += 1
            if isinstance(child, ast.Compare) and any(isinstance(op, (ast.In, ast.NotIn)) for op in child.ops):
                if any(isinstance(c, ast.List) for c in child.comparators):
                    f.in_list_literal += 1
            walk(child, d, func)

    walk(tree, 0, None)
    mods: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            f.assigns += 1
        elif isinstance(node, (ast.Set, ast.SetComp)):
            f.sets += 1
        elif isinstance(node, ast.Call):
            f.calls += 1
            if isinstance(node.func, ast.Name) and node.func.id in ("set", "frozenset"):
                f.sets += 1
        elif isinstance(node, ast.Import):
            mods.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            mods.add(node.module.split(".")[0])
    f.imports = frozenset(mods)
    return f


# ----------------------------------------------------------------------------- rules
# Each rule: (priority, test(slow, fast) -> bool, text). Lower priority number = more important.

_Rule = tuple[int, Callable[[_Features, _Features], bool], str]


def _added(pattern: str) -> Callable[[_Features, _Features], bool]:
    return lambda s, f: f.has(pattern) and not s.has(pattern)


def _removed(pattern: str) -> Callable[[_Features, _Features], bool]:
    return lambda s, f: s.has(pattern) and not f.has(pattern)


def _more(pattern: str) -> Callable[[_Features, _Features], bool]:
    return lambda s, f: f.count(pattern) > s.count(pattern)


_STDIN = r"sys\.stdin|open\(0\)|stdin\.buffer"

RULES: list[_Rule] = [
    (1, lambda s, f: s.max_loop_depth >= 2 and f.max_loop_depth < s.max_loop_depth,
     "Reduce the loop nesting (from {s.max_loop_depth} to {f.max_loop_depth} levels), lowering the time complexity"),
    (1, lambda s, f: s.recursive and not f.recursive and f.loops + f.comprehensions >= s.loops,
     "Replace recursion with iteration, avoiding deep call stacks and function-call overhead"),
    (1, _added(r"lru_cache|@cache\b|functools\.cache|memo\s*=|dp\s*=\s*\["),
     "Memoize repeated subproblems (lru_cache / a DP table) so each state is computed once"),
    (1, _added(r"\bbisect"), "Use binary search (bisect) on sorted data instead of a linear scan"),
    (1, _added(r"\bheapq|heappush|heappop"), "Use a heap (heapq) to get the smallest/largest items in O(log n)"),
    (1, _added(r"accumulate\(|prefix|cumsum|acc\s*=\s*\[0\]"),
     "Precompute prefix sums (itertools.accumulate) so range sums take O(1)"),
    (1, lambda s, f: (f.sets > 0 and s.sets == 0) or (s.in_list_literal > f.in_list_literal and f.sets > 0),
     "Use a set for membership tests (O(1) hash lookups) instead of searching a list"),
    (1, _added(r"\bCounter\("), "Count occurrences with collections.Counter instead of repeated counting loops or list.count"),
    (1, lambda s, f: s.count(r"\.count\(") > f.count(r"\.count\(") and f.count(r"\.count\(") == 0,
     "Avoid repeated list.count()/str.count() scans inside loops, counting once"),
    (1, lambda s, f: (f.has(r"\bdeque\b") and not s.has(r"\bdeque\b")) or s.list_pop0 > f.list_pop0,
     "Use collections.deque for queue operations (O(1) popleft instead of list.pop(0))"),
    (1, _added(r"pow\([^()]*,[^()]*,[^()]*\)"), "Use three-argument pow() for fast modular exponentiation"),
    (1, _added(r"math\.gcd|\bgcd\(|math\.comb|math\.factorial|math\.isqrt|math\.lcm"),
     "Use math library functions (gcd/comb/isqrt...) implemented in C instead of hand-written loops"),
    (1, lambda s, f: s.loops > 0 and f.loops == 0 and f.comprehensions == 0,
     "Replace the loop with a closed-form computation"),
    (1, _removed(r"\bdeepcopy\(|copy\.copy\("), "Avoid copying data structures (deepcopy/copy) inside the computation"),
    (1, _added(r"\.sort\(|\bsorted\("), "Sort the data once so later steps can scan or search it efficiently"),
    (2, lambda s, f: s.has(r"\binput\(\)") and f.has(_STDIN) and not s.has(_STDIN),
     "Read input with sys.stdin (readline / reading everything at once) instead of the slower input()"),
    (2, _removed(r"^\s*import numpy|^\s*from numpy|^\s*import scipy|^\s*from scipy|^\s*import pandas"),
     "Drop the heavy numpy/scipy import, whose start-up time dominates on small inputs"),
    (2, _added(r"^\s*import numpy|^\s*from numpy"), "Vectorize the computation with numpy arrays instead of Python loops"),
    (2, lambda s, f: s.prints_in_loop > f.prints_in_loop and f.has(r"join\("),
     "Collect the output and print it once with '\\n'.join instead of calling print in a loop"),
    (2, lambda s, f: s.str_concat_in_loop > f.str_concat_in_loop,
     "Build strings with ''.join instead of repeated += concatenation"),
    (2, _removed(r"\beval\("), "Parse input with int()/split() instead of eval()"),
    (2, lambda s, f: s.toplevel_loops > 0 and f.toplevel_loops == 0 and f.functions > s.functions,
     "Move the work into a function, where local-variable lookups are faster than global ones"),
    (3, lambda s, f: f.comprehensions > s.comprehensions and f.loops < s.loops,
     "Replace explicit loops with comprehensions, which run faster"),
    (3, lambda s, f: f.count(r"\b(sum|max|min|any|all|map)\(") > s.count(r"\b(sum|max|min|any|all|map)\(") and f.loops <= s.loops,
     "Use built-in functions (sum/max/min/map/any) implemented in C instead of manual loops"),
    (3, _removed(r"list\(map\("), "Iterate over map() directly instead of materializing a list"),
    (3, lambda s, f: f.has(r"\bbreak\b|\breturn\b") and f.count(r"\bbreak\b") > s.count(r"\bbreak\b"),
     "Stop early (break) once the answer is known instead of finishing the loop"),
    (3, _removed(r"sys\.setrecursionlimit\(\s*10\s*\*\*\s*[6-9]"),
     "Drop the huge recursion limit, which makes the interpreter reserve a large stack"),
    (3, lambda s, f: s.has(r"int\([^()]*/[^/]") and f.count(r"//") > s.count(r"//"),
     "Use integer floor division (//) instead of float division followed by int()"),
    (3, _removed(r"range\(len\("), "Iterate over the items directly (enumerate/zip) instead of indexing with range(len())"),
    (3, lambda s, f: s.count(r"\blist\(") > f.count(r"\blist\("),
     "Avoid materializing intermediate lists with list(...), iterating lazily"),
    (3, _added(r"\bexit\(|sys\.exit\("), "Exit as soon as the answer is printed instead of running the rest"),
    (3, lambda s, f: bool(s.imports - f.imports) and not (f.imports - s.imports),
     "Drop unneeded imports ({dropped}), saving module start-up time"),
    (4, lambda s, f: f.loops < s.loops, "Remove redundant loops (from {s.loops} to {f.loops})"),
    (4, lambda s, f: s.calls >= 3 and f.calls <= s.calls - 2,
     "Make fewer function calls ({s.calls} → {f.calls}), cutting call overhead"),
    (4, lambda s, f: s.assigns - f.assigns >= 1 and f.calls <= s.calls,
     "Inline temporary variables, avoiding extra stores and lookups"),
    (4, lambda s, f: f.assigns - s.assigns >= 1 and f.calls < s.calls,
     "Store a repeated computation in a variable instead of recomputing it"),
    (4, lambda s, f: len(f.text) < 0.6 * len(s.text), "Simplify the computation and remove redundant work"),
]


def describe_changes(slow: str, fast: str, limit: int = 2) -> list[str]:
    s, f = _features(slow), _features(fast)
    hits: list[tuple[int, int, str]] = []
    for order, (prio, test, text) in enumerate(RULES):
        try:
            ok = test(s, f)
        except Exception:  # a rule that cannot judge malformed code simply does not fire
            ok = False
        if ok:
            dropped = ", ".join(sorted(s.imports - f.imports))
            hits.append((prio, order, text.format(s=s, f=f, dropped=dropped)))
    hits.sort()
    return [h[2] for h in hits[:limit]]


class OfflineSummarizer:
    """Deterministic rule-based summaries, no model needed."""

    name = "offline"

    def summarize(self, slow: str, fast: str) -> str:
        points = describe_changes(slow, fast)
        if not points:
            diff = unified_diff(slow, fast, n=0)
            removed = sum(1 for line in diff.splitlines() if line.startswith("-") and not line.startswith("---"))
            added = sum(1 for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
            lines = "line" if removed == 1 else "lines"
            points = [f"Restructure the computation to do less work per step ({removed} {lines} replaced by {added})"]
        return format_points(points)


def format_points(points: list[str]) -> str:
    return "; ".join(f"{i}. {p.rstrip('.;')}" for i, p in enumerate(points, 1))


class LLMSummarizer:
    """The paper's summary prompt (§5.2.2), answered by `generate(messages) -> reply text`."""

    name = "llm"

    def __init__(self, generate: Callable[[Messages], str], max_diff_chars: int = 6000) -> None:
        self.generate = generate
        self.max_diff_chars = max_diff_chars

    def prompt(self, slow: str, fast: str) -> str:
        diff = unified_diff(slow, fast)[: self.max_diff_chars]
        return SUMMARY_PROMPT.format(diff=diff)

    def summarize(self, slow: str, fast: str) -> str:
        return clean_summary(self.generate([{"role": "user", "content": self.prompt(slow, fast)}]))


def clean_summary(text: str) -> str:
    """Keep the "1. …; 2. …" part of a model's reply on one line."""
    text = re.sub(r"```.*?```", " ", text, flags=re.S)
    text = " ".join(text.split())
    m = re.search(r"\b1\.\s", text)
    if m:
        text = text[m.start():]
    return text[:600].strip()


def summarizer_names() -> list[str]:
    """The registered summarizer names, sorted; imports nothing."""
    return plugin_names(SUMMARIZERS_GROUP)


def get_summarizer(name: str, backend: Any = None) -> Summarizer:
    """The summarizer registered as `name`, given the generation `backend` when there is one."""
    factory = load_plugin(SUMMARIZERS_GROUP, name, kind="summarizer")
    return factory() if backend is None else factory(backend)
