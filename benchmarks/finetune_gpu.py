"""LoRA training throughput at the paper's settings on a randomly initialised model with the
Qwen2.5-Coder-7B-Instruct architecture (no hub is reachable from the GPU machine, and throughput does
not depend on the weights' values).

    python benchmarks/finetune_gpu.py                 # CUDA: seq 512/1024/2048, batch 4, accum 4, r=8
    python benchmarks/finetune_gpu.py --tiny          # the same code path on CPU with a tiny config (CI)

Reports per sequence length: tokens/s, optimizer-step time (median of the timed steps), peak memory
and model FLOPs utilisation (MFU). Model FLOPs of a LoRA step: the frozen base needs a forward pass
and the input-gradient half of the backward pass (2 × forward = 4·N·tokens for the weights plus the
attention term), the LoRA weights a full 6·N_lora·tokens; gradient-checkpointing recomputation is not
counted (it is hardware, not model, FLOPs — reported separately as HFU)."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Qwen2.5-Coder-7B-Instruct's config.json (Qwen/Qwen2.5-Coder-7B-Instruct on the HF hub), written out
# because no hub is reachable from the machines this runs on.
QWEN25_CODER_7B = dict(
    vocab_size=152064,
    hidden_size=3584,
    intermediate_size=18944,
    num_hidden_layers=28,
    num_attention_heads=28,
    num_key_value_heads=4,
    hidden_act="silu",
    max_position_embeddings=32768,
    rms_norm_eps=1e-6,
    rope_theta=1000000.0,
    tie_word_embeddings=False,
    use_sliding_window=False,
    sliding_window=131072,
    max_window_layers=28,
    attention_dropout=0.0,
    initializer_range=0.02,
    bos_token_id=151643,
    eos_token_id=151645,
)

TINY = dict(QWEN25_CODER_7B, vocab_size=512, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
            num_attention_heads=4, num_key_value_heads=2, max_window_layers=2, max_position_embeddings=512,
            bos_token_id=0, eos_token_id=1)

# Dense bf16 tensor-core peaks (no sparsity), FLOP/s.
PEAK_BF16 = {"H100": 989e12, "H200": 989e12, "H800": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12}


def peak_flops(name: str, override: float | None) -> float | None:
    if override:
        return override * 1e12
    for key, value in PEAK_BF16.items():
        if key in name:
            return value
    return None


def build_model(config_kwargs: dict, device: str, dtype):
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    config = Qwen2Config(**config_kwargs)
    prev = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with torch.device(device):  # initialise on the device: 7.6B params on CPU would take minutes
            model = Qwen2ForCausalLM(config)
    finally:
        torch.set_default_dtype(prev)
    return model


def count_params(model) -> tuple[int, int, int]:
    total = sum(p.numel() for p in model.parameters())
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    embed = model.get_input_embeddings().weight.numel()
    return total, trainable, embed


def step_flops(cfg: dict, n_base: int, n_lora: int, tokens: int, seq: int) -> tuple[float, float]:
    """(model FLOPs, hardware FLOPs with checkpoint recomputation) of one optimizer step."""
    L, d = cfg["num_hidden_layers"], cfg["hidden_size"]
    # Causal attention scores and weighted sum: 2 matmuls × 2 FLOPs × seq/2 keys on average × d.
    attn_fwd = 2 * 2 * L * d * (seq / 2) * tokens
    base_fwd = 2 * n_base * tokens + attn_fwd
    lora_fwd = 2 * n_lora * tokens
    model = 2 * base_fwd + 3 * lora_fwd  # fwd + input-grad bwd for frozen weights; fwd + full bwd for LoRA
    hardware = model + base_fwd + lora_fwd  # checkpointing re-runs the forward pass once
    return model, hardware


def run(args: argparse.Namespace) -> list[dict]:
    import torch

    from finetune.config import TrainConfig
    from finetune.masking import IGNORE_INDEX
    from finetune.trainer import apply_lora

    cuda = torch.cuda.is_available() and not args.tiny
    device = "cuda" if cuda else "cpu"
    dtype = torch.bfloat16 if cuda else torch.float32
    cfg = TINY if args.tiny else QWEN25_CODER_7B
    seqs = args.seq or ([32, 64, 128] if args.tiny else [512, 1024, 2048])
    gpu = torch.cuda.get_device_name(0) if cuda else "CPU"
    torch.manual_seed(42)

    model = build_model(cfg, device, dtype)
    model.config.use_cache = False
    if not args.no_grad_ckpt:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    n_total, _, n_embed = count_params(model)
    # The same LoRA setup the trainer uses (r=8, alpha=32, all attention + MLP projections).
    model = apply_lora(model, TrainConfig(model="random", data=Path("-"), output=Path("-"), lora_r=args.r))
    n_lora = sum(p.numel() for p in model.parameters() if p.requires_grad)
    n_base = n_total - n_embed  # the input embedding is a lookup, not a matmul; lm_head is counted
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.1)
    peak = peak_flops(gpu, args.peak_tflops) if cuda else None

    rows = []
    for seq in seqs:
        if cuda:
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()
        gen = torch.Generator(device="cpu").manual_seed(seq)
        times = []
        try:
            for step in range(args.warmup + args.steps):
                if cuda:
                    torch.cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(args.grad_accum):
                    ids = torch.randint(0, cfg["vocab_size"], (args.batch, seq), generator=gen).to(device)
                    labels = ids.clone()
                    labels[:, : seq // 2] = IGNORE_INDEX  # a prompt half, as in real examples
                    with torch.autocast(device_type=device, dtype=torch.bfloat16, enabled=cuda):
                        loss = model(input_ids=ids, labels=labels).loss / args.grad_accum
                    loss.backward()
                torch.nn.utils.clip_grad_norm_(params, 1.0)
                opt.step()
                opt.zero_grad(set_to_none=True)
                if cuda:
                    torch.cuda.synchronize()
                if step >= args.warmup:
                    times.append(time.perf_counter() - t0)
        except torch.OutOfMemoryError:
            rows.append({"seq": seq, "error": "out of memory"})
            continue
        step_s = statistics.median(times)
        tokens = args.batch * args.grad_accum * seq
        mflops, hflops = step_flops(cfg, n_base, n_lora, tokens, seq)
        row = {
            "device": gpu, "seq": seq, "batch": args.batch, "grad_accum": args.grad_accum, "r": args.r,
            "step_s": round(step_s, 4), "tokens_per_s": round(tokens / step_s, 1),
            "peak_mem_gib": round(torch.cuda.max_memory_allocated() / 2**30, 2) if cuda else None,
            "tflops": round(mflops / step_s / 1e12, 2),
            "mfu": round(mflops / step_s / peak, 4) if peak else None,
            "hfu": round(hflops / step_s / peak, 4) if peak else None,
            "params_b": round(n_total / 1e9, 3), "lora_params_m": round(n_lora / 1e6, 2),
            "timed_steps": len(times),
        }
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="tiny config on CPU (exercises the code path in CI)")
    ap.add_argument("--seq", type=int, nargs="*", help="sequence lengths (default 512 1024 2048)")
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--grad-accum", type=int, default=4)
    ap.add_argument("--r", type=int, default=8)
    ap.add_argument("--steps", type=int, default=5, help="timed optimizer steps per length")
    ap.add_argument("--warmup", type=int, default=1, help="untimed optimizer steps per length")
    ap.add_argument("--no-grad-ckpt", action="store_true")
    ap.add_argument("--peak-tflops", type=float, help="GPU bf16 dense peak, if not in the built-in table")
    ap.add_argument("--json", type=Path, help="also write the rows here")
    args = ap.parse_args()
    if args.tiny:
        args.steps, args.warmup = min(args.steps, 2), min(args.warmup, 1)
        args.batch, args.grad_accum = min(args.batch, 2), min(args.grad_accum, 2)
    else:
        import torch

        if not torch.cuda.is_available():
            sys.exit("no CUDA device visible — run on a GPU machine, or pass --tiny for the CPU smoke run")
    rows = run(args)

    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"LoRA training throughput ({'tiny CPU smoke config' if args.tiny else 'Qwen2.5-Coder-7B architecture, random init'})")
    for col in ("device", "seq", "step s", "tokens/s", "peak GiB", "TFLOP/s", "MFU", "HFU"):
        table.add_column(col, justify="right")
    for r in rows:
        if "error" in r:
            table.add_row("", str(r["seq"]), r["error"], "", "", "", "", "")
            continue
        pct = lambda v: "n/a" if v is None else f"{100 * v:.1f}%"  # noqa: E731
        table.add_row(r["device"], str(r["seq"]), f"{r['step_s']:.3f}", f"{r['tokens_per_s']:.0f}",
                      "n/a" if r["peak_mem_gib"] is None else f"{r['peak_mem_gib']:.1f}", f"{r['tflops']:.2f}",
                      pct(r["mfu"]), pct(r["hfu"]))
    Console().print(table)
    print(json.dumps(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
