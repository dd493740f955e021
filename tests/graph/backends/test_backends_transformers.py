"""transformers backend end to end: a tiny random Qwen2 model and a BPE tokenizer built here, a real
peft LoRA adapter trained for a few steps, saved, loaded by the backend, generating, extracted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.registry import get_backend, resolve_backend_name
from graph.prompt import build_messages, extract_code
from harness.errors import FasterPyError

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CODE = "def f(xs):\n    return sorted(xs)[0]\n"
TARGET = "```python\ndef f(xs):\n    return min(xs)\n```<|im_end|>"


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    out = tmp_path_factory.mktemp("tiny-qwen2")
    # without regex splitting BPE merges across spaces and lines, so the often-seen reply becomes a
    # few tokens and a short LoRA run learns it
    corpus = [str(m["content"]) for m in build_messages(CODE, [])] + [TARGET] * 50
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<unk>", "<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=specials,
                                                        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>", eos_token="<|im_end|>",
                                   pad_token="<|endoftext|>")
    fast.chat_template = CHAT_TEMPLATE
    # whole-reply pieces as vocabulary entries, so a reply is a few distinct tokens (see the fence test)
    fast.add_tokens(["```python\n", "def f(xs):\n    return min(xs)\n", "```"])
    fast.save_pretrained(out)
    torch.manual_seed(0)
    cfg = Qwen2Config(vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                      eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id, tie_word_embeddings=False)
    Qwen2ForCausalLM(cfg).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def adapter_dir(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real peft LoRA adapter with non-zero weights (init_lora_weights=False), so it visibly
    changes what the model says."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    cfg = LoraConfig(r=8, lora_alpha=64, target_modules=["q_proj", "v_proj", "lm_head"], init_lora_weights=False)
    peft_model = get_peft_model(base, cfg)
    with torch.no_grad():
        for name, p in peft_model.named_parameters():
            if "lora_" in name:
                p.normal_(0, 0.5)
    out = tmp_path_factory.mktemp("adapter")
    peft_model.save_pretrained(out)
    return out


def _greedy_reply(model, tok, n_tokens: int) -> str:  # type: ignore[no-untyped-def]
    import torch

    from graph.backends.transformers_backend import render_prompt

    enc = tok(render_prompt(tok, build_messages(CODE, [])), return_tensors="pt", add_special_tokens=False)
    with torch.inference_mode():
        out = model.generate(**enc, max_new_tokens=n_tokens, do_sample=False, pad_token_id=tok.pad_token_id)
    return tok.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True)


def _request(n: int | None = None) -> GenerationRequest:
    return GenerationRequest(messages=build_messages(CODE, []), code=CODE, n=n)


def test_base_model_generates_tokens(tiny_model_dir: Path) -> None:
    cfg = GenerationConfig(backend="transformers", model=str(tiny_model_dir), temperature=0.0, max_new_tokens=6, device="cpu")
    backend = get_backend(cfg, reuse=False)
    replies = backend.generate(_request())
    assert len(replies) == 1 and isinstance(replies[0], str)
    assert backend.last_stats.completion_tokens > 0
    # random weights do not write code: the caller sees "no code in reply"
    assert extract_code(replies[0]) != "def f(xs):\n    return min(xs)\n"


def test_adapter_is_loaded_and_changes_the_reply(tiny_model_dir: Path, adapter_dir: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    common = dict(backend="transformers", model=str(tiny_model_dir), temperature=0.0, max_new_tokens=12, device="cpu")
    plain = get_backend(GenerationConfig(**common), reuse=False)
    tuned = get_backend(GenerationConfig(**common, adapter=str(adapter_dir)), reuse=False)
    assert type(tuned.model).__name__.startswith("Peft")
    plain_reply, tuned_reply = plain.generate(_request())[0], tuned.generate(_request())[0]
    assert tuned_reply != plain_reply
    # the same adapter applied by hand gives the same reply: the backend loaded exactly it
    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    by_hand = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(tiny_model_dir), str(adapter_dir)).eval()
    assert tuned_reply == _greedy_reply(by_hand, tok, 12)
    # the reply goes through the same post-processing as every backend's
    assert extract_code(tuned_reply) is None or isinstance(extract_code(tuned_reply), str)


def test_extracts_code_from_a_generated_fence(tiny_model_dir: Path) -> None:
    """A model whose reply is a fenced block: bias the tiny model's output layer towards the
    reply's tokens in order (a hand-built 'fine-tune'), then generate and extract."""
    import torch

    cfg = GenerationConfig(backend="transformers", model=str(tiny_model_dir), temperature=0.0,
                           max_new_tokens=len(TARGET), device="cpu")
    backend = get_backend(cfg, reuse=False)
    tok, model = backend.tokenizer, backend.model
    target_ids = tok(TARGET, add_special_tokens=False)["input_ids"]
    prompt_ids = tok(render(tok), add_special_tokens=False)["input_ids"]
    # a bigram table in the output layer: after token t comes next(t); the embedding of the last
    # prompt token and of each reply token is made to point at the token that follows it
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    with torch.no_grad():
        prev = [prompt_ids[-1], *target_ids[:-1]]
        if len(set(prev)) == len(prev):
            for layer in model.model.layers:  # blocks add nothing: each position sees only its token
                layer.self_attn.o_proj.weight.zero_()
                layer.mlp.down_proj.weight.zero_()
            normed = model.model.norm(emb[prev])
            head[target_ids] += 50.0 * normed / normed.norm(dim=-1, keepdim=True)
            reply = backend.generate(_request())[0]
            assert extract_code(reply) == "def f(xs):\n    return min(xs)\n"
        else:
            pytest.fail("tokenizer produced a repeated token in the reply; adjust TARGET")


