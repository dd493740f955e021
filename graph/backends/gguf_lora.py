"""A peft LoRA adapter as a GGUF LoRA for llama.cpp: converted once (our own writer, gguf-py's
GGUFWriter), cached in the user cache by the adapter's digest, applied at runtime to the GGUF base.

The format is the one llama.cpp's `llama_adapter_lora_init` reads (src/llama-adapter.cpp):
general.type="adapter", general.architecture = the base's, adapter.type="lora",
adapter.lora.alpha, and per base tensor `<name>.lora_a` / `<name>.lora_b`, named as in the base
GGUF (`model.layers.N.self_attn.q_proj` → `blk.N.attn_q.weight`, through gguf-py's TensorNameMap).
peft's lora_A [r, n_in] and lora_B [n_out, r] are written as they are (numpy order; ggml reads them
as ne=[n_in, r] and [r, n_out], the shapes llama.cpp checks), except for the token embedding, whose
A is transposed (llama.cpp gathers rows of A by token). llama.cpp scales each pair by alpha / r of
that pair, so peft's own scale is kept exactly: where it differs (rsLoRA, rank or alpha patterns),
B carries the ratio. The llama architecture stores q/k rows permuted for its rope (convert_hf_to_gguf's
`permute`), so B of q_proj / k_proj is permuted the same way."""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.errors import FasterPyError
from harness.files import replacing
from kb.paths import cache_dir

CONVERTER_VERSION = 1
SUPPORTED_ARCHS = ("qwen2", "qwen3", "llama")  # the HF layouts whose tensor order matches the GGUF (llama: q/k permuted)
_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+)\.(?P<kind>lora_A|lora_B|lora_embedding_A|lora_embedding_B)"
                  r"(?:\.weight)?$")
_LAYER = re.compile(r"^blk\.(\d+)\.")
_TAKES_EMBD = ("attn_q", "attn_k", "attn_v", "ffn_gate", "ffn_up", "output")  # A's input is the hidden size
_GIVES_EMBD = ("attn_output", "ffn_down")  # B's output is the hidden size


@dataclass(frozen=True)
class BaseInfo:
    """What the conversion needs to know about the GGUF base model."""

    arch: str
    n_layer: int
    n_embd: int
    n_head: int
    n_head_kv: int

    @classmethod
    def from_metadata(cls, meta: dict[str, str]) -> BaseInfo:
        """From a GGUF's key/values as llama-cpp-python reports them (`Llama.metadata`)."""
        arch = meta.get("general.architecture", "")
        try:
            n_head = int(meta[f"{arch}.attention.head_count"])
            return cls(arch=arch, n_layer=int(meta[f"{arch}.block_count"]), n_embd=int(meta[f"{arch}.embedding_length"]),
                       n_head=n_head, n_head_kv=int(meta.get(f"{arch}.attention.head_count_kv", n_head)))
        except (KeyError, ValueError) as exc:
            raise FasterPyError(f"the GGUF base ({arch or 'unknown architecture'}) lacks {exc} in its metadata — "
                                "a LoRA needs a complete GGUF model file") from exc


def adapter_path(adapter: str | os.PathLike[str]) -> Path:
    """`adapter` checked before any model loads: a .gguf LoRA file, or a peft adapter directory with its weights."""
    path = Path(adapter).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return path
    if not (path / "adapter_config.json").is_file():
        raise FasterPyError(f"no LoRA adapter at {adapter} (adapter_config.json missing) — pass a peft adapter "
                            "directory (the one `fasterpy finetune train` writes) or a GGUF LoRA file")
    _weights_file(path)
    return path


