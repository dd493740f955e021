"""FasterPy's user interfaces: the `fasterpy` CLI and the `fasterpy-tui` Textual app."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("fasterpy")  # the installed distribution's metadata: one source, pyproject.toml
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"
