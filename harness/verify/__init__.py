"""Verifying a candidate: same behaviour as the original, and faster beyond noise.

Two modes:
- program mode (`verify_program`, harness/verify/program.py): a stdin→stdout script run on test
  inputs; outputs must match the expected outputs (Eq. 3 accuracy 1.0, harness.correctness) or,
  without them, the original's outputs.
- function mode (`verify_functions`, harness/verify/functions.py): the target functions' calls
  captured from a driver (`capture_calls`, harness/verify/capture.py), and inputs generated from
  them (harness/verify/generated.py), are replayed, in the sandbox, on the original module and on
  the spliced one (the original file with the candidate's functions put in; the caller splices,
  see graph.source); results (float tolerance, harness/verify/equality.py), exceptions, argument
  mutation and printed output must match the original's, and so must the module's globals and
  class attributes after the calls (`_tracer.module_state_form`).
Optionally the user's own test command runs against the spliced file in a temporary copy of the
project (`run_test_command`, harness/verify/project_tests.py). Timing goes through harness.compare
(interleaved rounds, bootstrap lower bound). Both modes run on `verify_pool(read_roots)`, a process-wide
single-worker pool (harness.pool.shared_pool(1, read_roots)), so both sides share one hash seed; a
candidate there reads only the interpreter, its libraries and the project folder
(`sandbox_read_roots`).

Every failure becomes a Verdict (harness/verify/verdict.py) whose `feedback` is written for the
model's next attempt. This module is the public face of all of it; imports nothing outside harness.
"""

from __future__ import annotations

from harness.verify.capture import capture_calls
from harness.verify.equality import Tolerance, first_difference, value_difference
from harness.verify.functions import replay_source, verify_functions
from harness.verify.program import load_program_tests, verify_program
from harness.verify.project_tests import find_project_root, run_test_command, sandbox_read_roots
from harness.verify.verdict import STATUSES, Verdict, VerifyConfig, output_diff, verify_pool

__all__ = [
    "STATUSES",
    "Tolerance",
    "Verdict",
    "VerifyConfig",
    "capture_calls",
    "find_project_root",
    "first_difference",
    "load_program_tests",
    "output_diff",
    "replay_source",
    "run_test_command",
    "sandbox_read_roots",
    "value_difference",
    "verify_functions",
    "verify_pool",
    "verify_program",
]
