"""The README's "Library API" examples run as written (from the repository root)."""

from __future__ import annotations

import re


def _python_blocks(readme: str, heading: str) -> list[str]:
    section = readme.split(heading, 1)[1].split("\n### ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_library_api_examples_run_as_written(repo_root, monkeypatch, capsys):
    blocks = _python_blocks((repo_root / "README.md").read_text(), "### Library API")
    assert len(blocks) == 2
    example = repo_root / "data" / "examples" / "slow_stats.py"
    before = example.read_bytes()
    monkeypatch.chdir(repo_root)
    outputs = []
    for code in blocks:  # each block on its own, in a fresh namespace, as a script would run it
        exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
        outputs.append(capsys.readouterr().out)
    assert outputs[0].startswith("optimized ") and "95% CI" in outputs[0] and "+++ b/slow_stats.py" in outputs[0]
    assert "[decide]" in outputs[1] and outputs[1].strip().splitlines()[-1].startswith("optimized ")
    assert example.read_bytes() == before  # the examples never write