def render(tok) -> str:  # type: ignore[no-untyped-def]
    from graph.backends.transformers_backend import render_prompt

    return render_prompt(tok, build_messages(CODE, []))


def test_sampling_gives_n_candidates(tiny_model_dir: Path) -> None:
    cfg = GenerationConfig(backend="transformers", model=str(tiny_model_dir), temperature=0.8, top_p=0.9,
                           max_new_tokens=5, n=3, device="cpu")
    backend = get_backend(cfg, reuse=False)
    assert len(backend.generate(_request())) == 3
    assert len(backend.generate(_request(n=2))) == 2


def test_auto_backend_for_a_model_dir(tiny_model_dir: Path) -> None:
    assert resolve_backend_name(GenerationConfig(model=str(tiny_model_dir))) == "transformers"


def test_bad_paths_are_one_line_errors(tmp_path: Path, tiny_model_dir: Path) -> None:
    from graph.backends.hf_loading import load_causal_lm

    with pytest.raises(FasterPyError, match="does not exist"):
        load_causal_lm(str(tmp_path / "missing" / "model"))
    with pytest.raises(FasterPyError, match="config.json"):
        load_causal_lm(str(tmp_path))
    with pytest.raises(FasterPyError, match="adapter_config.json"):
        load_causal_lm(str(tiny_model_dir), adapter=str(tmp_path), device="cpu")


def test_gguf_through_transformers_converts_once(tiny_model_dir: Path, tmp_path: Path,
                                                 write_gguf: Callable[..., Path]) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from graph.backends.hf_loading import converted_dir

    gguf_path = write_gguf(AutoModelForCausalLM.from_pretrained(tiny_model_dir),
                           AutoTokenizer.from_pretrained(tiny_model_dir), "qwen2", tmp_path / "tiny-qwen2.gguf")
    cfg = GenerationConfig(backend="transformers", model=str(gguf_path), temperature=0.0, max_new_tokens=4, device="cpu")
    backend = get_backend(cfg, reuse=False)
    cached = converted_dir(gguf_path)
    assert (cached / "model.safetensors").is_file() and (cached / "tokenizer.json").is_file()
    stamp = (cached / "model.safetensors").stat().st_mtime_ns
    # same weights as the model the GGUF was written from
    ids = backend.tokenizer(render(backend.tokenizer), return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        same = AutoModelForCausalLM.from_pretrained(tiny_model_dir)(ids).logits
        assert torch.allclose(backend.model(ids).logits, same, atol=1e-5)
    assert backend.generate(_request())
    # a second load reads the cached safetensors instead of converting again
    get_backend(cfg, reuse=False)
    assert (cached / "model.safetensors").stat().st_mtime_ns == stamp


def test_unreachable_hub_fails_fast(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import socket

    from graph.backends.hf_loading import load_causal_lm

    with socket.socket() as s:  # a port nothing listens on stands in for an unreachable hub
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    with pytest.raises(FasterPyError, match="hub is unreachable"):
        load_causal_lm("someorg/some-model")


class CountdownEvent:
    """An Event-like flag that turns itself on at its `after`-th look: cancels generation at a known
    token without timing anything."""

    def __init__(self, after: int) -> None:
        self.after, self.looks = after, 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.after

    def wait(self, timeout: float | None = None) -> bool:
        return self.is_set()


def test_cancel_stops_generation_within_a_token(tiny_model_dir: Path) -> None:
    cfg = GenerationConfig(backend="transformers", model=str(tiny_model_dir), temperature=0.0, max_new_tokens=40,
                           device="cpu")
    backend = get_backend(cfg, reuse=False)
    backend.generate(_request())
    full = backend.last_stats.completion_tokens
    assert full > 5  # random weights rarely stop early on their own
    request = _request()
    request.cancel = CountdownEvent(after=3)
    backend.generate(request)
    assert backend.last_stats.completion_tokens <= 3 < full
