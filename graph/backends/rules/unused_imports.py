"""Drop imports whose names the program never uses (pyflakes F401): the harness times the whole
run, and an unused `import numpy` alone costs ~150 ms, more than many programs take to run."""

from __future__ import annotations

import ast
import importlib.util
import os
import sys
from functools import lru_cache

from graph.backends.rules.core import Rewrite, names_loaded, uses_dynamic_scope
from graph.backends.rules.data_eval import without_data_evals

# Importing these does something the program may rely on even when it never names them: it prints
# or opens something (this, antigravity, __hello__, pygame), changes how input()/exit/signals/
# warnings behave (readline, rlcompleter, atexit, signal, faulthandler, tracemalloc, warnings,
# logging), changes limits or the interpreter setup (resource, site, sitecustomize, usercustomize),
# or starts exit-time machinery (threading, multiprocessing, concurrent).
_EFFECTFUL = frozenset({
    "readline", "rlcompleter", "sitecustomize", "usercustomize", "site", "antigravity", "this",
    "__hello__", "__phello__", "faulthandler", "tracemalloc", "resource", "signal", "atexit",
    "warnings", "logging", "threading", "multiprocessing", "concurrent", "pygame", "__future__",
})
# Third-party modules known to import silently. Any other non-stdlib module stays: it may be the
# user's own file, whose import runs its code.
_QUIET_THIRD_PARTY = frozenset({
    "numpy", "scipy", "pandas", "numba", "networkx", "sympy", "sklearn", "sortedcontainers",
})
# Names (and attributes: `builtins.eval`, `sys.modules`, `sys._getframe`) through which a program
# can reach module globals or imports by string.
_DYNAMIC_NAMES = frozenset({
    "eval", "exec", "globals", "locals", "vars", "__import__", "importlib", "inspect", "__all__",
})
_DYNAMIC_ATTRS = frozenset({
    "eval", "exec", "globals", "locals", "vars", "__import__", "import_module", "_getframe", "modules",
})


def _droppable_module(module: str | None, level: int) -> bool:
    if module is None or level:  # relative imports: leave their ImportError (or effect) alone
        return False
    top = module.split(".")[0]
    if top in _EFFECTFUL:
        return False
    return top in sys.stdlib_module_names or top in _QUIET_THIRD_PARTY


def _dynamic(tree: ast.Module) -> bool:
    # eval of a line of input reads test data; that data would have to name a dropped module for the
    # drop to matter, and the verifier runs the program on its tests anyway
    nodes = without_data_evals(tree, ast.walk(tree))
    if uses_dynamic_scope(nodes):  # the calls and star imports every rewrite refuses
        return True
    for n in nodes:
        if isinstance(n, ast.Name) and n.id in _DYNAMIC_NAMES:
            return True
        if isinstance(n, ast.Attribute) and n.attr in _DYNAMIC_ATTRS:
            return True
        if isinstance(n, (ast.Import, ast.ImportFrom)):
            mods = [a.name for a in n.names] if isinstance(n, ast.Import) else [n.module or ""]
            if any(m.split(".")[0] in ("importlib", "inspect") for m in mods):
                return True
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "dir" and not n.args:
            return True  # dir() lists the current names
    return False


def _used_names(tree: ast.Module) -> set[str]:
    """Every name read anywhere in the module, in any scope: a conservative superset of the uses
    any import could reach (a later rebinding does not hide an earlier import from us)."""
    used = names_loaded(ast.walk(tree))
    for n in ast.walk(tree):
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Del):
            used.add(n.id)
        elif isinstance(n, ast.AugAssign) and isinstance(n.target, ast.Name):
            used.add(n.target.id)  # `x += 1` reads x
        elif isinstance(n, (ast.Global, ast.Nonlocal)):
            used.update(n.names)
    return used


def _bound(alias: ast.alias) -> str:
    return alias.asname or alias.name.split(".")[0]


def _module_of(stmt: ast.Import | ast.ImportFrom, alias: ast.alias) -> str | None:
    return alias.name if isinstance(stmt, ast.Import) else stmt.module


