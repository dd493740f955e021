"""Verifier traps (benchmarks/trap_cases.py): every wrong candidate is rejected by the check that
should catch it, and every right one is accepted — correct and faster — through the pipeline's steps
(capture the `__main__` driver, splice, verify_functions in the sandbox, generated inputs included).

Fewer timing rounds than the default keep the file short; the right candidates are many times
faster, so four rounds clear the threshold. benchmarks/verifier_traps.py runs the defaults."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest

from harness.verify import VerifyConfig

_SPEC = importlib.util.spec_from_file_location(
    "trap_cases", Path(__file__).resolve().parents[3] / "benchmarks" / "trap_cases.py")
assert _SPEC is not None and _SPEC.loader is not None
traps = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(traps)

QUICK = VerifyConfig(repeats=4, max_repeats=8)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Each case's original, captured once for both of its candidates."""
    folder = tmp_path_factory.mktemp("traps")
    return {case.name: traps.capture_case(case, folder) for case in traps.CASES}


@pytest.mark.parametrize("case", traps.CASES, ids=[c.name for c in traps.CASES])
def test_wrong_candidate_is_rejected_by_its_check(case, captured):
    path, calls = captured[case.name]
    v = traps.verify_candidate(case, case.wrong, path, calls, QUICK)
    assert v.status in ("wrong_output", "exception"), (case.trap, v.status, v.feedback)
    assert case.says in v.feedback, (case.caught_by, v.feedback)


@pytest.mark.parametrize("case", traps.CASES, ids=[c.name for c in traps.CASES])
def test_right_candidate_is_accepted(case, captured):
    path, calls = captured[case.name]
    v = traps.verify_candidate(case, case.right, path, calls, QUICK)
    assert v.status == "accepted", (case.name, v.status, v.feedback)


def test_module_state_of_a_candidate_that_adds_its_own_cache_is_not_compared(tmp_path):
    """Only the original's globals are compared: a candidate's new module-level cache is allowed."""
    case = traps.CASES[[c.name for c in traps.CASES].index("global_not_updated")]
    path, calls = traps.capture_case(case, tmp_path)
    cached = case.right.replace("def record_new(events):", "_CALLS = []\n\n\ndef record_new(events):\n    _CALLS.append(1)")
    v = traps.verify_candidate(case, cached, path, calls, QUICK)
    assert v.status == "accepted", v.feedback
