"""The on-disk embedding cache: a hit returns the identical vector, across embedder instances."""

from __future__ import annotations

import numpy as np

from lts_core.world.embedding_cache import EmbeddingCache
from lts_core.world.embeddings import DIM, HashEmbedder


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


def test_a_seed_file_is_imported_once_and_gives_identical_vectors(tmp_path):
    src = EmbeddingCache(tmp_path / "src.sqlite", DIM)
    texts = ["Read 'Marrow River': a river", "Searched 'bridge'", "plan the hops"]
    vecs = HashEmbedder().encode(texts)
    src.put_many(dict(zip(texts, vecs, strict=True)))
    assert src.export(tmp_path / "seed.npz") == 3
    fresh = EmbeddingCache(tmp_path / "fresh.sqlite", DIM)
    assert fresh.seed(tmp_path / "seed.npz") == 3
    got = fresh.get_many(texts)
    assert all(np.array_equal(got[t], v) for t, v in zip(texts, vecs, strict=True))
    assert fresh.seed(tmp_path / "seed.npz") == 0  # once per cache file
    assert fresh.seed(tmp_path / "missing.npz") == 0


def test_the_shipped_demo_seed_fits_the_model():
    from lts_core.world.embeddings import demo_seed

    with np.load(demo_seed("minilm")) as z:
        keys, vecs = z["keys"], z["vecs"]
    assert len(keys) == len(vecs) > 50 and vecs.shape[1] == DIM
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-4)  # normalised model output
