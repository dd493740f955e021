"""Sandboxed execution, timing, correctness and metrics. Imports nothing from graph or the TUI.

Modules (each documents its public API in its docstring):

    harness.limits       Limits(timeout_s, memory_mb, output_bytes, stderr_bytes)
    harness.pool         WorkerPool — warm workers, one forked, sandboxed child per run; default_pool()
    harness.program      run_program / submit_program — stdin→stdout programs, Eq. 2 timing
    harness.function     call_function — call a function of a module's source, pickled args/results
    harness.correctness  accuracy — Eq. 3 with PIE's numeric tolerance
    harness.metrics      compute_metrics — Eq. 4–7 and PIE's %Opt / speedup
    harness.evaluate     evaluate_rows — PIE-format evaluation behind `fasterpy eval`
    harness.errors       FasterPyError
"""
