"""The vector index: hnswlib with inner-product space, persisted to one file.

Vectors are L2-normalised, so similarity = inner product = 1 − hnswlib distance."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.errors import FasterPyError
from harness.files import replacing


@dataclass
class IndexParams:
    M: int = 16
    ef_construction: int = 200
    ef: int = 64

    def to_dict(self) -> dict[str, int]:
        return {"M": self.M, "ef_construction": self.ef_construction, "ef": self.ef}


class VectorIndex:
    """Thin layer over hnswlib.Index that grows on add and saves atomically."""

    def __init__(self, dim: int, params: IndexParams | None = None, capacity: int = 1024,
                 threads: int = 1) -> None:
        import hnswlib

        self.dim = dim
        self.params = params or IndexParams()
        self._index = hnswlib.Index(space="ip", dim=dim)
        self._index.init_index(max_elements=max(capacity, 16), ef_construction=self.params.ef_construction,
                               M=self.params.M, allow_replace_deleted=False)
        self._index.set_ef(self.params.ef)
        self._index.set_num_threads(threads)

    @classmethod
    def load(cls, path: Path, dim: int, params: IndexParams | None = None) -> VectorIndex:
        import hnswlib

        self = cls.__new__(cls)
        self.dim = dim
        self.params = params or IndexParams()
        self._index = hnswlib.Index(space="ip", dim=dim)
        try:
            self._index.load_index(str(path))
        except (RuntimeError, ValueError, OSError) as exc:
            raise FasterPyError(
                f"the vector index {path} is damaged ({exc}) — rebuild it with `fasterpy kb reindex --kb {path.parent}`"
            ) from exc
        self._index.set_ef(self.params.ef)
        self._index.set_num_threads(1)
        return self

    def __len__(self) -> int:
        return int(self._index.get_current_count())

    def labels(self) -> set[int]:
        return set(int(x) for x in self._index.get_ids_list())

    def add(self, vectors: np.ndarray, ids: Sequence[int]) -> None:
        if len(ids) == 0:
            return
        vectors = np.asarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise FasterPyError(f"vectors have shape {vectors.shape}, the index expects (n, {self.dim})")
        need = len(self) + len(ids)
        cap = self._index.get_max_elements()
        if need > cap:
            self._index.resize_index(max(need, cap * 2))
        self._index.add_items(vectors, np.asarray(ids, dtype=np.int64))

    def query(self, vector: np.ndarray, k: int,
              allow: Callable[[int], bool] | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(labels, similarities) of the k nearest, best first; fewer when the index is small."""
        n = len(self)
        if n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, n)
        self._index.set_ef(max(self.params.ef, k))
        vec = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        try:
            labels, dists = self._index.knn_query(vec, k=k, filter=allow)
        except RuntimeError:
            # hnswlib raises when the filter leaves fewer than k items: retry smaller.
            labels, dists = self._knn_shrinking(vec, k, allow)
        return labels[0].astype(np.int64), (1.0 - dists[0]).astype(np.float32)

    def _knn_shrinking(self, vec: np.ndarray, k: int, allow: Callable[[int], bool] | None):
        while k > 1:
            k = max(1, k // 2)
            try:
                return self._index.knn_query(vec, k=k, filter=allow)
            except RuntimeError:
                continue
        return np.zeros((1, 0), dtype=np.int64), np.zeros((1, 0), dtype=np.float32)

    def get_vectors(self, ids: Sequence[int]) -> np.ndarray:
        return np.asarray(self._index.get_items(list(ids)), dtype=np.float32)

    def save(self, path: Path) -> None:
        """Write atomically: a crash mid-save leaves the previous index intact."""
        with replacing(path) as tmp:
            self._index.save_index(str(tmp))

    @property
    def raw(self) -> Any:
        return self._index
