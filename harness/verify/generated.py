"""Function mode, generated inputs: more calls of a target derived from its captured ones, for
differential testing (the original and the candidate must agree on them too).

From the captured calls the shape of every argument is inferred — types and nesting of plain
builtins (None, bool, int, float, str, bytes, list, tuple, dict, set, frozenset), sizes, the numeric
range, the characters of strings. Inputs come in two deterministic phases:

1. boundary inputs, built here: each argument in turn set to the edges of its shape (empty, one
   element, the numeric range's ends and 0/±1 around them, a repeated element, a duplicate at the
   end, the captured value reversed), the other arguments as captured;
2. random draws of the same shapes (sizes from empty to the largest seen, log-uniform; numbers in
   the seen range widened by one, edges often; elements repeated a third of the time) from
   `random.Random(seed)`, so two runs give the same inputs.

Written here rather than with hypothesis: hypothesis writes a `.hypothesis/` cache into the current
directory (the user's project) and mixes literals of the modules loaded in this process into its
draws, so its inputs would depend on what else was imported; the boundary phase already gives the
edge cases its distributions favour, and a failing input is reported as found (no shrinking runs).

An argument holding anything else (the user's classes, numpy arrays, …) is never unpickled here:
the generated pickle takes it from the captured pickle by reference (`pickle.loads` of the captured
bytes, then item access), so it reaches the sandbox exactly as captured.
"""

from __future__ import annotations

import io
import math
import operator
import pickle
import random
import reprlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

_PLAIN = (type(None), bool, int, float, str, bytes, list, tuple, dict, set, frozenset)
_MAX_DEPTH = 20
_MAX_CHARS = 256  # distinct characters remembered per string shape
_LABEL_CHARS = 300
_ELEMENTS_PER_INPUT = 20_000  # bounds the work of drawing one input


@dataclass
class GeneratedCall:
    """One generated input, shaped like a harness.verify.capture.CapturedCall where the verifier
    reads it: `args` is the pickle `_fasterpy_replay` loads, `label` names the input in feedback."""

    args: bytes
    label: str
    order: int
    size: int
    mutated: bool = False  # the captured call it was derived from changed its arguments
    runtime: float = 0.0


# --------------------------------------------------------------------------------------------------
# reading captured arguments without running anything of the user's


class _Foreign:
    """Stands in for any non-builtin value while a captured pickle is inspected."""

    def __new__(cls, *args: Any, **kwargs: Any) -> _Foreign:
        return object.__new__(cls)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __setstate__(self, state: Any) -> None:
        pass

    def __call__(self, *args: Any, **kwargs: Any) -> type[_Foreign]:
        # e.g. operator.attrgetter("Cls")(module): a class, since NEWOBJ may be applied to it next
        return _Foreign

    def append(self, item: Any) -> None:
        pass

    def extend(self, items: Any) -> None:
        pass

    def __setitem__(self, key: Any, value: Any) -> None:
        pass


_BUILTIN_GLOBALS = {("builtins", n) for n in ("set", "frozenset", "list", "tuple", "dict", "int", "float", "str", "bytes")}


class _InspectUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _BUILTIN_GLOBALS:
            return super().find_class(module, name)
        return _Foreign  # never imports: the user's modules and libraries stay out of this process


def _inspect(blob: bytes) -> tuple[tuple, dict] | None:
    try:
        args, kwargs = _InspectUnpickler(io.BytesIO(blob)).load()
    except Exception:  # noqa: BLE001 - anything unusual: the call is not varied
        return None
    if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict):
        return None
    return tuple(args), kwargs


def _plain(value: Any, depth: int = 0) -> bool:
    """Only exact builtins all the way down (no subclasses, no cycles, not too deep)."""
    if depth > _MAX_DEPTH or type(value) not in _PLAIN:
        return False
    if isinstance(value, dict):
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return all(_plain(v, depth + 1) for v in value)
    return True


# --------------------------------------------------------------------------------------------------
# shapes: what the values seen at one place have in common


