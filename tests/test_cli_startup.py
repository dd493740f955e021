"""`fasterpy --help` and `fasterpy-tui --help` must start without importing heavy libraries."""

import subprocess
import sys

HEAVY = ("torch", "transformers", "peft", "llama_cpp", "langgraph", "textual")


def test_help_lists_commands_and_imports_nothing_heavy(fasterpy_bin):
    out = subprocess.run([str(fasterpy_bin), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "fasterpy" in out.stdout.lower()
    probe = (
        "import sys; import fasterpy_tui.cli; "
        f"heavy = [m for m in {HEAVY!r} if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == ""


def test_fasterpy_tui_is_the_tui_command_and_its_help_is_fast(fasterpy_bin):
    own = subprocess.run([str(fasterpy_bin.with_name("fasterpy-tui")), "--help"], capture_output=True, text=True,
                         timeout=60)
    sub = subprocess.run([str(fasterpy_bin), "tui", "--help"], capture_output=True, text=True, timeout=60)
    assert own.returncode == sub.returncode == 0, own.stderr + sub.stderr
    for text in ("FILE", "--function", "-f", "--config", "--light"):
        assert text in own.stdout and text in sub.stdout
    probe = (
        "import sys; sys.argv = ['fasterpy-tui', '--help']; from fasterpy_tui.cli import tui_main\n"
        "try: tui_main()\nexcept SystemExit: pass\n"
        f"print(','.join(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0 and res.stderr.strip() == "", res.stderr


def test_python_m_fasterpy_tui_runs_the_cli():
    res = subprocess.run([sys.executable, "-m", "fasterpy_tui", "version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    from fasterpy_tui import __version__

    assert res.stdout.strip() == __version__


def test_version_option_prints_the_package_metadata_version(fasterpy_bin):
    from importlib.metadata import version

    res = subprocess.run([str(fasterpy_bin), "--version"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == version("fasterpy")
    sub = subprocess.run([str(fasterpy_bin), "version"], capture_output=True, text=True, timeout=60)
    assert sub.stdout == res.stdout
