"""Output correctness (paper Eq. 3) with PIE's numeric tolerance.

Public API (stable):

    accuracy(expected, got) -> float        fraction of expected lines matched
    lines_match(expected_line, got_line) -> bool
    is_correct(expected, got) -> bool       accuracy == 1.0
    NUMERIC_TOLERANCE = 1e-3

This follows PIE's evaluator exactly: both texts are stripped and split into lines; line i of the
output is compared with line i of the expected output, equal as text or, failing that, both parse as
floats and differ by less than 1e-3; the score is matches / number of expected lines. Like PIE,
extra output lines beyond the expected ones are not penalised (pass strict=True to count them).
An empty expected output is matched only by an empty output.
"""

from __future__ import annotations

NUMERIC_TOLERANCE = 1e-3


def lines_match(expected_line: str, got_line: str) -> bool:
    if expected_line == got_line:
        return True
    try:
        return abs(float(got_line) - float(expected_line)) < NUMERIC_TOLERANCE
    except ValueError:
        return False


def accuracy(expected: str, got: str, strict: bool = False) -> float:
    """Eq. 3: matched expected lines / expected lines (PIE's get_accuracy)."""
    want = expected.strip().splitlines()
    have = got.strip().splitlines()
    if not want:
        return 1.0 if not have else 0.0
    matched = sum(lines_match(w, h) for w, h in zip(want, have))
    denominator = max(len(want), len(have)) if strict else len(want)
    return matched / denominator


def is_correct(expected: str, got: str, strict: bool = False) -> bool:
    return accuracy(expected, got, strict) == 1.0
