"""Turn chat examples into token ids and labels where only the assistant's answer counts for the loss."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.errors import FasterPyError

IGNORE_INDEX = -100  # what torch's cross-entropy skips


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)


def render(tokenizer: Any, messages: Sequence[dict[str, str]]) -> tuple[str, str]:
    """(prompt, full) rendered with the tokenizer's own chat template: `prompt` is everything up to
    and including the assistant header, `full` adds the answer and its end-of-turn marker."""
    if not getattr(tokenizer, "chat_template", None):
        raise FasterPyError("the tokenizer has no chat template — use an instruct model whose tokenizer defines one")
    prompt = tokenizer.apply_chat_template(list(messages[:-1]), tokenize=False, add_generation_prompt=True)
    full = tokenizer.apply_chat_template(list(messages), tokenize=False)
    if not full.startswith(prompt):
        # Some templates rewrite earlier turns once an answer follows; masking by a prefix would be wrong.
        raise FasterPyError("the chat template renders the prompt differently once the answer is added — "
                            "use a model whose template appends the assistant turn")
    return prompt, full


def encode_example(tokenizer: Any, messages: Sequence[dict[str, str]], max_len: int | None = None) -> Encoded:
    """Token ids of the whole conversation; labels copy them on the answer, IGNORE_INDEX elsewhere.

    The boundary comes from character offsets, not from tokenizing the prompt alone, so a merge
    across the boundary cannot shift the mask by a token."""
    if not messages or messages[-1].get("role") != "assistant":
        raise FasterPyError("an example has no assistant turn at the end — the target must be the last message")
    prompt, full = render(tokenizer, messages)
    enc = tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
    ids: list[int] = list(enc["input_ids"])
    offsets = enc["offset_mapping"]
    cut = len(prompt)
    labels = [tok if start >= cut else IGNORE_INDEX for tok, (start, _end) in zip(ids, offsets)]
    if all(lab == IGNORE_INDEX for lab in labels):
        raise FasterPyError("an example's assistant turn has no tokens — check the data's last message")
    if max_len is not None and len(ids) > max_len:
        raise SequenceTooLong(len(ids), max_len)
    return Encoded(ids, labels)


class SequenceTooLong(FasterPyError):
    def __init__(self, length: int, limit: int) -> None:
        super().__init__(f"an example is {length} tokens, longer than --max-len {limit} — "
                         "raise --max-len, pass --drop-long, or rebuild the data with shorter programs")
        self.length = length
        self.limit = limit


def collate(batch: Sequence[Encoded], pad_id: int) -> dict[str, Any]:
    """Right-pad a batch; padding is masked out of attention and loss."""
    import torch

    width = max(len(e) for e in batch)
    ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
    labels = torch.full((len(batch), width), IGNORE_INDEX, dtype=torch.long)
    attn = torch.zeros((len(batch), width), dtype=torch.long)
    for row, e in enumerate(batch):
        n = len(e)
        ids[row, :n] = torch.tensor(e.input_ids)
        labels[row, :n] = torch.tensor(e.labels)
        attn[row, :n] = 1
    return {"input_ids": ids, "labels": labels, "attention_mask": attn}
