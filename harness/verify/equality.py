"""Deep equality of value forms (harness.verify._tracer.value_form) with a float tolerance, and short diffs.

Value forms are nested tuples of builtins, so the original's outcome (recorded in the driver process)
and the candidate's (computed in the sandbox) can be compared here without the user's classes.
`value_difference` applies the same rule to two live values (kb.builders.measure uses it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# The one default float tolerance, relative and absolute alike: Tolerance's, VerifyConfig's
# float_rel_tol/float_abs_tol and graph.config's `float_tolerance` all start from it. Results here are
# full doubles, not PIE's printed lines (harness.correctness compares those within 1e-3), so only
# rounding noise, such as a sum taken in another order, fits inside it.
FLOAT_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Tolerance:
    rel: float = FLOAT_TOLERANCE
    abs: float = FLOAT_TOLERANCE


def _floats_close(a: float, b: float, tol: Tolerance) -> bool:
    if math.isnan(a) and math.isnan(b):
        return True
    return math.isclose(a, b, rel_tol=tol.rel, abs_tol=tol.abs)


def first_difference(a: object, b: object, tol: Tolerance = Tolerance(), where: str = "") -> str | None:
    """None when equal; otherwise a path and the two differing pieces, e.g. `[3]: 0.5 != 0.25`."""
    if isinstance(a, float) or isinstance(b, float):
        if isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool) and not isinstance(b, bool):
            return None if _floats_close(float(a), float(b), tol) else f"{where or 'value'}: {a!r} != {b!r}"
        return f"{where or 'value'}: {_short(a)} != {_short(b)}"
    if not isinstance(a, tuple) or not isinstance(b, tuple):
        if type(a) is not type(b) or a != b:
            return f"{where or 'value'}: {_short(a)} != {_short(b)}"
        return None
    if not a or not b or a[0] != b[0]:
        return None if a == b else f"{where or 'value'}: {_short(a)} != {_short(b)}"
    kind = a[0]
    if kind in ("list", "tuple"):
        xs, ys = a[1], b[1]
        if len(xs) != len(ys):
            return f"{where or 'value'}: {kind} of length {len(xs)} != length {len(ys)}"
        for i, (x, y) in enumerate(zip(xs, ys, strict=True)):
            d = first_difference(x, y, tol, f"{where}[{i}]")
            if d:
                return d
        return None
    if kind == "generator":
        if a[2] != b[2]:
            return f"{where or 'generator'}: one yields more than the compared items, the other does not"
        return first_difference(a[1], b[1], tol, where + " (yielded items)")
    if kind == "ndarray":
        if a[1] != b[1]:
            return f"{where or 'array'}: shape {a[1]} != {b[1]}"
        return first_difference(a[2], b[2], tol, where)
    if kind == "dict":
        da, db = dict(a[1]), dict(b[1])
        if set(da) != set(db):
            missing = [k for k in da if k not in db][:3]
            extra = [k for k in db if k not in da][:3]
            return f"{where or 'dict'}: keys differ (missing {[_short(k) for k in missing]}, extra {[_short(k) for k in extra]})"
        for k in da:
            d = first_difference(da[k], db[k], tol, f"{where}[{_short(k)}]")
            if d:
                return d
        return None
    if kind == "set":
        sa, sb = set(a[1]), set(b[1])
        if sa != sb:
            return f"{where or 'set'}: sets differ (only expected {[_short(x) for x in list(sa - sb)[:3]]}, only got {[_short(x) for x in list(sb - sa)[:3]]})"
        return None
    if kind == "obj":
        if a[1] != b[1]:
            return f"{where or 'value'}: {a[1]} object != {b[1]} object"
        return first_difference(("dict", a[2]), ("dict", b[2]), tol, where)
    return None if a == b else f"{where or 'value'}: {_short(a)} != {_short(b)}"


def equal(a: object, b: object, tol: Tolerance = Tolerance()) -> bool:
    return first_difference(a, b, tol) is None


def value_difference(expected: object, got: object, tol: Tolerance = Tolerance()) -> str | None:
    """first_difference of two live values (e.g. results unpickled from the sandbox), compared through
    their value forms: the rule function mode judges a call's result by."""
    from harness.verify._tracer import value_form

    return first_difference(value_form(expected), value_form(got), tol)


def render(form: object, limit: int = 200) -> str:
    """A value form back as Python-looking text (for feedback to the model)."""
    text = _render(form)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _render(f: object) -> str:
    if not isinstance(f, tuple) or not f or not isinstance(f[0], str):
        return repr(f)
    kind = f[0]
    if kind == "list":
        return "[" + ", ".join(_render(x) for x in f[1]) + "]"
    if kind == "tuple":
        inner = ", ".join(_render(x) for x in f[1])
        return "(" + inner + ("," if len(f[1]) == 1 else "") + ")"
    if kind == "set":
        return "{" + ", ".join(_render(x) for x in f[1]) + "}" if f[1] else "set()"
    if kind == "dict":
        return "{" + ", ".join(f"{_render(k)}: {_render(v)}" for k, v in f[1]) + "}"
    if kind == "ndarray":
        return f"array({_render(f[2])})"
    if kind == "generator":
        return f"<generator yielding {_render(f[1])}{' …' if f[2] else ''}>"
    if kind == "obj":
        return f"{f[1]}(" + ", ".join(f"{k}={_render(v)}" for k, v in f[2]) + ")"
    if kind == "repr":
        return f[2]
    if kind == "complex":
        return repr(complex(f[1], f[2]))
    if kind in ("exception",):
        return f"{f[1]}({f[2]!r})"
    if kind == "int":
        return repr(f[2])
    if kind == "ref":
        return f"{f[2]}"
    return f"<{' '.join(str(x) for x in f)}>"


def _short(f: object) -> str:
    return render(f, 80)
