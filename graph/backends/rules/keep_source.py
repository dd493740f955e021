"""Put a rewritten program back into the user's own text: every statement the rewrites left alone
keeps its original lines (comments, blank lines, formatting); only the statements that changed are
written anew (unparsed, then black-formatted).

The rewrites work on the AST, and `ast.unparse` forgets comments, so without this a one-loop rewrite
would hand back the whole file reformatted and stripped of its comments. The result is checked: it
must parse to exactly the rewritten AST, or the plain formatted rewrite is returned instead.
"""

from __future__ import annotations

import ast
import difflib
import warnings
from typing import Any

from kb.preprocess import format_code

# Compound statements whose bodies can be merged one by one when their header did not change.
_RECURSE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.For, ast.AsyncFor, ast.While,
            ast.If, ast.With, ast.AsyncWith)
_BODIES = ("body", "orelse")
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def parse_quietly(code: str) -> ast.Module:
    """ast.parse without SyntaxWarnings: old code's `1if x` style warns; it is the user's code, not ours."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SyntaxWarning)
        return ast.parse(code)


def _key(node: ast.AST) -> str:
    return ast.dump(node)


def _start(stmt: ast.stmt) -> int:
    decorators = getattr(stmt, "decorator_list", None) or []
    return min([stmt.lineno, *(d.lineno for d in decorators)])


def _end(stmt: ast.stmt) -> int:
    """The statement's last line (always set on a parsed tree)."""
    assert stmt.end_lineno is not None
    return stmt.end_lineno


def _header_key(stmt: ast.stmt) -> str:
    """The statement with its bodies emptied: equal keys mean only the bodies differ."""
    if not isinstance(stmt, _RECURSE):
        return _key(stmt)
    fields: dict[str, Any] = {}
    for name, value in ast.iter_fields(stmt):
        fields[name] = [] if name in _BODIES else value
    return ast.dump(type(stmt)(**fields))


def _drop_genexp_parens(code: str) -> str:
    """`any((x for x in xs))` → `any(x for x in xs)`: ast.unparse parenthesizes a generator that is a
    call's only argument, which nobody writes by hand."""
    try:
        tree = parse_quietly(code)
    except SyntaxError:
        return code
    lines = [line.encode() for line in code.splitlines(keepends=True)]  # ast columns count bytes
    cuts = []  # (line index, column) of each parenthesis to delete
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and len(node.args) == 1 and not node.keywords \
                and isinstance(node.args[0], ast.GeneratorExp):
            gen = node.args[0]
            assert gen.end_lineno is not None and gen.end_col_offset is not None
            first, last = lines[gen.lineno - 1], lines[gen.end_lineno - 1]
            if first[gen.col_offset:gen.col_offset + 1] == b"(" and last[gen.end_col_offset - 1:gen.end_col_offset] == b")":
                cuts += [(gen.lineno - 1, gen.col_offset), (gen.end_lineno - 1, gen.end_col_offset - 1)]
    for row, col in sorted(cuts, reverse=True):
        lines[row] = lines[row][:col] + lines[row][col + 1:]
    out = b"".join(lines).decode()
    try:
        return out if _key(parse_quietly(out)) == _key(tree) else code
    except SyntaxError:
        return code


