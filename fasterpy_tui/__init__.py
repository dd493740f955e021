"""FasterPy's user interfaces: the `fasterpy` CLI and the `fasterpy-tui` Textual app."""

__version__ = "0.1.0"
