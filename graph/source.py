"""The user's source file: read and check it, resolve the target names, list its functions, and put
accepted functions back into it with every other byte unchanged.

- `read_source(path)` and `check_syntax(source)`: the file's text exactly as stored, or a one-line
  FasterPyError (missing, a directory, unreadable, not UTF-8, a syntax error).
- `resolve_targets(source, targets)`: the one check of target names every path (optimize, batch,
  the TUI) runs before inputs are captured. A target is a `def` at module level or in a class
  (`func`, `Class.method`, `Outer.Inner.method`); a bare method name is accepted when unambiguous.
  Unknown names, lambdas, classes and functions nested in functions get their own message.
  `target_names(source)` lists every name it accepts.
- `list_functions(source)` -> `FunctionInfo`: what the TUI lists, built on kb.preprocess's
  tree-sitter walk so a file with a syntax error still shows its functions.
- `splice_functions(original, candidate, targets)`: the model answers with a whole
  (context-extracted, black-formatted) module; from it we take only the target functions, the
  imports they newly need and the new module-level helpers they call. The original file is edited
  as a list of physical lines, so comments, blank lines, CRLF line endings, decorators of untouched
  functions and everything else outside the replaced spans stay byte-identical.
"""

from __future__ import annotations

import ast
import io
import os
import re
import tokenize
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import FasterPyError

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_BOM = "\ufeff"


class SpliceError(FasterPyError):
    """The candidate cannot be put back (a target is missing from it, or it does not parse)."""


# -- reading and checking ----------------------------------------------------------------------


