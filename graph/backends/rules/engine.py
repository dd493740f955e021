"""Apply the rewrites: find which apply to a program, rank them by the retrieved suggestions,
and produce one candidate per useful combination (all of them first, then smaller sets)."""

from __future__ import annotations

import ast
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from graph.backends.rules import (
    comprehension,
    fast_input,
    hoist,
    int_power,
    main_function,
    max_update,
    memoize,
    minmax,
    mod_pow,
    set_membership,
    str_join,
    unused_imports,
)
from graph.backends.rules.core import Rewrite
from graph.backends.rules.keep_source import merge, parse_quietly

# Application order when several are combined: expression-level rewrites first, then the loop
# rewrites, then lookups, and moving code into main() last (it wraps the others' results).
REWRITES: tuple[Rewrite, ...] = (
    memoize.REWRITE,
    minmax.REWRITE,
    max_update.REWRITE,
    int_power.REWRITE,  # before mod_pow: `i * i` beats pow(i, 2, M) on a small int
    mod_pow.REWRITE,
    set_membership.REWRITE,
    comprehension.REWRITE,
    str_join.REWRITE,
    hoist.HOIST_CALLS,
    hoist.HOIST_LOOKUPS,
    fast_input.REWRITE,
    main_function.REWRITE,
    unused_imports.REWRITE,  # after everything: drops only what the others left unused
)
REWRITES_BY_NAME = {r.name: r for r in REWRITES}


@dataclass
class Candidate:
    code: str
    rewrites: tuple[str, ...]


def apply_rewrites(code: str, names: Iterable[str], fmt: bool = True) -> str | None:
    """`code` with the named rewrites applied in canonical order; None if none changed anything.
    With `fmt`, statements the rewrites left alone keep the user's own text (see keep_source);
    without it, the whole program as `ast.unparse` writes it."""
    tree = parse_quietly(code)
    changed = False
    wanted = set(names)
    for rw in REWRITES:
        if rw.name in wanted:
            try:
                changed |= rw.apply(tree)
            except RecursionError:
                return None
    if not changed:
        return None
    ast.fix_missing_locations(tree)
    out = ast.unparse(tree) + "\n"
    compile(out, "<candidate>", "exec")  # a rewrite bug must never hand out invalid code
    return merge(code, out) if fmt else out


def applicable(code: str) -> list[str]:
    """Names of the rewrites that change `code` on their own."""
    out = []
    for rw in REWRITES:
        try:
            if rw.apply(parse_quietly(code)):
                out.append(rw.name)
        except (SyntaxError, ValueError, AssertionError, RecursionError):
            continue
    return out


def _suggestion_text(s: object) -> str:
    return str(getattr(s, "summary", s) or "")


def rank(names: Sequence[str], suggestions: Sequence[object]) -> list[str]:
    """Order rewrites by how strongly the suggestions mention them (weighted by similarity and
    rate), ties broken by the canonical order."""
    scores = {n: 0.0 for n in names}
    for s in suggestions:
        text = " " + re.sub(r"\s+", " ", _suggestion_text(s).lower()) + " "
        weight = max(float(getattr(s, "similarity", 1.0) or 0.0), 0.05) * max(float(getattr(s, "rate", 1.0) or 1.0), 1.0) ** 0.5
        for n in names:
            hits = sum(1 for k in REWRITES_BY_NAME[n].keywords if k in text)
            scores[n] += weight * hits
    order = {n: i for i, n in enumerate(r.name for r in REWRITES)}
    return sorted(names, key=lambda n: (-scores[n], order[n]))


def candidates(code: str, suggestions: Sequence[object] = (), limit: int = 4, skip: int = 0) -> list[Candidate]:
    """Up to `limit` distinct rewritten programs, best first: every applicable rewrite together,
    then each rewrite alone in suggestion order, then the larger subsets."""
    try:
        parse_quietly(code)
    except (SyntaxError, ValueError):
        return []
    names = rank(applicable(code), suggestions)
    if not names:
        return []
    combos: list[tuple[str, ...]] = [tuple(names)]
    combos += [(n,) for n in names]
    for size in range(len(names) - 1, 1, -1):
        combos += list(itertools.combinations(names, size))
    out: list[Candidate] = []
    seen = {ast.unparse(parse_quietly(code)) + "\n"}
    produced = 0
    for combo in combos:
        new = apply_rewrites(code, combo, fmt=False)
        if new is None or new in seen:
            continue
        seen.add(new)
        produced += 1
        if produced <= skip:
            continue
        out.append(Candidate(merge(code, new), combo))
        if len(out) >= limit:
            break
    return out
