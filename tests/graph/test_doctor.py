"""`fasterpy doctor`'s checks against this machine: a real sandbox pool, the shipped KB (copied
before it is damaged), installed model parts. Nothing is mocked."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from graph.backends.models import KNOWN_MODELS, assemble, missing_parts
from graph.config import FasterPyConfig
from graph.doctor import check_kb, check_models, check_sandbox, exit_code, run_checks
from harness.pool import WorkerPool
from kb.store import KnowledgeBase, default_kb_path

MISSING_MODEL = "qwen2.5-coder-1.5b"


def _config(tmp_path: Path, text: str) -> FasterPyConfig:
    path = tmp_path / "fasterpy.toml"
    path.write_text(text)
    return FasterPyConfig.load(path)


def _by_name(checks, name):
    return next(c for c in checks if c.name == name)


@pytest.fixture
def kb_copy(tmp_path: Path) -> Path:
    target = tmp_path / "kb"
    shutil.copytree(default_kb_path(), target)
    return target


def test_a_configured_model_that_is_not_installed_is_needed_and_missing(tmp_path: Path) -> None:
    if not missing_parts(KNOWN_MODELS[MISSING_MODEL]):
        pytest.skip(f"{MISSING_MODEL} is installed here")
    cfg = _config(tmp_path, f'[generation]\nbackend = "llamacpp"\nmodel = "{MISSING_MODEL}"\n')
    checks = check_models(cfg)
    row = _by_name(checks, f"model {MISSING_MODEL}")
    assert row.status == "missing" and row.needed and row.failed
    assert row.fix == "pip install 'fasterpy[qwen-1.5b]'"
    assert exit_code(checks) == 1
    others = [c for c in checks if c is not row]
    assert not any(c.needed for c in others)  # only the configured model is needed
    assert exit_code(check_models(_config(tmp_path, "attempts = 1\n"))) == 0


def test_a_damaged_index_is_an_error_with_its_fix_and_the_fix_works(tmp_path: Path, kb_copy: Path) -> None:
    with (kb_copy / "index.bin").open("r+b") as fh:
        fh.truncate(1000)
    cfg = _config(tmp_path, f'kb = "{kb_copy}"\n')
    row = check_kb(cfg)
    assert row.status == "error" and row.needed
    assert "damaged" in row.detail
    assert f"fasterpy kb reindex --kb {kb_copy}" in row.fix
    assert exit_code([row]) == 1
    # retrieval off: the KB is not needed, so the same damage does not fail the run
    off = check_kb(_config(tmp_path, f'kb = "{kb_copy}"\nuse_retrieval = false\n'))
    assert off.status == "error" and not off.needed and exit_code([off]) == 0

    with KnowledgeBase.open(kb_copy, writable=True, repair=True) as kb:  # what `kb reindex` does
        kb.reindex()
    healed = check_kb(cfg)
    with KnowledgeBase.open(kb_copy) as kb:
        n = len(kb)
    assert healed.status == "ok", healed
    assert f"{n} records, {n} vectors" in healed.detail


def test_records_the_index_does_not_match_are_reported(tmp_path: Path, kb_copy: Path) -> None:
    with sqlite3.connect(kb_copy / "records.sqlite") as conn:
        conn.execute("DELETE FROM records WHERE id IN (SELECT id FROM records LIMIT 3)")
    row = check_kb(_config(tmp_path, f'kb = "{kb_copy}"\n'))
    assert row.status == "error" and row.failed
    assert "vectors but the store has" in row.detail
    assert "fasterpy kb reindex" in row.fix


def test_a_missing_kb_is_missing(tmp_path: Path) -> None:
    row = check_kb(_config(tmp_path, f'kb = "{tmp_path / "nowhere"}"\n'))
    assert row.status == "missing" and row.failed
    assert "fasterpy kb build" in row.fix


def test_the_healthy_shipped_kb_reports_its_counts(tmp_path: Path) -> None:
    row = check_kb(_config(tmp_path, "attempts = 1\n"))
    with KnowledgeBase.open() as kb:
        n = len(kb)
    assert row.status == "ok"
    assert f"{n} records, {n} vectors" in row.detail


def test_sandbox_rows_match_what_a_pool_finds_here() -> None:
    with WorkerPool(workers=1) as pool:
        features = dict(pool.features)
    rows = {c.name: c for c in check_sandbox()}
    expect = {
        "sandbox: network namespace": bool(features["network_isolated"]),
        "sandbox: seccomp": bool(features["seccomp"]),
        "sandbox: Landlock": bool(features["landlock"]),
        "sandbox: process limit": bool(features["nproc_limit"]),
    }
    for name, available in expect.items():
        assert (rows[name].status == "ok") == available, rows[name]
        assert rows[name].status in ("ok", "warn") and not rows[name].needed
        if not available:
            assert rows[name].fix
    if features["landlock"]:
        assert f"ABI {features['landlock']}" in rows["sandbox: Landlock"].detail
    # the rlimits row is what a program run in the pool saw
    assert rows["sandbox: rlimits"].status == "ok"
    assert "address space 1024 MiB, CPU 11 s, file size 16 MiB" in rows["sandbox: rlimits"].detail


def test_an_assembled_model_is_hashed_and_a_corrupted_one_is_an_error(tmp_path: Path, monkeypatch) -> None:
    model = KNOWN_MODELS["smollm2-135m"]
    if missing_parts(model):
        pytest.skip("the smoke model's part is not installed")
    monkeypatch.setenv("FASTERPY_CACHE", str(tmp_path / "cache"))
    path = assemble(model)
    cfg = _config(tmp_path, '[generation]\nmodel = "smollm2-135m"\n')
    row = _by_name(check_models(cfg), "model smollm2-135m")
    assert row.status == "ok" and row.needed and "sha256 verified" in row.detail
    # flip one byte but keep size and mtime: the stamp still says "verified", the hash does not
    st = path.stat()
    with path.open("r+b") as fh:
        fh.seek(st.st_size // 2)
        byte = fh.read(1)
        fh.seek(st.st_size // 2)
        fh.write(bytes([byte[0] ^ 0xFF]))
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    bad = _by_name(check_models(cfg), "model smollm2-135m")
    assert bad.status == "error" and bad.failed
    assert "fasterpy models fetch smollm2-135m" in bad.fix


def test_run_checks_of_the_defaults_pass(tmp_path: Path) -> None:
    checks = run_checks(_config(tmp_path, "attempts = 1\n"))
    names = [c.name for c in checks]
    assert names[0] == "Python" and "knowledge base" in names and names[-1] == "GPU"
    assert exit_code(checks) == 0, [c for c in checks if c.failed]