class Shape:
    """The union of kinds seen at one place, each with what is needed to generate more like it."""

    def __init__(self) -> None:
        self.kinds: dict[str, Any] = {}

    def add(self, v: Any) -> None:
        t = type(v)
        k = self.kinds
        if v is None:
            k["none"] = True
        elif t is bool:
            k["bool"] = True
        elif t is int or t is float:
            name = t.__name__
            if t is float and not math.isfinite(v):
                return
            lo, hi = k.get(name, (v, v))
            k[name] = (min(lo, v), max(hi, v))
        elif t is str or t is bytes:
            chars, n = k.get(t.__name__, (set(), 0))
            if len(chars) < _MAX_CHARS:
                chars.update(v[:10_000])
            k[t.__name__] = (chars, max(n, len(v)))
        elif t in (list, set, frozenset):
            elem, n = k.get(t.__name__, (Shape(), 0))
            for x in v:
                elem.add(x)
            k[t.__name__] = (elem, max(n, len(v)))
        elif t is tuple:
            info = k.setdefault("tuple", {"elem": Shape(), "max": 0, "fixed": {}})
            info["max"] = max(info["max"], len(v))
            fixed = info["fixed"].setdefault(len(v), [Shape() for _ in v])
            for shape, x in zip(fixed, v, strict=True):
                shape.add(x)
                info["elem"].add(x)
        elif t is dict:
            ks, vs, n = k.get("dict", (Shape(), Shape(), 0))
            for key, val in v.items():
                ks.add(key)
                vs.add(val)
            k["dict"] = (ks, vs, max(n, len(v)))

    # -- boundary values ----------------------------------------------------------------------
    def edges(self) -> list[Any]:
        """Boundary values of this shape, most telling first."""
        out: list[Any] = []
        for kind, info in self.kinds.items():
            out.extend(_kind_edges(kind, info))
        return _unique(out)

    # -- random draws -----------------------------------------------------------------------
    def draw(self, rng: random.Random, budget: list[int]) -> Any:
        """A random value of this shape; `budget` (elements left for this input) bounds sizes."""
        kind = rng.choice(list(self.kinds)) if self.kinds else "none"
        return _kind_draw(kind, self.kinds.get(kind), rng, budget)


def _int_edges(lo: int, hi: int) -> list[int]:
    return _unique([0, -1, 1, lo, hi, lo - 1, hi + 1, lo + 1, hi - 1])


def _kind_edges(kind: str, info: Any) -> list[Any]:
    if kind == "none":
        return [None]
    if kind == "bool":
        return [False, True]
    if kind == "int":
        return _int_edges(*info)
    if kind == "float":
        lo, hi = info
        return _unique([0.0, -1.0, 1.0, lo, hi, lo - 1.0, hi + 1.0])
    if kind in ("str", "bytes"):
        chars, _ = info
        if kind == "str":
            a, z = (min(chars), max(chars)) if chars else ("a", "z")
            return ["", a, a * 2, z + a]
        lo, hi = (min(chars), max(chars)) if chars else (97, 122)
        return [b"", bytes([lo]), bytes([lo, lo]), bytes([hi, lo])]
    if kind in ("list", "set", "frozenset"):
        elem, _ = info
        es = elem.edges()
        if kind == "list":
            return [[], es[:1], es, es[:1] * 2] if es else [[]]
        make = set if kind == "set" else frozenset
        return [make(), make(es[:1]), make(es)] if es else [make()]
    if kind == "tuple":
        out: list[Any] = [tuple(rec) for shapes in info["fixed"].values() for rec in _zip_edges(shapes)[:3]]
        if len(info["fixed"]) > 1:  # tuples of several lengths: also a sequence
            es = info["elem"].edges()
            out += [(), tuple(es[:1]), tuple(es)]
        return out
    if kind == "dict":
        ks, vs, _ = info
        kes, ves = ks.edges(), vs.edges()
        if not kes or not ves:
            return [{}]
        return [{}, {kes[0]: ves[0]}, {k: ves[i % len(ves)] for i, k in enumerate(kes)}]
    return []


def _zip_edges(shapes: list[Shape]) -> list[list[Any]]:
    """Records (fixed tuples): the j-th edge of every field together, j = 0, 1, …"""
    per = [s.edges() or [None] for s in shapes]
    if not per:
        return [[]]
    return [[e[j % len(e)] for e in per] for j in range(max(len(e) for e in per))]


def _size(rng: random.Random, n: int, budget: list[int]) -> int:
    """From empty to the largest seen, small sizes most often (log-uniform), each end sometimes."""
    r = rng.random()
    size = 0 if r < 0.1 else n if r < 0.2 else int(round((n + 1) ** rng.random())) - 1
    size = max(0, min(size, n, budget[0]))
    budget[0] -= size
    return size


