"""`fasterpy --help` must start without importing heavy libraries."""

import subprocess
import sys


def test_help_lists_commands_and_imports_nothing_heavy(fasterpy_bin):
    out = subprocess.run([str(fasterpy_bin), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "fasterpy" in out.stdout.lower()
    probe = (
        "import sys; import fasterpy_tui.cli; "
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'llama_cpp', 'langgraph', 'textual') if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""
