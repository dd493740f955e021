"""Embedders: the lexical feature embedder, the UniXcoder-style encoder path on a tiny locally built
RoBERTa model (mean pooling, Eq. 1), and the packaged MiniLM model."""

from __future__ import annotations

import numpy as np
import pytest

from harness.errors import FasterPyError
from kb.embedders import LexicalEmbedder, TransformerMeanEmbedder, embedder_names, get_embedder

SLOW = "n = int(input())\na = list(map(int, input().split()))\nprint(sum(a[i] for i in range(n)))\n"
SIMILAR = "m = int(input())\nb = list(map(int, input().split()))\nprint(sum(b[j] for j in range(m)))\n"
OTHER = "class Tree:\n    def __init__(self):\n        self.kids = {}\n    def add(self, k, v):\n        self.kids[k] = v\n"


def _check_rows(v: np.ndarray, n: int, d: int) -> None:
    assert v.dtype == np.float32 and v.shape == (n, d)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)


def test_lexical_embedder_properties():
    emb = get_embedder("lexical")
    assert emb.name == "lexical" and emb.dim == 1024
    v = emb.embed([SLOW, SIMILAR, OTHER, "def broken(:\n  pass"])
    _check_rows(v, 4, 1024)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2
    np.testing.assert_array_equal(v, LexicalEmbedder().embed([SLOW, SIMILAR, OTHER, "def broken(:\n  pass"]))
    assert emb.embed([]).shape == (0, 1024)
    assert get_embedder("lexical-256").dim == 256


def test_unknown_embedder_is_a_clear_error():
    with pytest.raises(FasterPyError, match="unknown embedder 'nope'"):
        get_embedder("nope")


ONES = """
import numpy as np


class Ones:
    def __init__(self, dim):
        self.dim, self.name = dim, f"ones-{dim}"

    def embed(self, codes):
        return np.full((len(codes), self.dim), self.dim ** -0.5, dtype=np.float32)


def make(arg):
    return Ones(int(arg or 2))
"""


def test_a_third_party_embedder_is_found_through_its_entry_point(plugin_dist):
    plugin_dist({"fasterpy.embedders": {"ones": "fasterpy_ones_embedder:make"}}, {"fasterpy_ones_embedder": ONES})
    assert "ones" in embedder_names()
    _check_rows(get_embedder("ones").embed([SLOW]), 1, 2)
    assert get_embedder("ones:3").dim == 3
    emb = get_embedder("ones-5")  # the form an embedder may name itself with (as lexical-256 does)
    assert emb.name == "ones-5" and emb.dim == 5


def test_bad_embedder_arguments_are_clear_errors():
    with pytest.raises(FasterPyError, match="bad lexical embedder size 'x'"):
        get_embedder("lexical-x")
    with pytest.raises(FasterPyError, match="transformer embedder needs a model"):
        get_embedder("transformer")


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory):
    """A random 2-layer RoBERTa with a word-level tokenizer trained here — no hub access."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast, RobertaConfig, RobertaModel

    out = tmp_path_factory.mktemp("tiny-roberta")
    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    trainer = trainers.WordLevelTrainer(special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    tok.train_from_iterator([SLOW, SIMILAR, OTHER] * 3, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>")
    fast.save_pretrained(out)
    cfg = RobertaConfig(vocab_size=fast.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=140, pad_token_id=fast.pad_token_id)
    import torch

    torch.manual_seed(0)
    RobertaModel(cfg).save_pretrained(out)
    return out


def test_transformer_mean_pooling_matches_eq1(tiny_roberta):
    import torch
    from transformers import AutoModel, AutoTokenizer

    emb = TransformerMeanEmbedder(tiny_roberta, name="unixcoder", max_length=128, batch_size=2)
    assert emb.dim == 32
    v = emb.embed([SLOW, OTHER, SIMILAR])
    _check_rows(v, 3, 32)
    # Eq. 1 by hand for one input, no padding: mean of the last hidden states, L2-normalised
    tok = AutoTokenizer.from_pretrained(tiny_roberta)
    model = AutoModel.from_pretrained(tiny_roberta).eval()
    with torch.inference_mode():
        h = model(**tok([OTHER], return_tensors="pt")).last_hidden_state[0]
    ref = h.mean(0).numpy()
    ref /= np.linalg.norm(ref)
    np.testing.assert_allclose(v[1], ref, atol=1e-5)
    # padding inside a batch does not change a row (the mask excludes pad positions)
    np.testing.assert_allclose(emb.embed([OTHER])[0], v[1], atol=1e-5)


def test_unixcoder_by_local_path(tiny_roberta):
    emb = get_embedder(f"unixcoder:{tiny_roberta}")
    _check_rows(emb.embed([SLOW]), 1, 32)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    emb = TransformerMeanEmbedder(tmp_path / "absent", name="unixcoder")
    with pytest.raises(FasterPyError, match="cannot load embedding model"):
        emb.embed([SLOW])


def test_minilm_from_the_pypi_package():
    emb = get_embedder("minilm")
    v = emb.embed([SLOW, SIMILAR, OTHER])
    _check_rows(v, 3, 384)
    assert v[0] @ v[1] > v[0] @ v[2]
