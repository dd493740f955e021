"""Re-verify a partial patch (a subset of a candidate's hunks) before it is written.

A subset of hunks is new code nobody has checked, so it goes through the same verifier as the
pipeline's candidates: function mode replays the target functions' captured calls (recorded again
from the file as it is on disk now); program mode has no inputs in the result, so it refuses.

The bar for a subset the user picked by hand: identical behaviour on every captured call is
required; a speedup is reported but not required — only a subset that is confidently slower
(the whole confidence interval below 1×) is refused."""

from __future__ import annotations

from typing import Any

from fasterpy_tui.review import TargetReview
from fasterpy_tui.session import PartialVerifier


def verify_partial(result: Any, config: Any, path: str | None = None) -> PartialVerifier | None:
    """A verifier for the session's accept(), or None when the run cannot re-verify a subset."""
    if result is None or getattr(result, "mode", "") != "function":
        return None
    source_path = path or result.path

    def check(review: TargetReview, partial_text: str) -> tuple[bool, str]:
        from graph.capture import capture_calls
        from graph.capture import read_source
        from graph.verify import verify_functions

        targets = review.targets or [review.target]
        original = read_source(source_path)
        captured = capture_calls(source_path, targets, driver=getattr(config, "driver", None))
        verdict = verify_functions(source_path, original, partial_text, targets, captured, config)
        if verdict.status == "accepted":
            return True, f"verified {verdict.speedup:.2f}× faster" if verdict.speedup else "verified"
        if verdict.status == "slower" and (verdict.ci_high is None or verdict.ci_high >= 1.0):
            speed = f"{verdict.speedup:.2f}×" if verdict.speedup else "no measurable speedup"
            return True, f"same outputs, {speed} (not a verified speedup)"
        first = (verdict.feedback or verdict.status).strip().splitlines()
        return False, f"{verdict.status}: {first[0] if first else ''}".rstrip(": ")

    return check
