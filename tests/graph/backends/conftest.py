"""What the backend tests share: a writer of tiny F32 GGUF models, so the llama.cpp and transformers
tests load the same kind of file from the same code."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import numpy as np

GgufWriter = Callable[[Any, Any, str, Path], Path]


def _permute(w: np.ndarray, heads: int) -> np.ndarray:
    return w.reshape(heads, 2, w.shape[0] // heads // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def _token_type(gguf: Any, token: str, added: dict[str, int]) -> Any:
    # added tokens that look like chat markers are control tokens; other added pieces (whole-reply
    # tokens some tests add) stay text, or decoding would drop them
    if token not in added:
        return gguf.TokenType.NORMAL
    return gguf.TokenType.CONTROL if token.startswith("<") else gguf.TokenType.USER_DEFINED


def write_tiny_gguf(model: Any, tok: Any, arch: str, out: Path) -> Path:
    """`model` (a transformers Qwen2 or Llama model) and `tok` (its fast tokenizer, chat template
    included) as an F32 GGUF base, laid out as convert_hf_to_gguf lays it out (llama: q/k rows permuted)."""
    import gguf

    cfg = model.config
    w = gguf.GGUFWriter(str(out), arch)
    w.add_context_length(cfg.max_position_embeddings)
    w.add_embedding_length(cfg.hidden_size)
    w.add_block_count(cfg.num_hidden_layers)
    w.add_feed_forward_length(cfg.intermediate_size)
    w.add_head_count(cfg.num_attention_heads)
    w.add_head_count_kv(cfg.num_key_value_heads)
    w.add_rope_freq_base(cfg.rope_parameters["rope_theta"])
    w.add_layer_norm_rms_eps(cfg.rms_norm_eps)
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    if arch == "llama":
        w.add_vocab_size(cfg.vocab_size)
        w.add_rope_dimension_count(cfg.hidden_size // cfg.num_attention_heads)
    tj = json.loads(tok.backend_tokenizer.to_str())
    added = {a["content"]: a["id"] for a in tj["added_tokens"]}
    vocab = {**tj["model"]["vocab"], **added}
    tokens = [""] * len(vocab)
    for t, i in vocab.items():
        tokens[i] = t
    w.add_tokenizer_model("gpt2")
    w.add_tokenizer_pre("qwen2")
    w.add_token_list(tokens)
    w.add_token_types([_token_type(gguf, t, added) for t in tokens])
    w.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in tj["model"]["merges"]])
    w.add_eos_token_id(tok.eos_token_id)
    w.add_pad_token_id(tok.pad_token_id)
    w.add_bos_token_id(tok.pad_token_id)
    w.add_add_bos_token(False)  # the tiny tokenizers have no BOS token of their own
    w.add_chat_template(tok.chat_template)
    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2 if arch == "qwen2" else gguf.MODEL_ARCH.LLAMA,
                                     cfg.num_hidden_layers)
    for name, t in model.state_dict().items():
        data = t.float().numpy()
        if arch == "llama" and name.endswith(("q_proj.weight", "k_proj.weight")):
            data = _permute(data, cfg.num_attention_heads if "q_proj" in name else cfg.num_key_value_heads)
        gguf_name = names.get_name(name, try_suffixes=(".weight", ".bias"))
        assert gguf_name is not None, name
        w.add_tensor(gguf_name, data)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return out


@pytest.fixture(scope="session")
def write_gguf() -> GgufWriter:
    """write_tiny_gguf(model, tokenizer, arch, out) -> out (a fixture: test modules here are not importable)."""
    return write_tiny_gguf
