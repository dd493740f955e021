"""int_power: `i ** 2` → `i * i` for range() loop variables; same output (run for real); floats and
names bound any other way keep their power."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from graph.backends.rules.engine import applicable, apply_rewrites

PROGRAM = """\
from collections import defaultdict
n = int(input())
ctr = defaultdict(int)
for x in range(1, 12):
    for y in range(-3, 12):
        ctr[x ** 2 + y ** 2 + x * y] += 1
def cube_sum(m):
    return sum(k ** 3 for k in range(m)) - sum([-j ** 2 for j in range(m)])
print([ctr[i] for i in range(n)], cube_sum(n), [2 ** i ** 2 for i in range(4)])
"""


def run(code: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=30)
    return f"rc={out.returncode}\n{out.stdout}"


def test_squares_of_range_variables_become_products() -> None:
    assert "int_power" in applicable(PROGRAM)
    new = apply_rewrites(PROGRAM, ["int_power"])
    assert new is not None
    for expected in ("x * x + y * y", "k * k * k", "-(j * j)", "2 ** (i * i)"):
        assert expected in new, new
    for stdin in ("40\n", "0\n", "7\n"):
        assert run(new, stdin) == run(PROGRAM, stdin)


def test_names_not_surely_int_keep_the_power() -> None:
    for src in (
        "x = 1.1\nfor i in range(3):\n    x += 1\nprint(x ** 2)\n",  # a float
        "for i in range(3):\n    i = i / 3\n    print(i ** 2)\n",  # rebound in the loop
        "for i in [0.5, 1.5]:\n    print(i ** 2)\n",  # not a range
        "range = lambda n: [0.1] * n\nfor i in range(2):\n    print(i ** 2)\n",  # range shadowed
        "def f(i):\n    for _ in range(2):\n        pass\n    return i ** 2\nprint(f(1.1))\n",  # a parameter
        "i = 0.5\ndef g():\n    global i\n    i = 2.5\nfor i in range(2):\n    g()\n    print(i ** 2)\n",  # global
        "for i in range(3):\n    print(i ** 4, i ** -1)\n",  # other exponents
        "for i, v in enumerate(range(3)):\n    print(i ** 2)\n",  # tuple target
    ):
        assert apply_rewrites(textwrap.dedent(src), ["int_power"]) is None, src


def test_a_comprehension_variable_proves_nothing_about_the_same_name_outside() -> None:
    # the `x` of the comprehension is its own; the `x ** 3` outside reads the global float
    src = "x = float(input())\ndef f():\n    return x ** 3 + sum(x ** 3 for x in range(3))\nprint(f())\n"
    new = apply_rewrites(src, ["int_power"])
    assert new is not None and "x * x * x +" not in new and "x * x * x for x in range(3)" in new
    assert run(new, "1.1\n") == run(src, "1.1\n")
