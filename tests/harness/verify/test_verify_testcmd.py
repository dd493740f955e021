"""--test-cmd: the user's tests run against the candidate in a temporary copy, never in their tree."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from graph.source import splice_functions
from harness.errors import FasterPyError
from harness.verify import VerifyConfig, capture_calls, find_project_root, run_test_command, verify_functions

EXAMPLE = Path(__file__).resolve().parents[3] / "data" / "examples" / "inventory"

GOOD = (EXAMPLE / "restock_list_fast.py").read_text()  # the reference faster method


@pytest.fixture()
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # third-party plugins only slow pytest down
    root = tmp_path / "inventory"
    shutil.copytree(EXAMPLE, root)
    return root


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_passing_and_failing_tests_in_a_copy(project: Path):
    before = _snapshot(project)
    original = (project / "inventory.py").read_text()
    good = splice_functions(original, GOOD, ["Inventory.restock_list"])
    assert run_test_command("pytest -q tests", project / "inventory.py", good) is None
    bad = splice_functions(original, GOOD.replace("raise KeyError(sku)", "continue"), ["Inventory.restock_list"])
    v = run_test_command("python -m pytest -q tests", project / "inventory.py", bad)
    assert v is not None and v.status == "wrong_output"
    assert "test_unknown_sku_raises" in v.feedback and "DID NOT RAISE" in v.feedback
    assert _snapshot(project) == before  # the user's tree is untouched, no caches written


def test_timeout_kills_the_test_run(project: Path):
    hang = (project / "inventory.py").read_text() + "\nwhile True:\n    pass\n"
    v = run_test_command("pytest -q tests", project / "inventory.py", hang, timeout_s=3)
    assert v is not None and v.status == "timeout" and "did not finish within 3 s" in v.feedback


def test_verify_functions_runs_the_test_command(project: Path):
    cap = capture_calls(project / "inventory.py", ["Inventory.restock_list"], driver="python bench.py", cwd=project)
    original = (project / "inventory.py").read_text()
    # Right on every captured call (bench.py never passes an unknown SKU) but the project's test knows better.
    sloppy = GOOD.replace("if sku not in remaining:\n                raise KeyError(sku)\n", "")
    sloppy = sloppy.replace("remaining[sku] -= qty", "remaining[sku] = remaining.get(sku, 0) - qty")
    cfg = VerifyConfig(repeats=3, max_repeats=3, test_cmd="pytest -q tests")
    sloppy = splice_functions(original, sloppy, ["Inventory.restock_list"])
    v = verify_functions(project / "inventory.py", original, sloppy, ["Inventory.restock_list"], cap, cfg)
    assert v.status == "wrong_output" and "project's tests" in v.feedback
    assert v.tests_passed == v.tests_total == 3  # the replayed calls all passed


def test_project_root_and_bad_commands(project: Path, tmp_path: Path):
    assert find_project_root(project / "inventory.py") == project  # pytest.ini marks it
    with pytest.raises(FasterPyError, match="--test-cmd is empty"):
        run_test_command("  ", project / "inventory.py", "")
    with pytest.raises(FasterPyError, match="not found"):
        run_test_command("no-such-tool-xyz", project / "inventory.py", "")
    with pytest.raises(FasterPyError, match="not inside the project"):
        run_test_command("pytest", tmp_path / "elsewhere.py", "", project_root=project)
