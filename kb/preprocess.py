"""Context extraction (paper Algorithm 1), and the tree-sitter definition walk behind it.

The extracted context keeps the target functions, everything they call (recursively), the code that
calls them, and every module-level statement (imports, globals, the `if __name__` block); the
definitions of unrelated functions, methods and classes are removed. Removal goes through a unified
diff of merged, sorted deletion hunks that is then applied, as in the paper, and the result is
black-formatted (`format_code`, the project's one black wrapper). tree-sitter's error recovery lets
files with syntax errors elsewhere still work. `definitions` is the walk itself; graph.source builds
the function listing the TUI shows from it. Target names are checked for the user by
graph.source.resolve_targets; the lookup here only maps them to definitions (and still raises a
FasterPyError for a name it cannot map, for direct callers such as `fasterpy query`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from harness.errors import FasterPyError


@dataclass
class Definition:
    """A function or class definition (tree-sitter nodes) with its enclosing chain."""

    kind: str  # "function" | "class"
    name: str
    qualname: str
    outer: Any  # decorated_definition if decorated, else the definition node itself
    node: Any  # function_definition / class_definition
    parent: Definition | None
    children: list[Definition] = field(default_factory=list)


@lru_cache(maxsize=1)
def _language() -> Any:
    import tree_sitter_python as tsp
    from tree_sitter import Language

    return Language(tsp.language())


@lru_cache(maxsize=1)
def _identifier_query() -> Any:
    from tree_sitter import Query

    return Query(_language(), "(identifier) @id")


def _parse(source: str) -> Any:
    from tree_sitter import Parser

    return Parser(_language()).parse(source.encode("utf-8"))


def _text(node: Any) -> str:
    return node.text.decode("utf-8", errors="replace")


def _collect_defs(node: Any, parent: Definition | None, out: list[Definition]) -> None:
    """Walk the tree, recording every function and class definition (nested ones included)."""
    for child in node.children:
        outer, inner = child, child
        if child.type == "decorated_definition":
            inner = child.child_by_field_name("definition")
            if inner is None:
                continue
        if inner.type in ("function_definition", "class_definition"):
            name_node = inner.child_by_field_name("name")
            if name_node is None:
                continue
            name = _text(name_node)
            qual = f"{parent.qualname}.{name}" if parent else name
            d = Definition(
                kind="function" if inner.type == "function_definition" else "class",
                name=name,
                qualname=qual,
                outer=outer,
                node=inner,
                parent=parent,
            )
            out.append(d)
            if parent:
                parent.children.append(d)
            body = inner.child_by_field_name("body")
            if body is not None:
                _collect_defs(body, d, out)
        elif child.type in ("block", "if_statement", "else_clause", "elif_clause", "try_statement",
                            "except_clause", "finally_clause", "with_statement", "for_statement",
                            "while_statement"):
            # Definitions under `if TYPE_CHECKING:` etc. still belong to the enclosing scope.
            _collect_defs(child, parent, out)


def _all_defs(root: Any) -> list[Definition]:
    defs: list[Definition] = []
    _collect_defs(root, None, defs)
    return defs


def definitions(source: str) -> list[Definition]:
    """Every function and class definition in `source` (nested ones included), parsed with
    tree-sitter's error recovery, so a file with syntax errors elsewhere still has its definitions."""
    return _all_defs(_parse(source).root_node)


def _names_used(node: Any) -> set[str]:
    """Identifiers referenced inside `node`, attribute names (`self.helper`) included."""
    from tree_sitter import QueryCursor

    caps = QueryCursor(_identifier_query()).captures(node)
    return {_text(n) for n in caps.get("id", [])}


def _top(d: Definition) -> Definition:
    while d.parent is not None and d.parent.kind == "function":
        d = d.parent
    return d


