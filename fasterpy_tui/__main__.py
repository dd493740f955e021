"""`python -m fasterpy_tui`: the `fasterpy` command."""

from fasterpy_tui.cli import main

if __name__ == "__main__":
    main()
