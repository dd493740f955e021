"""`fasterpy finetune build-data|train`: LoRA training data from a knowledge base, and the trainer.

torch, transformers and peft are imported inside the commands, so `fasterpy --help` stays fast."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import typer

finetune_app = typer.Typer(help="Build LoRA training data from a knowledge base and train an adapter.",
                           no_args_is_help=True)


@finetune_app.command("build-data")
def build_data_cmd(
    kb: Path | None = typer.Option(None, "--kb", help="Knowledge-base directory (default: the shipped KB)."),
    n: int = typer.Option(0, "-n", help="Sample at most this many pairs (0 = all)."),
    output: Path = typer.Option(..., "--output", "-o", help="Training JSONL to write."),
    val_output: Path | None = typer.Option(None, "--val-output",
                                              help="Validation JSONL (default: val.jsonl beside train.jsonl, else NAME.val.jsonl)."),
    val_frac: float = typer.Option(0.05, help="Share of examples for validation (whole problems)."),
    seed: int = typer.Option(42, help="Sampling and split seed."),
    k: int = typer.Option(2, help="Suggestions per example (the paper uses 2)."),
    exclude_problems: str | None = typer.Option(
        None, "--exclude-problems",
        help="Problems to keep out entirely (as examples and as suggestions): a file with one id per line "
             "(or a CSV with problem_id), or comma-separated ids. Default: the quality benchmark's "
             "problems (benchmarks/quality_problems.txt) when the source tree has it."),
    measurements: Path | None = typer.Option(
        None, "--measurements", help="The harness's measurement log (default: measurements.jsonl in the KB)."),
    min_rate: float = typer.Option(1.5, "--min-rate", help="Keep pairs the harness measured at least this much faster."),
    min_low: float = typer.Option(1.05, "--min-low",
                                  help="Keep pairs whose bootstrap 95%% lower bound on the speedup is at least this."),
    all_pairs: bool = typer.Option(False, "--all-pairs",
                                   help="Use every KB pair with a target, whatever its rate's origin (no curation)."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """Pairs whose speedup the harness measured (rate, bound, correct, fastest target per slow
    program, held-out problems excluded — counts in a table and NAME.stats.json); suggestions for
    each retrieved as inference does (never its own record or problem); chat-messages JSONL with a
    problem-disjoint validation split."""
    from finetune.curate import build_curated, format_table, stats_path
    from finetune.dataset import build_dataset, default_val_path, parse_problem_list
    from kb.store import KnowledgeBase

    exclude_note = ""
    if exclude_problems is None and _QUALITY_PROBLEMS.is_file():
        exclude_problems = str(_QUALITY_PROBLEMS)
    if exclude_problems is not None:
        exclude_note = f"problems of {exclude_problems}" if Path(exclude_problems).is_file() else exclude_problems
    excluded = parse_problem_list(exclude_problems)
    with KnowledgeBase.open(kb) as base, _bar() if progress else _nullbar() as on_progress:
        if all_pairs:
            built = build_dataset(base, n, output, val_output, val_frac, seed, k, excluded,
                                  on_progress=on_progress).to_dict()
            report = None
        else:
            report = build_curated(base, output, measurements or base.path / "measurements.jsonl", val_output,
                                   min_rate=min_rate, min_low=min_low, exclude_problems=excluded,
                                   exclude_note=exclude_note, n=n, val_frac=val_frac, seed=seed, k=k,
                                   on_progress=on_progress)
            built = report["build"]
    if report is not None:
        typer.echo(format_table(report))
    val_path = val_output or default_val_path(output)
    typer.echo(f"wrote {built['written_train']} training examples ({built['train_problems']} problems) to {output}")
    typer.echo(f"wrote {built['written_val']} validation examples ({built['val_problems']} problems) to {val_path}")
    typer.echo(f"dropped suggestions: {built['dropped_self']} self/duplicate, {built['dropped_same_problem']} same "
               f"problem; {built['short_of_suggestions']} examples have fewer than {k} suggestions")
    if report is not None:
        typer.echo(f"counts: {stats_path(output)}")


@finetune_app.command("train")
def train_cmd(
    model: str = typer.Option(..., "--model", "-m",
                              help="Base model: a local HF directory, a GGUF file, or a packaged name (qwen2.5-coder-0.5b)."),
    data: Path = typer.Option(..., "--data", help="Training JSONL from `fasterpy finetune build-data`."),
    output: Path = typer.Option(..., "--output", "-o", help="Adapter directory to write (e.g. adapters/NAME)."),
    val: Path | None = typer.Option(None, "--val", help="Validation JSONL (best checkpoint by its loss)."),
    lr: float = typer.Option(1e-4, "--lr", help="Peak learning rate."),
    batch_size: int = typer.Option(4, "--batch-size"),
    grad_accum: int = typer.Option(4, "--grad-accum"),
    epochs: float = typer.Option(3.0, "--epochs"),
    scheduler: str = typer.Option("cosine", "--scheduler", help="cosine, linear or constant."),
    warmup: float = typer.Option(0.05, "--warmup", help="Warm-up share of the steps."),
    weight_decay: float = typer.Option(0.1, "--weight-decay"),
    seed: int = typer.Option(42, "--seed"),
    r: int = typer.Option(8, "--r", help="LoRA rank."),
    alpha: int = typer.Option(32, "--alpha", help="LoRA alpha."),
    dropout: float = typer.Option(0.05, "--dropout", help="LoRA dropout."),
    target_modules: str | None = typer.Option(None, "--target-modules",
                                                 help="Comma-separated module names (default: all attention+MLP projections)."),
    max_len: int = typer.Option(2048, "--max-len", help="Longest example in tokens; longer ones are an error."),
    drop_long: bool = typer.Option(False, "--drop-long", help="Skip examples longer than --max-len instead."),
    max_steps: int | None = typer.Option(None, "--max-steps", help="Cap the schedule at this many optimizer steps."),
    stop_after: int | None = typer.Option(None, "--stop-after",
                                             help="Stop (resumably) after this many steps in this run."),
    eval_every: int | None = typer.Option(None, "--eval-every", help="Steps between validations (default ~10 per run)."),
    save_every: int | None = typer.Option(None, "--save-every", help="Steps between checkpoints (default: each eval)."),
    device: str | None = typer.Option(None, "--device", help="cpu or cuda (default: cuda when available)."),
    bf16: bool | None = typer.Option(None, "--bf16/--no-bf16", help="bf16 autocast (default: on for CUDA)."),
    grad_ckpt: bool | None = typer.Option(None, "--gradient-checkpointing/--no-gradient-checkpointing",
                                             help="Default: on for CUDA."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch."),
    resume: bool = typer.Option(False, "--resume", help="Continue from the latest checkpoint in --output."),
    resume_from: Path | None = typer.Option(None, "--resume-from", help="Continue from this checkpoint directory."),
    progress: bool = typer.Option(True, "--progress/--no-progress"),
) -> None:
    """LoRA fine-tuning with the paper's Table 5 defaults; loss on the assistant's answer only."""
    from finetune.config import TrainConfig
    from finetune.trainer import train

    config = TrainConfig(
        model=model, data=data, output=output, val=val, learning_rate=lr, batch_size=batch_size,
        grad_accum=grad_accum, epochs=epochs, scheduler=scheduler, warmup_ratio=warmup, weight_decay=weight_decay,
        seed=seed, lora_r=r, lora_alpha=alpha, lora_dropout=dropout,
        target_modules=[t.strip() for t in target_modules.split(",") if t.strip()] if target_modules else None,
        max_len=max_len, drop_long=drop_long, max_steps=max_steps, stop_after=stop_after, eval_every=eval_every,
        save_every=save_every, device=device, bf16=bf16, gradient_checkpointing=grad_ckpt, threads=threads,
        resume=resume, resume_from=resume_from, progress=progress,
    )
    config.validate()
    result = train(config)
    summary = result.to_dict()
    typer.echo(json.dumps({k: summary[k] for k in ("output", "steps", "total_steps", "best_step", "best_val_loss",
                                                   "first_loss", "last_loss", "seconds")}))


_QUALITY_PROBLEMS = Path(__file__).resolve().parents[2] / "benchmarks" / "quality_problems.txt"


@contextmanager
def _nullbar() -> Iterator[Callable[[int, int], None] | None]:
    yield None


@contextmanager
def _bar() -> Iterator[Callable[[int, int], None] | None]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    with Progress(TextColumn("[bold]examples"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True)) as bar:
        task = bar.add_task("build", total=None)
        yield lambda i, total: bar.update(task, completed=i, total=total)


def register(app: typer.Typer) -> None:
    app.add_typer(finetune_app, name="finetune")
