"""The shared memory bank of one run: key = step summary, value = raw step output.

Append-only and per run, as in the paper. Teams see the keys (``keys_at``) and fetch values through
a memory-read action (``fetch``); every fetch returns a ``MemoryReadRecord`` for the record. A fetch
injects at most ``max_fetch_chars`` characters per step across all fetched entries, keys and values
together (cut, with a marker), which bounds what one step takes into its context. Keys and values are
model output: ``add`` cuts them to ``limits.MAX_SUMMARY_CHARS`` and ``limits.MAX_VALUE_CHARS``.

Thread-safety: all methods may be called from any thread (one lock). ``keys_at(t)`` returns only the
entries added at or before clock time ``t``, so the virtual and threaded executors see the same
bank at the same clock time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lts_core.limits import CUT_MARKER, MAX_SUMMARY_CHARS, MAX_VALUE_CHARS, cut
from lts_core.record.records import MemoryEntryRecord, MemoryReadRecord


@dataclass
class MemoryEntry:
    entry_id: int
    team_idx: int
    step_idx: int
    action: str
    key: str
    value: str
    t_added: float
    key_vec: np.ndarray
    # Structured content of the producing step. The simulator "understands" a value through it
    # (a simulation concession, see docs/simulator.md); LLM back-ends only ever see key and value.
    payload: dict[str, Any] = field(default_factory=dict)

    def record(self, run_id: str) -> MemoryEntryRecord:
        return MemoryEntryRecord(run_id, self.entry_id, self.team_idx, self.step_idx, self.action,
                                 self.key, self.value, self.t_added)


class MemoryBank:
    def __init__(self, run_id: str = "", *, max_fetch_chars: int = 4000) -> None:
        self.run_id = run_id
        self.max_fetch_chars = max_fetch_chars
        self._entries: list[MemoryEntry] = []
        self._reads: list[MemoryReadRecord] = []
        self._lock = threading.Lock()

    def add(self, *, team_idx: int, step_idx: int, action: str, key: str, value: str,
            t_added: float, key_vec: np.ndarray, payload: dict[str, Any] | None = None) -> MemoryEntry:
        """Append an entry (key and value cut to their limits); returns it with its id (ids count
        from 0 in order of addition)."""
        key, value = cut(key, MAX_SUMMARY_CHARS), cut(value, MAX_VALUE_CHARS)
        with self._lock:
            e = MemoryEntry(len(self._entries), team_idx, step_idx, action, key, value, t_added,
                            key_vec, dict(payload or {}))
            self._entries.append(e)
            return e

    def keys_at(self, t: float | None = None) -> list[MemoryEntry]:
        """Entries visible at clock time ``t`` (all entries when ``t`` is None), oldest first."""
        with self._lock:
            if t is None:
                return list(self._entries)
            return [e for e in self._entries if e.t_added <= t]

    def get(self, entry_id: int) -> MemoryEntry:
        with self._lock:
            return self._entries[entry_id]

    def fetch(self, entry_ids: list[int], *, reader_team: int, reader_step: int, t: float,
              similarities: list[float] | None = None) -> tuple[str, list[MemoryReadRecord]]:
        """Keys and values of ``entry_ids`` joined for injection, within the per-step character
        budget (keys, values and cut markers all count; ``chars`` of a read is its value's share)."""
        sims = similarities or [0.0] * len(entry_ids)
        parts, reads, budget = [], [], self.max_fetch_chars
        with self._lock:
            for eid in entry_ids:  # check every id first: a failed fetch records no read
                if not 0 <= eid < len(self._entries):
                    raise KeyError(f"memory entry {eid} does not exist (bank has {len(self._entries)})")
            for eid, sim in zip(entry_ids, sims, strict=True):
                e = self._entries[eid]
                key = cut(e.key, budget)
                rest = budget - len(key)
                if len(e.value) <= rest:
                    text = e.value
                elif rest > len(CUT_MARKER):  # the cut marker counts against the budget too
                    text = cut(e.value, rest)
                else:
                    break  # no room left for this value: it is not read
                budget = rest - len(text)
                parts.append(f"[memory #{e.entry_id} from team {e.team_idx}] {key}\n{text}")
                r = MemoryReadRecord(self.run_id, e.entry_id, e.team_idx, reader_team, reader_step,
                                     t, len(text), float(sim), e.team_idx != reader_team)
                reads.append(r)
                self._reads.append(r)
        return "\n\n".join(parts), reads

    @property
    def reads(self) -> list[MemoryReadRecord]:
        with self._lock:
            return list(self._reads)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
