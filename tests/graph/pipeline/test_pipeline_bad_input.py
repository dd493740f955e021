"""Every bad input gives one line on stderr, exit code 2, and leaves the file (and its folder) as it was."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

GOOD = '''def slow(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


square = lambda v: v * v


class Box:
    def size(self):
        return 1


if __name__ == "__main__":
    print(slow([1, 2, 2, 3]))
'''

NEVER_CALLS = '''def slow(xs):
    return sorted(xs)


if __name__ == "__main__":
    print("hello")
'''


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


CASES = {
    "missing file": (None, ["missing.py", "-f", "slow"], "does not exist"),
    "non-UTF-8 file": (b"def slow(xs):\n    return '\xe9\xff'\n", ["m.py", "-f", "slow"], "not UTF-8"),
    "syntax error": (b"def slow(xs:\n    return xs\n", ["m.py", "-f", "slow"], "syntax error at line 1"),
    "unknown function": (GOOD.encode(), ["m.py", "-f", "fast"], "available functions: Box.size, slow"),
    "lambda target": (GOOD.encode(), ["m.py", "-f", "square"], "lambda"),
    "class target": (GOOD.encode(), ["m.py", "-f", "Box"], "is a class"),
    "driver crashes": (GOOD.encode(), ["m.py", "-f", "slow", "--driver", "python bench.py"], "ZeroDivisionError"),
    "driver never calls the target": (NEVER_CALLS.encode(), ["m.py", "-f", "slow"], "never called"),
    "no target and no tests": (GOOD.encode(), ["m.py"], "pass -f NAME"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_one_line_and_changes_nothing(case, tmp_path, fasterpy_bin):
    content, args, needle = CASES[case]
    if content is not None:
        (tmp_path / "m.py").write_bytes(content)
    (tmp_path / "bench.py").write_text("import m\nm.slow([1, 2])\nprint(1 / 0)\n")
    before = _snapshot(tmp_path)
    res = subprocess.run([str(fasterpy_bin), "optimize", *args, "--write", "--backend", "rules",
                          "--state-db", str(tmp_path.parent / f"{tmp_path.name}-runs.sqlite")],
                         capture_output=True, text=True, cwd=tmp_path, timeout=180)
    assert res.returncode == 2, (res.stdout, res.stderr)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("error: ") and needle.lower() in lines[0].lower(), lines[0]
    assert " — " in lines[0]  # says what to do
    assert "Traceback" not in res.stderr + res.stdout
    assert _snapshot(tmp_path) == before  # nothing written, no backup made
