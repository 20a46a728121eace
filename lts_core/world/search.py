"""BM25 search over a local corpus with DuckDB's full-text extension (offline).

``SearchIndex(docs)`` loads paragraphs into an in-memory DuckDB table and builds an FTS index over
title and text. ``search(query, scope)`` ranks with ``match_bm25`` and keeps the documents of
``scope`` (a task's own paragraphs) plus the shared pool; a query equal to a paragraph's title
(case-insensitive) ranks that paragraph first. Results are cached per (scope, query):
the index is immutable, so a cached answer is exactly what a fresh query would return.

The fts extension ships as the ``duckdb-extension-fts`` package (``INSTALL fts`` needs the
internet); ``load_fts`` loads it from site-packages.

Thread-safety: ``search`` and ``get`` may be called from any thread (one lock around the connection;
queries take a few milliseconds).
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass

import duckdb
import pandas as pd

from lts_core.world.tasks import Doc, Suite


def _extension_path(package: str, name: str) -> str:
    mod = __import__(package)
    hits = glob.glob(os.path.join(os.path.dirname(mod.__file__), "**", f"{name}.duckdb_extension"),
                     recursive=True)
    if not hits:
        raise RuntimeError(f"the {name} extension file is missing from the {package} package")
    return hits[0]


def load_fts(con: duckdb.DuckDBPyConnection) -> None:
    """Load the fts extension from the ``duckdb-extension-fts`` package."""
    con.execute(f"LOAD '{_extension_path('duckdb_extension_fts', 'fts')}'")


@dataclass(frozen=True)
class Hit:
    doc_id: str
    title: str
    snippet: str
    score: float


class SearchIndex:
    def __init__(self, docs: Iterable[Doc], pool_ids: Iterable[str] = ()) -> None:
        pool = set(pool_ids)
        rows: dict[str, tuple[str, str, str, bool]] = {}
        for d in docs:
            rows.setdefault(d.doc_id, (d.doc_id, d.title, d.text, d.doc_id in pool))
        self._docs = {r[0]: Doc(r[0], r[1], r[2]) for r in rows.values()}
        self._by_title: dict[str, str] = {}
        for r in rows.values():
            self._by_title.setdefault(r[1].lower(), r[0])
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, int], list[Hit]] = {}
        self._scopes: dict[str, list[str]] = {}
        self._con = duckdb.connect()
        load_fts(self._con)
        df = pd.DataFrame(list(rows.values()), columns=["doc_id", "title", "text", "pool"])  # noqa: F841
        self._con.execute("CREATE TABLE docs AS SELECT * FROM df")
        self._con.execute(
            "PRAGMA create_fts_index('docs', 'doc_id', 'title', 'text', overwrite=1)"
        )

    @classmethod
    def for_suite(cls, suite: Suite, *, use_pool: bool = True) -> SearchIndex:
        docs = [d for t in suite.tasks for d in t.docs]
        pool = suite.pool if use_pool else []
        return cls([*docs, *pool], pool_ids=[d.doc_id for d in pool])

    def __len__(self) -> int:
        return len(self._docs)

    def set_threads(self, n: int) -> None:
        """Query on ``n`` DuckDB threads (default: one per core). A Ray worker is one CPU: one
        thread there keeps N workers on N cores from fighting (docs/scale.md)."""
        with self._lock:
            self._con.execute(f"SET threads = {int(n)}")

    def set_scope(self, scope: str, doc_ids: Iterable[str]) -> None:
        """Name the set of paragraphs (besides the pool) that queries in ``scope`` may return."""
        with self._lock:
            self._scopes[scope] = list(doc_ids)

    def search(self, query: str, scope: str, k: int = 5) -> list[Hit]:
        """Top-``k`` paragraphs by BM25 among ``scope``'s paragraphs and the pool."""
        key = (scope, query, k)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
            ids = self._scopes.get(scope, [])
            # A query that is exactly a paragraph's title finds that page first, as a web search
            # would: BM25 alone misses titles made of stop words ("You're Next" matches nothing)
            # and can bury a short title under long paragraphs that repeat its words.
            rows = self._con.execute(
                """
                SELECT doc_id, title, text, coalesce(score, 0.0) FROM (
                    SELECT *, fts_main_docs.match_bm25(doc_id, ?) AS score,
                           lower(title) IN (?, ?) AS exact FROM docs
                    WHERE pool OR list_contains(?, doc_id)
                ) WHERE score IS NOT NULL OR exact
                ORDER BY exact DESC, score DESC NULLS LAST, doc_id LIMIT ?
                """,
                [query, query.strip().lower(), query.strip().strip("'\"").lower(), ids, k],
            ).fetchall()
            hits = [Hit(r[0], r[1], _snippet(r[2]), float(r[3])) for r in rows]
            self._cache[key] = hits
            return hits

    def get(self, title_or_id: str) -> Doc | None:
        """The paragraph with this doc_id, or with this title (case-insensitive)."""
        d = self._docs.get(title_or_id)
        if d is not None:
            return d
        did = self._by_title.get(title_or_id.strip().strip("'\"").lower())
        return self._docs.get(did) if did else None


def _snippet(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 1].rsplit(" ", 1)[0] + "…"
