"""The read model: its per-run counts are the engine's own, and the tables built on them agree."""

from __future__ import annotations

import pytest

from lts_core.evaluation.report import format_table, summarize
from lts_core.record import queries

COUNTS = ["steps", "tool_calls", "llm_calls", "decisions", "admitted", "entries", "entries_read",
          "reads", "cross_reads"]


@pytest.mark.parametrize("setting", [
    {"policy": "none"},
    {"policy": "all", "teams": 4},
    {"policy": "dedup", "stop": "first"},
    {"policy": "dedup", "poison": 2, "poison_at_s": 5.0},  # planted entries count as entries
])
def test_run_metrics_counts_what_the_engine_counted(run_demo, store, setting) -> None:
    summaries = [run_demo(i, seed=s, **setting) for i in (0, 3) for s in (0, 1)]
    m = queries.run_metrics(store, [s.record.run_id for s in summaries]).set_index("run_id")
    for s in summaries:
        row = m.loc[s.record.run_id]
        assert {c: int(row[c]) for c in COUNTS} == {c: getattr(s, c) for c in COUNTS}
        assert row.tokens == s.record.prompt_tokens + s.record.completion_tokens
        assert row.decide_ms == pytest.approx(s.decide_ms, abs=1e-3)


def test_lts_run_table_is_built_from_the_read_model(run_demo, store) -> None:
    ids = [run_demo(0, policy=p, seed=s).record.run_id for p in ("none", "all") for s in (0, 1)]
    rows = summarize(queries.run_metrics(store, ids))
    assert [r["policy"] for r in rows] == ["none", "all"]
    assert all(r["runs"] == 2 and r["seeds"] == 2 for r in rows)
    assert rows[0]["entries"] == 0 and rows[1]["admit_%"] == 100.0
    assert "cross_reads" in format_table(rows)


def test_a_batch_counts_results_not_attempts_lost_with_a_worker(store) -> None:
    from lts_core.record.records import RunRecord

    def run(rid: str, status: str, batch: str = "b1") -> RunRecord:
        return RunRecord(rid, "t", "demo", "q", "g", "sim", "none", "virtual", "aggregate", 3, 30,
                         0, True, "{}", batch_id=batch, status=status)

    for r in (run("a", "finished"), run("lost", "retried"), run("a2", "finished"),
              run("f", "failed"), run("other", "finished", "b2")):
        store.write(r)
    store.flush()
    assert sorted(queries.run_ids_of_batches(store, ["b1"])) == ["a", "a2", "f"]
    assert "lost" in set(queries.list_runs(store, limit=10).run_id)  # still listed for users


def test_run_lists_leave_out_the_runs_played_for_training_calibration_and_replays(store) -> None:
    from lts_core.record.records import RunRecord

    for rid, batch in (("mine", "b1"), ("ep", "train-1"), ("cal", "calib-2"), ("cf", "cf-mine")):
        store.write(RunRecord(rid, "t", "demo", "q", "g", "sim", "none", "virtual", "aggregate", 3,
                              30, 0, True, "{}", batch_id=batch, status="finished"))
    store.flush()
    assert list(queries.list_runs(store, internal=False).run_id) == ["mine"]
    assert queries.count_runs(store, internal=False) == 1
    assert queries.count_runs(store) == 4  # lts runs lists everything