class _Merger:
    def __init__(self, original: str):
        self.lines = original.splitlines(keepends=True)
        self.out: list[str] = []
        self.blank_after = 0  # blank lines owed after a definition written anew

    def copy(self, first: int, last: int) -> None:
        """Original lines first..last (1-based, inclusive)."""
        chunk = self.lines[first - 1:last]
        if chunk and self.blank_after:
            leading = next((i for i, line in enumerate(chunk) if line.strip()), len(chunk))
            self.blank_lines(self.blank_after - leading)
            self.blank_after = 0
        self.out.extend(chunk)

    def blank_lines(self, n: int) -> None:
        """At least `n` blank lines before what comes next (PEP 8 spacing around definitions)."""
        have = 0
        for line in reversed(self.out):
            if line.strip():
                break
            have += 1
        if self.out:
            self.out.extend("\n" for _ in range(n - have))

    def indent_of(self, line_no: int) -> str:
        line = self.lines[line_no - 1]
        return line[: len(line) - len(line.lstrip())]

    def write_new(self, stmts: list[ast.stmt], indent: str) -> None:
        text = format_code(_drop_genexp_parens("\n".join(ast.unparse(s) for s in stmts) + "\n"))
        spacing = 1 if indent else 2
        if isinstance(stmts[0], _DEFINITIONS):
            self.blank_lines(spacing)
        self.out.extend(indent + line if line.strip() else line for line in text.splitlines(keepends=True))
        self.blank_after = spacing if isinstance(stmts[-1], _DEFINITIONS) else 0

    def body(self, old: list[ast.stmt], new: list[ast.stmt], cursor: int, indent: str) -> int:
        """Merge one statement list; `cursor` is the first original line not yet emitted. Returns
        the new cursor (the line after the last original statement of this list)."""
        matcher = difflib.SequenceMatcher(None, [_key(s) for s in old], [_key(s) for s in new], autojunk=False)
        for tag, i1, i2, j1, j2 in matcher.get_opcodes():
            if tag == "equal":
                self.copy(cursor, _end(old[i2 - 1]))
                cursor = _end(old[i2 - 1]) + 1
            else:
                cursor = self.changed(old[i1:i2], new[j1:j2], cursor, indent)
        return cursor

    def changed(self, old: list[ast.stmt], new: list[ast.stmt], cursor: int, indent: str) -> int:
        """Statements that differ: pair those whose header stayed the same (a function whose body
        changed, a loop a name was hoisted out of) and merge inside them; write the rest anew."""
        heads = difflib.SequenceMatcher(None, [_header_key(s) for s in old], [_header_key(s) for s in new],
                                        autojunk=False)
        for tag, i1, i2, j1, j2 in heads.get_opcodes():
            if tag == "equal" and all(self._can_recurse(o, n) for o, n in zip(old[i1:i2], new[j1:j2])):
                for o, n in zip(old[i1:i2], new[j1:j2]):
                    self.copy(cursor, _start(o) - 1)
                    cursor = self.compound(o, n, _start(o))
                continue
            if i2 > i1:
                self.copy(cursor, _start(old[i1]) - 1)  # comments and blank lines above stay
                last = _end(old[i2 - 1])
                # Whole-line comments inside the replaced code stay too, above the new code: a
                # stale comment is easy to delete, a silently dropped one is lost.
                self.out.extend(line for line in self.lines[_start(old[i1]) - 1:last]
                                if line.lstrip().startswith("#"))
                cursor = last + 1
            if j2 > j1:
                self.write_new(new[j1:j2], indent)
        return cursor

    def _can_recurse(self, old: ast.stmt, new: ast.stmt) -> bool:
        if type(old) is not type(new) or not isinstance(old, _RECURSE) or _header_key(old) != _header_key(new):
            return False
        if isinstance(old, ast.If) and len(old.orelse) == 1 and isinstance(old.orelse[0], ast.If):
            # an `elif` has no `else:` line of its own to keep between the two bodies
            if self.lines[old.orelse[0].lineno - 1].lstrip().startswith("elif"):
                return False
        return all(bool(getattr(old, f, [])) == bool(getattr(new, f, [])) for f in _BODIES)

    def compound(self, old: ast.stmt, new: ast.stmt, cursor: int) -> int:
        """Keep the header lines (and the `else:` between bodies) and merge each body."""
        for field in _BODIES:
            old_body, new_body = getattr(old, field, []), getattr(new, field, [])
            if not old_body:
                continue
            self.copy(cursor, _start(old_body[0]) - 1)  # header, or the gap holding `else:`
            cursor = self.body(old_body, new_body, _start(old_body[0]), self.indent_of(old_body[0].lineno))
        self.copy(cursor, _end(old))
        return _end(old) + 1


def merge(original: str, rewritten: str) -> str:
    """`rewritten` (a rewrite of `original`, any formatting) in `original`'s own text where the two
    agree. Falls back to black-formatted `rewritten` when the merge would not parse to the same AST."""
    try:
        old_tree, new_tree = parse_quietly(original), parse_quietly(rewritten)
        merger = _Merger(original)
        cursor = merger.body(old_tree.body, new_tree.body, 1, "")
        merger.copy(cursor, len(merger.lines))  # trailing comments
        text = "".join(merger.out)
        if not text.endswith("\n"):
            text += "\n"
        if _key(parse_quietly(text)) == _key(new_tree):
            return text
    except (SyntaxError, ValueError, RecursionError):
        pass
    return format_code(rewritten)
