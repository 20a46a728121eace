"""The DuckDB record: one file, one writer thread, readers on their own cursors.

Contract
- ``Store(path)`` opens (or creates) the file, creates missing tables and columns, and marks runs left
  ``running`` by a dead process as ``interrupted`` (only one process can hold the file read-write, so
  any ``running`` row at open time belongs to a process that is gone).
- Writes go through ``store.write(record)`` / ``store.update(record)``. The row is built on the
  caller's thread at that moment (the caller may change the record afterwards). A value that is not
  a record, or a field its column cannot hold, raises TypeError there and never reaches the writer.
  Rows are queued and flushed by one background thread in batches (every ``flush_interval`` seconds
  or ``batch_size`` rows), each batch in one transaction. DuckDB's WAL makes a committed batch
  survive a crash or ``kill -9``. If a batch still fails (a full disk), its rows are retried one
  by one so that only the failing ones are lost, and the store turns ``FAILED``: the next call
  raises ``StoreError`` with the cause.
- ``store.flush()`` blocks until everything queued so far is committed.
- ``store.query(sql, params)`` runs a read on a fresh cursor (safe from any thread) and returns a
  pandas DataFrame.
- Secrets never reach the file: the columns that can quote a config or an error (``SCRUBBED``:
  ``config_json``, ``extra_json``, ``error``, ``error_detail``) are masked with
  ``lts_core.secrets`` as they are written, whatever the caller already did.
- A file written before a column existed opens fine: missing columns are added (NULL in old rows);
  read-only opens skip that, so readers select ``*`` or columns they know an old file has.

Thread-safety: every public method may be called from any thread.
Size: a little over 300 lines: the writer, its salvage of a failed batch and the diagnosis of a
file that will not open are one contract, read together.
"""

from __future__ import annotations

import enum
import os
import queue
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from lts_core.record.records import KEYS, TABLE_OF, TABLES
from lts_core.record.schema import as_row, check_row, column_types, field_names, schema_sql
from lts_core.secrets import redact_json_text, redact_text

# Columns scrubbed of secrets on every write: JSON configs, and free text quoting errors.
SCRUBBED = {"config_json": redact_json_text, "extra_json": redact_json_text,
            "error": redact_text, "error_detail": redact_text}


class StoreError(RuntimeError):
    """The database could not be opened or written; the message says why and what to do."""


_STOP = object()


class StoreState(enum.Enum):
    """Where a store is in its life: writes are accepted only while ``OPEN``."""

    OPEN = "open"  # read-write, the writer thread running
    READ_ONLY = "read-only"
    FAILED = "failed"  # a batch could not be committed; the next caller gets the error
    CLOSED = "closed"


def _open_problem(path: Path, e: Exception) -> str:
    """What is wrong with a database file DuckDB would not open, and what to do about it."""
    msg, head, other = str(e), f"cannot open the database {path}:", "pass another file with --db / LTS_DB"
    if path.is_dir():
        return f"{head} it is a folder, not a database file; {other}"
    if "not a valid DuckDB database" in msg:
        return f"{head} the file is not a DuckDB database; {other}"
    if "does not exist" in msg:
        return f"{head} no such file; {other}"
    if "lock" in msg.lower():
        return (f"{head} it is in use. Another process (the dashboard, or another `lts` command) "
                f"holds it; stop it or {other}")
    if "Permission denied" in msg or "not permitted" in msg or "Read-only file system" in msg:
        return (f"{head} the system refused access ({msg.rsplit(': ', 1)[-1]}); check the file's "
                f"permissions (`ls -l`) and attributes (`lsattr`: an immutable file needs "
                f"`chattr -i`), or {other}")
    return f"{head} {msg}; {other}"


