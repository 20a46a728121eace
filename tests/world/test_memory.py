"""The shared memory bank: ids, clock visibility, the per-step fetch budget, and 32 threads at once."""

from __future__ import annotations

import random
import sys
import threading

import numpy as np
import pytest
from engine_helpers import ScriptedAgent, ScriptedBackend, fast_config

from lts_core import limits as L
from lts_core.backends.base import LLMUsage
from lts_core.world.memory import MemoryBank

VEC = np.zeros(4, dtype=np.float32)


def _add(bank: MemoryBank, team: int, step: int, value: str = "v", t: float = 0.0):
    return bank.add(team_idx=team, step_idx=step, action="search", key=f"key t{team} s{step}",
                    value=value, t_added=t, key_vec=VEC, payload={"kind": "search"})


def test_ids_count_from_zero_and_keys_follow_the_clock() -> None:
    bank = MemoryBank("r1")
    es = [_add(bank, 0, 0, t=5.0), _add(bank, 1, 0, t=2.0), _add(bank, 0, 1, t=9.0)]
    assert [e.entry_id for e in es] == [0, 1, 2] and len(bank) == 3
    assert [e.entry_id for e in bank.keys_at(1.9)] == []
    assert [e.entry_id for e in bank.keys_at(5.0)] == [0, 1]  # added at or before t
    assert [e.entry_id for e in bank.keys_at(None)] == [0, 1, 2]
    assert bank.get(1).team_idx == 1 and bank.get(1).payload == {"kind": "search"}
    rec = bank.get(2).record("r1")
    assert (rec.run_id, rec.entry_id, rec.team_idx, rec.step_idx, rec.t_added) == ("r1", 2, 0, 1, 9.0)


def test_fetch_records_reads_with_provenance() -> None:
    bank = MemoryBank("r1")
    _add(bank, 0, 0, "alpha")
    _add(bank, 2, 3, "beta")
    text, reads = bank.fetch([1, 0], reader_team=0, reader_step=4, t=7.5, similarities=[0.8, 0.7])
    assert "[memory #1 from team 2]" in text and "beta" in text and "alpha" in text
    assert [(r.entry_id, r.producer_team, r.reader_team, r.reader_step, r.cross_team)
            for r in reads] == [(1, 2, 0, 4, True), (0, 0, 0, 4, False)]
    assert [r.similarity for r in reads] == [0.8, 0.7] and all(r.t == 7.5 for r in reads)
    assert [r.chars for r in reads] == [4, 5]
    assert bank.reads == reads


def test_fetch_budget_counts_keys_and_the_cut_marker() -> None:
    bank = MemoryBank("r", max_fetch_chars=100)
    _add(bank, 0, 0, "a" * 60)  # key "key t0 s0" (9) + 60
    _add(bank, 1, 0, "b" * 80)  # 9 + only 22 left: cut, marker included
    _add(bank, 2, 0, "c" * 10)  # nothing left
    text, reads = bank.fetch([0, 1, 2], reader_team=3, reader_step=0, t=0.0)
    assert [r.entry_id for r in reads] == [0, 1] and [r.chars for r in reads] == [60, 22]
    assert "[...cut]" in text and "c" * 10 not in text
    # a single value longer than the whole budget: key and value share it
    bank2 = MemoryBank("r", max_fetch_chars=100)
    _add(bank2, 0, 0, "x" * 5000)
    _, (r,) = bank2.fetch([0], reader_team=1, reader_step=0, t=0.0)
    assert r.chars == 100 - len("key t0 s0")


def test_a_huge_model_reply_never_becomes_a_huge_key() -> None:
    """A 1 MB summary became a 1 MB key copied into every team's prompt (issue 9, section 5):
    keys and values are cut on entry, and a fetch injects keys within the per-step budget too."""
    bank = MemoryBank("r", max_fetch_chars=4000)
    for team in range(3):
        bank.add(team_idx=team, step_idx=0, action="plan", key="K" * 1_000_000,
                 value="V" * 1_000_000, t_added=0.0, key_vec=VEC)
    assert all(len(e.key) == L.MAX_SUMMARY_CHARS and e.key.endswith(L.CUT_MARKER)
               for e in bank.keys_at(None))
    assert all(len(e.value) == L.MAX_VALUE_CHARS for e in bank.keys_at(None))
    text, reads = bank.fetch([0, 1, 2], reader_team=0, reader_step=1, t=0.0)
    injected = text.count("K") + text.count("V") + text.count(L.CUT_MARKER) * len(L.CUT_MARKER)
    assert injected <= 4000 and len(text) < 4000 + 3 * 40  # + one "[memory #i from team t]" each
    # a key longer than the whole budget is cut to it, and nothing else is read
    small = MemoryBank("r", max_fetch_chars=100)
    small.add(team_idx=0, step_idx=0, action="plan", key="K" * 300, value="v", t_added=0.0,
              key_vec=VEC)
    text, reads = small.fetch([0], reader_team=1, reader_step=0, t=0.0)
    assert reads == [] and text == ""


