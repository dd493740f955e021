"""verify_program: stdin→stdout programs in the real sandbox, on PIE tests and the shipped example."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import FasterPyError
from harness.verify import VerifyConfig, load_program_tests, output_diff, verify_program

REPO = Path(__file__).resolve().parents[3]
PIE = REPO.parent / "shared" / "data" / "pie-dev"
EXAMPLE = REPO / "data" / "examples" / "count_pairs"
FAST = VerifyConfig(repeats=4, max_repeats=8, timeout_s=5)


def _pie_pair(problem: str, slow_prefix: str) -> dict:
    with open(PIE / "dev_pairs.jsonl") as fh:
        for line in fh:
            row = json.loads(line)
            if row["problem_id"] == problem and (row["slow_code"].startswith(slow_prefix)
                                                 or row.get("submission_id_v0") == slow_prefix):
                return row
    raise LookupError(problem)


@pytest.fixture(scope="module")
def count_pairs():
    inputs, expected = load_program_tests(EXAMPLE / "tests")
    return (EXAMPLE / "count_pairs.py").read_text(), inputs, expected


FAST_COUNT_PAIRS = (EXAMPLE / "count_pairs_fast.py").read_text()  # the O(n) reference


def test_example_program_faster_candidate_accepted_against_expected_outputs(count_pairs):
    original, inputs, expected = count_pairs
    assert len(inputs) == 4 and expected is not None
    v = verify_program(original, FAST_COUNT_PAIRS, inputs, expected, FAST)
    assert v.status == "accepted", v.feedback
    assert v.tests_passed == v.tests_total == 4
    assert v.ci_low >= 1.1 and v.runtime_before > v.runtime_after


def test_wrong_output_gets_a_diff(count_pairs):
    original, inputs, expected = count_pairs
    v = verify_program(original, FAST_COUNT_PAIRS.replace("count += seen[k - x]", "count += seen[k - x] + 0 * 1\n    count += x == k"), inputs, expected, FAST)
    assert v.status == "wrong_output"
    assert "--- expected" in v.feedback and "+++ got" in v.feedback and v.feedback.count("\n-") >= 1


def test_exception_timeout_and_no_code(count_pairs):
    original, inputs, expected = count_pairs
    v = verify_program(original, "n, k = map(int, input().split())\nprint(1 // (k - k))\n", inputs, expected, FAST)
    assert v.status == "exception" and "ZeroDivisionError" in v.feedback and "test 1 of 4" in v.feedback
    v = verify_program(original, "while True:\n    pass\n", inputs, expected, VerifyConfig(timeout_s=1))
    assert v.status == "timeout"
    assert verify_program(original, "", inputs, expected).status == "no_code"
    v = verify_program(original, "print(", inputs, expected)
    assert v.status == "exception" and "SyntaxError" in v.feedback


def test_same_program_is_not_faster(count_pairs):
    original, inputs, expected = count_pairs
    # the two small tests suffice: identical code must not come out 1.1x faster
    v = verify_program(original, original, inputs[:2], expected[:2], VerifyConfig(repeats=4, max_repeats=4))
    assert v.status == "slower" and "not faster" in v.feedback


@pytest.mark.skipif(not PIE.is_dir(), reason="needs ../shared/data/pie-dev")
def test_pie_pair_accepted_against_pie_expected_outputs():
    # p03331: min digit sum of A + B = N; the slow version tries every split, the fast one is O(digits)
    row = _pie_pair("p03331", "n=int(input());print(min([sum(list(")
    inputs, expected = load_program_tests(PIE / "public_test_cases" / "p03331")
    assert expected is not None and len(inputs) == 3
    v = verify_program(row["slow_code"], row["reference_code"], inputs, expected, FAST)
    assert v.status == "accepted", v.feedback
    assert v.tests_passed == 3 and v.ci_low >= 1.1


@pytest.mark.skipif(not PIE.is_dir(), reason="needs ../shared/data/pie-dev")
def test_pie_pair_with_another_valid_answer_differs_from_the_original():
    # p02690 (find A, B with A^5 - B^5 = X): the faster submission searches another range and finds
    # another valid pair; without a checker, the original's output is the reference, so it is rejected.
    row = _pie_pair("p02690", "s441153846")
    inputs, _ = load_program_tests(PIE / "public_test_cases" / "p02690")
    v = verify_program(row["slow_code"], row["reference_code"], inputs, None, FAST)
    assert v.status == "wrong_output"
    assert "-(2, -1)" in v.feedback and "+(1, -2)" in v.feedback


def test_load_program_tests_errors(tmp_path: Path):
    with pytest.raises(FasterPyError, match="no such test folder"):
        load_program_tests(tmp_path / "nope")
    with pytest.raises(FasterPyError, match="no input.N.txt"):
        load_program_tests(tmp_path)
    (tmp_path / "in.txt").write_text("1 2\n")
    inputs, expected = load_program_tests(None, [str(tmp_path / "in.txt")])
    assert inputs == ["1 2\n"] and expected is None
    with pytest.raises(FasterPyError, match="no test inputs"):
        load_program_tests(None, [])


def test_output_diff_is_short():
    d = output_diff("\n".join(map(str, range(100))), "\n".join(str(-i) for i in range(1, 101)), max_lines=10)
    assert d.count("\n") <= 10 and "more diff lines" in d


def test_broken_original_is_an_error_not_a_candidate_failure(count_pairs):
    _, inputs, expected = count_pairs
    v = verify_program("n, k = map(int, input().split())\nprint(n // 0)\n", FAST_COUNT_PAIRS, inputs, expected, FAST)
    assert v.status == "error" and "The original program raised an exception" in v.feedback
    assert "ZeroDivisionError" in v.feedback


def test_hanging_candidate_is_stopped_early(count_pairs):
    # the candidate's limit follows the original's runtime, not the (long) configured timeout
    _, inputs, _ = count_pairs
    v = verify_program("input()\nprint('ok')\n", "import time\ntime.sleep(60)\n", inputs, None, VerifyConfig(timeout_s=120))
    assert v.status == "timeout" and "test 1 of 4" in v.feedback
