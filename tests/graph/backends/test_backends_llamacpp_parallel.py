"""Parallel decoding in the llamacpp backend with the packaged smoke model: n distinct candidates,
the shared prompt prefix evaluated once (counted in last_stats), cancel within a token."""

from __future__ import annotations

import pytest

from graph.backends.base import GenerationConfig, GenerationRequest
from graph.backends.llamacpp_backend import repeated, spread_temperature
from graph.backends.llamacpp_parallel import SEED_STRIDE, SequenceSpec, redraw, sequence_specs
from graph.backends.registry import get_backend
from graph.prompt import build_messages

CODE = "def f(xs):\n    return sorted(xs)[0]\n"


@pytest.fixture(scope="module")
def backend():  # type: ignore[no-untyped-def]
    cfg = GenerationConfig(model="smollm2-135m", temperature=0.0, max_new_tokens=12, threads=2, context_tokens=1024)
    return get_backend(cfg, reuse=False)


def test_temperatures_spread_and_repeats_are_found() -> None:
    assert [spread_temperature(0.2, i) for i in range(3)] == [0.2, 0.45, 0.7]
    assert spread_temperature(0.0, 0) == 0.0 and spread_temperature(1.0, 9) == 1.2
    assert repeated(["a", " a\n", "b", None, "b"]) == [1, 4]


def test_request_temperatures_are_taken_as_given_and_seeds_follow_the_variant() -> None:
    pinned = sequence_specs(3, temperature=0.2, seed=7, temperatures=[0.0, 1.2], variant=2, spread=spread_temperature)
    assert pinned == [SequenceSpec(0.0, 7 + 2 * SEED_STRIDE), SequenceSpec(1.2, 8 + 2 * SEED_STRIDE),
                      SequenceSpec(spread_temperature(0.2, 2), 9 + 2 * SEED_STRIDE)]  # the third: the backend's spread
    assert [s.temperature for s in sequence_specs(2, temperature=0.3, seed=0)] == [0.3, 0.3]  # no spread: as configured
    assert redraw(SequenceSpec(0.0, 1), pinned=True, seed=5, step=0.25, most=1.2) is None  # greedy again = same text
    assert redraw(SequenceSpec(0.7, 1), pinned=True, seed=5, step=0.25, most=1.2) == SequenceSpec(0.7, 5)
    assert redraw(SequenceSpec(0.0, 1), pinned=False, seed=5, step=0.25, most=1.2) == SequenceSpec(0.45, 5)


def _pinned(backend, temperatures: list[float]) -> list[str]:  # type: ignore[no-untyped-def]
    msgs = build_messages(CODE, [])
    return backend.generate(GenerationRequest(messages=msgs, n=len(temperatures), temperatures=temperatures))


@pytest.mark.parametrize("parallel", [True, False], ids=["parallel", "sequential"])
def test_each_sequence_samples_at_its_own_temperature(backend, parallel: bool) -> None:  # type: ignore[no-untyped-def]
    backend.parallel = parallel
    try:
        # config: temperature 0. This call also warms the sequential path's prompt cache: llama-cpp-python
        # evaluates a cold prompt in one batch but a cached one's last token alone, and the two round apart
        greedy = backend.generate(GenerationRequest(messages=build_messages(CODE, []), n=1))[0]
        if not parallel:
            greedy = backend.generate(GenerationRequest(messages=build_messages(CODE, []), n=1))[0]
        both_greedy = _pinned(backend, [0.0, 0.0])
        # pinned at 0 both are greedy: the same text, not re-drawn hotter (the backend's own spread
        # would make the second one 0.25 and re-draw repeats)
        assert both_greedy == [greedy, greedy] and greedy.strip()
        mixed = _pinned(backend, [0.0, 1.2])
        assert len(mixed) == 2 and mixed[0] == greedy and mixed[1].strip() != greedy.strip()
        assert _pinned(backend, [0.0, 1.2]) == mixed  # fixed seeds: the hot sample is the same each time
    finally:
        backend.parallel = True
    if parallel:
        assert backend.last_stats.extra["parallel"] and backend.last_stats.prompt_tokens_evaluated == 2


def test_parallel_decoding_returns_n_distinct_valid_texts(backend) -> None:  # type: ignore[no-untyped-def]
    replies = backend.generate(GenerationRequest(messages=build_messages(CODE, []), n=4))
    assert len(replies) == 4 and len({r.strip() for r in replies}) == 4
    assert all(isinstance(r, str) and r.strip() and "\ufffd" not in r for r in replies)
    stats = backend.last_stats
    assert stats.candidates == 4 and stats.extra["parallel"] and 0 < stats.completion_tokens <= 4 * 12
    assert stats.extra["tokens_decoded"] >= stats.completion_tokens  # re-drawn duplicates included


def test_prefix_is_evaluated_once_across_candidates_and_attempts(backend) -> None:  # type: ignore[no-untyped-def]
    backend.generate(GenerationRequest(messages=build_messages("def g(n):\n    return [i for i in range(n)]\n", []), n=1))
    msgs = build_messages(CODE, [])
    backend.generate(GenerationRequest(messages=msgs, n=3))
    first = backend.last_stats
    # only the system prompt is shared with the previous target; the rest of the prefix once, for all
    # three candidates, and the prompt's last token once per candidate
    assert first.prompt_tokens > 100 and first.prompt_tokens_evaluated < first.prompt_tokens + 3
    backend.generate(GenerationRequest(messages=msgs, n=3))
    assert backend.last_stats.prompt_tokens_evaluated == 3  # the same attempt again: nothing but the last tokens
    with_feedback = build_messages(CODE, [], feedback=["f([3, 1]) returned 3, expected 1"])
    backend.generate(GenerationRequest(messages=with_feedback, n=2))
    later = backend.last_stats
    new_tokens = later.prompt_tokens - first.prompt_tokens  # the feedback, give or take the template's tail
    assert new_tokens > 0 and later.prompt_tokens_evaluated <= new_tokens + 10


class CountdownEvent:  # turns itself on at its `after`-th look: once before decoding, then before each step
    def __init__(self, after: int) -> None:
        self.after, self.looks = after, 0

    def is_set(self) -> bool:
        self.looks += 1
        return self.looks >= self.after


def test_cancel_stops_every_sequence_within_a_token(backend) -> None:  # type: ignore[no-untyped-def]
    msgs = build_messages(CODE, [])
    replies = backend.generate(GenerationRequest(messages=msgs, n=3, cancel=CountdownEvent(after=4)))
    assert len(replies) <= 3 and backend.last_stats.completion_tokens <= 3 * 3  # two steps, one token each
    assert backend.generate(GenerationRequest(messages=msgs, n=3, cancel=CountdownEvent(after=1))) == []
    assert backend.last_stats.completion_tokens == 0
