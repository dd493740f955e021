"""`fasterpy profile`, `fasterpy optimize --hot N` and `--changed [REF]` as a user runs them (real
subprocesses, a real git repository); bad input is one line on stderr and exit code 2."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

APP = '''import time


def slow(n):
    end = time.perf_counter() + 0.4
    while time.perf_counter() < end:
        pass
    return n


def dedupe(xs):
    out = []
    for x in xs:
        if x not in out:
            out.append(x)
    return out


if __name__ == "__main__":
    print(dedupe([3, 1, 3, 2, 1]))
    slow(1)
'''


def _run(fasterpy_bin: Path, *args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(fasterpy_bin), *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=600,
                          env={**__import__("os").environ, "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "COLUMNS": "200"})


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text("[project]\nname = 'proj'\nversion = '0'\n")
    (root / "app.py").write_text(APP)
    return root


def test_profile_table_and_json(fasterpy_bin, project):
    res = _run(fasterpy_bin, "profile", "app.py", cwd=project)
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if "app.py:" in line]
    assert "slow" in rows[0] and "app.py:4" in rows[0] and "dedupe" in rows[1] and "%" in rows[0]
    res = _run(fasterpy_bin, "profile", "--driver", "python app.py", "--json", "--top", "1", cwd=project)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["driver"] == "python app.py" and len(data["functions"]) == 1
    top = data["functions"][0]
    assert top["qualname"] == "slow" and top["path"] == str(project / "app.py") and top["line"] == 4
    assert top["calls"] == 1 and top["cum_s"] >= top["self_s"] > 0 and 0.5 < top["share"] <= 1


def test_hot_optimizes_the_hottest_function(fasterpy_bin, project, tmp_path):
    res = _run(fasterpy_bin, "optimize", "app.py", "--hot", "1", "--backend", "rules", "--attempts", "1", "--json",
               "--state-db", tmp_path / "runs.sqlite", cwd=project)
    assert res.returncode in (0, 1), res.stderr
    assert "hottest in app.py: slow (" in res.stderr and "% of the run)" in res.stderr
    assert [t["target"] for t in json.loads(res.stdout)["targets"]] == ["slow"]


def test_changed_optimizes_the_functions_a_commit_touched(fasterpy_bin, project, tmp_path):
    _git(project, "init", "-q", "-b", "main")
    _git(project, "-c", "user.email=t@e", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "one")
    (project / "app.py").write_text(APP.replace("out = []", "out = []  # keep order"))
    res = _run(fasterpy_bin, "optimize", "--changed", "--backend", "rules", "--attempts", "1", "--json",
               "--state-db", tmp_path / "runs.sqlite", cwd=project)
    assert res.returncode in (0, 1), res.stderr
    results = json.loads(res.stdout)
    assert [(Path(r["path"]).name, [t["target"] for t in r["targets"]]) for r in results] == [("app.py", ["dedupe"])]
    res = _run(fasterpy_bin, "optimize", "app.py", "main", "--changed", "--backend", "rules", "--attempts", "1",
               "--state-db", tmp_path / "runs.sqlite", cwd=project)
    assert res.returncode in (0, 1) and "changed since main: dedupe" in res.stderr, res.stderr
    _git(project, "checkout", "-q", "app.py")
    res = _run(fasterpy_bin, "optimize", "--changed", cwd=project)
    assert res.returncode == 0 and "no function changed since HEAD" in res.stderr


NO_MAIN = "def f(x):\n    return x\n"


@pytest.mark.parametrize(("args", "needle"), [
    (["profile", "--driver", "python nope.py"], "runs nope.py, which is not found in"),
    (["profile", "--driver", "pytest missing_dir/"], "names missing_dir/, which pytest did not find in"),
    (["profile", "--driver", "python stdlib_only.py"], "has no function of the project"),
    (["profile"], "nothing to profile"),
    (["optimize", "lib.py", "--hot", "2"], "has no `if __name__ == \"__main__\":` block to run"),
    (["optimize", "--hot", "2"], "--hot picks the hottest functions of one FILE"),
    (["optimize", "app.py", "--hot", "0"], "--hot 0 picks no function"),
    (["optimize", "app.py", "--hot", "1", "-f", "slow"], "-f, --hot and --changed each choose the functions"),
    (["optimize", "--changed"], "is not inside a git repository"),
    (["optimize", "app.py", "main", "--changed"], "is not inside a git repository"),
    (["optimize", "app.py", "main"], "a REF goes with --changed"),
])
def test_bad_input_is_one_line_and_exit_2(fasterpy_bin, project, args, needle):
    (project / "lib.py").write_text(NO_MAIN)
    (project / "stdlib_only.py").write_text("import json\njson.dumps([1, 2])\n")
    res = _run(fasterpy_bin, *args, cwd=project)
    assert res.returncode == 2, res.stdout + res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0] and " — " in lines[0], lines


def test_bad_ref_in_a_repository(fasterpy_bin, project):
    _git(project, "init", "-q")
    res = _run(fasterpy_bin, "optimize", "--changed", cwd=project)
    assert res.returncode == 2 and "git ref 'HEAD' does not exist" in res.stderr  # no commits yet
    _git(project, "-c", "user.email=t@e", "-c", "user.name=t", "add", ".")
    _git(project, "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "one")
    res = _run(fasterpy_bin, "optimize", "--changed", "nosuch", cwd=project)
    lines = res.stderr.strip().splitlines()
    assert res.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: git ref 'nosuch' does not exist")
