"""A tiny random Qwen2 model and a byte-level BPE tokenizer with a Qwen-style chat template, built
in well under a second, so the real transformers + peft path runs in CI on CPU."""

from __future__ import annotations

from pathlib import Path

import pytest

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CORPUS = [
    "def add(a, b):\n    return a + b\n",
    "for i in range(n):\n    total += i\n",
    "print(sum(map(int, input().split())))\n",
    "import sys\ninput = sys.stdin.readline\n",
    "You are an AI programming assistant. Optimize the Input code. Suggestions: Applicability Rate",
    "```python\nx = [i * i for i in range(10)]\n```",
    "Input code:\n```\nn = int(input())\n```\nSuggestions:\nOutput:",
] * 20


def build_tiny_model(root: Path, seed: int = 0) -> Path:
    """Write a tokenizer + random Qwen2ForCausalLM to `root` (a normal transformers model dir)."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, Qwen2Config, Qwen2ForCausalLM

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        CORPUS,
        trainers.BpeTrainer(vocab_size=400, special_tokens=specials,
                            initial_alphabet=pre_tokenizers.ByteLevel.alphabet()),
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|endoftext|>",
                                   additional_special_tokens=["<|im_start|>"])
    fast.chat_template = CHAT_TEMPLATE
    root.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(root)

    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=len(fast), hidden_size=32, intermediate_size=64, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
        tie_word_embeddings=False, eos_token_id=fast.eos_token_id, pad_token_id=fast.pad_token_id,
        bos_token_id=None,
        # Wider than the default 0.02 so the untied lm_head can express confident logits and a few
        # LoRA steps visibly fit the overfit set.
        initializer_range=0.3,
    )
    model = Qwen2ForCausalLM(config)
    model.generation_config.eos_token_id = fast.eos_token_id
    model.generation_config.pad_token_id = fast.pad_token_id
    model.save_pretrained(root)
    return root


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2") / "model")


@pytest.fixture()
def tiny_lm(tiny_model_dir: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return AutoModelForCausalLM.from_pretrained(tiny_model_dir), AutoTokenizer.from_pretrained(tiny_model_dir)


def chat_example(code: str, target: str, summary: str = "1. Read input once;") -> dict:
    from graph.prompt import SYSTEM_PROMPT

    user = f"Input code:\n```\n{code}\n```\nSuggestions:\nApplicability: 0.8000; Rate: 2.00; {summary}\nOutput:"
    return {"messages": [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": user},
        {"role": "assistant", "content": f"```python\n{target}\n```"},
    ], "problem_id": "p0"}


@pytest.fixture()
def overfit_data(tmp_path: Path) -> Path:
    """Four short examples, written as the JSONL the trainer reads."""
    import json

    rows = [
        chat_example("n = int(input())\nprint(n)", "print(input())"),
        chat_example("x = []\nfor i in range(10):\n    x.append(i)", "x = list(range(10))"),
        chat_example("s = 0\nfor i in range(n):\n    s += i", "s = n * (n - 1) // 2"),
        chat_example("a = input().split()", "import sys\na = sys.stdin.readline().split()"),
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def make_example():
    return chat_example
