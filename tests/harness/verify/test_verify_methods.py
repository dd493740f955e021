"""Function mode on method kinds and generators: staticmethod, classmethod, nested class, generator."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from graph.source import splice_functions
from harness.verify import VerifyConfig, capture_calls, verify_functions

SOURCE = '''\
class Geo:
    scale = 2

    @staticmethod
    def dist2(p, q):
        return sum([(a - b) ** 2 for a, b in zip(p, q)])

    @classmethod
    def scaled(cls, xs):
        out = []
        for x in xs:
            out.append(x * cls.scale)
        return out

    class Grid:
        def __init__(self, n):
            self.cells = [[i * n + j for j in range(n)] for i in range(n)]

        def diagonal(self):
            return [self.cells[i][i] for i in range(len(self.cells))]


def evens(xs):
    for x in xs:
        if x % 2 == 0:
            yield x


if __name__ == "__main__":
    print(Geo.dist2((0, 0), (3, 4)))
    print(Geo.scaled([1, 2, 3]))
    print(Geo.Grid(4).diagonal())
    print(list(evens(range(10))))
    print(sum(evens(range(100))))
'''

CFG = VerifyConfig(repeats=2, max_repeats=2, threshold=1.0)


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("methods") / "geo.py"
    path.write_text(SOURCE)
    cap = capture_calls(path, ["Geo.dist2", "Geo.scaled", "Geo.Grid.diagonal", "evens"])
    return path, cap


def _sub(cap, targets):
    return type(cap)(path=cap.path, targets=targets, calls={t: cap.calls[t] for t in targets}, seen=cap.seen)


def test_capture_of_static_class_nested_and_generator(setup):
    _, cap = setup
    assert cap.calls["Geo.dist2"][0].result == 25
    assert cap.calls["Geo.scaled"][0].result == ("list", (2, 4, 6))
    assert cap.calls["Geo.Grid.diagonal"][0].result == ("list", (0, 5, 10, 15))
    first, second = cap.calls["evens"]
    assert first.result == ("generator", ("list", (0, 2, 4, 6, 8)), False)
    assert second.result[1][1][-1] == 98


@pytest.mark.parametrize("target,good,bad", [
    ("Geo.dist2",
     "class Geo:\n    @staticmethod\n    def dist2(p, q):\n        return sum((a - b) ** 2 for a, b in zip(p, q))\n",
     "class Geo:\n    @staticmethod\n    def dist2(p, q):\n        return sum(abs(a - b) for a, b in zip(p, q))\n"),
    ("Geo.scaled",
     "class Geo:\n    @classmethod\n    def scaled(cls, xs):\n        s = cls.scale\n        return [x * s for x in xs]\n",
     "class Geo:\n    @classmethod\n    def scaled(cls, xs):\n        return [x * 3 for x in xs]\n"),
    ("Geo.Grid.diagonal",
     "class Geo:\n    class Grid:\n        def diagonal(self):\n            c = self.cells\n            return [row[i] for i, row in enumerate(c)]\n",
     "class Geo:\n    class Grid:\n        def diagonal(self):\n            return [row[0] for row in self.cells]\n"),
    ("evens",
     "def evens(xs):\n    return (x for x in xs if not x % 2)\n",
     "def evens(xs):\n    yield from (x for x in xs if x % 2)\n"),
])
def test_each_kind_accepts_equivalent_and_rejects_wrong(setup, target, good, bad):
    path, cap = setup
    v = verify_functions(path, SOURCE, splice_functions(SOURCE, good, [target]), [target], _sub(cap, [target]), CFG)
    assert v.status in ("accepted", "slower"), v.feedback  # correct; speed is not the point here
    assert v.tests_passed == v.tests_total
    v = verify_functions(path, SOURCE, splice_functions(SOURCE, bad, [target]), [target], _sub(cap, [target]), CFG)
    assert v.status == "wrong_output", v.feedback


def test_driver_sees_the_same_generator_items(tmp_path: Path):
    path = tmp_path / "g.py"
    path.write_text(textwrap.dedent('''
        import itertools

        def naturals():
            n = 0
            while True:
                yield n
                n += 1

        if __name__ == "__main__":
            head = list(itertools.islice(naturals(), 20005))
            assert head[-1] == 20004, head[-1]
    '''))
    cap = capture_calls(path, ["naturals"])  # an infinite generator: compared on its first items only
    result = cap.calls["naturals"][0].result
    assert result[0] == "generator" and result[2] is True and len(result[1][1]) == 10000
