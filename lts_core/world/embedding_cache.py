"""An on-disk embedding cache shared by runs, benches, training and the dashboard.

One SQLite file per embedding model and version under the cache folder
(``$LTS_CACHE_DIR/embeddings/<model>-<version>.sqlite``), keyed by the SHA-1 of the text; values
are the float32 vectors' bytes, so a hit returns exactly the vector that was stored. Several
processes may share the file (SQLite's WAL locking); a cache that cannot be opened or written
(read-only folder, full disk) is switched off with a warning and the embedder keeps working from
memory.

Thread-safety: not thread-safe on its own; ``Embedder`` calls it under its lock.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)
_CHUNK = 500  # SQLite's parameter limit is far above this; keeps statements small


def text_key(text: str) -> bytes:
    """The cache key of a text: its SHA-1 digest (20 bytes)."""
    return hashlib.sha1(text.encode("utf-8", "surrogatepass")).digest()


class EmbeddingCache:
    def __init__(self, path: Path, dim: int) -> None:
        self.path, self.dim = path, dim
        self.hits = self.misses = 0
        self._con: sqlite3.Connection | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            con = sqlite3.connect(path, timeout=30, check_same_thread=False)
            con.execute("PRAGMA journal_mode=WAL")
            # a cache: losing the last writes on power loss is fine, an fsync per new text is not
            con.execute("PRAGMA synchronous=NORMAL")
            con.execute("CREATE TABLE IF NOT EXISTS emb (k BLOB PRIMARY KEY, v BLOB NOT NULL)")
            con.commit()
            self._con = con
        except (OSError, sqlite3.Error) as e:
            log.warning("embedding cache %s is off: %s", path, e)

    @property
    def enabled(self) -> bool:
        return self._con is not None

    def get_many(self, texts: Sequence[str]) -> dict[str, np.ndarray]:
        """The cached vectors of those ``texts`` that are in the cache."""
        if self._con is None or not texts:
            return {}
        by_key = {text_key(t): t for t in texts}
        keys, out = list(by_key), {}
        try:
            for i in range(0, len(keys), _CHUNK):
                part = keys[i:i + _CHUNK]
                q = f"SELECT k, v FROM emb WHERE k IN ({','.join('?' * len(part))})"
                for k, v in self._con.execute(q, part):
                    vec = np.frombuffer(v, dtype=np.float32)
                    if vec.shape[0] == self.dim:
                        out[by_key[bytes(k)]] = vec.copy()
        except sqlite3.Error as e:
            self._off(e)
            return {}
        self.hits += len(out)
        self.misses += len(texts) - len(out)
        return out

    def put_many(self, items: dict[str, np.ndarray]) -> None:
        if self._con is None or not items:
            return
        rows = [(text_key(t), np.asarray(v, dtype=np.float32).tobytes()) for t, v in items.items()]
        try:
            self._con.executemany("INSERT OR IGNORE INTO emb VALUES (?, ?)", rows)
            self._con.commit()
        except sqlite3.Error as e:
            self._off(e)

    def seed(self, path: Path) -> int:
        """Import the vectors of a shipped seed file (``keys``: SHA-1 digests, ``vecs``: float32
        rows of this cache's width) once per cache file; returns the rows added (0 when already
        seeded, when the file is missing, or when the cache is off). The seed is the same model's
        output for the same texts, so a seeded hit equals what the model would compute."""
        if self._con is None or not path.is_file():
            return 0
        marker = text_key(f"\0seeded:{path.name}")
        try:
            if self._con.execute("SELECT 1 FROM emb WHERE k = ?", [marker]).fetchone():
                return 0
            with np.load(path) as z:
                keys, vecs = z["keys"], z["vecs"].astype(np.float32)
            if vecs.ndim != 2 or vecs.shape[1] != self.dim or len(keys) != len(vecs):
                log.warning("embedding seed %s does not fit this cache; ignored", path)
                return 0
            before = self._con.total_changes
            self._con.executemany("INSERT OR IGNORE INTO emb VALUES (?, ?)",
                                  [(bytes(k), v.tobytes()) for k, v in zip(keys, vecs, strict=True)])
            added = self._con.total_changes - before
            self._con.execute("INSERT OR IGNORE INTO emb VALUES (?, ?)", [marker, b""])
            self._con.commit()
            return added
        except (OSError, ValueError, KeyError, sqlite3.Error) as e:
            log.warning("embedding seed %s not imported: %s", path, e)
            return 0

    def export(self, path: Path) -> int:
        """Write every cached vector to a seed file (``seed`` reads it); returns the rows."""
        rows = [] if self._con is None else [
            (bytes(k), v) for k, v in self._con.execute("SELECT k, v FROM emb")
            if len(v) == self.dim * 4]
        keys = np.array([k for k, _ in rows], dtype="S20")
        vecs = (np.stack([np.frombuffer(v, dtype=np.float32) for _, v in rows]) if rows
                else np.zeros((0, self.dim), np.float32))
        with open(path, "wb") as f:
            np.savez_compressed(f, keys=keys, vecs=vecs)
        return len(rows)

    def _off(self, e: Exception) -> None:
        log.warning("embedding cache %s is off after an error: %s", self.path, e)
        try:
            self._con.close()  # type: ignore[union-attr]
        finally:
            self._con = None