def read_source(path: str | os.PathLike[str]) -> str:
    """The file's text exactly as stored (CRLF and a BOM kept); one-line errors for every bad input."""
    p = Path(path)
    if not p.exists():
        raise FasterPyError(f"{p} does not exist (no such file) — check the path")
    if p.is_dir():
        raise FasterPyError(f"{p} is a directory — name a Python file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FasterPyError(f"cannot read {p}: {exc.strerror} — check its permissions") from exc
    try:
        source = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FasterPyError(
            f"{p} is not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start}) — save it as UTF-8"
        ) from None
    check_syntax(source, str(p))
    return source


def check_syntax(source: str, name: str = "the code") -> None:
    """Raise a one-line FasterPyError unless `source` parses."""
    _parse_user(source, name)


def _parse_user(source: str, name: str) -> ast.Module:
    try:
        return ast.parse(source.removeprefix(_BOM))
    except SyntaxError as exc:
        raise FasterPyError(f"{name} has a syntax error at line {exc.lineno}: {exc.msg} — fix it first") from None
    except ValueError as exc:  # e.g. null bytes
        raise FasterPyError(f"{name} cannot be parsed: {exc} — fix the file") from None


# -- target names ----------------------------------------------------------------------------


def resolve_targets(source: str, targets: Sequence[str], name: str = "this file", *,
                    required: bool = False) -> list[str]:
    """The targets' canonical qualnames, in order, without repeats. Raises a one-line FasterPyError
    naming what to do for a name that is not a target function, or (`required`) for no names."""
    tree = _parse_user(source, name)
    known = _target_qualnames(tree)
    wanted = [t.strip() for t in targets if t and t.strip()]
    if not wanted:
        if required:
            raise FasterPyError(
                f"no target function named — pass -f NAME (functions in {name}: {_listing(known)}), or "
                "--tests DIR / --input FILE to optimize the whole program"
            )
        return []
    out: list[str] = []
    for target in wanted:
        qualname = target if find_function(tree, target) is not None else _by_bare_name(target, known)
        if qualname is None:
            raise _not_a_target(tree, target, name, known)
        if qualname not in out:
            out.append(qualname)
    return out


def target_names(source: str, name: str = "this file") -> list[str]:
    """Every qualname `resolve_targets` accepts in `source` (defs at module level and in classes), in
    source order; a one-line FasterPyError when it does not parse."""
    return _target_qualnames(_parse_user(source, name))


def _target_qualnames(tree: ast.Module) -> list[str]:
    """Qualnames `find_function` resolves: defs at module level and in (nested) classes, in source order."""
    out: list[str] = []

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                out.append(prefix + node.name)
            elif isinstance(node, ast.ClassDef):
                walk(node.body, f"{prefix}{node.name}.")

    walk(tree.body, "")
    return list(dict.fromkeys(out))


def _by_bare_name(target: str, known: list[str]) -> str | None:
    matches = [q for q in known if "." in q and q.rsplit(".", 1)[1] == target]
    if len(matches) > 1:
        raise FasterPyError(f"'{target}' is ambiguous — name one of {', '.join(matches)}")
    return matches[0] if matches else None


def _listing(known: list[str]) -> str:
    return ", ".join(sorted(known)) or "(none)"


def _not_a_target(tree: ast.Module, target: str, name: str, known: list[str]) -> FasterPyError:
    """Say what `target` is, when it is something other than a target function."""
    node: ast.AST | None = None
    body: list[ast.stmt] = tree.body
    for part in target.split("."):
        if node is not None:  # descend into the previous part
            if not isinstance(node, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                node = None
                break
            body = node.body
        node = None
        for stmt in body:
            if isinstance(stmt, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and stmt.name == part:
                node = stmt
            elif isinstance(stmt, ast.Assign) and any(isinstance(t, ast.Name) and t.id == part for t in stmt.targets):
                node = stmt
        if node is None:
            break
    if isinstance(node, ast.ClassDef):
        methods = [f"{target}.{s.name}" for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        return FasterPyError(f"'{target}' is a class, not a function — name its methods instead "
                             f"(e.g. {', '.join(methods[:5]) or target + '.method'})")
    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Lambda):
        return FasterPyError(f"'{target}' is a lambda, not a function definition — turn it into a `def` to optimize it")
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        outer = target.rsplit(".", 1)[0]
        return FasterPyError(f"'{target}' is nested inside a function — optimize '{outer}' instead, or move it "
                             "to module level")
    return FasterPyError(f"no function named '{target}' in {name} — available functions: {_listing(known)}")


# -- the function listing --------------------------------------------------------------------


@dataclass
class FunctionInfo:
    """One function or method in a file. Lines are 1-based and inclusive; `start_line` includes the
    decorators, `def_line` is the line of the `def` itself."""

    name: str
    qualname: str
    start_line: int
    end_line: int
    is_async: bool = False
    is_method: bool = False
    decorators: list[str] = field(default_factory=list)
    def_line: int = 0
    has_error: bool = False
    parent: str = ""  # qualname of the enclosing function/class, "" at module level


def list_functions(source: str) -> list[FunctionInfo]:
    """Every function and method in `source`, in source order (nested ones included)."""
    from kb.preprocess import definitions

    infos: list[FunctionInfo] = []
    for d in definitions(source):
        if d.kind != "function":
            continue
        decorators = []
        if d.outer.type == "decorated_definition":
            decorators = [_node_text(c).lstrip("@").strip() for c in d.outer.children if c.type == "decorator"]
        infos.append(
            FunctionInfo(
                name=d.name,
                qualname=d.qualname,
                start_line=d.outer.start_point[0] + 1,
                end_line=d.outer.end_point[0] + 1,
                is_async=any(c.type == "async" for c in d.node.children),
                is_method=d.parent is not None and d.parent.kind == "class",
                decorators=decorators,
                def_line=d.node.start_point[0] + 1,
                has_error=d.node.has_error,
                parent=d.parent.qualname if d.parent else "",
            )
        )
    infos.sort(key=lambda i: (i.start_line, i.qualname))
    return infos


def _node_text(node: object) -> str:
    return node.text.decode("utf-8", errors="replace")  # type: ignore[attr-defined]


# -- splicing --------------------------------------------------------------------------------


def _lines(text: str) -> list[str]:
    """Physical lines with their endings, numbered the way `ast` numbers them (\\r\\n, \\r, \\n)."""
    return _LINE_RE.findall(text)


def _newline_of(text: str) -> str:
    m = re.search(r"\r\n|\r|\n", text)
    return m.group(0) if m else "\n"


def _parse(source: str, what: str) -> ast.Module:
    try:
        return ast.parse(source.removeprefix(_BOM))
    except SyntaxError as exc:
        raise SpliceError(f"the {what} does not parse: {exc.msg} (line {exc.lineno}) — fix the syntax error") from exc


Def = ast.FunctionDef | ast.AsyncFunctionDef


def find_function(tree: ast.Module, qualname: str) -> tuple[Def, list[ast.AST]] | None:
    """The def for `func` / `Class.method` / `Outer.Inner.method`, with the chain of its parents."""
    parts = qualname.split(".")
    body: list[ast.stmt] = tree.body
    parents: list[ast.AST] = []
    for i, name in enumerate(parts):
        last = i == len(parts) - 1
        found: Def | ast.ClassDef | None = None
        for node in body:
            if last and isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name:
                found = node  # the last definition wins, as at run time
            elif not last and isinstance(node, ast.ClassDef) and node.name == name:
                found = node
        if found is None:
            return None
        if last:
            assert not isinstance(found, ast.ClassDef)  # the last part only ever matches a def
            return found, parents
        parents.append(found)
        body = found.body
    return None


def _span(node: ast.AST) -> tuple[int, int]:
    """1-based inclusive line span of a definition including its decorators."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])  # type: ignore[attr-defined]
    return start, node.end_lineno  # type: ignore[attr-defined]


def _string_continuation_lines(text: str) -> set[int]:
    """1-based lines that lie inside a multi-line string (after its first line): re-indenting them
    would change the string's value."""
    inside: set[int] = set()
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.STRING and tok.end[0] > tok.start[0]:
                inside.update(range(tok.start[0] + 1, tok.end[0] + 1))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        pass
    return inside


def _indent_unit(lines: list[str]) -> str:
    """The file's indentation step: a tab, or the smallest indent increase after a line ending in
    ':' (aligned continuation lines do not count); 4 spaces when unclear."""
    best = 0
    prev: str | None = None
    for line in lines:
        body = line.rstrip("\r\n")
        if not body.strip() or body.lstrip().startswith("#"):
            continue
        ws = _leading_ws(body)
        if prev is not None and prev.rstrip().endswith(":"):
            if ws.startswith("\t"):
                return "\t"
            grow = len(ws) - len(_leading_ws(prev))
            if grow > 0 and (best == 0 or grow < best):
                best = grow
        prev = body
    return " " * best if best >= 1 else "    "


def _reindent(lines: list[str], old: str, new: str, newline: str, skip: set[int], first_line: int,
              old_unit: str = "    ", new_unit: str = "    ") -> list[str]:
    """Move lines from base indent `old` to `new`, converting each whole indent step from the
    candidate's unit to the file's (tabs stay tabs); lines inside multi-line strings are left alone."""
    out = []
    for offset, line in enumerate(lines):
        body = line.rstrip("\r\n")
        if (first_line + offset) not in skip and body.strip() and body.startswith(old):
            rest = body[len(old):]
            ws = _leading_ws(rest)
            if old_unit != new_unit:
                levels = 0
                while ws.startswith(old_unit):
                    ws = ws[len(old_unit):]
                    levels += 1
                ws = new_unit * levels + ws
            body = new + ws + rest.lstrip(" \t")
        out.append(body + newline)
    return out


def _leading_ws(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


def _bound_names(stmt: ast.stmt) -> set[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {stmt.name}
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in stmt.names}
    names: set[str] = set()
    targets: list[ast.expr] = []
    if isinstance(stmt, ast.Assign):
        targets = stmt.targets
    elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)):
        targets = [stmt.target]
    for t in targets:
        for n in ast.walk(t):
            if isinstance(n, ast.Name):
                names.add(n.id)
    return names


def _module_names(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for stmt in tree.body:
        names |= _bound_names(stmt)
        # names bound under `if`/`try` at top level (e.g. optional imports) count too
        if isinstance(stmt, (ast.If, ast.Try)):
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.stmt):
                    names |= _bound_names(sub)
    return names


def _used_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)} | {
        n.value.id for n in ast.walk(node) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }


