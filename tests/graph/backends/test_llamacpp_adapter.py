"""A peft LoRA served by llama.cpp: tiny random Qwen2 and Llama models built here, written as F32
GGUF bases (gguf-py), a real peft adapter with non-zero weights converted by graph.backends.gguf_lora
and loaded by real llama.cpp. The converted adapter moves llama.cpp's logits as the peft adapter moves
transformers' (within a tolerance far below the move), and `--adapter` changes the backend's reply."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend, resolve_backend_name
from graph.prompt import build_messages
from harness.errors import FasterPyError

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CODE = "def f(xs):\n    return sorted(xs)[0]\n"
TOKENS = [5, 17, 42, 99, 123, 7, 64, 250]  # a few token ids fed to both runtimes
TOL = 1e-3  # logits (of order 1), absolute: F32 weights and an F32 KV cache in both runtimes


@dataclass
class Tiny:
    arch: str
    hf_dir: Path
    gguf: Path
    adapter: Path


def _build(root: Path, arch: str, write_gguf: Callable[..., Path], *, hidden: int, lora: dict[str, Any]) -> Tiny:
    import torch
    from peft import LoraConfig, get_peft_model
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    hf_dir = root / "hf"
    corpus = [str(m["content"]) for m in build_messages(CODE, [])] * 5
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(hf_dir)
    torch.manual_seed(0)
    common: dict[str, Any] = dict(vocab_size=len(fast), hidden_size=hidden, intermediate_size=64, num_hidden_layers=2,
                  num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512, tie_word_embeddings=False,
                  eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, bos_token_id=None, initializer_range=0.2)
    model = Qwen2ForCausalLM(Qwen2Config(**common)) if arch == "qwen2" else LlamaForCausalLM(LlamaConfig(**common))
    model.save_pretrained(hf_dir)
    gguf_path = write_gguf(model, fast, arch, root / f"tiny-{arch}.gguf")
    torch.manual_seed(1)
    peft_model = get_peft_model(model, LoraConfig(init_lora_weights=False, **lora))
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.3)
    peft_model.save_pretrained(str(root / "adapter"))
    return Tiny(arch, hf_dir, gguf_path, root / "adapter")


@pytest.fixture(scope="module")
def qwen(tmp_path_factory: pytest.TempPathFactory, write_gguf: Callable[..., Path]) -> Tiny:
    # every module llama.cpp can adapt, the token embedding and output layer included
    return _build(tmp_path_factory.mktemp("qwen2"), "qwen2", write_gguf, hidden=32, lora=dict(
        r=4, lora_alpha=8, target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj",
                                           "down_proj", "embed_tokens", "lm_head"]))


@pytest.fixture(scope="module")
def llama(tmp_path_factory: pytest.TempPathFactory, write_gguf: Callable[..., Path]) -> Tiny:
    # q/k permuted rows; rsLoRA and per-module rank and alpha: scales llama.cpp's alpha / r cannot say alone
    return _build(tmp_path_factory.mktemp("llama"), "llama", write_gguf, hidden=48, lora=dict(
        r=4, lora_alpha=8, use_rslora=True, rank_pattern={"v_proj": 2}, alpha_pattern={"o_proj": 3},
        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "down_proj"]))


def _hf_logits(tiny: Tiny, adapter: bool) -> np.ndarray:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model: Any = AutoModelForCausalLM.from_pretrained(tiny.hf_dir)
    if adapter:
        model = PeftModel.from_pretrained(model, str(tiny.adapter))
    with torch.no_grad():
        return model.eval()(torch.tensor([TOKENS])).logits[0].numpy()


def _cpp_logits(tiny: Tiny, lora: Path | None) -> np.ndarray:
    import llama_cpp
    from llama_cpp import Llama

    f32 = llama_cpp.GGML_TYPE_F32
    llm = Llama(model_path=str(tiny.gguf), lora_path=str(lora) if lora else None, n_ctx=64, logits_all=True,
                n_threads=2, type_k=f32, type_v=f32, verbose=False)
    llm.eval(TOKENS)
    out = np.array(llm.scores[: len(TOKENS)])
    llm.close()
    return out


def _lora_file(tiny: Tiny) -> Path:
    from llama_cpp import Llama

    from graph.backends.gguf_lora import BaseInfo, gguf_lora_for

    meta = Llama(model_path=str(tiny.gguf), vocab_only=True, verbose=False).metadata
    return gguf_lora_for(tiny.adapter, BaseInfo.from_metadata(meta))


@pytest.mark.parametrize("which", ["qwen", "llama"])
def test_converted_lora_moves_llamacpp_logits_as_peft_moves_transformers(which: str, request: pytest.FixtureRequest) -> None:
    tiny: Tiny = request.getfixturevalue(which)
    hf_base, hf_lora = _hf_logits(tiny, False), _hf_logits(tiny, True)
    cpp_base, cpp_lora = _cpp_logits(tiny, None), _cpp_logits(tiny, _lora_file(tiny))
    assert np.abs(cpp_base - hf_base).max() < TOL  # the GGUF base is the same model
    assert np.abs(cpp_lora - hf_lora).max() < TOL  # the GGUF LoRA is the same adapter
    assert np.abs(hf_lora - hf_base).max() > 50 * TOL  # and it moves the logits far more than the tolerance


def _reply(cfg: GenerationConfig, parallel: bool = True) -> tuple[Any, str]:
    from graph.backends.llamacpp_backend import LlamaCppBackend

    backend = LlamaCppBackend(cfg, parallel=parallel)
    return backend, backend.generate(GenerationRequest(messages=build_messages(CODE, []), code=CODE))[0]


def test_adapter_loads_in_the_llamacpp_backend_and_changes_the_reply(qwen: Tiny) -> None:
    from llama_cpp import Llama

    common: dict[str, Any] = dict(backend="llamacpp", model=str(qwen.gguf), temperature=0.0, max_new_tokens=12, threads=2,
                  context_tokens=512)
    _, plain = _reply(GenerationConfig(**common))
    tuned_backend, tuned = _reply(GenerationConfig(**common, adapter=str(qwen.adapter)))
    assert tuned != plain
    lora = tuned_backend.adapter_path
    assert lora is not None and lora.parent.name == "lora" and lora.suffix == ".gguf"
    # exactly that LoRA: llama-cpp-python's own lora_path decodes the parallel path's greedy tokens
    # (rendered as that path renders them) and gives the sequential path's reply
    ref = Llama(model_path=str(qwen.gguf), lora_path=str(lora), n_ctx=512, n_threads=2, verbose=False)
    tokens = list(islice(ref.generate(tuned_backend._prompt_tokens(build_messages(CODE, [])), temp=0.0, top_k=1), 12))
    assert tuned == ref.detokenize(tokens).decode("utf-8", errors="ignore")
    out: Any = ref.create_chat_completion(messages=build_messages(CODE, []), temperature=0.0, max_tokens=12)  # type: ignore[arg-type]
    assert _reply(GenerationConfig(**common, adapter=str(qwen.adapter)), parallel=False)[1] == out["choices"][0]["message"]["content"]
    # converted once: a second load reuses the cached file; a GGUF LoRA file is used as it is
    stamp = lora.stat().st_mtime_ns
    again, _ = _reply(GenerationConfig(**common, adapter=str(qwen.adapter)))
    assert again.adapter_path == lora and lora.stat().st_mtime_ns == stamp
    direct, reply = _reply(GenerationConfig(**common, adapter=str(lora)))
    assert direct.adapter_path == lora and reply == tuned
    # with a GGUF model and an adapter, auto picks llama.cpp
    assert resolve_backend_name(GenerationConfig(model=str(qwen.gguf), adapter=str(qwen.adapter))) == "llamacpp"


def test_wrong_adapters_are_one_line_errors(qwen: Tiny, llama: Tiny, tmp_path: Path) -> None:
    common: dict[str, Any] = dict(backend="llamacpp", temperature=0.0, max_new_tokens=4, threads=2, context_tokens=512)
    with pytest.raises(FasterPyError, match="adapter_config.json missing"):
        get_backend(GenerationConfig(**common, model=str(qwen.gguf), adapter=str(tmp_path)), reuse=False)
    # the Qwen2 adapter (hidden size 32) on the Llama base (48)
    with pytest.raises(FasterPyError, match="does not fit the GGUF base.*hidden size 48") as err:
        get_backend(GenerationConfig(**common, model=str(llama.gguf), adapter=str(qwen.adapter)), reuse=False)
    assert "\n" not in str(err.value)
    dora = tmp_path / "dora"
    dora.mkdir()
    cfg = json.loads((qwen.adapter / "adapter_config.json").read_text())
    (dora / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    (dora / "adapter_model.safetensors").write_bytes((qwen.adapter / "adapter_model.safetensors").read_bytes())
    with pytest.raises(FasterPyError, match="use_dora cannot be served"):
        get_backend(GenerationConfig(**common, model=str(qwen.gguf), adapter=str(dora)), reuse=False)
