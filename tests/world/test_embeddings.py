"""MiniLM vectors depend on the text alone, not on the texts embedded with it (real model)."""

from __future__ import annotations

import numpy as np
import pytest

from lts_core.world.embeddings import DIM, MiniLMEmbedder

TEXTS = ["Read 'Scott Derrickson': American director",
         "search: who directed the 2016 film Doctor Strange",
         "Ed Wood was an American filmmaker known for low-budget films of the 1950s, often named "
         "among the worst directors; his name is attached to bad movies",
         "answer: yes", "", "The Laleli Mosque is a mosque in Istanbul"]


@pytest.fixture(scope="module")
def minilm() -> MiniLMEmbedder:
    e = MiniLMEmbedder(disk_cache=None)
    e.load()
    return e


def test_a_vector_does_not_depend_on_its_batch(minilm):
    alone = [minilm._encode_batch([t])[0] for t in TEXTS]
    together = minilm._encode_batch(TEXTS)
    reordered = minilm._encode_batch(TEXTS[::-1] + ["a much longer text " * 30])[: len(TEXTS)][::-1]
    for i in range(len(TEXTS)):
        assert alone[i].tobytes() == together[i].tobytes() == reordered[i].tobytes(), TEXTS[i]


def test_the_vectors_are_the_models_own_output(minilm):
    """The same pipeline as sentence-transformers' ``encode`` (mean pooling, L2 norm), up to the
    last bits that padding changes."""
    ours = minilm._encode_batch(TEXTS)
    library = minilm.load().encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    assert ours.shape == (len(TEXTS), DIM) and ours.dtype == np.float32
    assert np.allclose(ours, library, atol=1e-6)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
