"""mod_pow: `(b ** e + ...) % M` → `(pow(b, e, M) + ...) % M`; the rewritten programs print the same
(run for real), a possibly negative exponent keeps the original behind a test, and programs whose
leaves, modulus or builtins are not surely what the proof needs are left alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from graph.backends.rules.engine import applicable, apply_rewrites, candidates


def run(code: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=60)
    return f"rc={out.returncode}\n{out.stdout}"


def rewrite(src: str) -> str | None:
    return apply_rewrites(textwrap.dedent(src), ["mod_pow"])


P02554 = "n = int(eval(input()))\nprint(((10**n - 2 * 9**n + 8**n) % (10**9 + 7)))\n"


def test_p02554_uses_three_argument_pow_and_prints_the_same() -> None:
    new = rewrite(P02554)
    assert new is not None
    assert "pow(10, n, 10**9 + 7)" in new and "pow(9, n, 10**9 + 7)" in new and "if n >= 0" in new, new
    for stdin in ("1\n", "2\n", "10\n", "1000\n"):
        assert run(new, stdin) == run(P02554, stdin)
    assert run(new, "2\n") == "rc=0\n2\n"
    assert rewrite(new) is None  # idempotent: pow() calls are no powers, the else branch stays original


def test_a_negative_exponent_takes_the_original_branch() -> None:
    src = "n = int(input())\nprint((2**n + 1) % 7, (3**n) % -7, -(5**n) % 11)\n"
    new = rewrite(src)
    assert new is not None and "pow(2, n, 7)" in new and "pow(3, n, -7)" in new, new
    assert run(src, "-1\n") == "rc=0\n1.5 -6.666666666666667 10.8\n"
    for stdin in ("-1\n", "-3\n", "0\n", "1\n", "13\n", "500\n"):
        assert run(new, stdin) == run(src, stdin)


def test_module_constant_and_unpacked_ints() -> None:
    src = """\
    MOD = 10**9+7
    n, k = map(int, input().split())
    a = list(map(int, input().split()))
    m = len(a) * 2 - k
    print((k**n - 3 * k**2 + n**m + len(a)) % MOD)
    """
    new = rewrite(src)
    assert new is not None
    assert "pow(k, n, MOD)" in new and "pow(k, 2, MOD)" in new and "pow(n, m, MOD)" in new, new
    assert "if n >= 0 and m >= 0" in new, new
    for stdin in ("5 3\n7 8 9\n", "1000 999\n1 2\n", "4 9\n-5\n", "0 0\n0\n"):
        assert run(new, stdin) == run(textwrap.dedent(src), stdin)


def test_loop_accumulators_and_range_exponents_need_no_test() -> None:
    src = """\
    M = int(1e9 + 7)
    def solve():
        n = int(input())
        total = 0
        for i in range(n):
            total += i
            total = (total * 3 + 2**i - (i % 5) ** len(str(i))) % M
        x = n
        x = x * x + 1
        print(total, (x ** (n % 4) * 7) % M, (m := 3) ** 2 % M)
    solve()
    """
    new = rewrite(src)
    assert new is not None
    assert "pow(2, i, M)" in new and "pow(i % 5, len(str(i)), M)" in new and "pow(x, n % 4, M)" in new, new
    assert " if " not in new and "(m := 3) ** 2" in new, new  # no walrus is rewritten
    for stdin in ("0\n", "1\n", "17\n", "3000\n"):
        assert run(new, stdin) == run(textwrap.dedent(src), stdin)


def test_operands_not_surely_ints_keep_the_power() -> None:
    for src in (
        "M = 10**9 + 7\nn = int(input())\nprint((1.5 * 10**n) % M)\n",  # a float leaf
        "def f(n):\n    return (2**n + 1) % 7\nprint(f(3))\n",  # a parameter
        "x = float(input())\nprint((x**3 + 1) % 7)\n",
        "x = input()\nprint((x**3) % 7)\n",
        "n = int(input())\nprint((2**(n - 1)) % 7)\n",  # an exponent the test cannot read as a name
        "n = int(input())\nprint((2**-1 + n) % 7)\n",  # a negative literal exponent: a float
        "n = int(input())\nprint((f(2**n)) % 7)\n",  # the power inside a call
        "n = int(input())\nprint((2**n // 3) % 7, [2**n][0] % 7)\n",  # floordiv, subscript
        "a = list(map(int, input().split()))\nprint((a[0] ** 2) % 7)\n",  # an item: lists can change
        "n = int(input())\ndef g():\n    global n\n    n = 0.5\nprint((2**n) % 7)\n",  # global
        "a, *b = map(int, input().split())\nprint((2**b) % 7)\n",  # starred: a list
        "for i in range(-3, 3):\n    print((2**i) % 7)\n",  # range from a negative start: tested
    ):
        new = rewrite(src)
        if "range(-3" in src:
            assert new is not None and "if i >= 0" in new, new
            assert run(new) == run(src)
        else:
            assert new is None, (src, new)


def test_modulus_must_be_a_nonzero_constant() -> None:
    for src in (
        "MOD = 10**9 + 7\nMOD = 998244353\nn = int(input())\nprint(2**n % MOD)\n",  # rebound
        "MOD = 7\ndef f():\n    MOD = 3\n    n = int(input())\n    print(2**n % MOD)\nf()\n",  # local of that name
        "MOD = 7\nfor MOD in range(3):\n    pass\nn = int(input())\nprint(2**n % MOD)\n",
        "MOD = 7\ndef f(MOD=5):\n    pass\nn = int(input())\nprint(2**n % MOD)\n",  # a parameter
        "n = int(input())\nprint(2**n % (3 - 3))\n",  # M == 0: ZeroDivisionError must stay
        "MOD = 0\nn = int(input())\nprint(2**n % MOD)\n",
        "MOD = int(input())\nn = int(input())\nprint(2**n % MOD)\n",  # not a constant
        "MOD = 1.5\nn = int(input())\nprint(2**n % MOD)\n",
        "n = int(input())\nprint(2**n % (10**10**9))\n",  # a constant too large to evaluate here
    ):
        assert rewrite(src) is None, src


def test_shadowed_builtins_and_dynamic_scope_refuse() -> None:
    for src in (
        "def int(s):\n    return 0.5\nn = int(input())\nprint(2**n % 7)\n",
        "pow = lambda *a: 0\nn = int(input())\nprint(2**n % 7)\n",
        "from math import pow\nn = int(input())\nprint(2**n % 7)\n",
        "from math import *\nn = int(input())\nprint(2**n % 7)\n",
        "n = int(input())\nexec('n = 0.5')\nprint(2**n % 7)\n",
        "n = int(input())\nprint(eval('2**n % 7'), 2**n % 7)\n",
    ):
        assert rewrite(src) is None, src
    # eval of an input line reads data, not names: still rewritten
    assert rewrite("n = int(eval(input()))\ns = eval(input())\nprint(2**n % 7, s)\n") is not None


def test_the_rules_backend_offers_it() -> None:
    assert "mod_pow" in applicable(P02554)
    found = [c for c in candidates(P02554, limit=8) if "mod_pow" in c.rewrites]
    assert found, [c.rewrites for c in candidates(P02554, limit=8)]
    assert run(found[0].code, "1000\n") == run(P02554, "1000\n")
