"""The `--learn` policy: only an optimized run, and only when the settings ask for it, is learned."""

from __future__ import annotations

from types import SimpleNamespace

from graph.config import FasterPyConfig
from graph.learn import learn_accepted


def test_nothing_is_learned_unless_optimized_and_asked(tmp_path):
    cfg = FasterPyConfig.from_dict({"learn_kb": str(tmp_path / "user-kb")})
    not_optimized = SimpleNamespace(optimized=False, targets=[])
    assert learn_accepted(not_optimized, cfg) == []
    optimized = SimpleNamespace(optimized=True, targets=[])
    assert learn_accepted(optimized, cfg) == []  # learn is off
    assert not (tmp_path / "user-kb").exists()
