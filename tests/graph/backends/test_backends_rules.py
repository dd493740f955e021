"""The offline rewrite engine: each rewrite where it applies (and the result behaves the same) and
where it must not apply; ranking by suggestions; the backend's replies."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend
from graph.backends.rules.engine import REWRITES, applicable, apply_rewrites, candidates, rank
from graph.prompt import build_messages, extract_code
from kb.records import Suggestion


def run(code: str, stdin: str = "") -> str:
    out = subprocess.run([sys.executable, "-c", code], input=stdin, capture_output=True, text=True, timeout=30)
    return f"rc={out.returncode}\n{out.stdout}" + (out.stderr.strip().splitlines() or [""])[-1]


def check(name: str, src: str, stdin: str = "", must: tuple[str, ...] = (), must_not: tuple[str, ...] = ()) -> str:
    """Apply one rewrite, assert it changed the code as expected and the output is identical."""
    src = textwrap.dedent(src)
    new = apply_rewrites(src, [name])
    assert new is not None, f"{name} did not apply"
    for m in must:
        assert m in new, f"{m!r} not in:\n{new}"
    for m in must_not:
        assert m not in new, f"{m!r} still in:\n{new}"
    assert run(new, stdin) == run(src, stdin)
    return new


def refuses(name: str, src: str) -> None:
    assert apply_rewrites(textwrap.dedent(src), [name]) is None


# --- fast_input -----------------------------------------------------------------------------

def test_fast_input_applies_and_keeps_newline_semantics() -> None:
    new = check("fast_input", """
        n = int(input())
        a = list(map(int, input().split()))
        s = input()
        print(n, sum(a), repr(s), len(s))
    """, "3\n1 2 3\nhello  \n", must=("sys.stdin.readline",))
    assert "int(sys.stdin.readline())" in new  # newline-insensitive context: raw readline


def test_fast_input_keeps_eof_behaviour() -> None:
    new = check("fast_input", """
        total = 0
        while True:
            try:
                total += int(input())
            except EOFError:
                break
        print(total)
    """, "1\n2\n3", must=("raise EOFError",))
    assert "int(sys.stdin.readline())" not in new


def test_fast_input_before_a_late_import() -> None:
    # the helper and `import sys` must come before the first read, not after the last import
    check("fast_input", "s = input()\nimport collections\nprint(collections.Counter(s).most_common(1))\n", "abca\n",
          must=("_input()",))


def test_fast_input_refuses_rebound_input_or_prompt() -> None:
    refuses("fast_input", "import sys\ninput = sys.stdin.readline\nn = int(input())\n")
    refuses("fast_input", "x = input('name? ')\nprint(x)\n")
    refuses("fast_input", "sys = 3\nprint(input(), sys)\n")


# --- main_function -------------------------------------------------------------------------

def test_main_function_moves_script_code() -> None:
    check("main_function", """
        import sys
        MOD = 10**9 + 7
        def f(x):
            return x * 2 % MOD
        n = int(input())
        total = 0
        for i in range(n):
            total += f(i)
        print(total)
    """, "100\n", must=("def main():", "main()\n",
                        # the lines the rewrite left alone keep the user's own layout
                        "import sys\nMOD = 10**9 + 7\ndef f(x):\n    return x * 2 % MOD\n"))


def test_main_function_keeps_main_guard() -> None:
    new = check("main_function", """
        def g(v):
            return v + 1
        if __name__ == "__main__":
            acc = [g(i) for i in range(10)]
            print(sum(acc))
    """, must=("if __name__ == \"__main__\":\n    main()",))
    assert "def g(v)" in new


def test_main_function_refuses_when_functions_read_script_globals() -> None:
    refuses("main_function", """
        n = int(input())
        def f(x):
            return x + n
        for i in range(3):
            print(f(i))
    """)
    refuses("main_function", """
        def bump():
            global count
            count += 1
        count = int(input())
        for _ in range(3):
            bump()
        print(count)
    """)
    # sum = sum(...) works at module level but would be UnboundLocalError in a function
    refuses("main_function", "a = [1, 2]\nfor x in a:\n    pass\nsum = sum(a)\nprint(sum)\n")
    refuses("main_function", "for i in range(3):\n    exec('print(i)')\n")
    refuses("main_function", "print(1)\n")  # no loop: nothing to gain


# --- hoist_lookups -------------------------------------------------------------------------

def test_hoist_lookups_binds_methods_before_the_loop() -> None:
    check("hoist_lookups", """
        import math
        def f(n):
            out = []
            for i in range(n):
                out.append(math.sqrt(i))
            return out
        print(sum(f(50)))
    """, must=("out_append = out.append", "math_sqrt = math.sqrt"))


def test_hoist_lookups_refuses_rebound_or_unknown_receivers() -> None:
    refuses("hoist_lookups", """
        def f(n):
            out = []
            for i in range(n):
                out.append(i)
                if i % 3 == 0:
                    out = []
            return out
    """)
    refuses("hoist_lookups", """
        def f(xs, n):
            for i in range(n):
                xs.append(i)
    """)  # xs is a parameter: its type (and its methods) are unknown


# --- hoist_calls ---------------------------------------------------------------------------

def test_hoist_calls_computes_invariant_len_and_max_once() -> None:
    check("hoist_calls", """
        def f(a):
            b = list(a)
            c = 0
            for x in b:
                if x == max(b) and len(b) > 1:
                    c += 1
            return c
        print(f([3, 1, 3, 2]), f([]))
    """, must=("max_b = max(b) if b else None", "len_b = len(b)"))


def test_hoist_calls_refuses_mutated_containers() -> None:
    refuses("hoist_calls", """
        def f(n):
            b = []
            for i in range(n):
                b.append(i)
                print(len(b))
    """)


# --- set_membership ------------------------------------------------------------------------

def test_set_membership_literal_and_built_once() -> None:
    check("set_membership", """
        words = input().split()
        hits = 0
        for w in ["a", "b", "c", "d"]:
            if w in words:
                hits += 1
        for v in range(10):
            if v in [2, 3, 5, 7]:
                hits += 1
        print(hits)
    """, "a c e\n", must=("words_set = set(words)", "{2, 3, 5, 7}"))


def test_set_membership_keeps_a_mutated_list() -> None:
    refuses("set_membership", """
        seen = []
        for x in [1, 2, 1, 3]:
            if x not in seen:
                seen.append(x)
        print(seen)
    """)
    refuses("set_membership", """
        xs = [1, 2, 3]
        def grow(v):
            xs.append(v)
        for i in range(5):
            if i in xs:
                grow(i + 10)
    """)


# --- str_join -------------------------------------------------------------------------------

def test_str_join_replaces_concatenation() -> None:
    check("str_join", """
        def f(n):
            s = ""
            for i in range(n):
                s += str(i) + ","
            return s
        print(f(20))
    """, must=('"".join', "s_parts"), must_not=("s += ",))


def test_str_join_with_a_longer_concatenation_chain() -> None:
    check("str_join", """
        def report(rows):
            out = ""
            for name, v in rows:
                out = out + name + ": " + "%.2f" % v + "\\n"
            return out
        print(report([("a", 1.5), ("b", 2.25)]), end="")
    """, must=("out_parts_append(name + \": \" + \"%.2f\" % v + \"\\n\")",))


def test_str_join_refuses_when_the_partial_string_is_read() -> None:
    refuses("str_join", """
        s = ""
        for i in range(5):
            s += str(i)
            if len(s) > 3:
                break
        print(s)
    """)
    refuses("str_join", """
        s = ""
        try:
            for i in range(5):
                s += str(10 // (3 - i))
        except ZeroDivisionError:
            print(s)
    """)


# --- comprehension ---------------------------------------------------------------------------

def test_comprehension_from_append_loop() -> None:
    check("comprehension", """
        xs = []
        for i in range(10):
            if i % 2:
                for j in range(i):
                    xs.append(i * j)
        print(xs)
    """, must=("xs = [i * j for i in range(10) if i % 2 for j in range(i)]",))


def test_comprehension_refuses_leaked_loop_variable() -> None:
    refuses("comprehension", """
        xs = []
        for i in range(10):
            xs.append(i)
        print(i, xs)
    """)
    refuses("comprehension", """
        xs = []
        for i in range(10):
            xs.append(len(xs))
    """)


# --- sorted_minmax ---------------------------------------------------------------------------

def test_sorted_index_to_min_max() -> None:
    check("sorted_minmax", """
        a = [5, 3, 9, 3]
        print(sorted(a)[0], sorted(a)[-1], sorted(a, reverse=True)[0], sorted(a, key=lambda v: -v)[0])
    """, must=("min(a)", "max(a)", "min(a, key=lambda v: -v)"), must_not=("sorted(",))


def test_sorted_minmax_refuses_unsafe_forms() -> None:
    refuses("sorted_minmax", "a = [(1, 'x'), (1, 'y')]\nprint(sorted(a, key=lambda t: t[0])[-1])\n")
    refuses("sorted_minmax", "a = []\ntry:\n    print(sorted(a)[0])\nexcept IndexError:\n    print('empty')\n")
    refuses("sorted_minmax", "print(sorted([3, 1])[1])\n")


# --- memoize ---------------------------------------------------------------------------------

def test_memoize_pure_recursion() -> None:
    check("memoize", """
        def ways(n, k):
            if n == 0:
                return 1
            if n < 0 or k == 0:
                return 0
            return ways(n - k, k) + ways(n, k - 1)
        print(ways(60, 60))
    """, must=("@functools.lru_cache(maxsize=None)", "import functools"))


def test_memoize_refuses_impure_functions() -> None:
    refuses("memoize", """
        calls = []
        def fib(n):
            calls.append(n)
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        print(fib(10), len(calls))
    """)
    refuses("memoize", """
        table = [1, 2, 3]
        def f(n):
            return table[n] if n < 3 else f(n - 1) + f(n - 2)
        table[0] = 5
        print(f(6))
    """)


# --- engine and backend --------------------------------------------------------------------

PROGRAM = textwrap.dedent("""
    n = int(input())
    a = list(map(int, input().split()))
    out = ""
    for x in a:
        out += str(x * 2) + " "
    print(out.strip(), sorted(a)[0])
""")


def test_every_rewrite_has_conditions_and_keywords() -> None:
    assert len({r.name for r in REWRITES}) == len(REWRITES) >= 8
    assert all(r.conditions and r.keywords for r in REWRITES)


def test_ranking_follows_suggestions() -> None:
    names = applicable(PROGRAM)
    assert {"fast_input", "str_join", "sorted_minmax", "main_function"} <= set(names)
    s = [Suggestion(id=1, similarity=0.9, rate=3.0, summary="1. Build the string with ''.join instead of += concatenation")]
    assert rank(names, s)[0] == "str_join"
    s = [Suggestion(id=2, similarity=0.9, rate=3.0, summary="1. Read input via sys.stdin.readline")]
    assert rank(names, s)[0] == "fast_input"


def test_candidates_all_first_then_singles_and_identical_output() -> None:
    cands = candidates(PROGRAM, limit=4)
    assert len(cands) == 4 and len({c.code for c in cands}) == 4
    assert len(cands[0].rewrites) == len(applicable(PROGRAM))
    assert all(len(c.rewrites) == 1 for c in cands[1:])
    for c in cands:
        assert run(c.code, "4\n3 1 4 1\n") == run(PROGRAM, "4\n3 1 4 1\n")


def test_backend_replies_are_fenced_and_default_without_model() -> None:
    backend = get_backend(GenerationConfig(backend="rules", n=2), reuse=False)  # the default is now the cascade
    assert backend.name == "rules"
    req = GenerationRequest(messages=build_messages(PROGRAM, []), code=PROGRAM)
    replies = backend.generate(req)
    assert len(replies) == 2
    codes = [extract_code(r) for r in replies]
    assert all(c and "sys.stdin.readline" in codes[0] for c in codes)
    # a retry after verifier feedback gets the next candidates, not the same ones again
    retry = backend.generate(GenerationRequest(messages=req.messages, code=PROGRAM, feedback=["wrong output"]))
    assert retry and not set(map(extract_code, retry)) & set(codes)
    # the code can also come from the prompt alone
    assert backend.generate(GenerationRequest(messages=req.messages))


def test_function_level_file() -> None:
    src = textwrap.dedent('''
        """Stats helpers."""
        def pairwise_close(xs, eps):
            found = []
            for i in range(len(xs)):
                for j in range(i + 1, len(xs)):
                    if abs(xs[i] - xs[j]) < eps:
                        found.append((i, j))
            return found

        def running_means(xs):
            out = []
            total = 0
            for i, x in enumerate(xs):
                total += x
                out.append(total / (i + 1))
            return out

        if __name__ == "__main__":
            print(len(pairwise_close([0.1 * k for k in range(60)], 0.25)), running_means([1, 2, 3])[-1])
    ''')
    cands = candidates(src, limit=3)
    assert cands
    best = cands[0].code
    assert "def pairwise_close(xs, eps):" in best and "def running_means(xs):" in best
    flat = " ".join(best.split())
    assert "found = [ (i, j) for i in range(len(xs)) for j in range(i + 1, len(xs)) if abs(xs[i] - xs[j]) < eps ]" in flat
    assert run(best) == run(src)


def test_unparseable_or_untouched_code_gives_no_candidates() -> None:
    assert candidates("def f(:\n") == []
    assert candidates("print(1)\n") == []


# --- keeping the user's own text ------------------------------------------------------------

COMMENTED = '''"""Stats helpers."""
import math  # for sqrt


# Pairs of close values.
def pairwise_close(xs, eps):
    """All index pairs closer than eps."""
    found = []  # result
    # compare every pair once
    for i in range(len(xs)):
        for j in range(i + 1, len(xs)):
            if abs(xs[i] - xs[j]) < eps:
                found.append((i, j))
    return found  # done


def untouched(a,b):   # odd spacing stays
    return a+b  # sum


if __name__ == "__main__":
    # demo
    print(len(pairwise_close([0.1 * k for k in range(60)], 0.25)), untouched(1,2))
'''


def test_rewrites_keep_comments_and_layout_of_what_they_did_not_change() -> None:
    import ast

    new = apply_rewrites(COMMENTED, ["comprehension"])
    raw = apply_rewrites(COMMENTED, ["comprehension"], fmt=False)
    assert ast.dump(ast.parse(new)) == ast.dump(ast.parse(raw))  # exactly the rewrite, nothing else
    for kept in ('import math  # for sqrt\n', '# Pairs of close values.\n', '    return found  # done\n',
                 'def untouched(a,b):   # odd spacing stays\n    return a+b  # sum\n', '    # demo\n',
                 '    # compare every pair once\n'):  # a whole-line comment inside the replaced loop stays too
        assert kept in new, f"{kept!r} lost:\n{new}"
    assert "found.append" not in new and "found = [" in new
    assert run(new) == run(COMMENTED)


def test_statements_added_around_kept_code_are_spaced_like_black() -> None:
    new = apply_rewrites(COMMENTED, ["main_function"])
    assert "\n\n\ndef main():\n" in new and "\n\n\nif __name__" in new
    assert "def untouched(a,b):   # odd spacing stays\n" in new
    assert run(new) == run(COMMENTED)


def test_code_it_cannot_merge_line_by_line_comes_back_formatted() -> None:
    src = "a=input();print('YNeos'[int(a)%sum([int(i) for i in a])!=0::2])\n"  # two statements, one line
    new = apply_rewrites(src, ["fast_input"])
    assert new is not None and "sys.stdin.readline" in new
    assert "a = _input()\nprint(" in new  # black's layout, since the original line cannot be split
    assert run(new, "12\n") == run(src, "12\n")


def test_new_code_has_no_doubled_generator_parentheses() -> None:
    from graph.backends.rules.keep_source import _drop_genexp_parens

    src = 's = "é"; print(any((c for c in "ü")), f((a for a in s), 1), sum((i for i in range(3))))\n'
    out = _drop_genexp_parens(src)
    assert out == 's = "é"; print(any(c for c in "ü"), f((a for a in s), 1), sum(i for i in range(3)))\n'
