"""Test cases in PIE's folder layout: `input.N.txt` with its expected `output.N.txt` beside it."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

_INPUT = re.compile(r"^input\.(\d+)\.txt$")


@dataclass(frozen=True)
class PieTest:
    number: int
    name: str  # the input file's name, e.g. "input.3.txt"
    input: str
    output: str | None  # None when the folder has no output.N.txt for this input


def read_pie_tests(folder: str | os.PathLike[str]) -> list[PieTest]:
    """The folder's tests in numeric order (input.10 after input.9); [] when it is not a folder.
    Files are read as UTF-8 with undecodable bytes replaced."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    tests = []
    for entry in folder.iterdir():
        m = _INPUT.match(entry.name)
        if m is None or not entry.is_file():
            continue
        out = folder / f"output.{m.group(1)}.txt"
        tests.append(PieTest(int(m.group(1)), entry.name, entry.read_text(encoding="utf-8", errors="replace"),
                             out.read_text(encoding="utf-8", errors="replace") if out.is_file() else None))
    return sorted(tests, key=lambda t: (t.number, t.name))