def gguf_lora_for(adapter: str | os.PathLike[str], base: BaseInfo) -> Path:
    """The GGUF LoRA file for `adapter`: a .gguf file as it is; a peft adapter directory converted
    once into `cache_dir()/lora/` (keyed by the adapter's files, the base's shape and this
    converter's version), later calls reusing the file."""
    path = adapter_path(adapter)
    if path.suffix.lower() == ".gguf":
        return path
    weights = _weights_file(path)
    digest = hashlib.sha256(f"v{CONVERTER_VERSION}|{base}".encode())
    digest.update((path / "adapter_config.json").read_bytes())
    with open(weights, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    out = cache_dir() / "lora" / f"{path.resolve().name}-{digest.hexdigest()[:16]}.gguf"
    if not out.is_file():
        convert_peft_lora(path, out, base)
    return out


def convert_peft_lora(adapter_dir: Path, out: Path, base: BaseInfo) -> Path:
    """Write the peft adapter in `adapter_dir` as a GGUF LoRA at `out` (atomically) for `base`."""
    import gguf

    cfg = _adapter_config(adapter_dir)
    if base.arch not in SUPPORTED_ARCHS:
        raise FasterPyError(f"converting a LoRA for the {base.arch!r} architecture is not supported "
                            f"(supported: {', '.join(SUPPORTED_ARCHS)}) — use --backend transformers")
    arch = {v: k for k, v in gguf.MODEL_ARCH_NAMES.items()}[base.arch]
    names = gguf.get_tensor_name_map(arch, base.n_layer)
    pairs: dict[str, dict[str, Any]] = {}
    for key, tensor in _load_weights(_weights_file(adapter_dir)).items():
        if key.endswith(".base_layer.weight"):
            continue  # peft's copy of the base embedding / output layer saved beside their LoRA: the GGUF base has it
        m = _KEY.match(key)
        if m is None:
            raise FasterPyError(f"{adapter_dir.name}: tensor {key!r} is not a LoRA A/B weight — only plain LoRA "
                                "adapters convert to GGUF (no DoRA, biases or saved modules)")
        pairs.setdefault(m["module"], {})[m["kind"][-1]] = tensor
        pairs[m["module"]]["embedding"] = m["kind"].startswith("lora_embedding")
    alpha = float(cfg.get("lora_alpha") or 0)
    if alpha <= 0:
        raise FasterPyError(f"{adapter_dir.name}: lora_alpha must be positive, not {cfg.get('lora_alpha')!r}")
    tensors: list[tuple[str, Any]] = []
    for module, pair in sorted(pairs.items()):
        if "A" not in pair or "B" not in pair:
            raise FasterPyError(f"{adapter_dir.name}: {module} has only one of its LoRA A/B weights — re-save the adapter")
        name = names.get_name(module)
        if name is None:
            raise FasterPyError(f"{adapter_dir.name}: module {module} has no tensor in llama.cpp's {base.arch} "
                                "model — train the adapter on attention/MLP/embedding modules")
        a, b = pair["A"].float().numpy(), pair["B"].float().numpy()
        rank = a.shape[0]
        scale = _alpha_of(module, cfg) / (math.sqrt(rank) if cfg.get("use_rslora") else rank)
        b = b * (scale * rank / alpha)  # llama.cpp applies alpha / rank; the rest rides on B
        if pair["embedding"]:
            a = a.T  # token_embd: llama.cpp gathers A's rows by token id
        elif base.arch == "llama" and name.endswith((".attn_q", ".attn_k")):
            b = _permute(b, base.n_head if name.endswith(".attn_q") else base.n_head_kv)
        _check_shape(adapter_dir.name, name, a, b, pair["embedding"], base)
        dtype = "float32" if {str(pair["A"].dtype), str(pair["B"].dtype)} == {"torch.float32"} else "float16"
        tensors += [(f"{name}.weight.lora_a", a.astype(dtype)), (f"{name}.weight.lora_b", b.astype(dtype))]
    if not tensors:
        raise FasterPyError(f"{adapter_dir.name}: the adapter holds no LoRA weights")
    with replacing(out) as tmp:
        w = gguf.GGUFWriter(str(tmp), base.arch)
        w.add_type(gguf.GGUFType.ADAPTER)
        w.add_string(gguf.Keys.Adapter.TYPE, "lora")
        w.add_float32(gguf.Keys.Adapter.LORA_ALPHA, alpha)
        w.add_name(adapter_dir.resolve().name)
        for name, data in tensors:
            w.add_tensor(name, data)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
    return out


def _adapter_config(adapter_dir: Path) -> dict[str, Any]:
    try:
        cfg: dict[str, Any] = json.loads((adapter_dir / "adapter_config.json").read_text())
    except (OSError, ValueError) as exc:
        raise FasterPyError(f"{adapter_dir}/adapter_config.json is unreadable ({exc}) — re-save the adapter") from exc
    unsupported = [f for f, bad in (("peft_type", cfg.get("peft_type", "LORA") != "LORA"),
                                    ("use_dora", bool(cfg.get("use_dora"))),
                                    ("bias", cfg.get("bias", "none") != "none" or bool(cfg.get("lora_bias"))),
                                    ("modules_to_save", bool(cfg.get("modules_to_save"))),
                                    ("target_parameters", bool(cfg.get("target_parameters"))),
                                    ("trainable_token_indices", bool(cfg.get("trainable_token_indices")))) if bad]
    if unsupported:
        raise FasterPyError(f"{adapter_dir.name}: {', '.join(unsupported)} cannot be served by llama.cpp's LoRA — "
                            "use --backend transformers for this adapter")
    return cfg


def _weights_file(adapter_dir: Path) -> Path:
    for name in ("adapter_model.safetensors", "adapter_model.bin"):
        if (adapter_dir / name).is_file():
            return adapter_dir / name
    raise FasterPyError(f"{adapter_dir} has no adapter_model.safetensors — re-save the adapter with peft")


def _load_weights(path: Path) -> dict[str, Any]:
    import torch

    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            return load_file(str(path))
        return dict(torch.load(path, map_location="cpu", weights_only=True))
    except Exception as exc:  # safetensors and torch raise their own error types for a damaged file
        raise FasterPyError(f"{path} is unreadable ({str(exc)[:120]}) — re-save the adapter") from exc


def _alpha_of(module: str, cfg: dict[str, Any]) -> float:
    """peft's alpha for `module`: an alpha_pattern entry matching its name's end, else lora_alpha."""
    for pattern, value in (cfg.get("alpha_pattern") or {}).items():
        if re.fullmatch(rf"(.*\.)?(?:{pattern})", module):
            return float(value)
    return float(cfg["lora_alpha"])


def _permute(rows: Any, heads: int) -> Any:
    """convert_hf_to_gguf's q/k row permutation for the llama architecture (HF's rotate-half rope →
    GGUF's interleaved pairs); `heads` is the head count of q, the kv head count for k."""
    return rows.reshape(heads, 2, rows.shape[0] // heads // 2, *rows.shape[1:]).swapaxes(1, 2).reshape(rows.shape)


def _check_shape(adapter: str, name: str, a: Any, b: Any, embedding: bool, base: BaseInfo) -> None:
    """The checks llama.cpp makes at load, with a message that says which base the adapter wants."""
    layer = _LAYER.match(name)
    kind = name.split(".")[-1]
    if embedding:
        wrong = b.shape[0] != base.n_embd or a.shape[1] != b.shape[1]
    else:
        wrong = a.shape[0] != b.shape[1] or (kind in _TAKES_EMBD and a.shape[1] != base.n_embd) \
            or (kind in _GIVES_EMBD and b.shape[0] != base.n_embd)
    if wrong or (layer is not None and int(layer[1]) >= base.n_layer):
        raise FasterPyError(f"adapter {adapter} does not fit the GGUF base ({base.arch}, hidden size {base.n_embd}, "
                            f"{base.n_layer} layers): {name} has A {list(a.shape)}, B {list(b.shape)} — "
                            "pass the base model the adapter was trained on (--model)")
