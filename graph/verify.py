"""Verifying a candidate: same behaviour as the original, and faster beyond noise.

Two modes:
- program mode (`verify_program`, graph/program_check.py): a stdin→stdout script run on test
  inputs; outputs must match the expected outputs (Eq. 3 accuracy 1.0) or, without them, the
  original's outputs.
- function mode (`verify_functions`, graph/function_check.py): the candidate is spliced into the
  original file and its target functions are replayed, in the sandbox, on the calls captured from a
  driver (graph/capture.py); results, exceptions, argument mutation and printed output must match
  the original's.
Optionally the user's own test command runs against the spliced file in a temporary copy of the
project (`run_test_command`, graph/project_tests.py). Timing goes through harness.compare
(interleaved rounds, bootstrap lower bound).

Every failure becomes a Verdict (graph/verdict.py) whose `feedback` is written for the model's next
attempt. This module is the public face of all of it.
"""

from __future__ import annotations

from graph.function_check import replay_source, verify_functions
from graph.program_check import load_program_tests, verify_program
from graph.project_tests import find_project_root, run_test_command
from graph.verdict import STATUSES, Verdict, VerifyConfig, output_diff

__all__ = [
    "STATUSES",
    "Verdict",
    "VerifyConfig",
    "find_project_root",
    "load_program_tests",
    "output_diff",
    "replay_source",
    "run_test_command",
    "verify_functions",
    "verify_program",
]
