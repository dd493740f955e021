"""Rewrites stack: a statement another rewrite created (no line numbers) can still move into main()."""

from graph.backends.rules import candidates

PROGRAM = """\
A = list(map(int, input().split()))
B = list(map(int, input().split()))
c = 0
for b in B:
    if b in A:
        c += 1
print(c)
"""


def test_main_function_on_top_of_set_membership() -> None:
    found = candidates(PROGRAM, limit=8)
    stacked = [c for c in found if "main_function" in c.rewrites and "set_membership" in c.rewrites]
    assert stacked, [c.rewrites for c in found]
    code = stacked[0].code
    assert "def main" in code and "set(" in code
    compile(code, "<candidate>", "exec")
