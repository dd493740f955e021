"""Driver-side helper: runs a driver under cProfile (`python _profiler.py SPEC.json`).

Standalone (stdlib only) for the same reason as _tracer.py, whose driver runner it reuses so both
understand the same `--driver` command lines. Writes OUT.prof (pstats) and OUT.json: the driver's
wall time and, if it failed, a description the parent turns into one line.
"""

from __future__ import annotations

import cProfile
import importlib.util
import json
import os
import sys
import time
import traceback


class _NoRecorder:
    """What the tracer's driver runner asks of a recorder, recording nothing."""

    path = None

    def trace_now(self):
        pass


def _load_tracer():
    here = os.path.dirname(os.path.abspath(__file__))
    spec = importlib.util.spec_from_file_location("_fasterpy_driver_runner", os.path.join(here, "_tracer.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _ours(filename):
    here = os.path.dirname(os.path.abspath(__file__))
    return os.path.dirname(os.path.abspath(filename)) == here or "runpy" in filename or filename.startswith("<frozen")


def _crash(exc):
    """Type, message and the innermost frame of the user's code (None: it failed before any ran,
    e.g. the script or module does not exist)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not _ours(f.filename)]
    where = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else None
    message = " ".join(str(exc).split()) or type(exc).__name__
    return {"kind": "crash", "type": type(exc).__name__, "message": message[:500], "where": where}


def main(spec_path):
    with open(spec_path) as fh:
        spec = json.load(fh)
    tracer = _load_tracer()
    # This script's directory must not shadow the user's modules.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    profiler = cProfile.Profile()
    error = None
    start = time.perf_counter()
    profiler.enable()
    try:
        failed = tracer._run_driver(spec, _NoRecorder())
        if failed:
            error = {"kind": "pytest" if failed.startswith("pytest") else "driver", "message": failed}
    except SystemExit as exc:
        if exc.code not in (None, 0):
            error = {"kind": "exit", "message": f"it exited with status {exc.code}"}
    except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises a clear error
        error = _crash(exc)
    finally:
        profiler.disable()
    wall = time.perf_counter() - start
    profiler.dump_stats(spec["out"] + ".prof")
    with open(spec["out"] + ".json", "w") as fh:
        json.dump({"wall_s": wall, "error": error}, fh)


if __name__ == "__main__":
    main(sys.argv[1])
