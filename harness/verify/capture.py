"""Function mode, step 1: capture real inputs of the target functions by running a driver.

The driver is the file's own `__main__` block by default, or a command line: `python bench.py …`,
`python -m pkg.bench …`, `pytest tests/x.py …` / `python -m pytest …` (checked by
harness/verify/driver.py). It runs in a subprocess under the recorder in harness/verify/_tracer.py, which wraps the targets as they are defined and records, per call:
the arguments (pickled before the call, so later mutation does not leak in), the return value or
exception, the arguments after the call (mutation) and what the call printed.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import FasterPyError
from harness.verify.driver import DRIVER_HOW as _HOW
from harness.verify.driver import check_driver, has_main_block

TRACER = Path(__file__).with_name("_tracer.py")
DEFAULT_MAX_CALLS = 50
DEFAULT_DRIVER_TIMEOUT_S = 120.0


@dataclass
class CapturedCall:
    """One recorded call. `result`, `args_after` are value forms (harness.verify._tracer.value_form);
    `exception` is (type name, message) or None; `args` is the pickle the replay unpickles."""

    args: bytes
    size: int
    result: object
    exception: tuple[str, str] | None
    args_after: object
    stdout: str
    runtime: float
    order: int
    mutated: bool = False  # the original changed its arguments in place


@dataclass
class CapturedCalls:
    path: str
    targets: list[str]
    calls: dict[str, list[CapturedCall]]
    driver: str | None = None
    seen: dict[str, int] = field(default_factory=dict)  # calls observed (before the cap)
    module_name: str | None = None  # the dotted name the driver imported the file under, if any
    notes: list[str] = field(default_factory=list)  # e.g. why some calls could not be recorded

    def total(self) -> int:
        return sum(len(v) for v in self.calls.values())

    def describe(self) -> str:
        parts = [f"{t}: {len(self.calls.get(t, []))} of {self.seen.get(t, 0)} calls" for t in self.targets]
        return "captured " + ", ".join(parts) + f" (driver: {self.driver or 'the file’s __main__ block'})"


def capture_calls(
    path: str | os.PathLike[str],
    targets: list[str],
    driver: str | None = None,
    max_calls: int = DEFAULT_MAX_CALLS,
    timeout_s: float = DEFAULT_DRIVER_TIMEOUT_S,
    cwd: str | os.PathLike[str] | None = None,
) -> CapturedCalls:
    """Run the driver under the recorder and return the captured calls of every target.

    The file and the target names must already be checked (graph.source.read_source and
    resolve_targets do it for every run). Raises FasterPyError when the driver is bad, crashes or
    times out, or a target is never called (saying how to provide inputs).
    """
    path = str(Path(path).resolve())
    source = Path(path).read_text(encoding="utf-8")
    targets = list(dict.fromkeys(targets))
    workdir = str(cwd) if cwd is not None else os.getcwd()  # where `python FILE` would run it
    if driver:
        check_driver(driver, workdir)
    elif not has_main_block(source):
        raise FasterPyError(f"{path} has no `if __name__ == \"__main__\":` block to capture inputs from — {_HOW}")
    with tempfile.TemporaryDirectory(prefix="fasterpy-capture-") as tmp:
        spec_path = os.path.join(tmp, "spec.json")
        out_path = os.path.join(tmp, "calls.pickle")
        with open(spec_path, "w") as fh:
            json.dump({"path": path, "targets": targets, "driver": driver, "max_calls": max_calls, "out": out_path}, fh)
        env = dict(os.environ)
        env["PYTHONHASHSEED"] = "0"  # set iteration order must not differ between record and replay
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # leave no __pycache__ in the user's tree
        env.pop("PYTHONSTARTUP", None)
        try:
            proc = subprocess.run(
                [sys.executable, str(TRACER), spec_path],
                cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                capture_output=True, text=True, errors="replace", timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            raise FasterPyError(f"the driver ran longer than {timeout_s:.0f} s while capturing inputs — "
                                "use a smaller driver (--driver) or raise the capture timeout") from exc
        if not os.path.exists(out_path):
            tail = (proc.stderr or proc.stdout or "")[-1500:]
            raise FasterPyError(f"the driver process died (exit {proc.returncode}) before inputs were captured:\n{tail}\n— fix the driver or give another with --driver")
        with open(out_path, "rb") as fh:
            data = pickle.load(fh)
    who = f"the driver {driver!r}" if driver else f"the __main__ block of {Path(path).name}"
    if data["driver_error"]:
        why = data["driver_error"].rstrip()
        if "Traceback" not in why:  # e.g. a pytest usage or collection error: its own output says why
            text = ((proc.stdout or "").rstrip() + "\n" + (proc.stderr or "").rstrip()).strip()
            out = "\n".join(line for line in text.splitlines()[-12:] if line.strip())
            why += f"\n{out}" if out else ""
        if "EOFError" in why and not driver:
            raise FasterPyError(f"{who} reads standard input, which a driver run does not have:\n{why}\n— for a "
                                "stdin→stdout program use program mode (--tests DIR or --input FILE, without -f), "
                                "or give a driver with --driver")
        raise FasterPyError(f"{who} failed: {why}\n— fix it, or give a working driver with --driver")
    calls: dict[str, list[CapturedCall]] = {}
    notes: list[str] = []
    for target in targets:
        recs = data["calls"].get(target, [])
        calls[target] = [CapturedCall(**r) for r in recs]
        skipped = data["skipped"].get(target, [])
        if skipped:
            notes.append(f"{target}: some calls could not be recorded ({skipped[0]})")
        if not recs:
            if skipped:
                raise FasterPyError(f"calls to {target!r} could not be recorded: {skipped[0]} — "
                                    "use a driver that passes picklable arguments defined in importable modules")
            if target not in data["wrapped"]:
                raise FasterPyError(f"{who} never loaded {Path(path).name}, so {target!r} was never called — {_HOW}")
            raise FasterPyError(f"{who} never called {target!r}, so there are no inputs to check a rewrite on — {_HOW}")
    names = [n for n in data.get("module_names", []) if n != "__main__"]
    module_name = max(names, key=lambda n: n.count("."), default=None)
    return CapturedCalls(path=path, targets=targets, calls=calls, driver=driver, seen=dict(data["seen"]), notes=notes,
                         module_name=module_name)
