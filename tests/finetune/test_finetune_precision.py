"""Adapters are stored in the precision they are served in: a bf16 run on the tiny real Qwen2 writes
bf16 LoRA tensors (no fp32 copy), its checkpoints keep the fp32 master weights for exact resume,
and the adapter reloads through graph.backends.hf_loading and changes the model's logits."""

from __future__ import annotations

import json
from pathlib import Path

from finetune.config import TrainConfig
from finetune.trainer import train


def _dtypes(path: Path) -> set[str]:
    from safetensors import safe_open

    with safe_open(str(path), "pt") as f:
        return {f.get_slice(k).get_dtype() for k in f.keys()}


def test_bf16_run_saves_bf16_adapter_that_reloads(tiny_model_dir: Path, overfit_data: Path, tmp_path: Path) -> None:
    import torch

    from graph.backends.hf_loading import load_causal_lm

    out = tmp_path / "adapter"
    cfg = TrainConfig(model=str(tiny_model_dir), data=overfit_data, output=out, learning_rate=2e-2, batch_size=2,
                      grad_accum=1, max_steps=4, lora_dropout=0.0, warmup_ratio=0.0, scheduler="constant",
                      progress=False, threads=1, device="cpu", bf16=True)
    res = train(cfg)
    assert res.steps == 4
    assert json.loads((out / "training_args.json").read_text())["bf16"] is True
    for served in (out, out / "last"):
        assert _dtypes(served / "adapter_model.safetensors") == {"BF16"}, served
        assert json.loads((served / "fasterpy_adapter.json").read_text())["dtype"] == "bfloat16"
    ckpt = sorted((out / "checkpoints").glob("step-*"))[-1]
    assert _dtypes(ckpt / "adapter_model.safetensors") == {"F32"}  # master weights, for exact resume

    base, tok = load_causal_lm(str(tiny_model_dir), device="cpu")
    tuned, _ = load_causal_lm(str(tiny_model_dir), adapter=str(out), device="cpu")
    ids = tok("print(sum(map(int, input().split())))", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        diff = (tuned(ids).logits - base(ids).logits).abs().max().item()
    assert diff > 1e-3
    # the reloaded LoRA weights are the saved bf16 values
    from safetensors.torch import load_file

    saved = load_file(str(out / "adapter_model.safetensors"))
    loaded = {k: v for k, v in tuned.state_dict().items() if "lora_" in k}
    assert len(saved) == len(loaded) > 0
    for k, v in saved.items():
        match = [lv for lk, lv in loaded.items() if lk.replace(".default", "").endswith(k.split("base_model.model.", 1)[-1])]
        assert len(match) == 1 and torch.equal(match[0].to(torch.bfloat16), v), k
