"""Seconds per LoRA optimizer step through the real trainer (`finetune.trainer.train`), on a local
model, at a fixed sequence length: decide which base a CPU session can afford to train.

    python benchmarks/finetune_step.py --model qwen2.5-coder-1.5b --seq 384 --bf16
    python benchmarks/finetune_step.py --model qwen2.5-coder-1.5b --seq 384 --no-bf16

Runs `--steps` optimizer steps (batch 1, grad-accum 1, r=8 on every projection, no validation) on
one example padded with code lines to exactly `--seq` tokens, the answer half of it. Step 1 pays
one-off costs (kernel selection, allocator); the figure is the median of the later steps. Prints
one JSON line: load seconds, first-step and steady-step seconds, tokens/s, peak RSS."""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def example_of_length(tokenizer, seq: int) -> dict:
    """A chat example (paper prompt shape) whose encoding is exactly `seq` tokens."""
    from finetune.masking import encode_example
    from graph.prompt import build_messages

    def make(n_lines: int, pad: int) -> dict:
        code = "\n".join(f"total = total + values[{i}] * {i}" for i in range(n_lines))
        target = "\n".join(f"acc += v[{i}]" for i in range(n_lines)) + " x" * pad
        messages = build_messages(code, [])
        messages.append({"role": "assistant", "content": f"```python\n{target}\n```"})
        return {"messages": messages}

    lines = 1
    while len(encode_example(tokenizer, make(lines + 1, 0)["messages"])) <= seq:
        lines += 1
    pad = 0
    while len(encode_example(tokenizer, make(lines, pad + 1)["messages"])) <= seq:
        pad += 1
    row = make(lines, pad)
    got = len(encode_example(tokenizer, row["messages"]))
    if got != seq:
        raise SystemExit(f"could not build an example of exactly {seq} tokens (got {got})")
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="qwen2.5-coder-1.5b")
    ap.add_argument("--seq", type=int, default=384)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--bf16", action=argparse.BooleanOptionalAction, default=False)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()

    from transformers import AutoTokenizer

    from finetune.config import TrainConfig
    from finetune.trainer import train
    from graph.backends.hf_loading import resolve_model_dir

    source = resolve_model_dir(args.model)
    row = example_of_length(AutoTokenizer.from_pretrained(source), args.seq)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "train.jsonl"
        data.write_text(json.dumps(row) + "\n")
        config = TrainConfig(model=args.model, data=data, output=Path(tmp) / "out", batch_size=1, grad_accum=1,
                             max_steps=args.steps, device="cpu", bf16=args.bf16, threads=args.threads,
                             max_len=args.seq, progress=False, save_every=10_000, eval_every=10_000)
        started = time.perf_counter()
        result = train(config)
        total = time.perf_counter() - started
    elapsed = [r["elapsed_s"] for r in result.log if "loss" in r]
    steps = [b - a for a, b in zip([0.0, *elapsed], elapsed, strict=False)]
    steady = statistics.median(steps[1:]) if len(steps) > 1 else steps[0]
    print(json.dumps({
        "model": args.model, "seq": args.seq, "bf16": args.bf16, "steps": len(steps),
        "load_and_setup_s": round(total - result.seconds, 1), "first_step_s": round(steps[0], 2),
        "steady_step_s": round(steady, 2), "tokens_per_s": round(args.seq / steady, 1),
        "losses": [round(r["loss"], 4) for r in result.log if "loss" in r],
        "peak_rss_gib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }))


if __name__ == "__main__":
    main()
