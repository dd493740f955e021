"""The package as users get it: build the sdist, build the wheel from it (what `pip install .` and an
install from PyPI do), install the wheel into a fresh venv and run FasterPy from a directory that has
nothing to do with this checkout — function mode, program mode, `kb query`, `fasterpy-tui --help`,
`python -m fasterpy_tui` — reading the shipped data through importlib.resources only.

Installing every dependency into the fresh venv would take minutes (torch), so the wheel goes in with
`--no-deps` and a `.pth` line adds this venv's site-packages for third-party packages. A path line in a
.pth does not process the .pth files of that directory, so the checkout's editable finder stays out;
the test checks that every module and entry point comes from the fresh venv."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("harness", "kb", "graph", "finetune", "fasterpy_tui")
# Not part of what is built: the venv, caches, build outputs, and the parts no wheel ships.
_SKIP_AT_ROOT = {".venv", ".git", "build", "dist", "tests", "benchmarks", "fasterpy.egg-info"}
_MAX_FILE = 32 * 2**20  # model weights come from their PyPI parts; the shipped adapter is ~17 MiB


def _copy_source(dst: Path) -> None:
    def ignore(folder: str, names: list[str]) -> set[str]:
        at_root = Path(folder) == REPO
        return {n for n in names if n == "__pycache__" or n.endswith(".pyc")
                or (at_root and (n in _SKIP_AT_ROOT or n.startswith(".")))}

    shutil.copytree(REPO, dst, ignore=ignore)


def _run(cmd: list[str | Path], cwd: Path, env: dict[str, str] | None = None,
         timeout: float = 180, ok: tuple[int, ...] = (0,)) -> subprocess.CompletedProcess[str]:
    res = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert res.returncode in ok, f"{cmd} failed ({res.returncode}):\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}"
    return res


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("build")
    src, dist = root / "src", root / "dist"
    _copy_source(src)
    sdist = _run([sys.executable, "-c", "import sys; from setuptools import build_meta as b; print(b.build_sdist(sys.argv[1]))",
                  dist], cwd=src).stdout.strip().splitlines()[-1]
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps", "--no-build-isolation",
          "-w", dist, dist / sdist], cwd=root)
    (whl,) = dist.glob("fasterpy-*.whl")
    return whl


@pytest.fixture(scope="module")
def fresh(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=venv.parent)
    py = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", py, "install", "-q", "--disable-pip-version-check", "--no-deps",
          "--no-index", "--no-compile", wheel], cwd=venv.parent)
    site = Path(_run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=venv.parent).stdout.strip())
    (site / "fasterpy-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


@pytest.fixture()
def env(fresh: Path, tmp_path: Path) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "FASTERPY_DATA", "FASTERPY_KB")}
    out.update(PATH=f"{fresh / 'bin'}{os.pathsep}{out.get('PATH', '')}", PYTHONDONTWRITEBYTECODE="1",
               FASTERPY_CACHE=str(tmp_path / "cache"), FASTERPY_USER_DATA=str(tmp_path / "user-data"))
    return out


def test_wheel_carries_the_data_and_every_module_but_no_model_weights(wheel: Path):
    size = wheel.stat().st_size
    print(f"wheel: {wheel.name} {size / 2**20:.1f} MiB")
    with zipfile.ZipFile(wheel) as zf:
        infos = zf.infolist()
    names = {i.filename for i in infos}
    assert not [n for n in names if n.endswith(".gguf")]
    assert not [i.filename for i in infos if i.file_size > _MAX_FILE]
    for shipped in ("fasterpy_data/kb/default/manifest.json", "fasterpy_data/kb/default/index.bin",
                    "fasterpy_data/kb/default/records.sqlite", "fasterpy_data/examples/slow_stats.py",
                    "fasterpy_data/examples/count_pairs/tests/input.0.txt", "fasterpy_data/pie_sample/sample.jsonl",
                    "fasterpy_data/adapters/qwen2.5-coder-0.5b-fasterpy/adapter_config.json",
                    "harness/_worker.py", "harness/verify/_tracer.py", "fasterpy_tui/fasterpy.tcss"):
        assert shipped in names
    # every module of the tree (pyproject.toml lists the packages by hand) and every data file
    tree = {p.relative_to(REPO).as_posix() for pkg in PACKAGES for p in (REPO / pkg).rglob("*")
            if p.suffix in (".py", ".tcss") and "__pycache__" not in p.parts}
    assert not tree - names, "add the missing packages to [tool.setuptools] packages in pyproject.toml"
    data = {"fasterpy_data/" + p.relative_to(REPO / "data").as_posix() for p in (REPO / "data").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix not in (".pyc", ".bak")}
    assert not data - names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_wheel_runs_from_an_unrelated_directory(fresh: Path, env: dict[str, str], tmp_path: Path):
    work = tmp_path / "work"
    work.mkdir()
    bin_ = fresh / "bin"
    # everything comes from the fresh venv, nothing from this checkout
    probe = (
        "import importlib.metadata as md, json, sys\n"
        "import harness, kb, graph, finetune, fasterpy_tui, fasterpy_data, harness.verify._tracer\n"
        "from kb.paths import data_dir\n"
        "eps = md.entry_points(group='fasterpy.backends')\n"
        "print(json.dumps({'files': [m.__file__ for m in (harness, kb, graph, finetune, fasterpy_tui, fasterpy_data,"
        " harness.verify._tracer)], 'data': str(data_dir()), 'dist': str(md.distribution('fasterpy').locate_file('')),"
        " 'backends': sorted(ep.name for ep in eps), 'ep_dists': sorted({str(ep.dist.locate_file('')) for ep in eps}),"
        " 'editable': [m for m in sys.modules if 'editable' in m]}))\n"
    )
    where = json.loads(_run([bin_ / "python", "-c", probe], cwd=work, env=env).stdout)
    site = str(fresh.resolve())
    for path in [*where["files"], where["data"], where["dist"], *where["ep_dists"]]:
        assert str(Path(path).resolve()).startswith(site), where
        assert not str(Path(path).resolve()).startswith(str(REPO)), where
    assert {"rules", "transformers", "llamacpp", "openai", "replay"} <= set(where["backends"])
    assert where["editable"] == []

    out = _run([bin_ / "fasterpy", "examples", "ex"], cwd=work, env=env).stdout
    assert (work / "ex" / "slow_stats.py").is_file() and "copied the examples" in out

    func = json.loads(_run([bin_ / "fasterpy", "optimize", "ex/slow_stats.py", "-f", "pairwise_close", "--json"],
                           cwd=work, env=env).stdout)
    assert func["mode"] == "function" and func["status"] == "optimized", func
    prog = json.loads(_run([bin_ / "fasterpy", "optimize", "ex/count_pairs/count_pairs.py",
                            "--tests", "ex/count_pairs/tests", "--json"], cwd=work, env=env).stdout)
    assert prog["mode"] == "program" and prog["status"] == "optimized", prog
    query = json.loads(_run([bin_ / "fasterpy", "kb", "query", "ex/slow_stats.py", "-f", "pairwise_close", "-k", "2",
                             "--json"], cwd=work, env=env).stdout)
    assert query["suggestions"]

    assert "--function" in _run([bin_ / "fasterpy-tui", "--help"], cwd=work, env=env).stdout
    assert "optimize" in _run([bin_ / "python", "-m", "fasterpy_tui", "--help"], cwd=work, env=env).stdout


def test_installed_wheel_batch_eval_and_finetune_data(fresh: Path, env: dict[str, str], tmp_path: Path):
    """The other library paths a user reaches from a wheel: batch, eval and the training-set builder,
    on data found through the installed package (the PIE sample and the shipped KB)."""
    work = tmp_path / "work"
    work.mkdir()
    bin_ = fresh / "bin"
    data = Path(_run([bin_ / "python", "-c", "from kb.paths import data_dir; print(data_dir())"],
                     cwd=work, env=env).stdout.strip())
    assert str(data.resolve()).startswith(str(fresh.resolve()))
    sample = data / "pie_sample" / "sample.jsonl"
    rows = work / "rows.jsonl"
    rows.write_text(sample.read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    out = work / "out.jsonl"
    _run([bin_ / "fasterpy", "batch", rows, "--tests", data / "pie_sample" / "tests", "-o", out, "--attempts", "1"],
         cwd=work, env=env, ok=(0, 1))
    done = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert len(done) == 1 and done[0]["fasterpy_status"] and done[0]["generated_answers"]
    report = json.loads(_run([bin_ / "fasterpy", "eval", out, "--tests", data / "pie_sample" / "tests", "--json"],
                             cwd=work, env=env).stdout)
    assert report["metrics"]["pass_at_1"] == 1.0, report
    train = work / "train.jsonl"
    _run([bin_ / "fasterpy", "finetune", "build-data", "-n", "4", "-o", train, "--no-progress"], cwd=work, env=env)
    examples = [json.loads(line) for line in train.read_text(encoding="utf-8").splitlines()]
    assert examples and all(e["messages"][-1]["role"] == "assistant" for e in examples)
