"""Program mode from the command line: a stdin→stdout script checked on --input files (outputs
compared with the original's) and on --tests in the PIE layout (expected outputs given)."""

from __future__ import annotations

import json
import subprocess

SLOW = '''n = int(input())
total = 0
for i in range(n):
    total += i * i
print(total)
'''
FAST = "```python\nn = int(input())\nprint((n - 1) * n * (2 * n - 1) // 6)\n```"
WRONG = "```python\nn = int(input())\nprint(n * n)\n```"


def test_input_files_and_pie_tests(tmp_path, fasterpy_bin, scripted_server):
    prog = tmp_path / "prog.py"
    prog.write_text(SLOW)
    for i, n in enumerate((200000, 300000)):
        (tmp_path / f"in{i}.txt").write_text(f"{n}\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    for i, n in enumerate((250000, 5)):
        (tests / f"input.{i}.txt").write_text(f"{n}\n")
        (tests / f"output.{i}.txt").write_text(f"{sum(k * k for k in range(n))}\n")
    server = scripted_server([WRONG, FAST])
    env_args = ["--backend", "openai", "--base-url", server.base_url, "--model", "scripted",
                "--no-retrieval", "--attempts", "2", "--candidates", "1", "--state-db", str(tmp_path / "runs.sqlite")]
    import os

    env = dict(os.environ, OPENAI_API_KEY="test-key")
    res = subprocess.run([str(fasterpy_bin), "optimize", str(prog), "--input", str(tmp_path / "in0.txt"),
                          "--input", str(tmp_path / "in1.txt"), "--json", *env_args],
                         capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert res.returncode == 0, res.stderr
    data = json.loads(res.stdout)
    assert data["mode"] == "program"
    assert [a["status"] for a in data["targets"][0]["attempts"]] == ["wrong_output", "accepted"]
    assert "(n - 1) * n * (2 * n - 1) // 6" in data["new_source"]
    # PIE-layout tests with expected outputs: the wrong candidate fails them; no --write, no change
    server2 = scripted_server([WRONG])
    env_args[env_args.index("--base-url") + 1] = server2.base_url
    res2 = subprocess.run([str(fasterpy_bin), "optimize", str(prog), "--tests", str(tests), *env_args],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert res2.returncode == 1, res2.stdout + res2.stderr
    assert "no verified improvement" in res2.stdout and "wrong_output" in res2.stdout
    assert prog.read_text() == SLOW
