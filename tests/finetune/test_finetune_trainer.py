"""Real transformers + peft training on a tiny random Qwen2: loss goes down, the adapter saves,
reloads and changes generation, and an interrupted run resumes at the same step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from finetune.config import TrainConfig
from finetune.trainer import train
from harness.errors import FasterPyError


def _config(data: Path, out: Path, **kw) -> TrainConfig:
    base = dict(model="tiny", data=data, output=out, learning_rate=1e-2, batch_size=2, grad_accum=1,
                max_steps=8, lora_dropout=0.0, warmup_ratio=0.0, scheduler="constant", progress=False,
                threads=1)
    base.update(kw)
    return TrainConfig(**base)


def test_training_lowers_loss_and_writes_outputs(tiny_lm, overfit_data, tmp_path):
    model, tok = tiny_lm
    out = tmp_path / "adapter"
    res = train(_config(overfit_data, out, val=overfit_data, eval_every=4, learning_rate=1e-2), model, tok)
    assert res.steps == 8
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == list(range(0, 9))
    val = [r["val_loss"] for r in log if "val_loss" in r]
    assert len(val) == 3 and val[-1] < val[0]  # the untuned model's loss, then steps 4 and 8
    assert log[-1]["loss"] < log[1]["loss"] * 0.9
    assert res.best_step == 8
    for name in ("adapter_model.safetensors", "adapter_config.json", "loss_curve.png", "training_args.json",
                 "training_summary.json", "last/adapter_model.safetensors"):
        assert (out / name).is_file(), name
    assert (out / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    cfg = json.loads((out / "adapter_config.json").read_text())
    assert cfg["r"] == 8 and cfg["lora_alpha"] == 32


def test_adapter_reloads_and_changes_generation(tiny_model_dir, tiny_lm, overfit_data, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model, tok = tiny_lm
    out = tmp_path / "adapter"
    train(_config(overfit_data, out, max_steps=6, learning_rate=2e-2), model, tok)

    messages = json.loads(overfit_data.read_text().splitlines()[1])["messages"][:-1]
    ids = tok.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt", return_dict=True)

    def greedy(m):
        with torch.no_grad():
            gen = m.generate(**ids, max_new_tokens=12, do_sample=False)
        return gen[0, ids["input_ids"].shape[1]:].tolist()

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).eval()
    before = greedy(base)
    tuned = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(out)).eval()
    after = greedy(tuned)
    assert before != after
    # The reloaded adapter is the trained one: it scores the training answer better than the base.
    def loss(m):
        from finetune.masking import collate, encode_example

        enc = encode_example(tok, json.loads(overfit_data.read_text().splitlines()[1])["messages"])
        with torch.no_grad():
            return float(m(**collate([enc], tok.pad_token_id)).loss)
    assert loss(tuned) < loss(base)


def test_resume_continues_from_the_same_step(tiny_model_dir, overfit_data, tmp_path):
    import torch
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    def fresh():
        return AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)

    kw = dict(max_steps=4, save_every=2, lora_dropout=0.1, batch_size=1, grad_accum=2,
              scheduler="cosine", warmup_ratio=0.25)
    straight = tmp_path / "straight"
    train(_config(overfit_data, straight, **kw), *fresh())

    cut = tmp_path / "cut"
    first = train(_config(overfit_data, cut, stop_after=2, **kw), *fresh())
    assert first.steps == 2 and (cut / "checkpoints" / "step-000002" / "trainer_state.json").is_file()
    seen = []
    from finetune.trainer import Trainer

    trainer = Trainer(_config(overfit_data, cut, resume=True, **kw), *fresh(), on_log=seen.append)
    second = trainer.run()
    assert [r["step"] for r in seen] == [3, 4]
    assert second.steps == 4

    a = [json.loads(x) for x in (straight / "train_log.jsonl").read_text().splitlines()]
    b = [json.loads(x) for x in (cut / "train_log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in b] == [1, 2, 3, 4]
    for ra, rb in zip(a, b):
        assert rb["loss"] == pytest.approx(ra["loss"], rel=1e-4)
        assert rb["lr"] == pytest.approx(ra["lr"])
    wa = load_file(str(straight / "adapter_model.safetensors"))
    wb = load_file(str(cut / "adapter_model.safetensors"))
    assert wa.keys() == wb.keys()
    for key in wa:
        torch.testing.assert_close(wa[key], wb[key], rtol=1e-4, atol=1e-6)


def test_bad_input_is_a_one_line_error(tiny_lm, overfit_data, tmp_path):
    model, tok = tiny_lm
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(FasterPyError, match="no assistant turn"):
        train(_config(bad, tmp_path / "o1"), model, tok)
    with pytest.raises(FasterPyError, match="longer than --max-len 32"):
        train(_config(overfit_data, tmp_path / "o2", max_len=32), model, tok)
    with pytest.raises(FasterPyError, match="does not exist"):
        train(_config(tmp_path / "missing.jsonl", tmp_path / "o3"), model, tok)
    with pytest.raises(FasterPyError, match="no checkpoint"):
        train(_config(overfit_data, tmp_path / "o4", resume=True), model, tok)
    # --drop-long skips over-long examples instead of refusing, and says how many.
    from finetune.masking import encode_example

    lengths = sorted(len(encode_example(tok, json.loads(x)["messages"])) for x in overfit_data.read_text().splitlines())
    limit = lengths[1]
    res = train(_config(overfit_data, tmp_path / "o5", max_len=limit, drop_long=True, max_steps=1), model, tok)
    assert res.dropped_long == sum(n > limit for n in lengths) > 0
