"""The one unified diff of two texts (difflib), for patches shown to people and to models."""

from __future__ import annotations

import difflib


def unified_diff(before: str, after: str, fromfile: str = "a", tofile: str = "b", *, n: int = 3,
                 newline_marker: bool = True) -> str:
    """A unified diff of `before` → `after` ("" when they are equal). Line endings are kept, so a
    CRLF change shows. With `newline_marker` a last line without a newline gets git's
    "\\ No newline at end of file" and the patch applies; without it the output is difflib's own,
    where such a line runs into the next (kept for the knowledge-base summaries built that way)."""
    lines = difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                 fromfile, tofile, n=n)
    if not newline_marker:
        return "".join(lines)
    return "".join(line if line.endswith(("\n", "\r")) else line + "\n\\ No newline at end of file\n"
                   for line in lines)
