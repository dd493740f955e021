"""Value forms and deep equality with float tolerance (what function mode compares)."""

from __future__ import annotations

import importlib.util
import math
from collections import OrderedDict, namedtuple
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import numpy as np

from harness.verify.equality import Tolerance, equal, first_difference, render

_spec = importlib.util.spec_from_file_location("fasterpy_tracer_for_tests", Path(__file__).resolve().parents[3] / "harness" / "verify" / "_tracer.py")
tracer = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tracer)
vf = tracer.value_form


@dataclass
class P:
    x: float
    y: float


class Slots:
    __slots__ = ("a", "b")

    def __init__(self, a, b):
        self.a, self.b = a, b


def test_floats_within_tolerance_and_nan():
    assert equal(vf([0.1 + 0.2, 1.0]), vf([0.3, 1.0]))
    assert not equal(vf([0.3001]), vf([0.3]))
    assert equal(vf(0.3001), vf(0.3), Tolerance(rel=1e-3))
    assert equal(vf(math.nan), vf(float("nan")))
    assert equal(vf(1), vf(1.0))  # int vs float of the same value: numbers compare by value
    assert not equal(vf(True), vf(1))


def test_containers_keep_their_kind():
    assert not equal(vf([1, 2]), vf((1, 2)))
    assert equal(vf({"a": 1, "b": 2}), vf({"b": 2, "a": 1}))  # dict order does not matter, like ==
    assert equal(vf({3, 1, 2}), vf({1, 2, 3}))
    assert not equal(vf({1, 2}), vf({1, 2, 3}))
    Point = namedtuple("Point", "x y")
    assert equal(vf(Point(1, 2)), vf((1, 2)))  # namedtuple == tuple in Python too
    assert equal(vf(OrderedDict(a=1)), vf({"a": 1}))


def test_objects_by_class_and_state():
    assert equal(vf(P(1.0, 2.0)), vf(P(1.0, 2.0 + 1e-12)))
    d = first_difference(vf([P(1.0, 2.0)]), vf([P(1.0, 2.5)]))
    assert d is not None and "[0]" in d and "'y'" in d
    assert equal(vf(Slots(1, [2])), vf(Slots(1, [2])))
    assert not equal(vf(Slots(1, [2])), vf(Slots(1, [3])))
    assert equal(vf(Decimal("1.5")), vf(Decimal("1.5")))


def test_numpy_arrays_and_scalars():
    assert equal(vf(np.arange(6).reshape(2, 3) / 3), vf(np.arange(6).reshape(2, 3) / 3 + 1e-15))
    assert "shape" in first_difference(vf(np.zeros((2, 3))), vf(np.zeros((3, 2))))
    assert equal(vf(np.float64(2.5)), vf(2.5))


def test_cycles_and_render():
    a: list = [1]
    a.append(a)
    assert vf(a) == ("list", (1, ("cycle",)))
    assert render(vf({"k": [1, 2.5, "s"], "p": P(1, 2)})) == "{'k': [1, 2.5, 's'], 'p': P(x=1, y=2)}"
    assert render(vf(list(range(1000))), limit=30).endswith("…")


def test_differences_name_the_place():
    d = first_difference(vf({"a": [1, 2, 3]}), vf({"a": [1, 2, 4]}))
    assert d == "['a'][2]: 3 != 4"
    assert "length 3 != length 2" in first_difference(vf([1, 2, 3]), vf([1, 2]))
    assert "keys differ" in first_difference(vf({"a": 1}), vf({"b": 1}))


def test_verify_config_from_dicts_objects_and_nested_sections():
    from types import SimpleNamespace

    from harness.verify import Verdict, VerifyConfig

    assert VerifyConfig.of(None) == VerifyConfig()
    assert VerifyConfig.of({"threshold": 1.3, "unknown": 1}).threshold == 1.3
    cfg = VerifyConfig.of(SimpleNamespace(timeout_s=3.0, verify=SimpleNamespace(repeats=5)))
    assert (cfg.timeout_s, cfg.repeats) == (3.0, 5)
    assert VerifyConfig(float_rel_tol=1e-3).tolerance().rel == 1e-3
    v = Verdict("slower", "x", speedup=1.02, ci_low=0.9, ci_high=1.1, tests_passed=3, tests_total=3)
    assert v.describe() == "slower, 3/3 checks, 1.02× (95% CI 0.90–1.10)" and not v.accepted
