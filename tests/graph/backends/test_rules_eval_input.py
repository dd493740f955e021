"""`eval(input())` (2to3's spelling of Python 2 input, common in PIE): main_function moves such
scripts into main() and fast_input reads the line with sys.stdin.readline; other eval/exec uses
still keep the script at module level."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from graph.backends.rules.engine import applicable, apply_rewrites


def run(code: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=30)
    return f"rc={out.returncode}\n{out.stdout}"


SCRIPT = """\
N = int(eval(input()))
s = eval(input())
total = 0
for i in range(N):
    total += i * i
print(total, s, type(s).__name__)
"""
INPUTS = ("5\n'abc'\n", "3\n[1, 2]\n", "  7\n(4, 5)\r\n", "2\n3.5")


def test_main_function_moves_eval_input_scripts() -> None:
    new = apply_rewrites(SCRIPT, ["main_function"])
    assert new is not None and "def main():" in new and "eval(input())" in new, new
    for stdin in INPUTS:
        assert run(new, stdin) == run(SCRIPT, stdin)


def test_fast_input_hands_the_raw_line_to_eval() -> None:
    new = apply_rewrites(SCRIPT, ["fast_input"])
    assert new is not None and "eval(sys.stdin.readline())" in new and "input()" not in new, new
    for stdin in INPUTS:
        assert run(new, stdin) == run(SCRIPT, stdin)


def test_both_together() -> None:
    assert {"fast_input", "main_function"} <= set(applicable(SCRIPT))
    new = apply_rewrites(SCRIPT, ["fast_input", "main_function"])
    assert new is not None and "def main():" in new and "sys.stdin.readline()" in new, new
    for stdin in INPUTS:
        assert run(new, stdin) == run(SCRIPT, stdin)


def test_fast_input_helper_inside_eval_still_moves() -> None:
    # a program that names EOFError gets fast_input's helper, and main() accepts eval of the helper too
    src = textwrap.dedent("""\
        try:
            n = eval(input())
        except EOFError:
            n = 0
        print(sum(i for i in range(n)))
        """)
    new = apply_rewrites(src, ["fast_input", "main_function"])
    assert new is not None and "def _input():" in new and "def main():" in new and "eval(_input())" in new, new
    for stdin in ("4\n", ""):
        assert run(new, stdin) == run(src, stdin)


def test_other_dynamic_scope_still_refuses() -> None:
    for src in (
        "x = 3\nfor i in range(2):\n    print(eval('x + i'))\n",  # evaluates program text, not data
        "n = eval(input(), {})\nfor i in range(n):\n    print(i)\n",  # explicit namespace
        "for i in range(2):\n    exec('y = i')\nprint(y)\n",  # exec binds module names
        "n = eval(input().split()[0])\nfor i in range(n):\n    print(locals()['i'])\n",
        "n = eval(input())\ndef f():\n    return n\nfor i in range(2):\n    print(f())\n",  # f reads n
    ):
        assert apply_rewrites(src, ["main_function"]) is None, src
