"""Training hyper-parameters: the paper's Table 5 defaults, every one overridable."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainConfig:
    """What `fasterpy finetune train` runs with. Defaults are Table 5 of the paper."""

    model: str
    data: Path
    output: Path
    val: Path | None = None
    learning_rate: float = 1e-4
    batch_size: int = 4
    grad_accum: int = 4
    epochs: float = 3.0
    scheduler: str = "cosine"  # "cosine" | "linear" | "constant"
    warmup_ratio: float = 0.05
    weight_decay: float = 0.1
    seed: int = 42
    lora_r: int = 8
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    # None = every linear projection of the attention and MLP blocks (what the paper's r=8 run tunes).
    target_modules: list[str] | None = None
    max_len: int = 2048
    drop_long: bool = False  # skip over-long examples instead of refusing the data
    max_steps: int | None = None  # caps the schedule (None = epochs × steps per epoch)
    stop_after: int | None = None  # stop (resumably) after this many optimizer steps this run
    eval_every: int | None = None  # optimizer steps between validations (None = ~10 per run)
    save_every: int | None = None  # optimizer steps between checkpoints (None = at each eval)
    keep_checkpoints: int = 2
    device: str | None = None  # None = CUDA when available, else CPU
    bf16: bool | None = None  # None = on for CUDA, off on CPU
    gradient_checkpointing: bool | None = None  # None = on for CUDA, off on CPU
    threads: int | None = None  # torch CPU threads (None = torch's default)
    resume: bool = False  # continue from the latest checkpoint in `output`
    resume_from: Path | None = None  # continue from this checkpoint directory
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Refuse settings that cannot work, before anything heavy loads."""
        from harness.errors import FasterPyError

        for name in ("batch_size", "grad_accum", "lora_r", "lora_alpha", "max_len"):
            if getattr(self, name) < 1:
                raise FasterPyError(f"{name.replace('_', '-')} must be at least 1 (got {getattr(self, name)})")
        for name in ("max_steps", "stop_after", "eval_every", "save_every", "threads"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise FasterPyError(f"--{name.replace('_', '-')} must be at least 1 (got {value})")
        if self.learning_rate <= 0 or self.epochs <= 0:
            raise FasterPyError("--lr and --epochs must be positive")
        if not 0 <= self.warmup_ratio < 1 or not 0 <= self.lora_dropout < 1:
            raise FasterPyError("--warmup and --dropout must lie in [0, 1)")
        if self.scheduler not in ("cosine", "linear", "constant", "constant_with_warmup"):
            raise FasterPyError(f"unknown --scheduler {self.scheduler!r} — use cosine, linear or constant")
        text = str(self.model)
        looks_like_path = text.startswith((".", "/", "~")) or text.endswith(".gguf")
        if looks_like_path and not Path(text).expanduser().exists():
            raise FasterPyError(f"model {text} does not exist — give a model directory, a GGUF file, "
                                "or a packaged name such as qwen2.5-coder-0.5b")

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, Path):
                out[key] = str(value)
        return out


# Every linear layer of a Llama/Qwen2 block.
DEFAULT_TARGET_MODULES = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
