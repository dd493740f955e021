"""benchmarks/finetune_gpu.py: its whole training path runs on CPU with --tiny, and the 7B config
written into it really is Qwen2.5-Coder-7B's shape (built on the meta device: no memory, no time)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "finetune_gpu.py"


def _module():
    spec = importlib.util.spec_from_file_location("finetune_gpu", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_run_reports_every_length(tmp_path: Path):
    out = tmp_path / "rows.json"
    res = subprocess.run([sys.executable, str(BENCH), "--tiny", "--seq", "16", "24", "--steps", "1", "--warmup", "0", "--json", str(out)],
                         capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr[-2000:]
    rows = json.loads(out.read_text())
    assert [r["seq"] for r in rows] == [16, 24]
    for r in rows:
        assert r["tokens_per_s"] > 0 and r["step_s"] > 0 and r["timed_steps"] == 1
        assert r["lora_params_m"] > 0
    assert "LoRA training throughput" in res.stdout


def test_7b_config_has_the_qwen25_coder_7b_size():
    import torch

    mod = _module()
    model = mod.build_model(mod.QWEN25_CODER_7B, "meta", torch.bfloat16)
    total, _, embed = mod.count_params(model)
    assert 7.5e9 < total < 7.7e9  # Qwen2.5-Coder-7B: 7.61B parameters
    assert embed == 152064 * 3584
    model_flops, hardware = mod.step_flops(mod.QWEN25_CODER_7B, total - embed, 20_000_000, 4 * 4 * 512, 512)
    assert hardware > model_flops > 4 * (total - embed) * 4 * 4 * 512
