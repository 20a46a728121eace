"""The on-disk embedding cache: a hit returns the identical vector, across embedder instances."""

from __future__ import annotations

import numpy as np

from lts_core.embedding_cache import EmbeddingCache
from lts_core.embeddings import DIM, HashEmbedder


class Counting(HashEmbedder):
    def __init__(self, cache):
        super().__init__(cache)
        self.embedded: list[str] = []

    def _encode_batch(self, texts):
        self.embedded.extend(texts)
        return super()._encode_batch(texts)


def test_a_cache_hit_returns_the_identical_vector_without_embedding(tmp_path):
    path = tmp_path / "emb" / "hash.sqlite"
    first = Counting(EmbeddingCache(path, DIM))
    v = first.encode(["the river", "a bridge"])
    assert first.embedded == ["the river", "a bridge"]
    second = Counting(EmbeddingCache(path, DIM))  # a new process would see the same file
    w = second.encode(["a bridge", "the river", "new text"])
    assert second.embedded == ["new text"]
    assert w[0].tobytes() == v[1].tobytes() and w[1].tobytes() == v[0].tobytes()
    assert second.disk.hits == 2 and second.disk.misses == 1


def test_an_unusable_cache_folder_is_switched_off_not_fatal(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cache = EmbeddingCache(blocker / "hash.sqlite", DIM)
    assert not cache.enabled
    e = HashEmbedder(cache)
    assert e.encode(["x"]).shape == (1, DIM) and np.isfinite(e.encode(["x"])).all()
