"""Python syntax highlighting that follows the app's light/dark theme (rich + Pygments)."""

from __future__ import annotations

from rich.syntax import Syntax
from rich.text import Text

DARK_THEME = "monokai"
LIGHT_THEME = "friendly"


def syntax_theme(dark: bool) -> str:
    return DARK_THEME if dark else LIGHT_THEME


def code_syntax(code: str, dark: bool, start_line: int = 1) -> Syntax:
    return Syntax(
        code,
        "python",
        theme=syntax_theme(dark),
        line_numbers=True,
        start_line=start_line,
        background_color="default",
        word_wrap=False,
    )


def highlight_lines(code: str, dark: bool) -> list[Text]:
    """Each line of `code` as highlighted Text (highlighting the whole text keeps multi-line strings right)."""
    syntax = Syntax(code, "python", theme=syntax_theme(dark), background_color="default")
    text = syntax.highlight(code)
    lines = text.split("\n", allow_blank=True)
    wanted = code.count("\n") + (0 if code.endswith("\n") else 1)
    return list(lines)[:wanted] if code else []
