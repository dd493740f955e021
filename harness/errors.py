"""The one exception type the interfaces show as a single line (never a traceback).

It lives in harness, the bottom layer, so kb, graph, finetune and the TUI can all raise it."""


class FasterPyError(Exception):
    """A problem the user can fix. The message names the problem and what to do about it."""
