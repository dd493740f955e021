"""The LoRA trainer: a plain torch loop over peft.

Why not HF Trainer: the loop here is ~200 lines we fully control — exact resume (optimizer,
scheduler, RNG and the position inside the epoch's data order), token-weighted loss across
gradient-accumulation windows, the best adapter saved by validation loss straight into the output
directory, our own JSONL log and rich progress — with no accelerate/Trainer version coupling, and
the same code runs a 2-core CPU test in seconds and a bf16 GPU run."""

from __future__ import annotations

import json
import math
import random
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from finetune.config import DEFAULT_TARGET_MODULES, TrainConfig
from finetune.masking import Encoded, SequenceTooLong, collate, encode_example
from harness.errors import FasterPyError
from harness.files import append_jsonl, atomic_write, write_jsonl

LOG_NAME = "train_log.jsonl"
CURVE_NAME = "loss_curve.png"
STATE_NAME = "trainer_state.json"
SUMMARY_NAME = "training_summary.json"
ADAPTER_META = "fasterpy_adapter.json"


@dataclass
class TrainResult:
    output: Path
    steps: int
    total_steps: int
    best_step: int | None
    best_val_loss: float | None
    first_loss: float | None
    last_loss: float | None
    tokens: int
    seconds: float
    dropped_long: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["output"] = str(self.output)
        out.pop("log")
        return out


def encode_all(
    tokenizer: Any, rows: Sequence[dict[str, Any]], max_len: int, drop_long: bool, where: str
) -> tuple[list[Encoded], int]:
    """Encode every row; an over-long row is an error naming it (or skipped with --drop-long)."""
    out: list[Encoded] = []
    dropped = 0
    for i, row in enumerate(rows, 1):
        try:
            out.append(encode_example(tokenizer, row["messages"], max_len=max_len))
        except SequenceTooLong as exc:
            if not drop_long:
                raise FasterPyError(f"{where} example {i}: {exc}") from None
            dropped += 1
    if not out:
        raise FasterPyError(f"every example in {where} is longer than --max-len {max_len} — raise --max-len")
    return out, dropped


def apply_lora(model: Any, config: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    names = {n.rsplit(".", 1)[-1] for n, _ in model.named_modules()}
    targets = config.target_modules or [t for t in DEFAULT_TARGET_MODULES if t in names]
    if not targets:
        raise FasterPyError("found none of the usual projection layers to put LoRA on — pass --target-modules")
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=targets,
        task_type="CAUSAL_LM",
        bias="none",
    )
    return get_peft_model(model, lora)


