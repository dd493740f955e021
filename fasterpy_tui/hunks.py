"""Split a proposed rewrite into hunks and apply any subset of them.

Each hunk is one contiguous change (a difflib opcode that is not `equal`), so any subset applies
cleanly to the original; a subset may still be wrong code, which is why partial accepts re-verify."""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class Hunk:
    index: int
    a_start: int  # 0-based, in the old lines
    a_end: int
    b_start: int  # 0-based, in the new lines
    b_end: int
    old: tuple[str, ...]
    new: tuple[str, ...]

    @property
    def header(self) -> str:
        return f"@@ -{self.a_start + 1},{self.a_end - self.a_start} +{self.b_start + 1},{self.b_end - self.b_start} @@"


def split_lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def compute_hunks(old_text: str, new_text: str) -> list[Hunk]:
    old, new = split_lines(old_text), split_lines(new_text)
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    hunks: list[Hunk] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        hunks.append(Hunk(len(hunks), i1, i2, j1, j2, tuple(old[i1:i2]), tuple(new[j1:j2])))
    return hunks


@dataclass(frozen=True)
class DiffLine:
    """One line a hunk shows, numbered as a unified diff numbers it (1-based)."""

    sign: str  # " " context | "-" removed | "+" added
    old: int | None  # its number in the old text; None for an added line
    new: int | None  # its number in the new text; None for a removed line


def hunk_lines(hunks: list[Hunk], position: int, old_len: int, context: int = 3) -> list[DiffLine]:
    """The lines of `hunks[position]` with up to `context` unchanged lines either side: a context
    line carries its number in both texts, a removed line its old number, an added line its new
    one. Context stops where a neighbouring hunk starts (those lines are that hunk's to show)."""
    hunk = hunks[position]
    low = max(hunk.a_start - context, hunks[position - 1].a_end if position > 0 else 0)
    high = min(hunk.a_end + context, hunks[position + 1].a_start if position + 1 < len(hunks) else old_len)
    before, after = hunk.b_start - hunk.a_start, hunk.b_end - hunk.a_end  # new = old + shift in the context
    lines = [DiffLine(" ", i + 1, i + before + 1) for i in range(low, hunk.a_start)]
    lines += [DiffLine("-", i + 1, None) for i in range(hunk.a_start, hunk.a_end)]
    lines += [DiffLine("+", None, j + 1) for j in range(hunk.b_start, hunk.b_end)]
    lines += [DiffLine(" ", i + 1, i + after + 1) for i in range(hunk.a_end, high)]
    return lines


def apply_hunks(old_text: str, hunks: list[Hunk], selected: set[int] | frozenset[int]) -> str:
    """The old text with exactly the selected hunks applied."""
    old = split_lines(old_text)
    out: list[str] = []
    cursor = 0
    for hunk in hunks:
        out.extend(old[cursor : hunk.a_start])
        out.extend(hunk.new if hunk.index in selected else hunk.old)
        cursor = hunk.a_end
    out.extend(old[cursor:])
    return "".join(out)