def _resolve_targets(source: str, defs: list[Definition], targets: Sequence[str]) -> list[Definition]:
    by_qual = {d.qualname: d for d in defs}
    funcs = sorted(d.qualname for d in defs if d.kind == "function")
    found: list[Definition] = []
    for t in targets:
        t = t.strip()
        d = by_qual.get(t)
        if d is None:
            # A bare method name is accepted when it is unambiguous.
            cands = [x for x in defs if x.kind == "function" and x.name == t]
            if len(cands) == 1:
                d = cands[0]
        if d is None:
            short = t.rsplit(".", 1)[-1]
            if re.search(rf"^\s*{re.escape(short)}\s*=\s*lambda\b", source, re.M):
                raise FasterPyError(
                    f"'{t}' is a lambda, not a function definition — turn it into a `def` to optimize it"
                )
            if re.search(rf"^\s*(async\s+)?def\s+{re.escape(short)}\b", source, re.M):
                raise FasterPyError(
                    f"function '{t}' could not be parsed (syntax error in its definition) — fix the "
                    "syntax error and try again"
                )
            listing = ", ".join(funcs) if funcs else "(none)"
            raise FasterPyError(f"no function named '{t}' in this file — available functions: {listing}")
        if d.kind == "class":
            methods = [c.qualname for c in d.children if c.kind == "function"]
            raise FasterPyError(
                f"'{t}' is a class, not a function — name its methods instead "
                f"(e.g. {', '.join(methods[:5]) or t + '.method'})"
            )
        if d.node.has_error:
            raise FasterPyError(
                f"function '{d.qualname}' could not be parsed (syntax error in its body) — fix the "
                "syntax error and try again"
            )
        found.append(d)
    return found


def _keep_set(defs: list[Definition], targets: list[Definition]) -> set[str]:
    """Qualnames of definitions to keep: targets, callees (recursive), callers (recursive) and the
    classes they use, plus the scopes enclosing any kept definition."""
    top_funcs: dict[str, list[Definition]] = {}
    methods: dict[str, list[Definition]] = {}
    classes: dict[str, list[Definition]] = {}
    for d in defs:
        if d.parent is None or d.parent.kind == "class":
            bucket = classes if d.kind == "class" else (methods if d.parent else top_funcs)
            bucket.setdefault(d.name, []).append(d)
    uses = {d.qualname: _names_used(d.outer) for d in defs}

    keep: set[str] = set()
    queue: list[Definition] = [_top(t) for t in targets]
    # Callees: follow names a kept definition mentions.
    while queue:
        d = queue.pop()
        if d.qualname in keep:
            continue
        keep.add(d.qualname)
        names = uses[d.qualname]
        if d.kind == "class":
            # A class's own body statements (not its methods) reference what the class needs.
            names = _class_level_names(d)
        for n in names:
            for cand in top_funcs.get(n, []) + classes.get(n, []) + methods.get(n, []):
                if cand.qualname not in keep:
                    queue.append(cand)
    # Callers: any function/method mentioning a kept name, transitively (main → solve → target).
    target_names = {t.name for t in targets} | {_top(t).name for t in targets}
    changed = True
    while changed:
        changed = False
        for d in defs:
            if d.kind != "function" or d.qualname in keep or _top(d) is not d:
                continue
            if uses[d.qualname] & target_names:
                keep.add(d.qualname)
                target_names.add(d.name)
                changed = True
    # Enclosing classes of kept methods; classes keep their dunder methods (construction, repr...).
    for d in defs:
        if d.qualname in keep:
            p = d.parent
            while p is not None:
                keep.add(p.qualname)
                p = p.parent
    for d in defs:
        if d.kind == "function" and d.parent is not None and d.parent.kind == "class":
            if d.parent.qualname in keep and d.name.startswith("__") and d.name.endswith("__"):
                keep.add(d.qualname)
    return keep


def _class_level_names(d: Definition) -> set[str]:
    body = d.node.child_by_field_name("body")
    names: set[str] = set()
    for part in (d.node.child_by_field_name("superclasses"), *(body.children if body else [])):
        if part is None:
            continue
        inner = part.child_by_field_name("definition") if part.type == "decorated_definition" else part
        if inner is not None and inner.type == "function_definition":
            if part.type == "decorated_definition":
                for c in part.children:
                    if c.type == "decorator":
                        names |= _names_used(c)
            continue
        names |= _names_used(part)
    return names


