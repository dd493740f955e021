"""Verifier traps: wrong candidates that a naive verifier accepts, each beside a right one.

Every case is an original module (a deliberately slow target and a `__main__` driver whose calls are
the captured inputs), a wrong candidate that is fast and agrees with the original on the obvious
checks, and a right candidate that is equivalent on every input of the same types and genuinely
faster on the captured sizes (mostly O(n) against the original's O(n²)), so the full verifier,
timing included, *accepts* it — a right candidate counts as accepted only with status "accepted".

Pure data, no imports of ours: benchmarks/verifier_traps.py and tests/harness/verify/
test_verify_traps.py both load it by path; `verify_candidate` (imports inside) runs one candidate
through the pipeline's own steps (capture the driver's calls, splice, verify_functions).
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any, NamedTuple


class TrapCase(NamedTuple):
    name: str
    trap: str  # what the wrong candidate gets wrong
    caught_by: str  # the check that must reject it
    says: str  # a phrase of the wrong candidate's feedback: it was rejected by that check
    target: str
    original: str
    wrong: str
    right: str


_SAYS = {
    "in_place_sort": "arguments are left in a different state",
    "tuple_for_list": "got:      (",
    "generator_for_list": "got:      <generator",
    "ndarray_for_list": "got:      array(",
    "float_summation_order": "Wrong result for balance",
    "set_order_leak": "Wrong result for common_tags",
    "dict_order_leak": "Wrong result for most_common",
    "dfs_order": "Wrong result for dfs_order",
    "default_changed": "list of length 3 != length 5",
    "exception_type_changed": "raised ZeroDivisionError",
    "printing_changed": "prints different output",
    "global_not_updated": "module-level `SEEN` differs",
    "class_attribute_not_updated": "module-level `Catalog.registered` differs",
    "right_only_on_captured_sizes": "generated from the captured ones",
    "stale_cache": "[call #2",
}


def _case(name: str, trap: str, caught_by: str, target: str, original: str, wrong: str, right: str) -> TrapCase:
    return TrapCase(name, trap, caught_by, _SAYS[name], target, textwrap.dedent(original).lstrip(),
                    textwrap.dedent(wrong).lstrip(), textwrap.dedent(right).lstrip())


CASES: list[TrapCase] = [
    _case("in_place_sort", "sorts a copy (sorted) instead of in place", "argument state", "sort_in_place", '''
        def sort_in_place(xs):
            """Sort xs in place (insertion sort)."""
            for i in range(1, len(xs)):
                x = xs[i]
                j = i - 1
                while j >= 0 and xs[j] > x:
                    xs[j + 1] = xs[j]
                    j -= 1
                xs[j + 1] = x


        if __name__ == "__main__":
            import random
            rng = random.Random(1)
            for n in (50, 300, 600):
                sort_in_place([rng.randrange(1000) for _ in range(n)])
        ''', '''
        def sort_in_place(xs):
            xs = sorted(xs)
        ''', '''
        def sort_in_place(xs):
            xs.sort()
        '''),
    _case("tuple_for_list", "returns a tuple where the original returns a list", "result type", "unique_sorted", '''
        def unique_sorted(xs):
            out = []
            for x in xs:
                if x not in out:
                    out.append(x)
            out.sort()
            return out


        if __name__ == "__main__":
            import random
            rng = random.Random(2)
            for n in (50, 400, 800):
                unique_sorted([rng.randrange(n) for _ in range(n)])
        ''', '''
        def unique_sorted(xs):
            return tuple(sorted(set(xs)))
        ''', '''
        def unique_sorted(xs):
            return sorted(set(xs))
        '''),
    _case("generator_for_list", "returns a generator where the original returns a list", "result type",
          "distinct_in_order", '''
        def distinct_in_order(xs):
            out = []
            for x in xs:
                if x not in out:
                    out.append(x)
            return out


        if __name__ == "__main__":
            import random
            rng = random.Random(3)
            for n in (50, 400, 800):
                distinct_in_order([rng.randrange(n) for _ in range(n)])
        ''', '''
        def distinct_in_order(xs):
            seen = set()
            for x in xs:
                if x not in seen:
                    seen.add(x)
                    yield x
        ''', '''
        def distinct_in_order(xs):
            return list(dict.fromkeys(xs))
        '''),
    _case("ndarray_for_list", "returns a numpy array where the original returns a list", "result type",
          "running_max", '''
        def running_max(xs):
            return [max(xs[:i + 1]) for i in range(len(xs))]


        if __name__ == "__main__":
            import random
            rng = random.Random(4)
            for n in (50, 300, 600):
                running_max([rng.randrange(10 * n) for _ in range(n)])
        ''', '''
        import numpy as np


        def running_max(xs):
            return np.maximum.accumulate(np.asarray(xs))
        ''', '''
        import itertools


        def running_max(xs):
            return list(itertools.accumulate(xs, max))
        '''),
    _case("float_summation_order", "sums in another order (math.fsum): off by far more than the tolerance on "
          "large cancelling entries", "result (float tolerance)", "balance", '''
        def balance(entries):
            """Running balance of a ledger, added in booking order."""
            total = 0.0
            for i in range(len(entries)):
                total = total + entries[i]
            return total


        if __name__ == "__main__":
            import random
            rng = random.Random(5)
            for n in (200, 3000, 20000):
                ledger = []
                for _ in range(n // 4):
                    big = float(rng.randrange(1, 9)) * 1e16
                    ledger += [big, rng.random(), -big, rng.random()]
                balance(ledger)
        ''', '''
        import math


        def balance(entries):
            return math.fsum(entries)
        ''', '''
        def balance(entries):
            return sum(entries, 0.0)
        '''),
    _case("set_order_leak", "builds the answer from a set, so set order replaces the input's order",
          "result order", "common_tags", '''
        def common_tags(tags, allowed):
            """The tags that are allowed, in the order given (duplicates kept)."""
            return [t for t in tags if t in allowed]


        if __name__ == "__main__":
            import random
            rng = random.Random(6)
            words = [f"tag{i}" for i in range(400)]
            for n in (40, 300, 600):
                common_tags([rng.choice(words) for _ in range(n)], rng.sample(words, 200))
        ''', '''
        def common_tags(tags, allowed):
            return list(set(tags) & set(allowed))
        ''', '''
        def common_tags(tags, allowed):
            allowed_set = set(allowed)
            return [t for t in tags if t in allowed_set]
        '''),
    _case("dict_order_leak", "breaks count ties by set iteration order instead of first appearance",
          "result order", "most_common", '''
        def most_common(words, k):
            """The k most frequent words with their counts; ties in order of first appearance."""
            distinct = []
            for w in words:
                if w not in distinct:
                    distinct.append(w)
            counted = [(w, words.count(w)) for w in distinct]
            counted.sort(key=lambda wc: -wc[1])
            return counted[:k]


        if __name__ == "__main__":
            import random
            rng = random.Random(7)
            vocab = [f"w{i}" for i in range(60)]
            for n in (60, 400, 900):
                most_common([rng.choice(vocab) for _ in range(n)], 10)
        ''', '''
        from collections import Counter


        def most_common(words, k):
            counts = Counter(words)
            return sorted(((w, counts[w]) for w in set(words)), key=lambda wc: -wc[1])[:k]
        ''', '''
        from collections import Counter


        def most_common(words, k):
            return sorted(Counter(words).items(), key=lambda wc: -wc[1])[:k]
        '''),
    _case("dfs_order", "an iterative DFS: a valid depth-first order, but not the original's", "result order",
          "dfs_order", '''
        def dfs_order(graph, start):
            """Nodes reachable from start in depth-first preorder, neighbours in list order."""
            order = []

            def visit(u):
                order.append(u)
                for v in graph[u]:
                    if v not in order:
                        visit(v)

            visit(start)
            return order


        if __name__ == "__main__":
            import random
            rng = random.Random(8)
            for n in (30, 200, 400):
                graph = {u: rng.sample(range(n), 3) for u in range(n)}
                dfs_order(graph, 0)
        ''', '''
        def dfs_order(graph, start):
            order, seen, stack = [], set(), [start]
            while stack:
                u = stack.pop()
                if u in seen:
                    continue
                seen.add(u)
                order.append(u)
                stack.extend(v for v in graph[u] if v not in seen)
            return order
        ''', '''
        def dfs_order(graph, start):
            order = []
            seen = set()

            def visit(u):
                order.append(u)
                seen.add(u)
                for v in graph[u]:
                    if v not in seen:
                        visit(v)

            visit(start)
            return order
        '''),
    _case("default_changed", "changes the default of n from 3 to 5", "result (call that uses the default)",
          "top_n", '''
        def top_n(scores, n=3):
            """The n highest scores, highest first."""
            ranked = []
            for s in scores:
                i = 0
                while i < len(ranked) and ranked[i] >= s:
                    i += 1
                ranked.insert(i, s)
            return ranked[:n]


        if __name__ == "__main__":
            import random
            rng = random.Random(9)
            for n in (50, 400, 800):
                top_n([rng.randrange(10000) for _ in range(n)])
            top_n([rng.randrange(100) for _ in range(300)], n=10)
        ''', '''
        def top_n(scores, n=5):
            return sorted(scores, reverse=True)[:n]
        ''', '''
        def top_n(scores, n=3):
            return sorted(scores, reverse=True)[:n]
        '''),
    _case("exception_type_changed", "raises ZeroDivisionError instead of ValueError on an empty list",
          "exception type", "mean", '''
        def mean(xs):
            if not xs:
                raise ValueError("mean of an empty list")
            total = 0
            for i in range(len(xs)):
                total = total + xs[i]
            return total / len(xs)


        if __name__ == "__main__":
            import random
            rng = random.Random(10)
            for n in (100, 5000, 20000):
                mean([rng.randrange(1000) for _ in range(n)])
            try:
                mean([])
            except ValueError:
                pass
        ''', '''
        def mean(xs):
            return sum(xs) / len(xs)
        ''', '''
        def mean(xs):
            if not xs:
                raise ValueError("mean of an empty list")
            return sum(xs) / len(xs)
        '''),
    _case("printing_changed", "prints the same counts on one line instead of one line each", "printed output",
          "print_inventory", '''
        def print_inventory(items):
            """Print each distinct item with its count in first-seen order; return how many are distinct."""
            names = []
            for name in items:
                if name not in names:
                    names.append(name)
            for name in names:
                print(f"{name}: {items.count(name)}")
            return len(names)


        if __name__ == "__main__":
            import random
            rng = random.Random(11)
            stock = [f"sku{i}" for i in range(80)]
            for n in (40, 500, 1000):
                print_inventory([rng.choice(stock) for _ in range(n)])
        ''', '''
        from collections import Counter


        def print_inventory(items):
            counts = Counter(items)
            print(", ".join(f"{name}: {c}" for name, c in counts.items()))
            return len(counts)
        ''', '''
        from collections import Counter


        def print_inventory(items):
            counts = Counter(items)
            for name, c in counts.items():
                print(f"{name}: {c}")
            return len(counts)
        '''),
    _case("global_not_updated", "returns the right counts but never appends to the module-level SEEN list",
          "module state after the calls", "record_new", '''
        SEEN = []


        def record_new(events):
            """Append the events not seen before to SEEN, in order; return how many were new."""
            new = 0
            for e in events:
                if e not in SEEN:
                    SEEN.append(e)
                    new += 1
            return new


        if __name__ == "__main__":
            import random
            rng = random.Random(12)
            start = 0
            for n in (50, 300, 600):
                record_new([rng.randrange(start, start + n) for _ in range(n)])
                start += n
        ''', '''
        def record_new(events):
            known = set(SEEN)
            return len(dict.fromkeys(e for e in events if e not in known))
        ''', '''
        def record_new(events):
            known = set(SEEN)
            fresh = list(dict.fromkeys(e for e in events if e not in known))
            SEEN.extend(fresh)
            return len(fresh)
        '''),
    _case("class_attribute_not_updated", "keeps the instance right but never updates the class-wide counter",
          "module state after the calls", "Catalog.add_all", '''
        class Catalog:
            registered = 0  # distinct SKUs registered over all catalogs

            def __init__(self):
                self.skus = []

            def add_all(self, skus):
                for s in skus:
                    if s not in self.skus:
                        self.skus.append(s)
                        Catalog.registered += 1
                return len(self.skus)


        if __name__ == "__main__":
            import random
            rng = random.Random(13)
            for n in (50, 400, 800):
                Catalog().add_all([rng.randrange(n) for _ in range(n)])
        ''', '''
        class Catalog:
            registered = 0

            def __init__(self):
                self.skus = []

            def add_all(self, skus):
                known = set(self.skus)
                self.skus.extend(s for s in dict.fromkeys(skus) if s not in known)
                return len(self.skus)
        ''', '''
        class Catalog:
            registered = 0

            def __init__(self):
                self.skus = []

            def add_all(self, skus):
                known = set(self.skus)
                fresh = [s for s in dict.fromkeys(skus) if s not in known]
                self.skus.extend(fresh)
                Catalog.registered += len(fresh)
                return len(self.skus)
        '''),
    _case("right_only_on_captured_sizes", "fails on fewer than two values, a size the driver never passes",
          "generated inputs", "max_gap", '''
        def max_gap(xs):
            """The largest difference between neighbours in sorted order (0 for fewer than two values)."""
            s = []
            for x in xs:
                i = 0
                while i < len(s) and s[i] < x:
                    i += 1
                s.insert(i, x)
            best = 0
            for i in range(len(s) - 1):
                best = max(best, s[i + 1] - s[i])
            return best


        if __name__ == "__main__":
            import random
            rng = random.Random(14)
            for n in (50, 400, 800):
                max_gap([rng.randrange(100000) for _ in range(n)])
        ''', '''
        def max_gap(xs):
            s = sorted(xs)
            return max(b - a for a, b in zip(s, s[1:]))
        ''', '''
        def max_gap(xs):
            s = sorted(xs)
            return max((b - a for a, b in zip(s, s[1:])), default=0)
        '''),
    _case("stale_cache", "caches by a cheap fingerprint (length, first price), stale once a later price changes",
          "result of a later call (replayed in order, one process)", "total_value", '''
        def total_value(prices):
            total = 0
            for i in range(len(prices)):
                total = total + prices[i]
            return total


        if __name__ == "__main__":
            import random
            rng = random.Random(15)
            prices = [rng.randrange(1, 500) for _ in range(20000)]
            total_value(prices)
            prices[7] += 10
            total_value(prices)
            prices[-1] = 1
            total_value(prices)
        ''', '''
        _TOTALS = {}


        def total_value(prices):
            key = (len(prices), prices[0] if prices else None)
            if key not in _TOTALS:
                _TOTALS[key] = sum(prices)
            return _TOTALS[key]
        ''', '''
        def total_value(prices):
            return sum(prices)
        '''),
]


def capture_case(case: TrapCase, folder: str | Path) -> tuple[Path, Any]:
    """Write the original to folder/<name>.py and capture its __main__ block's calls of the target."""
    from harness.verify import capture_calls

    path = Path(folder) / f"{case.name}.py"
    path.write_text(case.original, encoding="utf-8")
    return path, capture_calls(path, [case.target])


def verify_candidate(case: TrapCase, candidate: str, path: Path, captured: Any, config: Any = None) -> Any:
    """The pipeline's verify step on one candidate: splice it into the original, verify_functions."""
    from graph.source import splice_functions
    from harness.verify import verify_functions

    spliced = splice_functions(case.original, candidate, [case.target])
    return verify_functions(path, case.original, spliced, [case.target], captured, config)
