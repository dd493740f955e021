"""The label mask covers exactly the assistant's answer (and its end-of-turn marker)."""

from __future__ import annotations

import pytest

from finetune.masking import IGNORE_INDEX, collate, encode_example, render
from harness.errors import FasterPyError


def test_labels_are_exactly_the_assistant_tokens(tiny_lm, make_example):
    _, tok = tiny_lm
    messages = make_example("s = 0\nfor i in range(n):\n    s += i", "s = n * (n - 1) // 2")["messages"]
    enc = encode_example(tok, messages)
    prompt, full = render(tok, messages)
    assert full.startswith(prompt) and prompt.endswith("<|im_start|>assistant\n")

    answer_ids = [t for t, lab in zip(enc.input_ids, enc.labels) if lab != IGNORE_INDEX]
    masked_ids = [t for t, lab in zip(enc.input_ids, enc.labels) if lab == IGNORE_INDEX]
    # Labelled tokens are the answer text + end of turn, nothing of the system/user turns.
    assert tok.decode(answer_ids) == full[len(prompt):]
    assert tok.decode(answer_ids).startswith("```python\ns = n * (n - 1) // 2\n```<|im_end|>")
    assert tok.decode(masked_ids) == prompt
    # The labelled tokens are one contiguous suffix, and labels equal the ids where they count.
    first = next(i for i, lab in enumerate(enc.labels) if lab != IGNORE_INDEX)
    assert all(lab == IGNORE_INDEX for lab in enc.labels[:first])
    assert enc.labels[first:] == enc.input_ids[first:]


def test_collate_pads_with_ignored_labels(tiny_lm, make_example):
    _, tok = tiny_lm
    a = encode_example(tok, make_example("x = 1", "x = 1")["messages"])
    b = encode_example(tok, make_example("x = [i for i in range(100)]\nprint(x)", "print(list(range(100)))")["messages"])
    batch = collate([a, b], tok.pad_token_id)
    assert batch["input_ids"].shape == (2, max(len(a), len(b)))
    short = 0 if len(a) < len(b) else 1
    n = min(len(a), len(b))
    assert batch["attention_mask"][short, n:].sum() == 0
    assert (batch["labels"][short, n:] == IGNORE_INDEX).all()
    assert batch["attention_mask"][short, :n].all()


def test_no_assistant_turn_and_too_long_are_user_errors(tiny_lm, make_example):
    _, tok = tiny_lm
    messages = make_example("x = 1", "x = 1")["messages"]
    with pytest.raises(FasterPyError, match="no assistant turn"):
        encode_example(tok, messages[:-1])
    with pytest.raises(FasterPyError, match="longer than --max-len 16"):
        encode_example(tok, messages, max_len=16)
