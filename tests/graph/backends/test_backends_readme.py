"""The README's "Backends and models" Python example runs as written."""

from __future__ import annotations

import re


def test_backends_readme_example_runs(repo_root, capsys) -> None:
    readme = (repo_root / "README.md").read_text()
    section = readme.split("### Backends and models", 1)[1].split("\n### ", 1)[0]
    (code,) = re.findall(r"```python\n(.*?)```", section, re.S)
    exec(compile(code, "README.md", "exec"), {"__name__": "__main__"})
    assert capsys.readouterr().out.strip() == "2 candidates; first uses join: True"