def _import_sites(tree: ast.Module) -> list[list[ast.stmt]]:
    """The module's body and every function's body: the only statement lists whose imports run
    unconditionally whenever the enclosing code runs (class bodies bind attributes other code may read)."""
    bodies: list[list[ast.stmt]] = [tree.body]
    bodies += [n.body for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return bodies


def _top(stmt: ast.Import | ast.ImportFrom, alias: ast.alias) -> str:
    return (_module_of(stmt, alias) or ".").split(".")[0]


def _unused(stmt: ast.Import | ast.ImportFrom, alias: ast.alias, used: set[str]) -> bool:
    return _bound(alias) not in used and _droppable_module(_module_of(stmt, alias), getattr(stmt, "level", 0))


@lru_cache(maxsize=512)
def _may_be_submodule(dotted: str) -> bool:
    """Whether `a.b.c` could name a module file, found on disk without importing anything
    (unknown: yes)."""
    parts = dotted.split(".")
    try:
        spec = importlib.util.find_spec(parts[0])
    except (ImportError, ValueError):
        return True
    if spec is None:
        return True
    if spec.submodule_search_locations is None:
        return False  # a plain module has no submodules
    for root in spec.submodule_search_locations:
        folder = os.path.join(root, *parts[1:-1])
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        if any(e == parts[-1] or e.startswith(parts[-1] + ".") for e in entries):
            return True
    return False


def _loads(stmt: ast.Import | ast.ImportFrom, alias: ast.alias) -> set[str]:
    """The modules this alias's import may load: `a.b.c` loads a, a.b and a.b.c; `from a.b import n`
    loads a and a.b, and a.b.n too when that is a submodule."""
    module = _module_of(stmt, alias) or ""
    parts = module.split(".")
    out = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
    if isinstance(stmt, ast.ImportFrom) and _may_be_submodule(f"{module}.{alias.name}"):
        out.add(f"{module}.{alias.name}")
    return out


def apply(tree: ast.Module) -> bool:
    if _dynamic(tree):
        return False
    used = _used_names(tree)
    sites = _import_sites(tree)
    at_site = {id(s) for body in sites for s in body}
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    kept = [(s, a) for s in imports for a in s.names if id(s) not in at_site or not _unused(s, a, used)]
    kept_tops = {_top(s, a) for s, a in kept}
    kept_loads = set().union(*(_loads(s, a) for s, a in kept))

    def droppable(stmt: ast.Import | ast.ImportFrom, alias: ast.alias) -> bool:
        # `import a` plus `from a.b import c`: the second may be the only import of `a.b`, which
        # code can still reach as the attribute `a.b`, so it stays unless a kept import loads that too.
        return _unused(stmt, alias, used) and not (_top(stmt, alias) in kept_tops and _loads(stmt, alias) - kept_loads)

    changed = False
    for body in sites:
        dropped = False
        for stmt in body:
            if not isinstance(stmt, (ast.Import, ast.ImportFrom)):
                continue
            keep = [a for a in stmt.names if not droppable(stmt, a)]
            if len(keep) < len(stmt.names):
                stmt.names = keep
                dropped = True
        if dropped:
            changed = True
            body[:] = [s for s in body if not (isinstance(s, (ast.Import, ast.ImportFrom)) and not s.names)]
            if not body and body is not tree.body:
                body.append(ast.Pass())
    return changed


REWRITE = Rewrite(
    name="unused_imports",
    title="drop unused imports",
    conditions=(
        "only imports at the top level of the module or of a function body whose bound name is never "
        "read anywhere (any scope, `del`, `global`/`nonlocal` count as reads); stdlib or known quiet "
        "packages (numpy, scipy, pandas, ...) only, never modules whose import has an effect (readline, "
        "signal, warnings, threading, ...), `__future__` or relative imports; nothing at all when the "
        "program uses eval (other than `eval(input())`, which reads data)/exec/globals/locals/vars/"
        "__import__/importlib/dir(), a star import or `__all__`"
    ),
    keywords=("unused import", "import numpy", "numpy", "startup", "import time", "unnecessary import"),
    apply=apply,
)
