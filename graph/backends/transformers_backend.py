"""The `transformers` backend: a local model directory, hub id or GGUF file (optionally with a
peft LoRA adapter), prompted through the tokenizer's chat template, sampling n candidates."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from graph.backends.base import GenerationConfig, GenerationRequest, GenerationStats, wanted
from harness.errors import FasterPyError


def render_prompt(tokenizer: Any, messages: list[dict[str, str]]) -> str:
    """The chat template when the tokenizer has one; a plain role-tagged transcript otherwise."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    turns = [f"{m['role'].capitalize()}: {m['content']}" for m in messages]
    return "\n\n".join(turns) + "\n\nAssistant:"


class TransformersBackend:
    name = "transformers"
    options: ClassVar[dict[str, str]] = {
        "model": "model directory, GGUF file or hub id",
        "adapter": "peft LoRA adapter directory applied to the model",
        "device": "cpu, cuda or cuda:N (default cuda when available)",
        "threads": "torch CPU threads (default all cores)",
        "temperature": "sampling temperature; 0 = greedy",
        "top_p": "nucleus sampling mass",
        "max_new_tokens": "most tokens per reply",
        "n": "candidates per round",
        "seed": "sampling seed (candidate i uses seed + i)",
    }

    def __init__(self, config: GenerationConfig, model: Any = None, tokenizer: Any = None) -> None:
        self.config = config
        self.last_stats = GenerationStats()
        if model is None:
            if not config.model:
                raise FasterPyError("the transformers backend needs --model (a model directory, GGUF file or hub id)")
            from graph.backends.hf_loading import load_causal_lm

            if config.threads:
                import torch

                torch.set_num_threads(config.threads)
            model, tokenizer = load_causal_lm(config.model, adapter=config.adapter, device=config.device)
        self.model, self.tokenizer = model, tokenizer

    def generate(self, request: GenerationRequest) -> list[str]:
        import torch

        cfg = self.config
        n = wanted(request, cfg)
        t0 = time.perf_counter()
        text = render_prompt(self.tokenizer, request.messages)
        enc = self.tokenizer(text, return_tensors="pt", add_special_tokens=False)
        device = next(self.model.parameters()).device
        enc = {k: v.to(device) for k, v in enc.items()}
        sample = cfg.temperature > 0
        gen_kwargs: dict[str, Any] = dict(
            max_new_tokens=cfg.max_new_tokens,
            do_sample=sample,
            num_return_sequences=n,
            pad_token_id=self.tokenizer.pad_token_id,
        )
        if sample:
            gen_kwargs.update(temperature=cfg.temperature, top_p=cfg.top_p)
        elif n > 1:
            # greedy decoding gives n identical replies; beam search gives n distinct ones
            gen_kwargs.update(num_beams=n)
        if request.cancel is not None:
            gen_kwargs["stopping_criteria"] = _stop_on(request.cancel)
        torch.manual_seed(cfg.seed)
        with torch.inference_mode():
            out = self.model.generate(**enc, **gen_kwargs)
        prompt_len = enc["input_ids"].shape[1]
        new_tokens = out[:, prompt_len:]
        replies = [self.tokenizer.decode(row, skip_special_tokens=True) for row in new_tokens]
        eos = self.tokenizer.eos_token_id
        produced = int(sum(int((row != eos).sum()) if eos is not None else row.numel() for row in new_tokens))
        dt = time.perf_counter() - t0
        # all n sequences come out of one batched call, so the first is ready when all are
        self.last_stats = GenerationStats(
            candidates=len(replies), completion_tokens=produced, prompt_tokens=prompt_len * 1,
            seconds=dt, first_candidate_s=dt,
        )
        return replies


def _stop_on(event: Any) -> Any:
    """A stopping criterion that ends every sequence once `event` is set (checked after each token)."""
    import torch
    from transformers import StoppingCriteria, StoppingCriteriaList

    class _Cancelled(StoppingCriteria):
        def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
            return torch.full((input_ids.shape[0],), event.is_set(), dtype=torch.bool, device=input_ids.device)

    return StoppingCriteriaList([_Cancelled()])
