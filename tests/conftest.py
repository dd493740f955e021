"""Shared fixtures. Area-specific fixtures live in each area's own test modules."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT


@pytest.fixture(scope="session")
def fasterpy_bin() -> Path:
    """The installed console script in the project's venv."""
    return Path(sys.executable).parent / "fasterpy"


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep tests from writing to the user's cache and data directories; assembled models are shared
    across the session."""
    if "FASTERPY_CACHE" not in os.environ:
        monkeypatch.setenv("FASTERPY_CACHE", str(tmp_path_factory.getbasetemp() / "fasterpy-cache"))
    if "FASTERPY_USER_DATA" not in os.environ:
        monkeypatch.setenv("FASTERPY_USER_DATA", str(tmp_path_factory.getbasetemp() / "fasterpy-user-data"))


@pytest.fixture
def plugin_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """`plugin_dist({group: {name: "module:attr"}}, {module: source})` installs a third-party
    distribution for this test only: its modules and a dist-info with those entry points, on
    sys.path, so the registries find it through real entry-point discovery."""
    added: list[str] = []
    sites = iter(range(1000))

    def install(entry_points: dict[str, dict[str, str]], modules: dict[str, str]) -> Path:
        site = next(sites)
        root = tmp_path / f"plugin-site-{site}"
        info = root / f"fasterpy_test_plugin_{site}-1.0.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: fasterpy-test-plugin-{site}\nVersion: 1.0\n")
        (info / "entry_points.txt").write_text("".join(
            f"[{group}]\n" + "".join(f"{name} = {value}\n" for name, value in eps.items())
            for group, eps in entry_points.items()
        ))
        for module, source in modules.items():
            (root / f"{module}.py").write_text(source)
            added.append(module)
        monkeypatch.syspath_prepend(str(root))
        return root

    yield install
    for module in added:
        sys.modules.pop(module, None)
