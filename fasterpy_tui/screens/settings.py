"""Settings: backend, model, knowledge base, attempts, search budget and speedup threshold, saved to
fasterpy.toml."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from graph.backends.registry import available_backends, describe_backend
from harness.errors import FasterPyError

if TYPE_CHECKING:
    from graph.config import FasterPyConfig

def settings_target(config: FasterPyConfig, config_path: Path | None, file_path: Path | None) -> Path:
    """Where Save writes: --config if given, the fasterpy.toml the settings came from, else a
    fasterpy.toml beside the file being optimized (never a pyproject.toml: we do not rewrite it)."""
    if config_path is not None:
        return config_path / "fasterpy.toml" if config_path.is_dir() else config_path
    source = Path(config.source) if config.source not in ("", "defaults") else None
    if source is not None and source.name == "fasterpy.toml":
        return source
    base = file_path.parent if file_path is not None else Path.cwd()
    return base / "fasterpy.toml"


class SettingsScreen(ModalScreen["FasterPyConfig | None"]):
    """Dismissed with the configuration it saved, or None when closed without saving."""

    BINDINGS = [Binding("escape", "close", "Close without saving"), Binding("ctrl+s", "save", "Save settings")]

    def __init__(self, config: FasterPyConfig, target: Path) -> None:
        super().__init__()
        self.config = config
        self.target = target

    def compose(self):
        gen = self.config.generation
        backend = getattr(gen, "backend", "rules") or "rules"
        options = [(b, b) for b in dict.fromkeys((backend, *available_backends()))]
        with Vertical(id="settings-box") as box:
            box.border_title = "Settings"
            with Horizontal():
                yield Label("backend")
                yield Select(options, value=backend, allow_blank=False, id="backend", tooltip=describe_backend(backend))
            with Horizontal():
                yield Label("model")
                yield Input(getattr(gen, "model", None) or "", placeholder="name or path (empty: backend default)", id="model")
            with Horizontal():
                yield Label("knowledge")
                yield Input(self.config.kb or "", placeholder="KB directory (empty: shipped default)", id="kb")
            with Horizontal():
                yield Label("attempts")
                yield Input(str(self.config.attempts), type="integer", id="attempts")
            with Horizontal():
                yield Label("budget (s)")
                yield Input(f"{self.config.budget_s:g}", type="number", id="budget",
                            tooltip="seconds of search per target (generate + verify), besides the attempts")
            with Horizontal():
                yield Label("threshold")
                yield Input(str(self.config.speedup_threshold), type="number", id="threshold")
            shown = Path(self.target.parent.name) / self.target.name  # short: the full path is in the save notice
            yield Static(f"saves to …/{shown}", id="settings-target", markup=False)
            with Horizontal(id="settings-buttons"):
                yield Button("Save (ctrl+s)", id="save", variant="primary")
                yield Button("Cancel (esc)", id="cancel")

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "backend":
            event.select.tooltip = describe_backend(str(event.value))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_close()

    def action_close(self) -> None:
        self.dismiss(None)

    def values(self) -> dict:
        model = self.query_one("#model", Input).value.strip() or None
        kb = self.query_one("#kb", Input).value.strip() or None
        try:
            attempts = int(self.query_one("#attempts", Input).value)
            threshold = float(self.query_one("#threshold", Input).value)
            budget = float(self.query_one("#budget", Input).value)
        except ValueError:
            raise FasterPyError("attempts must be a whole number, budget and threshold numbers — fix the field") from None
        return {
            "generation.backend": str(self.query_one("#backend", Select).value),
            "generation.model": model,
            "kb": kb,
            "attempts": attempts,
            "budget_s": budget,
            "speedup_threshold": threshold,
        }

    def action_save(self) -> None:
        import copy

        try:
            fresh = copy.deepcopy(self.config)
            values = self.values()
            for key in ("generation.model", "kb"):
                head, _, tail = key.partition(".")
                if values[key] is None:  # "empty" means default: clear instead of skipping
                    if tail:
                        setattr(fresh.generation, tail, None)
                    else:
                        setattr(fresh, head, None)
            fresh.update({k: v for k, v in values.items() if v is not None})
            fresh.validate()
            path = fresh.save(self.target)
        except FasterPyError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        fresh.source = str(path)
        self.notify(f"settings saved to {path}", timeout=3)
        self.dismiss(fresh)