@dataclass
class _Insert:
    before_line: int  # 1-based line of the original the text goes in front of
    text: list[str]


def _import_insert_line(tree: ast.Module) -> int:
    """After the last import of the leading block (docstring, __future__, imports); 1 if none."""
    line = 0
    for i, stmt in enumerate(tree.body):
        if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            line = stmt.end_lineno or line
            continue
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            line = stmt.end_lineno or line
            continue
        break
    return line + 1


def _new_imports(cand_tree: ast.Module, orig_names: set[str], needed: set[str]) -> list[str]:
    """Import statements for names the spliced functions use that the original file does not bind."""
    out: list[str] = []
    for stmt in cand_tree.body:
        if isinstance(stmt, ast.Import):
            keep = [a for a in stmt.names if (a.asname or a.name).split(".")[0] not in orig_names
                    and (a.asname or a.name).split(".")[0] in needed]
            if keep:
                out.append(ast.unparse(ast.Import(names=keep)))
        elif isinstance(stmt, ast.ImportFrom) and stmt.module != "__future__":
            keep = [a for a in stmt.names if a.name != "*" and (a.asname or a.name) not in orig_names
                    and (a.asname or a.name) in needed]
            if keep:
                out.append(ast.unparse(ast.ImportFrom(module=stmt.module, names=keep, level=stmt.level)))
    return out


