"""Where the TUI's pipeline configuration comes from: `--config FILE`, or the nearest config file.

It is read on first use, not at start-up: `graph.config` stays out of the first paint, and a broken
file is reported (one line) by the run or the settings screen that needed it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.errors import FasterPyError

if TYPE_CHECKING:
    from graph.config import FasterPyConfig


class ConfigSource:
    """The configuration one session works with: given, or loaded on the first `get()`, with the
    command line's `overrides` (dotted keys, e.g. {"budget_s": 60}; None values are not given)
    applied over it once; the app `replace()`s it when the settings screen saves."""

    def __init__(self, config_path: Path | None, start: Path, config: FasterPyConfig | None = None,
                 overrides: dict[str, Any] | None = None) -> None:
        self.config_path = config_path
        self.start = start
        self._config = config
        self._overrides = {k: v for k, v in (overrides or {}).items() if v is not None}

    def get(self) -> FasterPyConfig:
        """The configuration; raises FasterPyError when its file cannot be read."""
        if self._config is None:
            self._config = load_config(self.config_path, self.start)
        if self._overrides:
            self._config.update(self._overrides, where="command-line options")
            self._overrides = {}
        return self._config

    def replace(self, config: FasterPyConfig) -> None:
        self._config = config


def load_config(config_path: Path | None, start: Path) -> FasterPyConfig:
    """--config FILE is read as it is (any name; `[tool.fasterpy]` or top-level keys); a missing
    FILE means defaults that Save will create; without --config, the nearest config file wins."""
    import tomllib

    from graph.config import FasterPyConfig

    if config_path is None:
        return FasterPyConfig.load(start)
    if config_path.is_dir():
        return FasterPyConfig.load(config_path)
    if not config_path.exists():
        return FasterPyConfig.from_dict({})
    try:
        data = tomllib.loads(config_path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise FasterPyError(f"cannot read settings from {config_path}: {exc} — fix or remove the file") from None
    table = data.get("tool", {}).get("fasterpy", data) if isinstance(data.get("tool"), dict) else data
    config = FasterPyConfig.from_dict(table)
    config.source = str(config_path)
    return config