class Store:
    def __init__(self, path: str | os.PathLike[str], *, flush_interval: float = 0.2,
                 batch_size: int = 2000, read_only: bool = False) -> None:
        self.path = Path(path).expanduser()
        self.state = StoreState.READ_ONLY if read_only else StoreState.OPEN
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._con = duckdb.connect(str(self.path), read_only=read_only)
        except duckdb.Error as e:
            raise StoreError(_open_problem(self.path, e)) from e
        self.interrupted_on_open = 0
        if not read_only:
            self._migrate()
            self.interrupted_on_open = self._mark_stale_runs()
        self._q: queue.Queue[Any] = queue.Queue()
        self._flush_interval = flush_interval
        self._batch_size = batch_size
        self._error: BaseException | None = None  # the writer's failure, raised to the next caller
        self.rows_written = 0
        self._writer = threading.Thread(target=self._writer_loop, name="lts-store-writer", daemon=True)
        if not read_only:
            self._writer.start()

    @property
    def read_only(self) -> bool:
        return self.state is StoreState.READ_ONLY

    # ----------------------------------------------------------------- schema
    def _migrate(self) -> None:
        cur = self._con.cursor()
        for stmt in schema_sql():
            cur.execute(stmt)
        for name, cls in TABLES.items():
            have = {r[0] for r in cur.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [name]
            ).fetchall()}
            for col, typ in column_types(cls).items():
                if col not in have:
                    cur.execute(f"ALTER TABLE {name} ADD COLUMN {col} {typ}")
        cur.execute("CHECKPOINT")

    def _mark_stale_runs(self) -> int:
        cur = self._con.cursor()
        n = cur.execute("SELECT count(*) FROM runs WHERE status = 'running'").fetchone()[0]
        if n:
            cur.execute(
                "UPDATE runs SET status = 'interrupted', error = coalesce(error, "
                "'the process running it stopped before it finished (Ctrl-C, crash or kill)') "
                "WHERE status = 'running'"
            )
            cur.execute("UPDATE teams SET status = 'interrupted' WHERE status = 'running'")
        return int(n)

    # ----------------------------------------------------------------- writes
    def write(self, rec: object) -> None:
        """Queue an INSERT of ``rec`` (any record dataclass), as it is now."""
        self._check(writing=True)
        self._q.put(("insert", _table_of(rec), _checked_row(rec)))

    def update(self, rec: object) -> None:
        """Queue an UPDATE of the row identified by ``rec``'s key columns (runs, teams), as it is
        now; inserts the row when there is none."""
        self._check(writing=True)
        table = _table_of(rec)
        if table not in KEYS:
            raise TypeError(f"{type(rec).__name__} rows are never updated (only "
                            f"{', '.join(KEYS)} are); write() a new record instead")
        self._q.put(("update", table, _checked_row(rec)))

    def flush(self, timeout: float = 30.0) -> None:
        """Block until every record queued before this call is committed (no-op once closed)."""
        if self.state is not StoreState.OPEN:
            self._check()
            return
        done = threading.Event()
        self._q.put(("barrier", done))
        if not done.wait(timeout):
            raise StoreError(f"the database writer did not flush within {timeout} s")
        self._check()

    def close(self) -> None:
        """Commit everything queued, stop the writer and close the file (idempotent)."""
        self.state = StoreState.CLOSED
        if self._writer.is_alive():
            self._q.put(_STOP)
            self._writer.join(timeout=30)
        try:
            self._con.close()
        except duckdb.Error:
            pass

    def _check(self, writing: bool = False) -> None:
        if self._error is not None:
            raise StoreError(f"the database writer failed: {self._error!r}") from self._error
        if writing and self.state is not StoreState.OPEN:  # a queued record would be lost unsaid
            raise StoreError(f"cannot write to {self.path}: the store is {self.state.value}")

    def _writer_loop(self) -> None:
        cur = self._con.cursor()
        pending: list[tuple[str, Any]] = []
        barriers: list[threading.Event] = []
        stop = False
        while not stop:
            deadline = time.monotonic() + self._flush_interval
            while len(pending) < self._batch_size:
                try:
                    item = self._q.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                if item[0] == "barrier":
                    barriers.append(item[1])
                    break
                pending.append(item)
            if pending:
                self._commit_or_salvage(cur, pending)
                pending = []
            for b in barriers:
                b.set()
            barriers = []

    def _commit_or_salvage(self, cur: duckdb.DuckDBPyConnection, items: list[Any]) -> None:
        """Commit a batch; when that fails, commit its rows one by one and keep the first error."""
        try:
            self._commit(cur, items)
            return
        except BaseException as e:  # keep the error for the next caller; never die silently
            error = e
        for item in items:
            try:
                self._commit(cur, [item])
            except BaseException:  # noqa: S110 (the batch's error is the one reported)
                pass
        self._error, self.state = error, StoreState.FAILED

    def _commit(self, cur: duckdb.DuckDBPyConnection, items: list[tuple[str, str, tuple]]) -> None:
        inserts: dict[str, list[tuple]] = defaultdict(list)
        updates: list[tuple[str, tuple]] = []
        for op, table, row in items:
            if op == "insert":
                inserts[table].append(row)
            else:
                updates.append((table, row))
        cur.execute("BEGIN TRANSACTION")
        try:
            for table, rows in inserts.items():
                cols = field_names(TABLES[table])
                df = pd.DataFrame.from_records(rows, columns=cols)  # noqa: F841 (scanned by name)
                cur.execute(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(cols)} FROM df")
            for table, values in updates:
                keys = KEYS[table]
                names = field_names(TABLES[table])
                cols = [c for c in names if c not in keys]
                sets = ", ".join(f"{c} = ?" for c in cols)
                where = " AND ".join(f"{k} = ?" for k in keys)
                row = dict(zip(names, values, strict=True))
                params = [row[c] for c in cols] + [row[k] for k in keys]
                n = cur.execute(f"UPDATE {table} SET {sets} WHERE {where}", params).fetchone()
                if n is not None and n[0] == 0:
                    cur.execute(
                        f"INSERT INTO {table} ({', '.join(row)}) VALUES "
                        f"({', '.join('?' for _ in row)})", list(row.values()),
                    )
            cur.execute("COMMIT")
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        self.rows_written += sum(len(r) for r in inserts.values()) + len(updates)

    # ----------------------------------------------------------------- reads
    def query(self, sql: str, params: list[Any] | None = None) -> pd.DataFrame:
        """Run a read query on a fresh cursor and return a DataFrame."""
        cur = self._con.cursor()
        try:
            return cur.execute(sql, params or []).df()
        finally:
            cur.close()

    def scalar(self, sql: str, params: list[Any] | None = None) -> Any:
        cur = self._con.cursor()
        try:
            row = cur.execute(sql, params or []).fetchone()
            return None if row is None else row[0]
        finally:
            cur.close()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor of its own for a reading thread (close it when done)."""
        return self._con.cursor()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SCRUB_AT: dict[type, list[tuple[int, Any]]] = {
    cls: [(i, SCRUBBED[c]) for i, c in enumerate(field_names(cls)) if c in SCRUBBED]
    for cls in TABLES.values()}


def _table_of(rec: object) -> str:
    """The table ``rec`` goes to; TypeError (on the caller's thread) when it is not a record."""
    table = TABLE_OF.get(type(rec))
    if table is None:
        raise TypeError(f"cannot store a {type(rec).__name__}: records are the dataclasses of "
                        f"lts_core.record.records ({', '.join(c.__name__ for c in TABLE_OF)})")
    return table


def _checked_row(rec: object) -> tuple:
    """``as_row(rec)``, type-checked against its columns, with the ``SCRUBBED`` columns masked."""
    row = as_row(rec)
    check_row(type(rec), row)
    at = _SCRUB_AT.get(type(rec))
    if not at:
        return row
    out = list(row)
    for i, fn in at:
        if isinstance(out[i], str) and out[i]:
            out[i] = fn(out[i])
    return tuple(out)