def _deletion_ranges(defs: list[Definition], keep: set[str]) -> list[tuple[int, int]]:
    """0-based inclusive line ranges of unkept definitions, never emptying a class body."""
    ranges: list[tuple[int, int]] = []
    for d in defs:
        if d.qualname in keep:
            continue
        if d.parent is not None and d.parent.qualname not in keep:
            continue  # removed with its parent
        if d.parent is not None and d.parent.kind == "function":
            continue  # nested helpers stay with their (kept) function
        if d.parent is not None and d.parent.kind == "class":
            body = d.parent.node.child_by_field_name("body")
            stmts = [c for c in (body.children if body else []) if c.is_named and c.type != "comment"]
            survivors = [
                s for s in stmts
                if not any(x.outer == s and x.qualname not in keep for x in d.parent.children)
            ]
            if not survivors:
                continue
        ranges.append((d.outer.start_point[0], d.outer.end_point[0]))
    return _merge(ranges)


def _merge(ranges: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if merged and s <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    return merged


def deletion_patch(lines: list[str], ranges: list[tuple[int, int]], name: str = "code.py") -> str:
    """A unified diff that deletes the given (merged, sorted) 0-based line ranges."""
    out = [f"--- a/{name}\n", f"+++ b/{name}\n"]
    removed = 0
    for s, e in ranges:
        count = e - s + 1
        new_start = s - removed  # line before the hunk in the new file (unified-diff convention for 0 lines)
        out.append(f"@@ -{s + 1},{count} +{new_start},0 @@\n")
        for line in lines[s : e + 1]:
            out.append("-" + (line if line.endswith("\n") else line + "\n"))
        removed += count
    return "".join(out)


_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")


def apply_patch(lines: list[str], patch: str) -> list[str]:
    """Apply a unified diff (context, deletions and additions), checking every old line matches."""
    result: list[str] = []
    pos = 0  # 0-based index into `lines`
    plines = patch.splitlines(keepends=True)
    i = 0
    while i < len(plines):
        m = _HUNK.match(plines[i])
        i += 1
        if not m:
            continue
        old_start = int(m.group(1))
        old_count = int(m.group(2)) if m.group(2) is not None else 1
        start = old_start - 1 if old_count else old_start
        result.extend(lines[pos:start])
        pos = start
        while i < len(plines) and not plines[i].startswith("@@"):
            tag, body = plines[i][:1], plines[i][1:]
            i += 1
            if tag == "\\":
                continue
            if tag in (" ", "-"):
                if pos >= len(lines) or lines[pos].rstrip("\n") != body.rstrip("\n"):
                    raise FasterPyError(f"patch does not apply at line {pos + 1} — the source changed while extracting")
                if tag == " ":
                    result.append(lines[pos])
                pos += 1
            elif tag == "+":
                result.append(body)
    result.extend(lines[pos:])
    return result


def format_code(code: str) -> str:
    """black-format `code`; code black cannot format (a syntax error, or the rare valid code black
    rejects) is returned as is, since it still runs."""
    import black

    try:
        return black.format_str(code, mode=black.Mode())
    except Exception:  # black raises several types for code it cannot parse
        return code


def extract_context(source: str, targets: Sequence[str] | str | None = None) -> str:
    """Algorithm 1: the code the model needs to optimize `targets`, black-formatted.
    No targets → the whole file (formatted)."""
    if isinstance(targets, str):
        targets = [targets]
    if not targets:
        return format_code(source)
    tree = _parse(source)
    defs = _all_defs(tree.root_node)
    target_defs = _resolve_targets(source, defs, targets)
    keep = _keep_set(defs, target_defs)
    lines = source.splitlines(keepends=True)
    ranges = _deletion_ranges(defs, keep)
    patch = deletion_patch(lines, ranges)
    pruned = "".join(apply_patch(lines, patch))
    return format_code(pruned)
