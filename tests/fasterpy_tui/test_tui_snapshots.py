"""Snapshots of the main screens at 80×24 (pytest-textual-snapshot; update with --snapshot-update).

Everything shown is deterministic: the example file is copied to a fixed name, the picker shows
only its root's short name, and the run snapshot shows the diff, not the timings."""

from __future__ import annotations

from fasterpy_tui.app import FasterPyApp


async def _highlight_pairwise(pilot) -> None:
    functions = pilot.app.screen.query_one("#functions")
    functions.highlighted = list(functions.functions).index("pairwise_close")
    await pilot.press("space")
    await pilot.pause()


def test_snapshot_main_dark(snap_compare, example):
    assert snap_compare(FasterPyApp(example), terminal_size=(80, 24), run_before=_highlight_pairwise)


def test_snapshot_main_light(snap_compare, example):
    assert snap_compare(FasterPyApp(example, theme="textual-light"), terminal_size=(80, 24), run_before=_highlight_pairwise)


def test_snapshot_help(snap_compare, example):
    assert snap_compare(FasterPyApp(example), terminal_size=(80, 24), press=["question_mark"])


def test_snapshot_settings(snap_compare, example):
    assert snap_compare(FasterPyApp(example), terminal_size=(80, 24), press=["s"])


def test_snapshot_picker(snap_compare, tmp_path, example):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "util.py").write_text("def f():\n    return 1\n")
    assert snap_compare(FasterPyApp(None, root=tmp_path), terminal_size=(80, 24))
