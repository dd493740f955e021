"""harness.plugins: named plugins found through real entry points of an installed distribution."""

from __future__ import annotations

import sys

import pytest

from harness.errors import FasterPyError
from harness.plugins import find_plugin, load_plugin, plugin_names

GROUP = "fasterpy.test-plugins"


def test_names_are_listed_without_importing_and_loaded_by_name(plugin_dist) -> None:
    plugin_dist({GROUP: {"beta": "fake_plugin_b:VALUE", "alpha": "fake_plugin_a:VALUE"}},
                {"fake_plugin_a": "VALUE = 'a'\n", "fake_plugin_b": "VALUE = 'b'\n"})
    assert plugin_names(GROUP) == ["alpha", "beta"]
    assert "fake_plugin_a" not in sys.modules and "fake_plugin_b" not in sys.modules
    assert load_plugin(GROUP, "alpha", kind="thing") == "a"
    assert "fake_plugin_a" in sys.modules and "fake_plugin_b" not in sys.modules
    assert find_plugin(GROUP, "gamma") is None


def test_unknown_name_lists_the_registered_ones(plugin_dist) -> None:
    plugin_dist({GROUP: {"alpha": "fake_plugin_c:VALUE"}}, {"fake_plugin_c": "VALUE = 1\n"})
    with pytest.raises(FasterPyError, match=r"^unknown thing 'nope' — choose one of: alpha \(hint\)$"):
        load_plugin(GROUP, "nope", kind="thing", hint=" (hint)")


def test_an_empty_group_says_to_reinstall() -> None:
    with pytest.raises(FasterPyError, match="no things are registered .* reinstall fasterpy"):
        load_plugin("fasterpy.nothing-here", "x", kind="thing")


def test_a_broken_plugin_is_one_line(plugin_dist) -> None:
    plugin_dist({GROUP: {"broken": "fake_plugin_broken:VALUE", "missing": "fake_plugin_absent:VALUE"}},
                {"fake_plugin_broken": "import no_such_module_anywhere\nVALUE = 1\n"})
    for name in ("broken", "missing"):
        with pytest.raises(FasterPyError, match=f"cannot load thing '{name}' .*ModuleNotFoundError.* reinstall") as exc:
            load_plugin(GROUP, name, kind="thing")
        assert "\n" not in str(exc.value)
