"""Re-verify a partial patch (a subset of a candidate's hunks) before it is written.

A subset of hunks is new code nobody has checked, so it goes through the same verifier as the
pipeline's candidates: function mode replays the target functions' captured calls (recorded again
from the file as it is on disk now); program mode has no inputs in the result, so it refuses.

Outcomes: "verified" (same outputs and faster beyond noise: written), "correct" (same outputs but
no verified speedup: written only after the user presses `a` a second time), "failed" (different
outputs, an exception, a timeout…: never written)."""

from __future__ import annotations

from typing import Any

from fasterpy_tui.review import TargetReview
from fasterpy_tui.session import PartialVerifier

# captured calls per (file, its content, targets, driver): re-recording them runs the driver again
_CAPTURED: dict[tuple, Any] = {}


def verify_partial(result: Any, config: Any, path: str | None = None) -> PartialVerifier | None:
    """A verifier for the session's accept(), or None when the run cannot re-verify a subset."""
    if result is None or getattr(result, "mode", "") != "function":
        return None
    source_path = path or result.path

    def check(review: TargetReview, partial_text: str) -> tuple[str, str]:
        from graph.source import read_source
        from harness.verify import verify_functions
        from harness.verify.capture import capture_calls

        targets = review.targets or [review.target]
        original = read_source(source_path)
        driver = getattr(config, "driver", None)
        key = (str(source_path), hash(original), tuple(targets), driver)
        captured = _CAPTURED.get(key)
        if captured is None:
            captured = capture_calls(source_path, targets, driver=driver)
            _CAPTURED.clear()  # one file's calls at a time is all a session needs
            _CAPTURED[key] = captured
        # partial_text is the whole file as it would be written: verified as it is, not spliced again
        verdict = verify_functions(source_path, original, partial_text, targets, captured, config)
        if verdict.status == "accepted":
            return "verified", f"verified {verdict.speedup:.2f}× faster" if verdict.speedup else "verified"
        if verdict.status == "slower":  # the verifier only times code whose outputs matched
            speed = f"{verdict.speedup:.2f}×" if verdict.speedup else "no measurable speedup"
            return "correct", f"same outputs but {speed}, not a verified speedup"
        first = (verdict.feedback or verdict.status).strip().splitlines()
        return "failed", f"{verdict.status}: {first[0] if first else ''}".rstrip(": ")

    return check