def _kind_draw(kind: str, info: Any, rng: random.Random, budget: list[int]) -> Any:
    if kind == "bool":
        return rng.random() < 0.5
    if kind in ("int", "float"):
        lo, hi = info
        if rng.random() < 0.3:
            return rng.choice(_kind_edges(kind, info))
        return rng.randint(lo - 1, hi + 1) if kind == "int" else rng.uniform(lo - 1.0, hi + 1.0)
    if kind in ("str", "bytes"):
        chars, n = info
        alphabet = sorted(chars) or (["a"] if kind == "str" else [97])
        picked = [rng.choice(alphabet) for _ in range(_size(rng, n, budget))]
        return "".join(picked) if kind == "str" else bytes(picked)
    if kind in ("list", "set", "frozenset"):
        elem, n = info
        items = _items(elem, _size(rng, n, budget), rng, budget)
        return items if kind == "list" else set(items) if kind == "set" else frozenset(items)
    if kind == "tuple":
        lengths = list(info["fixed"])
        if len(lengths) > 1 and rng.random() < 0.5:  # tuples of several lengths: also a sequence
            return tuple(_items(info["elem"], _size(rng, info["max"], budget), rng, budget))
        return tuple(s.draw(rng, budget) for s in info["fixed"][rng.choice(lengths)])
    if kind == "dict":
        ks, vs, n = info
        size = _size(rng, n, budget)
        return {k: vs.draw(rng, budget) for k in _items(ks, size, rng, budget)}
    return None


def _items(elem: Shape, size: int, rng: random.Random, budget: list[int]) -> list[Any]:
    """`size` elements; a third of the time drawn from a pool of one or two, so they repeat."""
    if size and rng.random() < 1 / 3:
        pool = [elem.draw(rng, budget) for _ in range(rng.randint(1, 2))]
        return [rng.choice(pool) for _ in range(size)]
    return [elem.draw(rng, budget) for _ in range(size)]


def _unique(values: list[Any]) -> list[Any]:
    seen: set[tuple[str, str]] = set()
    out = []
    for v in values:
        key = (type(v).__name__, repr(v))
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _variants_of(value: Any) -> list[Any]:
    """Boundary inputs derived from one captured value: a duplicate at the end, reversed."""
    if type(value) in (list, tuple, str, bytes) and len(value) >= 2:
        return _unique([value[:-1] + value[:1], value[::-1]])
    return []


# --------------------------------------------------------------------------------------------------
# building the pickles the replay loads


class _Captured:
    """The captured (args, kwargs), rebuilt in the sandbox from the captured pickle."""

    def __init__(self, blob: bytes) -> None:
        self.blob = blob

    def __reduce__(self) -> tuple[Any, ...]:
        return (pickle.loads, (self.blob,))


class _Item:
    def __init__(self, whole: Any, key: Any) -> None:
        self.whole, self.key = whole, key

    def __reduce__(self) -> tuple[Any, ...]:
        return (operator.getitem, (self.whole, self.key))


_KEEP = object()  # a place whose captured value is used as is


