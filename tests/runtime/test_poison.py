"""Poisoning (lts_core.runtime.poison): planted wrong entries, identical for every policy, read like any other."""

from __future__ import annotations

import duckdb
import pytest

from lts_core.record.harm import entry_harm, run_harm, wrong_reads
from lts_core.record.store import Store
from lts_core.runtime.engine import ConfigError, RunConfig
from lts_core.runtime.poison import PLANTED_TEAM, poison_entries
from tests.engine_helpers import ScriptedBackend, fast_config


def _planted(store: Store, run_id: str):
    return store.query("SELECT entry_id, team_idx, action, key, value, t_added, planted FROM "
                       "memory_entries WHERE run_id = ? AND planted ORDER BY entry_id", [run_id])


def test_planted_entries_are_identical_for_every_policy(engine, demo_suite):
    task = demo_suite.tasks[2]
    got = {}
    for policy in ("none", "all", "dedup"):
        s = engine.run_task(task, demo_suite, fast_config(policy=policy, seed=1, poison=3,
                                                          poison_at_s=15.0))
        engine.store.flush()
        got[policy] = _planted(engine.store, s.record.run_id).drop(columns="entry_id")
    assert len(got["all"]) == 3
    assert (got["all"].team_idx == PLANTED_TEAM).all() and (got["all"].t_added == 15.0).all()
    assert got["none"].equals(got["all"]) and got["dedup"].equals(got["all"])
    assert list(got["all"].action) == ["open", "answer", "open"]


def test_poison_depends_on_task_and_seed_only(demo_suite):
    t0, t1 = demo_suite.tasks[0], demo_suite.tasks[1]
    assert poison_entries(t0, 0, 2) == poison_entries(t0, 0, 2)
    assert poison_entries(t0, 0, 2) != poison_entries(t1, 0, 2)
    fact, answer = poison_entries(t0, 0, 2)
    assert fact.payload["true"] is False and fact.payload["as_target"] in t0.hop_titles
    assert fact.key.startswith("Read '")
    assert answer.payload["right"] is False and answer.payload["answer"] != t0.answer


def test_no_poison_plants_nothing(run_demo, engine):
    s = run_demo(0, policy="all")
    assert _planted(engine.store, s.record.run_id).empty


def test_poison_is_validated():
    with pytest.raises(ConfigError, match="poison"):
        RunConfig(poison=-1).validate()


def test_a_read_planted_answer_is_flagged_and_repeated(engine, demo_suite, register_backend):
    task = demo_suite.tasks[0]
    wrong = poison_entries(task, 0, 2)[1].payload["answer"]
    name = register_backend("scripted", ScriptedBackend)
    cfg = fast_config(policy="all", backend=name, teams=2, poison=2, poison_at_s=0.0,
                      backend_options={"scripts": [["plan", "memory_read:1", f"answer:{wrong}"],
                                                   ["plan", f"answer:{task.answer}"]]})
    s = engine.run_task(task, demo_suite, cfg)
    engine.store.flush()
    rid = s.record.run_id
    ent = entry_harm(engine.store, [rid])
    planted = ent[ent.planted]
    assert len(planted) == 2 and planted.wrong.all()
    assert planted.set_index("entry_id").loc[1, "readers"] == [(0, 1)]
    rd = wrong_reads(engine.store, [rid])
    assert list(rd.reader_team) == [0] and rd.repeated.iloc[0] and rd.planted.iloc[0]
    # the reader voted for the run's answer only if the run answered the planted wrong answer
    assert rd.gave_final.iloc[0] == (s.record.answer == wrong)
    h = run_harm(engine.store, [rid]).iloc[0]
    assert h.planted_reads == 1 and h.readers == 1 and h.repeated == 1


def test_old_database_without_planted_opens(tmp_path):
    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE memory_entries (run_id VARCHAR, entry_id BIGINT, team_idx BIGINT, "
                "step_idx BIGINT, action VARCHAR, key VARCHAR, value VARCHAR, t_added DOUBLE)")
    con.execute("INSERT INTO memory_entries VALUES ('r', 0, 0, 1, 'search', 'k', 'v', 1.0)")
    con.close()
    ro = Store(path, read_only=True)  # a reader cannot migrate: harm works without the column
    try:
        ro_cols = set(ro.query("SELECT * FROM memory_entries LIMIT 0").columns)
        assert "planted" not in ro_cols
    finally:
        ro.close()
    s = Store(path)
    try:
        assert s.query("SELECT planted FROM memory_entries").planted.isna().all()
    finally:
        s.close()
