"""One module per command group; each exposes `register(app)`."""

from fasterpy_tui.commands import (
    doctor_cmd,
    eval_cmd,
    examples_cmd,
    finetune_cmd,
    kb_cmd,
    models_cmd,
    optimize_cmd,
    profile_cmd,
    tui_cmd,
)

COMMAND_MODULES = [optimize_cmd, profile_cmd, tui_cmd, eval_cmd, kb_cmd, models_cmd, finetune_cmd, doctor_cmd, examples_cmd]