def splice_functions(original_source: str, candidate_source: str, targets: list[str] | tuple[str, ...]) -> str:
    """Return `original_source` with each target's definition replaced by the candidate's.

    Targets are `func` or `Class.method` (nested classes as `Outer.Inner.method`). New top-level
    imports and new module-level helpers (functions, classes, constants) that the replaced functions
    use, transitively, are added: imports after the file's import block, helpers just above the first
    top-level statement that holds a target. Raises SpliceError if a target is missing on either side.
    """
    if not targets:
        raise SpliceError("no target functions to splice — name at least one function")
    orig_tree = _parse(original_source, "original file")
    cand_tree = _parse(candidate_source, "candidate code")
    has_bom = original_source.startswith(_BOM)
    orig_text = original_source.removeprefix(_BOM)
    cand_text = candidate_source.removeprefix(_BOM)
    newline = _newline_of(orig_text)
    orig_lines = _lines(orig_text)
    cand_lines = _lines(cand_text)
    cand_skip = _string_continuation_lines(cand_text)
    orig_unit = _indent_unit(orig_lines)
    cand_unit = _indent_unit(cand_lines)

    replacements: list[tuple[int, int, list[str]]] = []
    spliced_nodes: list[ast.AST] = []
    first_top_line: int | None = None
    for target in dict.fromkeys(targets):
        found_o = find_function(orig_tree, target)
        if found_o is None:
            raise SpliceError(f"function {target!r} is not defined in the original file — check the name")
        found_c = find_function(cand_tree, target)
        if found_c is None and "." in target:
            # A model sometimes answers with the method alone, outside its class.
            found_c = find_function(cand_tree, target.rsplit(".", 1)[1])
        if found_c is None:
            raise SpliceError(f"the candidate code does not define {target!r} — answer with the full function")
        o_node, o_parents = found_o
        c_node, _ = found_c
        o_start, o_end = _span(o_node)
        c_start, c_end = _span(c_node)
        o_indent = _leading_ws(orig_lines[o_start - 1])
        c_indent = _leading_ws(cand_lines[c_start - 1])
        new_lines = _reindent(cand_lines[c_start - 1 : c_end], c_indent, o_indent, newline, cand_skip, c_start,
                              cand_unit, orig_unit)
        # Keep whatever ended the original's last line (the file may end without a newline).
        last = orig_lines[o_end - 1]
        ending = last[len(last.rstrip("\r\n")):]
        new_lines[-1] = new_lines[-1].rstrip("\r\n") + ending
        replacements.append((o_start, o_end, new_lines))
        spliced_nodes.append(c_node)
        top = o_parents[0] if o_parents else o_node
        top_line = _span(top)[0]
        first_top_line = top_line if first_top_line is None else min(first_top_line, top_line)

    # New helpers: candidate top-level definitions the spliced code needs that the original lacks.
    orig_names = _module_names(orig_tree)
    cand_defs: dict[str, ast.stmt] = {}
    for stmt in cand_tree.body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Assign, ast.AnnAssign)):
            for name in _bound_names(stmt):
                cand_defs[name] = stmt
    needed: set[str] = set()
    helpers: list[ast.stmt] = []
    todo = list(spliced_nodes)
    while todo:
        node = todo.pop()
        for name in _used_names(node):
            needed.add(name)
            dep = cand_defs.get(name)
            if dep is not None and name not in orig_names and dep not in helpers and dep not in spliced_nodes:
                helpers.append(dep)
                todo.append(dep)
    helpers.sort(key=lambda s: s.lineno)  # candidate order keeps definitions before their uses
    imports = _new_imports(cand_tree, orig_names, needed)

    inserts: list[_Insert] = []
    if helpers and first_top_line is not None:
        text: list[str] = []
        for stmt in helpers:
            s, e = _span(stmt)
            text += _reindent(cand_lines[s - 1 : e], "", "", newline, cand_skip, s, cand_unit, orig_unit)
            text += [newline, newline] if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else []
        if not any(isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) for s in helpers[-1:]):
            text += [newline, newline]
        # Comments sitting directly above the first target belong to it: put helpers above them.
        line = first_top_line
        while line > 1 and orig_lines[line - 2].lstrip().startswith("#"):
            line -= 1
        inserts.append(_Insert(line, text))
    if imports:
        at = _import_insert_line(orig_tree)
        text = [imp + newline for imp in imports]
        if at > len(orig_lines) and orig_lines and not orig_lines[-1].endswith(("\n", "\r")):
            text = [newline] + text
        inserts.append(_Insert(at, text))

    out = list(orig_lines)
    edits: list[tuple[int, int, list[str]]] = [(s, e, text_lines) for s, e, text_lines in replacements]
    edits += [(i.before_line, i.before_line - 1, i.text) for i in inserts]  # empty span = pure insert
    # Apply bottom-up so earlier line numbers stay valid; at equal lines, inserts go first (higher end).
    for start, end, new in sorted(edits, key=lambda t: (t[0], t[1]), reverse=True):
        out[start - 1 : end] = new
    result = "".join(out)
    return (_BOM + result) if has_bom else result
