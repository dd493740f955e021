"""max_update: `x = max(x, e)` / `min` become a comparison; the rewritten program prints the same
(run for real), and the statements it must not touch stay as they are."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from graph.backends.rules.engine import REWRITES_BY_NAME, applicable, apply_rewrites, candidates


def run(code: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=30)
    return f"rc={out.returncode}\n{out.stdout}"


def rewrite(src: str) -> str | None:
    return apply_rewrites(textwrap.dedent(src), ["max_update"])


DP = """\
import sys
n = int(input())
w = list(map(int, input().split()))
dp = [[0] * (n + 1) for _ in range(n + 1)]
best = -1
low = 10 ** 9
for i in range(1, n + 1):
    for j in range(n + 1):
        dp[i][j] = max(dp[i][j], dp[i - 1][j])
        if j >= 1:
            dp[i][j] = max(dp[i - 1][j - 1] + w[i - 1], dp[i][j])
        best = max(best, dp[i][j])
        low = min(low, dp[i][j] - j)
        low = min(abs(w[i - 1] - j), low)
print(best, low, dp[n])
"""


def test_rewrites_dp_updates_and_output_is_identical() -> None:
    new = rewrite(DP)
    assert new is not None
    assert "max(" not in new and "min(" not in new, new
    assert "if new > old:" in new and "if not low < new:" in new, new
    compile(new, "<candidate>", "exec")
    for stdin in ("4\n3 -1 4 1\n", "1\n5\n", "6\n-2 -7 3 3 0 9\n"):
        assert run(new, stdin) == run(DP, stdin)


def test_keeps_order_and_nan_semantics() -> None:
    # max keeps its first argument on ties and when the comparison is false (nan): so must the rewrite
    src = """\
    a = float('nan'); a = max(a, 1.0)
    b = 1.0; b = max(b, float('nan'))
    c = 1; c = max(c, 1.0)
    d = 1.0; d = min(1, d)
    e = [0]; e[0] = max(e[0], False)
    print(a, b, c, type(c).__name__, d, type(d).__name__, e, type(e[0]).__name__)
    """
    new = rewrite(src)
    assert new is not None and "max(" not in new and "min(" not in new, new
    assert run(new) == run(textwrap.dedent(src))
    assert "nan 1.0 1 int 1 int [0] int" in run(new)


def test_applies_in_the_engine_and_stacks_with_main() -> None:
    assert "max_update" in applicable(DP)
    combined = [c for c in candidates(DP, limit=8) if {"max_update", "main_function"} <= set(c.rewrites)]
    assert combined, [c.rewrites for c in candidates(DP, limit=8)]
    assert run(combined[0].code, "4\n3 -1 4 1\n") == run(DP, "4\n3 -1 4 1\n")


CLAMP = """\
def height(H, x, y, cx, cy):
    return max(H - abs(x - cx) - abs(y - cy), 0)

n = int(input())
pts = [tuple(map(int, input().split())) for _ in range(n)]
out = []
for x, y in pts:
    out.append((height(10, x, y, 2, 3), min(1.5, x / 2), max(0, y - x), min(x, 7), max(max(x, 0) - min(9, y), -1)))
print(out, [max(p[0], 4) for p in pts])
"""


def test_clamps_become_conditional_expressions() -> None:
    new = rewrite(CLAMP)
    assert new is not None
    assert "0 if 0 > (val := (H - abs(x - cx) - abs(y - cy))) else val" in new, new
    assert "7 if 7 < x else x" in new, new  # min(x, 7) keeps x unless 7 < x; a name needs no temporary
    assert "-1 if -1 > (val := (" in new, new  # a negative constant, around the inner rewrites
    assert "[max(p[0], 4) for p in pts]" in new, new  # no := inside a comprehension
    for stdin in ("3\n1 2\n-5 8\n9 -9\n", "1\n0 0\n"):
        assert run(new, stdin) == run(CLAMP, stdin)


def test_clamp_left_alone_where_walrus_binds_elsewhere() -> None:
    for src in (
        "class A:\n    k = 3\n    v = max(k - 1, 0)\nprint(A.v)\n",  # a class body: := would add an attribute
        "x = 5\nprint(f'{max(x - 9, 0)}')\n",  # f-string
        "class B:\n    def f(self, d=max(len('ab') - 5, 0)):\n        return d\nprint(B().f())\n",  # default in a class
        "x = 5\nprint(max(x - 1, True))\n",  # bool constant
        "n = 3\nout = []\nfor i in range(max(n - 5, 0)):\n    out.append(i)\nprint(out)\n",  # may become a comprehension's iterable
    ):
        assert rewrite(src) is None, src


def test_bails_out() -> None:
    for src in (
        "def f():\n    return 3\nx = 0\nx = max(x, f())\nprint(x)\n",  # a user call may see the target
        "x = 0\nxs = [1]\nx = max(x, xs.pop())\nprint(x)\n",  # a method call mutates
        "x = 0\nx = max(x, 1, 2)\nprint(x)\n",  # three arguments
        "x = [0]\nx = max(x, key=len)\nprint(x)\n",  # keyword
        "x = 0\ny = 5\nz = 3\nx = max(y, z)\nprint(x)\n",  # the target is not an argument
        "max = lambda a, b: a\nx = 0\nx = max(x, 1)\nprint(x)\n",  # max shadowed
        "def g(max):\n    x = 0\n    x = max(x, 1)\n    return x\nprint(g(min))\n",  # max a parameter
        "x = 0\nlen = 3\nx = max(x, len([1]))\nprint(x)\n",  # a builtin it would call is shadowed
        "x = 0\nx = max(x, sum(map(int, '12')))\nprint(x)\n",  # map may call user code
        "class A:\n    v = 0\n    v = max(v, 2)\nprint(A.v)\n",  # class body: temporaries would be attributes
        "o = type('O', (), {'v': 0, 'w': 1})()\no.v = max(o.v, o.w)\nprint(o.v)\n",  # attribute target (property)
        "a = [0, 0]\ni = 0\na[(i := 1)] = max(a[(i := 1)], i)\nprint(a)\n",  # side effect in the index
    ):
        assert rewrite(src) is None, src


def test_is_registered_with_conditions() -> None:
    rw = REWRITES_BY_NAME["max_update"]
    assert rw.conditions and rw.keywords