@dataclass
class _Group:
    """Captured calls of one target with the same positional count and keyword names."""

    places: list[int | str]  # positional indexes and keyword names
    bases: list[tuple[Any, tuple, dict]]  # (captured call, args, kwargs)
    shapes: dict[int | str, Shape]  # the varied places

    def build(self, base_index: int, values: dict[int | str, Any]) -> tuple[bytes, str]:
        call, args, kwargs = self.bases[base_index]
        whole = _Captured(call.args)
        parts = (_Item(whole, 0), _Item(whole, 1))
        new_args = []
        shown = []
        for i, a in enumerate(args):
            v = values.get(i, _KEEP)
            if v is _KEEP and i in self.shapes:
                v = a
            new_args.append(_Item(parts[0], i) if v is _KEEP else v)
            shown.append(f"<argument {i} of captured call #{call.order}>" if v is _KEEP else _short(v))
        new_kwargs = {}
        for name, a in kwargs.items():
            v = values.get(name, _KEEP)
            if v is _KEEP and name in self.shapes:
                v = a
            new_kwargs[name] = _Item(parts[1], name) if v is _KEEP else v
            shown.append(f"{name}=" + (f"<captured call #{call.order}>" if v is _KEEP else _short(v)))
        blob = pickle.dumps((tuple(new_args), new_kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        return blob, ", ".join(shown)


_REPR = reprlib.Repr()
_REPR.maxlist = _REPR.maxtuple = _REPR.maxset = _REPR.maxfrozenset = 24
_REPR.maxdict = 12
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlevel = 6


def _short(value: Any) -> str:
    return _REPR.repr(value)


def _groups(calls: list[Any]) -> list[_Group]:
    by_sig: dict[tuple, list[tuple[Any, tuple, dict]]] = {}
    for call in sorted(calls, key=lambda c: (c.size, c.order)):
        loaded = _inspect(call.args)
        if loaded is None:
            continue
        args, kwargs = loaded
        by_sig.setdefault((len(args), tuple(sorted(kwargs))), []).append((call, args, kwargs))
    groups = []
    for (n, names), bases in by_sig.items():
        places: list[int | str] = [*range(n), *names]
        shapes: dict[int | str, Shape] = {}
        for place in places:
            values = [(args[place] if isinstance(place, int) else kwargs[place]) for _, args, kwargs in bases]
            if all(_plain(v) for v in values):
                shape = Shape()
                for v in values:
                    shape.add(v)
                shapes[place] = shape
        if shapes:
            groups.append(_Group(places, bases, shapes))
    return groups


def _boundary(groups: list[_Group]) -> Iterator[tuple[_Group, int, dict[int | str, Any]]]:
    """Each varied place in turn at its j-th boundary value, j = 0, 1, …; the rest as captured in
    the smallest call (and, for values derived from a captured one, the largest too)."""
    plans: list[tuple[_Group, list[tuple[int, int | str, Any]]]] = []
    for g in groups:
        for place, shape in g.shapes.items():
            seq: list[tuple[int, int | str, Any]] = [(0, place, e) for e in shape.edges()]
            for b in sorted({0, len(g.bases) - 1}):
                _, args, kwargs = g.bases[b]
                own = args[place] if isinstance(place, int) else kwargs[place]
                seq += [(b, place, v) for v in _variants_of(own)]
            plans.append((g, seq))
    for j in range(max((len(seq) for _, seq in plans), default=0)):
        for g, seq in plans:
            if j < len(seq):
                b, place, v = seq[j]
                yield g, b, {place: v}


def _random_draws(groups: list[_Group], n: int, seed: int) -> Iterator[tuple[_Group, int, dict[int | str, Any]]]:
    """`n` random whole calls, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(n):
        g = rng.choice(groups)
        budget = [_ELEMENTS_PER_INPUT]
        b = rng.randrange(len(g.bases))
        yield g, b, {place: shape.draw(rng, budget) for place, shape in g.shapes.items()}


def generate_calls(calls: list[Any], count: int, seed: int = 0) -> list[GeneratedCall]:
    """Up to `count` new inputs for one target, from its captured calls (harness.verify.capture
    CapturedCall), different from those and from each other; boundary inputs first (at most two
    thirds), then random draws. The same calls, count and seed give the same inputs."""
    if count <= 0 or not calls:
        return []
    groups = _groups(calls)
    if not groups:
        return []
    seen = {c.args for c in calls}
    out: list[GeneratedCall] = []

    def take(g: _Group, b: int, values: dict[int | str, Any]) -> None:
        try:
            blob, shown = g.build(b, values)
        except Exception:  # noqa: BLE001 - e.g. a value pickle refuses: skip that input
            return
        if blob in seen:
            return
        seen.add(blob)
        base = g.bases[b][0]
        label = f"({shown})"
        if len(label) > _LABEL_CHARS:
            label = label[: _LABEL_CHARS - 2] + "…)"
        out.append(GeneratedCall(args=blob, label=label, order=len(out) + 1, size=len(blob),
                                 mutated=bool(getattr(base, "mutated", False)), runtime=float(base.runtime)))

    boundary_cap = count - count // 3
    for g, b, values in _boundary(groups):
        if len(out) >= boundary_cap:
            break
        take(g, b, values)
    if len(out) < count:
        for g, b, values in _random_draws(groups, 3 * (count - len(out)), seed):
            if len(out) >= count:
                break
            take(g, b, values)
    return out