def micro_batches(n: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """The epoch's shuffled order, cut into micro-batches. Seeded by (seed, epoch) so a resumed run
    sees exactly the batches the interrupted one would have."""
    order = list(range(n))
    random.Random(seed * 1_000_003 + epoch).shuffle(order)
    return [order[i : i + batch_size] for i in range(0, n, batch_size)]


class Trainer:
    """One LoRA training run; `run()` does the work. Construct with a loaded (model, tokenizer) to
    skip loading (tests and benchmarks do this); otherwise `config.model` is loaded through
    graph.backends.hf_loading so GGUF names and paths work the same as in the backend."""

    def __init__(
        self,
        config: TrainConfig,
        model: Any = None,
        tokenizer: Any = None,
        on_log: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.config = config
        self._model = model
        self._tokenizer = tokenizer
        self.on_log = on_log
        self.output = Path(config.output)

    # ---- setup -------------------------------------------------------------------------------
    def _load(self) -> tuple[Any, Any, str]:
        import torch

        from graph.backends.hf_loading import load_causal_lm, pick_device

        cfg = self.config
        device = pick_device(cfg.device)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        model, tok = self._model, self._tokenizer
        use_bf16 = cfg.bf16 if cfg.bf16 is not None else device.startswith("cuda")
        dtype = torch.bfloat16 if use_bf16 else torch.float32
        if model is None:  # load straight in the training dtype: no fp32 copy of a bf16 model on the way
            model, tok = load_causal_lm(cfg.model, device=device, dtype=dtype)
        if tok is None:
            raise FasterPyError("a model was given without its tokenizer")
        model.to(device=device, dtype=dtype)
        self.autocast_bf16 = use_bf16
        use_gc = cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else device.startswith("cuda")
        if use_gc:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
        model.config.use_cache = False
        self.gradient_checkpointing = use_gc
        return model, tok, device

    def _checkpoints(self) -> list[Path]:
        root = self.output / "checkpoints"
        if not root.is_dir():
            return []
        found = [p for p in root.glob("step-*") if (p / STATE_NAME).is_file()]
        return sorted(found, key=lambda p: int(p.name.split("-")[1]))

    def _resume_dir(self) -> Path | None:
        cfg = self.config
        if cfg.resume_from is not None:
            path = Path(cfg.resume_from)
            if not (path / STATE_NAME).is_file():
                raise FasterPyError(f"{path} is not a checkpoint (no {STATE_NAME}) — point --resume-from at "
                                    f"{self.output / 'checkpoints'}/step-N")
            return path
        if cfg.resume:
            found = self._checkpoints()
            if not found:
                raise FasterPyError(f"--resume: no checkpoint in {self.output / 'checkpoints'} — "
                                    "start without --resume")
            return found[-1]
        return None

    # ---- the run -------------------------------------------------------------------------------
    def run(self) -> TrainResult:
        import torch
        from transformers import get_scheduler

        from finetune.dataset import read_examples

        cfg = self.config
        cfg.validate()
        train_rows = read_examples(cfg.data)
        val_rows = read_examples(cfg.val) if cfg.val else []
        resume_dir = self._resume_dir()
        torch.manual_seed(cfg.seed)
        random.seed(cfg.seed)
        model, tok, device = self._load()
        train, dropped = encode_all(tok, train_rows, cfg.max_len, cfg.drop_long, str(cfg.data))
        val, dropped_val = encode_all(tok, val_rows, cfg.max_len, cfg.drop_long, str(cfg.val)) if val_rows else ([], 0)
        pad_id = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id

        model = apply_lora(model, cfg)
        self.model = model
        params = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(params, lr=cfg.learning_rate, weight_decay=cfg.weight_decay)
        batches_per_epoch = math.ceil(len(train) / cfg.batch_size)
        steps_per_epoch = max(1, math.ceil(batches_per_epoch / cfg.grad_accum))
        total = cfg.max_steps or max(1, math.ceil(cfg.epochs * steps_per_epoch))
        warmup = math.ceil(cfg.warmup_ratio * total)
        scheduler = get_scheduler(cfg.scheduler, optimizer, num_warmup_steps=warmup, num_training_steps=total)
        eval_every = cfg.eval_every or max(1, total // 10)
        save_every = cfg.save_every or eval_every

        self.output.mkdir(parents=True, exist_ok=True)
        log: list[dict[str, Any]]
        step, best_loss, best_step, log = 0, math.inf, None, []
        if resume_dir is not None:
            step, best_loss, best_step, log = self._restore(resume_dir, model, optimizer, scheduler)
        else:
            (self.output / LOG_NAME).unlink(missing_ok=True)
        self._write_json(self.output / "training_args.json", {**cfg.to_json(), "total_steps": total,
                         "warmup_steps": warmup, "steps_per_epoch": steps_per_epoch, "device": device,
                         "bf16": self.autocast_bf16, "gradient_checkpointing": self.gradient_checkpointing,
                         "train_examples": len(train), "val_examples": len(val),
                         "dropped_long": dropped + dropped_val})

        started, tokens = time.perf_counter(), 0
        if val and step == 0:
            # The untuned model's validation loss: the curve's starting point (paper Figs. 4–5).
            row0 = {"step": 0, "val_loss": self.evaluate(model, val, pad_id, device), "elapsed_s": 0.0}
            log.append(row0)
            self._append_log(row0)
        stop_at = min(total, step + cfg.stop_after) if cfg.stop_after else total
        first_loss = next((r["loss"] for r in log if "loss" in r), None)
        last_loss = None
        model.train()
        with self._progress(total, step) as advance:
            while step < stop_at:
                epoch, in_epoch = divmod(step, steps_per_epoch)
                batches = micro_batches(len(train), cfg.batch_size, cfg.seed, epoch)
                window = batches[in_epoch * cfg.grad_accum : (in_epoch + 1) * cfg.grad_accum]
                if not window:  # ran past a short final epoch (max_steps > epochs' worth): wrap around
                    window = batches[: cfg.grad_accum]
                loss_value, n_tok, grad_norm = self._optimizer_step(model, optimizer, scheduler, train, window,
                                                                    pad_id, device, params)
                step += 1
                tokens += n_tok
                last_loss = loss_value
                first_loss = loss_value if first_loss is None else first_loss
                row = {"step": step, "epoch": round(step / steps_per_epoch, 4), "loss": loss_value,
                       "lr": scheduler.get_last_lr()[0], "grad_norm": grad_norm, "tokens": n_tok,
                       "elapsed_s": round(time.perf_counter() - started, 3)}
                if val and (step % eval_every == 0 or step == total):
                    row["val_loss"] = self.evaluate(model, val, pad_id, device)
                    if row["val_loss"] < best_loss:
                        best_loss, best_step = row["val_loss"], step
                        self._save_adapter(model, self.output)
                        row["best"] = True
                log.append(row)
                self._append_log(row)
                advance(step, row)
                if step % save_every == 0 or step == stop_at:
                    self._save_checkpoint(model, optimizer, scheduler, step, best_loss, best_step, log)

        if step >= total:
            self._save_adapter(model, self.output / "last")
            if not val:  # no validation set: the final adapter is the one to use
                self._save_adapter(model, self.output)
        from finetune.plot import plot_loss_curve

        plot_loss_curve(log, self.output / CURVE_NAME, title=f"LoRA r={cfg.lora_r} on {Path(str(cfg.model)).name}")
        result = TrainResult(
            output=self.output, steps=step, total_steps=total,
            best_step=best_step, best_val_loss=None if best_step is None else best_loss,
            first_loss=first_loss, last_loss=last_loss, tokens=tokens,
            seconds=round(time.perf_counter() - started, 3), dropped_long=dropped + dropped_val, log=log,
        )
        self._write_json(self.output / SUMMARY_NAME, result.to_dict())
        return result

    def _optimizer_step(self, model, optimizer, scheduler, data, window, pad_id, device, params):
        import torch

        n_tokens = sum(sum(1 for lab in data[i].labels[1:] if lab != -100) for b in window for i in b)
        total_loss = 0.0
        for batch_idx in window:
            batch = {k: v.to(device) for k, v in collate([data[i] for i in batch_idx], pad_id).items()}
            n_here = int((batch["labels"][:, 1:] != -100).sum())
            with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=self.autocast_bf16):
                out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                            labels=batch["labels"])
            # The model's loss is the mean over this micro-batch's answer tokens; re-weight so the
            # window's gradient is the mean over all its answer tokens.
            loss = out.loss * (n_here / max(1, n_tokens))
            loss.backward()
            total_loss += float(loss.detach())
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, 1.0))
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        return total_loss, n_tokens, grad_norm

    def evaluate(self, model: Any, data: Sequence[Encoded], pad_id: int, device: str) -> float:
        """Mean loss per answer token over the validation set."""
        import torch

        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for i in range(0, len(data), self.config.batch_size):
                batch = {k: v.to(device) for k, v in collate(data[i : i + self.config.batch_size], pad_id).items()}
                n = int((batch["labels"][:, 1:] != -100).sum())
                with torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16,
                                    enabled=self.autocast_bf16):
                    out = model(**batch)
                total += float(out.loss) * n
                count += n
        model.train()
        return total / max(1, count)

    # ---- persistence -------------------------------------------------------------------------
    def _save_adapter(self, model: Any, where: Path, served: bool = True) -> None:
        """Write the adapter. A served adapter (the output directory, last/) is stored in the training
        dtype — bf16 when training in bf16: peft keeps LoRA weights in fp32 under a bf16 base, and an
        fp32 copy would double the file for no gain in what is served. A checkpoint (`served=False`)
        keeps those fp32 master weights, so a resumed run continues exactly."""
        import torch

        where.mkdir(parents=True, exist_ok=True)
        kwargs: dict[str, Any] = {}
        if served and self.autocast_bf16:
            kwargs["state_dict"] = {k: v.detach().to(torch.bfloat16) if v.is_floating_point() else v
                                    for k, v in model.state_dict().items() if "lora_" in k}
        model.save_pretrained(str(where), **kwargs)
        # peft records the resolved base path (for a packaged model, a cache directory on this
        # machine); record the name the user trained on instead, which loads anywhere.
        cfg_path = where / "adapter_config.json"
        adapter_cfg = json.loads(cfg_path.read_text())
        adapter_cfg["base_model_name_or_path"] = str(self.config.model)
        self._write_json(cfg_path, adapter_cfg)
        self._write_json(where / ADAPTER_META, {"base_model": str(self.config.model), "lora_r": self.config.lora_r,
                                                "lora_alpha": self.config.lora_alpha,
                                                "dtype": "bfloat16" if served and self.autocast_bf16 else "float32"})

    def _save_checkpoint(self, model, optimizer, scheduler, step, best_loss, best_step, log) -> None:
        import torch

        ckpt = self.output / "checkpoints" / f"step-{step:06d}"
        tmp = ckpt.with_name(ckpt.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        self._save_adapter(model, tmp, served=False)
        torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                    "torch_rng": torch.get_rng_state(), "python_rng": random.getstate(),
                    "cuda_rng": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None},
                   tmp / "optimizer.pt")
        self._write_json(tmp / STATE_NAME, {"step": step, "best_val_loss": None if best_step is None else best_loss,
                                            "best_step": best_step, "log": log})
        shutil.rmtree(ckpt, ignore_errors=True)
        tmp.rename(ckpt)  # a checkpoint directory exists only once it is complete
        for old in self._checkpoints()[: -max(1, self.config.keep_checkpoints)]:
            shutil.rmtree(old, ignore_errors=True)

    def _restore(self, ckpt: Path, model, optimizer, scheduler) -> tuple[int, float, int | None, list]:
        import torch
        from peft import set_peft_model_state_dict
        from safetensors.torch import load_file

        state = json.loads((ckpt / STATE_NAME).read_text())
        weights = load_file(str(ckpt / "adapter_model.safetensors"))
        set_peft_model_state_dict(model, weights)
        extra = torch.load(ckpt / "optimizer.pt", weights_only=False)
        optimizer.load_state_dict(extra["optimizer"])
        scheduler.load_state_dict(extra["scheduler"])
        torch.set_rng_state(extra["torch_rng"])
        random.setstate(extra["python_rng"])
        if extra.get("cuda_rng") is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(extra["cuda_rng"])
        log = state["log"]
        # The log on disk may run past the checkpoint (the run died later): rewrite it to match.
        path = self.output / LOG_NAME
        write_jsonl(path, log)
        best = state["best_val_loss"]
        return state["step"], math.inf if best is None else best, state["best_step"], log

    def _append_log(self, row: dict[str, Any]) -> None:
        append_jsonl(self.output / LOG_NAME, row)
        if self.on_log is not None:
            self.on_log(row)

    @staticmethod
    def _write_json(path: Path, obj: Any) -> None:
        atomic_write(path, json.dumps(obj, indent=2))

    def _progress(self, total: int, start: int):
        from contextlib import contextmanager

        @contextmanager
        def bar():
            if not self.config.progress:
                yield lambda step, row: None
                return
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            with Progress(TextColumn("[bold]LoRA"), BarColumn(), MofNCompleteColumn(),
                          TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                          console=Console(stderr=True)) as progress:
                task = progress.add_task("train", total=total, completed=start, info="")

                def advance(step: int, row: dict[str, Any]) -> None:
                    info = f"loss {row['loss']:.4f}"
                    if "val_loss" in row:
                        info += f"  val {row['val_loss']:.4f}"
                    progress.update(task, completed=step, info=info)

                yield advance

        return bar()


def train(config: TrainConfig, model: Any = None, tokenizer: Any = None) -> TrainResult:
    """Run LoRA training as configured; see Trainer."""
    return Trainer(config, model=model, tokenizer=tokenizer).run()
