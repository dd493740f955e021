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
