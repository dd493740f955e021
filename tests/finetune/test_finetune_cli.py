"""`fasterpy finetune train` end to end on the tiny model, and the adapter it writes loading in the
transformers backend's loader (graph.backends.hf_loading.load_causal_lm, what `--adapter` uses)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def _run(bin_: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(bin_), "finetune", *args], capture_output=True, text=True, timeout=300)


def test_train_cli_writes_an_adapter_the_backend_loads(fasterpy_bin, tiny_model_dir, overfit_data, tmp_path):
    import torch

    from graph.backends.hf_loading import load_causal_lm

    out = tmp_path / "adapters" / "tiny"
    res = _run(fasterpy_bin, "train", "--model", str(tiny_model_dir), "--data", str(overfit_data),
               "--val", str(overfit_data), "-o", str(out), "--max-steps", "4", "--batch-size", "2",
               "--grad-accum", "1", "--lr", "3e-2", "--eval-every", "2", "--threads", "1")
    assert res.returncode == 0, res.stderr[-2000:]
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["steps"] == 4 and summary["best_step"] in (2, 4)
    args = json.loads((out / "training_args.json").read_text())
    # Table 5 defaults where not overridden; CPU path: no bf16, no gradient checkpointing.
    assert args["weight_decay"] == 0.1 and args["lora_r"] == 8 and args["lora_alpha"] == 32
    assert args["scheduler"] == "cosine" and args["warmup_ratio"] == 0.05 and args["seed"] == 42
    assert args["device"] == "cpu" and args["bf16"] is False and args["gradient_checkpointing"] is False

    base, tok = load_causal_lm(str(tiny_model_dir), device="cpu")
    tuned, _ = load_causal_lm(str(tiny_model_dir), adapter=str(out), device="cpu")
    messages = json.loads(overfit_data.read_text().splitlines()[0])["messages"][:-1]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        a = base.generate(**ids, max_new_tokens=10, do_sample=False)
        b = tuned.generate(**ids, max_new_tokens=10, do_sample=False)
    assert a.tolist() != b.tolist()


def test_train_cli_bad_input_is_one_line(fasterpy_bin, tiny_model_dir, overfit_data, tmp_path):
    missing = _run(fasterpy_bin, "train", "--model", str(tmp_path / "no-model"), "--data", str(overfit_data),
                   "-o", str(tmp_path / "o"))
    assert missing.returncode == 2 and missing.stderr.startswith("error: model ")
    assert len(missing.stderr.strip().splitlines()) == 1
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "x"}]}) + "\n")
    noassist = _run(fasterpy_bin, "train", "--model", str(tiny_model_dir), "--data", str(bad), "-o", str(tmp_path / "o"))
    assert noassist.returncode == 2 and "no assistant turn" in noassist.stderr
    assert len(noassist.stderr.strip().splitlines()) == 1