def test_fetch_of_missing_entry_raises_and_records_nothing() -> None:
    bank = MemoryBank("r")
    _add(bank, 0, 0)
    with pytest.raises(KeyError, match="memory entry 5 does not exist"):
        bank.fetch([0, 5], reader_team=1, reader_step=0, t=0.0)
    assert bank.reads == []


def test_32_threads_add_and_fetch() -> None:
    """32 writer/reader threads: nothing lost, ids unique and dense, every read consistent,
    every fetch within the budget."""
    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    n_threads, per_thread, budget = 32, 40, 300
    bank = MemoryBank("conc", max_fetch_chars=budget)
    start = threading.Barrier(n_threads)
    fetched: dict[int, list] = {i: [] for i in range(n_threads)}
    problems: list[str] = []

    def worker(team: int) -> None:
        rng = random.Random(team)
        start.wait()
        for step in range(per_thread):
            e = bank.add(team_idx=team, step_idx=step, action="open", key=f"t{team}s{step}",
                         value=f"{team}:{step}:" + "z" * rng.randint(0, 200), t_added=float(step),
                         key_vec=VEC)
            if e.team_idx != team or e.step_idx != step:
                problems.append(f"add returned someone else's entry {e}")
            seen = bank.keys_at(None)
            if [x.entry_id for x in seen] != list(range(len(seen))):
                problems.append("keys are not a dense prefix")
            if not any(x.entry_id == e.entry_id for x in seen):
                problems.append(f"own entry {e.entry_id} not visible")
            ids = rng.sample(range(len(seen)), k=min(4, len(seen)))
            _, reads = bank.fetch(ids, reader_team=team, reader_step=step, t=float(step))
            if sum(r.chars for r in reads) > budget:
                problems.append(f"fetch took {sum(r.chars for r in reads)} > {budget} chars")
            fetched[team].extend(reads)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n_threads)]
    try:
        for th in threads:
            th.start()
        for th in threads:
            th.join(60)
    finally:
        sys.setswitchinterval(old)
    assert not any(th.is_alive() for th in threads)
    assert problems == []

    entries = bank.keys_at(None)
    assert len(bank) == n_threads * per_thread
    assert [e.entry_id for e in entries] == list(range(n_threads * per_thread))
    assert {(e.team_idx, e.step_idx) for e in entries} == {
        (t, s) for t in range(n_threads) for s in range(per_thread)}
    for e in entries:
        assert e.key == f"t{e.team_idx}s{e.step_idx}"
        assert e.value.startswith(f"{e.team_idx}:{e.step_idx}:")

    all_reads = [r for rs in fetched.values() for r in rs]
    assert len(bank.reads) == len(all_reads) > 0
    for r in all_reads:
        e = bank.get(r.entry_id)
        assert r.producer_team == e.team_idx
        assert r.cross_team == (r.reader_team != e.team_idx)
        assert r.chars <= min(budget, len(e.value))
    assert any(r.cross_team for r in all_reads) and any(not r.cross_team for r in all_reads)


class _HugeSummaryAgent(ScriptedAgent):
    def summarize(self, action, output):
        return "S" * 1_000_000, LLMUsage("summarize", 40, 8, 0.5)


class HugeSummaryBackend(ScriptedBackend):
    """Every team: plan, read entry 0, answer; each step's summary is a 1 MB model reply."""

    def make_agent(self, task, team_idx, rng, ctx):
        return _HugeSummaryAgent(["plan", "memory_read:0", "answer:x"], 1.0)


def test_a_1mb_model_reply_stays_out_of_keys_and_prompts(engine, demo_suite, register_backend,
                                                         store) -> None:
    """Issue 9: a 1 MB reply became a 1 MB key, recorded and copied into every team's prompt."""
    register_backend("huge", HugeSummaryBackend)
    run = engine.prepare_run(demo_suite.tasks[0], demo_suite,
                             fast_config(teams=2, policy="all", backend="huge"))
    engine.execute(run)
    store.flush()
    assert max(len(e.key) for e in run.bank.keys_at(None)) == L.MAX_SUMMARY_CHARS
    assert store.scalar("SELECT max(length(s)) FROM steps") == L.MAX_SUMMARY_CHARS
    assert store.scalar("SELECT max(length(key)) FROM memory_entries") == L.MAX_SUMMARY_CHARS
    injected = store.scalar("SELECT max(length(o)) FROM steps WHERE action = 'memory_read'")
    assert 0 < injected <= run.config.max_fetch_chars + 50  # + the "[memory #i from team t]" label
