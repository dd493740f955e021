"""End to end: the installed `fasterpy-tui` in a real terminal (tmux, 80×24), driven by send-keys
and read back with capture-pane: pick a function, run with the rules backend, accept, quit."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "data" / "examples" / "slow_stats.py"
TUI = Path(sys.executable).parent / "fasterpy-tui"


class Tmux:
    def __init__(self, name: str) -> None:
        self.name = name

    def cmd(self, *args: str) -> str:
        for _ in range(3):  # a tmux server that is just exiting refuses one command: retry
            out = subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=30)
            if out.returncode == 0:
                return out.stdout
            time.sleep(0.5)
        raise AssertionError(f"tmux {' '.join(args[:3])} failed: {out.stderr.strip()}")

    def keys(self, *keys: str) -> None:
        self.cmd("send-keys", "-t", self.name, *keys)

    def screen(self) -> str:
        return self.cmd("capture-pane", "-p", "-t", self.name)

    def wait_for(self, text: str, attempts: int = 600) -> str:
        """Poll the pane until `text` shows (bounded number of polls; not a timing assertion)."""
        shown = ""
        for _ in range(attempts):
            shown = self.screen()
            if text in shown:
                return shown
            time.sleep(0.2)
        raise AssertionError(f"{text!r} never appeared; last screen:\n{shown}")

    def alive(self) -> bool:
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0


def test_installed_tui_under_tmux(tmp_path):
    assert shutil.which("tmux"), "tmux is required (make test installs it)"
    assert TUI.exists(), "install the package (pip install -e .) so the console script exists"
    work = tmp_path / "proj"
    work.mkdir()
    target = work / "slow_stats.py"
    shutil.copyfile(EXAMPLE, target)
    (work / "fasterpy.toml").write_text(
        'mode = "each"\n'
        f'state_db = "{tmp_path / "runs.sqlite"}"\n'
        "attempts = 1\ncandidates = 1\nrepeats = 5\n[generation]\nbackend = \"rules\"\n"
    )
    original = target.read_text()
    env_cache = tmp_path / "cache"
    tmux = Tmux(f"fasterpy-e2e-{uuid.uuid4().hex[:8]}")
    command = (
        f"cd {work} && FASTERPY_CACHE={env_cache} TERM=xterm-256color "
        f"{TUI} slow_stats.py -f pairwise_close; echo EXITED=$?; sleep 30"
    )
    tmux.cmd("new-session", "-d", "-s", tmux.name, "-x", "80", "-y", "24", command)
    try:
        screen = tmux.wait_for("Functions")
        assert "pairwise_close" in screen and "slow_stats.py" in screen
        tmux.keys("C-r")
        screen = tmux.wait_for("hunks ·")  # the status line after a verified candidate
        assert "Diff" in screen
        assert target.read_text() == original
        tmux.keys("a")
        tmux.wait_for("wrote slow_stats.py")
        assert target.read_text() != original
        assert (work / "slow_stats.py.bak").read_text() == original
        tmux.keys("q")
        tmux.wait_for("EXITED=0")
    finally:
        if tmux.alive():
            tmux.cmd("kill-session", "-t", tmux.name)
