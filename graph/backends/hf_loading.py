"""Load a causal LM for generation or fine-tuning: a local directory, a hub id (when reachable) or
a GGUF file, optionally with a peft LoRA adapter. Shared by the transformers backend and finetune.

transformers dequantizes a GGUF on load, which is slow (about a minute for 0.5B on CPU), so the first
load converts it once to safetensors under `cache_dir()/converted/` and later loads read that. A
quantized (or 16-bit) GGUF is stored as bf16 — half the disk and memory of fp32; rounding a
dequantized Q4_K/Q6_K weight to bf16 changes it by at most 2^-9 relative, far below the quantization
error — and an all-F32 GGUF stays fp32, so it converts exactly. Loads upcast when asked for fp32."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from graph.backends.models import ensure_model, known_model
from harness.errors import FasterPyError
from kb.paths import cache_dir


def pick_device(device: str | None = None) -> str:
    """The torch device for generation and fine-tuning alike: `device` when given (a CUDA one only if
    CUDA is visible), else "cuda" when available, else "cpu"."""
    import torch

    if device:
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise FasterPyError(f"device {device!r} requested but CUDA is not available — use --device cpu")
        return device
    return "cuda" if torch.cuda.is_available() else "cpu"


def _dtype_for(device: str) -> Any:
    import torch

    # bf16 halves memory and is native on recent GPUs; CPU matmuls are faster and exact in fp32.
    return torch.bfloat16 if device.startswith("cuda") else torch.float32


# Bumped when the conversion's output changes (2: quantized GGUFs are stored as bf16, not fp32).
_CONVERSION_VERSION = 2


def converted_dir(gguf: Path) -> Path:
    """Where a GGUF's safetensors conversion lives: keyed by name, size and mtime of the file."""
    st = gguf.stat()
    key = f"{gguf.resolve()}|{st.st_size}|{st.st_mtime_ns}|v{_CONVERSION_VERSION}"
    tag = hashlib.sha256(key.encode()).hexdigest()[:12]
    return cache_dir() / "converted" / f"{gguf.stem}-{tag}"


def gguf_storage_dtype(gguf: Path) -> str:
    """"float32" when every tensor of the GGUF is F32 (converting keeps it exact), else "bfloat16"."""
    try:
        from gguf import GGUFReader
    except ImportError as exc:
        raise FasterPyError("reading a GGUF with transformers needs the gguf package — "
                            "pip install 'fasterpy[finetune]' (or: pip install gguf)") from exc
    try:
        kinds = {t.tensor_type.name for t in GGUFReader(str(gguf)).tensors}
    except (ValueError, OSError) as exc:
        raise FasterPyError(f"{gguf} is not a readable GGUF file ({str(exc)[:120]}) — re-install the model") from exc
    return "float32" if kinds <= {"F32"} else "bfloat16"


def convert_gguf(gguf: Path) -> Path:
    """Dequantize a GGUF once into a safetensors model directory (atomic, in `gguf_storage_dtype`)
    and return it."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = converted_dir(gguf)
    if (out / "config.json").is_file():
        return out
    dtype = gguf_storage_dtype(gguf)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out.parent, prefix=f".{out.name}."))
    try:
        try:
            tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=dtype)
        except (ValueError, OSError, KeyError) as exc:
            raise FasterPyError(
                f"transformers cannot read GGUF {gguf.name}: {str(exc).splitlines()[0][:200]} — use "
                "--backend llamacpp for this file"
            ) from exc
        # transformers marks a GGUF-loaded model as quantized although its weights are already
        # dequantized to float32, and then refuses save_pretrained; drop the marker (finetune fix).
        model.hf_quantizer = None  # type: ignore[assignment]  # typed as nn.Module's __getattr__ result
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(tmp, safe_serialization=True)
        tok.save_pretrained(tmp)
        try:
            os.replace(tmp, out)
        except OSError:  # another process converted it first
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def resolve_model_dir(model: str | os.PathLike[str]) -> str:
    """A loadable directory or hub id for `model` (a known name, a GGUF file, a dir, or a hub id)."""
    text = str(model)
    if known_model(text) is not None:
        return str(convert_gguf(ensure_model(text)))
    path = Path(text).expanduser()
    if path.is_file():
        if path.suffix.lower() != ".gguf":
            raise FasterPyError(f"{text} is a file but not a GGUF model — pass a model directory or a .gguf file")
        return str(convert_gguf(path))
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise FasterPyError(f"{text} has no config.json — pass a transformers model directory")
        return str(path)
    if text.startswith((".", "/", "~")) or text.count("/") > 1:
        raise FasterPyError(f"model path {text} does not exist — check the path")
    if not _in_hub_cache(text) and not os.environ.get("HF_HUB_OFFLINE") and not hub_reachable():
        # from_pretrained would retry for about a minute before failing
        raise FasterPyError(
            f"model {text!r} is not a local path and the model hub is unreachable — pass a local model "
            "directory, a GGUF file, or a packaged name (see `fasterpy models`)"
        )
    return text  # a hub id


def hub_reachable(timeout_s: float = 3.0) -> bool:
    """Whether the model hub (HF_ENDPOINT, default huggingface.co) accepts a TCP connection."""
    import socket
    import urllib.parse

    url = urllib.parse.urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        socket.create_connection((url.hostname or "", port), timeout=timeout_s).close()
    except OSError:
        return False
    return True


def _in_hub_cache(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    try:
        return isinstance(try_to_load_from_cache(repo_id, "config.json"), str)
    except Exception:  # an id the hub library rejects is simply not cached
        return False


def load_causal_lm(
    model: str | os.PathLike[str],
    adapter: str | os.PathLike[str] | None = None,
    device: str | None = None,
    dtype: Any = None,
) -> tuple[Any, Any]:
    """(model, tokenizer) ready for `generate`, in eval mode, on `device` (CUDA when present)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve_model_dir(model)
    dev = pick_device(device)
    try:
        tok = AutoTokenizer.from_pretrained(source)
        lm = AutoModelForCausalLM.from_pretrained(source, dtype=dtype or _dtype_for(dev))
    except OSError as exc:
        raise FasterPyError(
            f"cannot load model {source!r}: {str(exc).splitlines()[0][:200]} — the model hub is probably "
            "unreachable; pass a local directory, a GGUF file, or a packaged name (see `fasterpy models`)"
        ) from exc
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    if adapter is not None:
        lm = attach_adapter(lm, adapter)
    lm.to(dev)  # type: ignore[arg-type]  # functools.wraps on a method: mypy takes `dev` for `self`
    lm.eval()
    return lm, tok


def attach_adapter(lm: Any, adapter: str | os.PathLike[str]) -> Any:
    from peft import PeftModel

    path = Path(adapter).expanduser()
    if not (path / "adapter_config.json").is_file():
        raise FasterPyError(
            f"no LoRA adapter at {adapter} (adapter_config.json missing) — pass the directory "
            "`fasterpy finetune` wrote"
        )
    return PeftModel.from_pretrained(lm, str(path))
