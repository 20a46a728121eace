"""The harm read model (lts_core.record.harm): wrong entries, their readers, and what followed."""

from __future__ import annotations

import duckdb

from lts_core.evaluation.bench import wrong_entries
from lts_core.record.harm import entry_harm, judge, run_harm
from lts_core.record.store import Store
from tests.engine_helpers import ScriptedBackend, fast_config


def test_judge_rules():
    assert judge("answer", "Paris", {}, "Paris", False)[0] is False
    assert judge("answer", "Lyon", {}, "Paris", False)[:2] == (True, "answer does not match the gold answer")
    assert judge("open", "T", {"as_target": "T", "true": False}, "x", False)[0] is True
    assert judge("open", "T", {"as_target": "T", "true": True}, "x", False)[0] is False
    assert judge("open", "T", {"as_target": None}, "x", False)[0] is False  # a tangent read
    assert judge("search", "q", {}, "x", False)[0] is False
    assert judge("open", "T", {}, "x", True)[:2] == (True, "planted wrong fact")


def test_wrong_answer_entry_read_by_another_team(engine, demo_suite, register_backend):
    task = demo_suite.tasks[0]
    name = register_backend("scripted", ScriptedBackend)
    cfg = fast_config(policy="all", backend=name, teams=2, backend_options={
        "scripts": [["plan", "answer:certainly not it"], ["plan", "plan", "plan", "memory_read:1",
                                                          "answer:certainly not it"]],
        "seconds": [0.5, 2.0]})
    s = engine.run_task(task, demo_suite, cfg)
    engine.store.flush()
    rid = s.record.run_id
    ent = entry_harm(engine.store, [rid])
    bad = ent[ent.wrong]
    assert list(bad.action) == ["answer", "answer"] and not bad.planted.any()  # both teams'
    assert bad.iloc[0].entry_id == 1 and bad.iloc[0].readers == [(1, 3)]
    h = run_harm(engine.store, [rid]).iloc[0]
    assert h.wrong_reads == 1 and h.repeated == 1 and h.final_repeats_wrong
    # the bench's wrong_% counts it too (admitted, not planted)
    engine.store.query("UPDATE runs SET batch_id = 'b1' WHERE run_id = ?", [rid])
    assert int(wrong_entries(engine, "b1").wrong_entries.sum()) == 2


def test_harm_reads_a_file_without_the_planted_column(tmp_path, engine, demo_suite):
    s = engine.run_task(demo_suite.tasks[1], demo_suite, fast_config(policy="all"))
    engine.store.flush()
    rid = s.record.run_id
    before = entry_harm(engine.store, [rid])
    engine.store.close()
    con = duckdb.connect(str(engine.store.path))
    con.execute("ALTER TABLE memory_entries DROP COLUMN planted")
    con.close()
    ro = Store(engine.store.path, read_only=True)
    try:
        after = entry_harm(ro, [rid])
    finally:
        ro.close()
    assert len(after) == len(before) > 0 and not after.planted.any()
    assert list(after.wrong) == list(before.wrong)
