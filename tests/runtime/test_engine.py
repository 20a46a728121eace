"""Runs end to end: the DuckDB record of a run, determinism, stop rules, failing teams, cancel,
and settings. Most use the sim back-end on the demo suite with the fake hash embedder."""

from __future__ import annotations

import json
import time
from collections import Counter

import numpy as np
import pytest
from engine_helpers import (
    FlakyBackend,
    ScriptedBackend,
    WaitingBackend,
    fast_config,
    one_torch_thread,
    table_rows,
)

from lts_core import ConfigError, Engine, RunConfig
from lts_core.backends import majority_vote, make_backend
from lts_core.scoring import normalize_answer
from lts_core.world.embeddings import get_embedder

RUN_TABLES = ["teams", "steps", "admissions", "memory_entries", "memory_reads", "tool_calls",
              "llm_calls"]


def _q(store, sql: str, run_id: str):
    return store.query(sql, [run_id])


# ------------------------------------------------------------------------------ the record
def _check_complete_record(store, run_id: str, teams: int, memory: bool) -> dict:
    run = _q(store, "SELECT * FROM runs WHERE run_id = ?", run_id)
    assert len(run) == 1
    r = run.iloc[0]
    assert r.status == "finished" and r.error is None
    assert r.runtime_s > 0 and r.wall_s > 0 and r.finished_at >= r.created_at
    assert r.answer and r.em in (0.0, 1.0) and 0.0 <= r.f1 <= 1.0
    assert json.loads(r.config_json)["run"]["teams"] == teams

    tm = _q(store, "SELECT * FROM teams WHERE run_id = ? ORDER BY team_idx", run_id)
    assert tm.team_idx.tolist() == list(range(teams))
    assert set(tm.status) <= {"answered", "budget"}
    assert (tm.t_end <= r.runtime_s + 1e-6).all()

    st = _q(store, "SELECT * FROM steps WHERE run_id = ?", run_id)
    for t in range(teams):
        mine = st[st.team_idx == t].sort_values("step_idx")
        assert mine.step_idx.tolist() == list(range(len(mine))) and len(mine) >= 2
        assert len(mine) == tm.steps[t]
        assert (mine.t_start.to_numpy()[1:] >= mine.t_end.to_numpy()[:-1] - 1e-9).all()
        assert mine.action.iloc[0] == "plan"
        if tm.status[t] == "answered":
            assert mine.action.iloc[-1] == "answer" and mine.arg.iloc[-1] == tm.answer[t]
    assert (st.t_end >= st.t_start).all()
    assert set(st.action) <= {"plan", "search", "open", "memory_read", "answer"}

    key = lambda df: set(zip(df.team_idx, df.step_idx, strict=True))  # noqa: E731
    adm = _q(store, "SELECT * FROM admissions WHERE run_id = ?", run_id)
    ent = _q(store, "SELECT * FROM memory_entries WHERE run_id = ?", run_id)
    rd = _q(store, "SELECT * FROM memory_reads WHERE run_id = ?", run_id)
    if memory:
        assert key(adm) == key(st[st.action != "memory_read"])
        assert len(adm) == len(key(adm))
        assert (adm.score.between(0, 1)).all()
        admitted = adm[adm.admitted]
        assert sorted(ent.entry_id) == list(range(len(ent))) == sorted(admitted.entry_id)
        assert key(ent) == key(admitted)
        merged = ent.merge(st, on=["team_idx", "step_idx"], suffixes=("", "_step"))
        assert (merged.key == merged.s).all() and (merged.value == merged.o).all()
        assert (merged.entry_id == merged.entry_id_step).all()
        assert (merged.t_added == merged.t_end).all()
        by_id = ent.set_index("entry_id")
        for x in rd.itertuples():
            e = by_id.loc[x.entry_id]
            assert x.producer_team == e.team_idx and x.t >= e.t_added
            assert x.cross_team == (x.reader_team != e.team_idx)
            reader = st[(st.team_idx == x.reader_team) & (st.step_idx == x.reader_step)]
            assert reader.action.tolist() == ["memory_read"]
    else:
        assert adm.empty and ent.empty and rd.empty
        assert (st.keys_visible == 0).all() and "memory_read" not in set(st.action)

    tc = _q(store, "SELECT * FROM tool_calls WHERE run_id = ?", run_id)
    assert key(tc) == key(st[st.action.isin(["search", "open"])]) and len(tc) == len(key(tc))
    assert (tc.latency_s > 0).all()

    llm = _q(store, "SELECT * FROM llm_calls WHERE run_id = ?", run_id)
    orch = llm[llm.purpose == "orchestrate"]
    assert key(orch) == key(st) and len(orch) == len(st)
    summ = llm[llm.purpose == "summarize"]
    assert key(summ) == (key(st[st.action != "memory_read"]) if memory else set())
    step_llm = llm[llm.team_idx >= 0].groupby(["team_idx", "step_idx"]).prompt_tokens.sum()
    assert (st.set_index(["team_idx", "step_idx"]).prompt_tokens.sort_index()
            == step_llm.sort_index()).all()
    assert r.prompt_tokens == llm.prompt_tokens.sum() > 0  # the aggregator's call included
    assert (tm.prompt_tokens.sum() == st.prompt_tokens.sum())
    return {"steps": st, "reads": rd, "entries": ent, "admissions": adm}


def test_complete_record_with_memory(run_demo, store) -> None:
    for i in range(6):  # a task where some team reads the bank (almost always the first)
        s = run_demo(i, teams=3, policy="dedup")
        if s.reads:
            break
    got = _check_complete_record(store, s.record.run_id, 3, memory=True)
    assert s.steps == len(got["steps"]) and s.reads == len(got["reads"]) > 0
    assert s.entries == len(got["entries"]) and s.decisions == len(got["admissions"])
    assert 0 < s.admitted < s.decisions  # dedup admitted some, not all


def test_complete_record_without_memory(run_demo, store) -> None:
    s = run_demo(1, teams=2, policy="none")
    _check_complete_record(store, s.record.run_id, 2, memory=False)
    assert s.decisions == s.entries == s.reads == 0


def test_complete_record_threads_executor(run_demo, store) -> None:
    s = run_demo(1, teams=3, policy="all", executor="threads", speed=2000.0)
    _check_complete_record(store, s.record.run_id, 3, memory=True)


# ------------------------------------------------------------------------------ determinism
def test_same_seed_same_run_different_seed_different(engine, demo_suite, store) -> None:
    task = demo_suite.tasks[6]
    for seed in (7, 17, 27, 37):  # a seed where the bank is read (almost always the first)
        a = engine.run_task(task, demo_suite, fast_config(seed=seed))
        if a.reads:
            break
    b = Engine(store).run_task(task, demo_suite, fast_config(seed=seed))  # fresh engine
    c = engine.run_task(task, demo_suite, fast_config(seed=seed + 1))
    store.flush()
    assert a.record.run_id != b.record.run_id
    assert a.reads > 0  # the bank took part
    for table in ["runs", *RUN_TABLES]:
        assert table_rows(store, table, a.record.run_id) == table_rows(store, table, b.record.run_id), table
    assert (a.record.answer, a.record.runtime_s) == (b.record.answer, b.record.runtime_s)
    assert table_rows(store, "steps", a.record.run_id) != table_rows(store, "steps", c.record.run_id)
    assert a.record.runtime_s != c.record.runtime_s


# ------------------------------------------------------------------------------ policies in runs
def test_policy_all_admits_every_non_read_step(run_demo, store) -> None:
    s = run_demo(0, teams=3, policy="all")
    adm = _q(store, "SELECT * FROM admissions WHERE run_id = ?", s.record.run_id)
    assert adm.admitted.all() and (adm.score == 1.0).all() and set(adm.policy) == {"all"}
    assert s.admitted == s.decisions == s.entries == len(adm)


def test_policy_dedup_decisions_match_their_features(run_demo, store) -> None:
    s = run_demo(0, teams=3, policy="dedup", policy_options={"similarity": 0.8})
    adm = _q(store, "SELECT * FROM admissions WHERE run_id = ?", s.record.run_id)
    feats = [json.loads(f) for f in adm.features_json]
    for admitted, f in zip(adm.admitted, feats, strict=True):
        assert (f["max_cosine"] < 0.8) == admitted
    assert adm.admitted.any() and not adm.admitted.all()
    cfg = json.loads(_q(store, "SELECT config_json FROM runs WHERE run_id = ?",
                        s.record.run_id).config_json[0])
    assert cfg["policy"]["similarity"] == 0.8


def test_each_answer_decision_sees_k_and_the_answers_of_the_teams_already_ended(run_demo, store):
    """The vote rule (policies/vote.py) reads the run's K and the answers given so far: checked
    against the record, every answer decision counts exactly the teams that ended before it."""
    seen = 0
    for task in range(4):
        s = run_demo(task, teams=3, policy="dedup", policy_options={"answers": "decided"})
        rid = s.record.run_id
        teams = _q(store, "SELECT team_idx, answer, t_end FROM teams WHERE run_id = ? AND "
                          "status = 'answered'", rid)
        adm = _q(store, "SELECT a.team_idx, a.t, a.admitted, a.threshold, a.features_json FROM "
                        "admissions a JOIN steps s USING (run_id, team_idx, step_idx) WHERE "
                        "a.run_id = ? AND s.action = 'answer'", rid)
        for r in adm.itertuples():
            vote = json.loads(r.features_json)["vote"]
            mine = normalize_answer(vote["answer"])
            before = teams[(teams.t_end < r.t) & (teams.team_idx != r.team_idx)]
            assert vote["teams"] == 3 and np.isnan(r.threshold)  # not a threshold decision
            assert vote["agree"] == 1 + sum(normalize_answer(a) == mine for a in before.answer)
            assert bool(r.admitted) == (2 * vote["agree"] > 3)
            seen += 1
    assert seen >= 8


@pytest.mark.slow
def test_dedup_on_the_real_minilm_embedder(run_demo, store) -> None:
    """With MiniLM, each recorded max_cosine is the real cosine to the nearest earlier key."""
    with one_torch_thread():
        s = run_demo(2, teams=3, policy="dedup", embedder="minilm")
    assert s.record.status == "finished"
    st = _q(store, "SELECT team_idx, step_idx, s FROM steps WHERE run_id = ?", s.record.run_id)
    adm = _q(store, "SELECT * FROM admissions WHERE run_id = ? ORDER BY t, team_idx",
             s.record.run_id)
    ent = _q(store, "SELECT * FROM memory_entries WHERE run_id = ?", s.record.run_id)
    emb = get_embedder("minilm")
    summary = {(a, b): c for a, b, c in st.itertuples(index=False)}
    checked = 0
    for a in adm.itertuples():
        f = json.loads(a.features_json)
        earlier = ent[ent.t_added <= a.t]
        earlier = earlier[~((earlier.team_idx == a.team_idx) & (earlier.step_idx == a.step_idx))]
        if earlier.empty:
            assert f["max_cosine"] == 0.0 and a.admitted
            continue
        sims = emb.encode(list(earlier.key)) @ emb.one(summary[(a.team_idx, a.step_idx)])
        assert f["max_cosine"] == pytest.approx(float(np.max(sims)), abs=1e-3)
        assert a.admitted == (f["max_cosine"] < 0.9)
        checked += 1
    assert checked > 5


# ------------------------------------------------------------------------------ stop rules
def test_stop_first_takes_the_first_answer(engine, demo_suite, register_backend, store) -> None:
    register_backend("scripted", ScriptedBackend)
    cfg = fast_config(teams=3, backend="scripted", stop="first", backend_options={
        "scripts": [["plan", "search:Anselm Garrick", "answer:Lyon"],
                    ["plan", "answer:Paris"],
                    ["plan", "search:bridge", "search:river", "answer:Rome"]],
        "seconds": [2.0, 3.0, 1.0]})
    s = engine.run_task(demo_suite.tasks[0], demo_suite, cfg)
    store.flush()
    tm = _q(store, "SELECT * FROM teams WHERE run_id = ? ORDER BY team_idx", s.record.run_id)
    assert tm.status.tolist() == ["cancelled", "answered", "cancelled"]
    winner = tm.iloc[1]
    assert s.record.answer == "Paris" and winner.answer == "Paris"
    assert s.record.runtime_s == pytest.approx(winner.t_end)
    st = _q(store, "SELECT * FROM steps WHERE run_id = ?", s.record.run_id)
    assert (st.t_end <= winner.t_end + 1e-9).all()  # nothing committed after the first answer
    assert (tm.t_end.fillna(0) <= winner.t_end + 1e-9).all()


def test_virtual_steps_waiting_on_a_model_are_computed_together(engine, demo_suite,
                                                                 register_backend, store) -> None:
    """Issue #9 §4: K teams whose calls wait on a model server (0.2, 0.3 and 0.4 s per step); the
    virtual executor computes their steps concurrently and records what the one-at-a-time loop
    records for the same call times (same order, the same clock times but for engine overhead)."""
    register_backend("waiting", WaitingBackend)
    register_backend("scripted", ScriptedBackend)
    opts = {"scripts": [["plan", "plan", "answer:x"]], "seconds": [0.2, 0.3, 0.4]}
    t0 = time.perf_counter()
    real = engine.run_task(demo_suite.tasks[0], demo_suite, fast_config(
        teams=3, policy="none", backend="waiting", backend_options=opts))
    wall = time.perf_counter() - t0
    assert wall < 2.0, f"{wall:.2f} s: the 9 calls (2.7 s in all) ran one after another"
    same = engine.run_task(demo_suite.tasks[0], demo_suite, fast_config(
        teams=3, policy="none", backend="scripted", backend_options=opts))
    store.flush()
    cols = "team_idx, step_idx, action, t_start, t_end"
    a, b = (_q(store, f"SELECT {cols} FROM steps WHERE run_id = ? ORDER BY team_idx, step_idx",
               r.record.run_id) for r in (real, same))
    assert len(a) == 9
    assert a[["team_idx", "step_idx", "action"]].equals(b[["team_idx", "step_idx", "action"]])
    assert np.allclose(a.t_end, b.t_end, atol=0.15)  # real time = call time + engine overhead
    assert real.record.runtime_s == pytest.approx(same.record.runtime_s, abs=0.15)


def test_stop_first_on_sim_matches_the_aggregate_run(run_demo, store) -> None:
    """Up to the first answer a 'first' run is the same run as an 'aggregate' one."""
    agg = run_demo(5, teams=5, seed=3, stop="aggregate")
    first = run_demo(5, teams=5, seed=3, stop="first")
    ta = _q(store, "SELECT * FROM teams WHERE run_id = ?", agg.record.run_id)
    tf = _q(store, "SELECT * FROM teams WHERE run_id = ?", first.record.run_id)
    assert Counter(tf.status) == Counter({"answered": 1, "cancelled": 4})
    t_first = ta[ta.status == "answered"].t_end.min()
    assert first.record.runtime_s == pytest.approx(t_first)
    assert first.record.runtime_s < agg.record.runtime_s
    assert first.record.answer == tf[tf.status == "answered"].answer.iloc[0]


def test_stop_first_threads_executor(run_demo, store) -> None:
    s = run_demo(2, teams=3, stop="first", executor="threads", speed=1000.0)
    tm = _q(store, "SELECT * FROM teams WHERE run_id = ?", s.record.run_id)
    assert Counter(tm.status)["answered"] == 1 and Counter(tm.status)["cancelled"] == 2
    assert s.record.runtime_s == pytest.approx(tm[tm.status == "answered"].t_end.iloc[0])


def test_aggregate_is_a_majority_vote(engine, demo_suite, register_backend, store) -> None:
    register_backend("scripted", ScriptedBackend)
    cfg = fast_config(teams=3, backend="scripted", stop="aggregate", backend_options={
        "scripts": [["plan", "answer:Lyon"], ["plan", "search:x", "answer:the Marrow River."],
                    ["plan", "answer:marrow river"]]})
    s = engine.run_task(demo_suite.tasks[0], demo_suite, cfg)
    store.flush()
    assert normalize_answer(s.record.answer) == "marrow river"
    assert s.record.em == 1.0 and s.record.f1 == 1.0
    tm = _q(store, "SELECT * FROM teams WHERE run_id = ? ORDER BY team_idx", s.record.run_id)
    assert tm.status.tolist() == ["answered"] * 3
    assert s.record.runtime_s >= tm.t_end.max()  # every team, then the aggregator


def test_sim_aggregate_equals_majority_of_team_answers(run_demo, store) -> None:
    s = run_demo(4, teams=5, seed=11)
    tm = _q(store, "SELECT * FROM teams WHERE run_id = ?", s.record.run_id)
    answered = tm[tm.status == "answered"]
    votes = Counter(normalize_answer(a) for a in answered.answer)
    assert votes[normalize_answer(s.record.answer)] == max(votes.values())


def test_majority_vote_rules() -> None:
    assert majority_vote([(0, "Paris", 3.0), (1, "paris.", 5.0), (2, "Lyon", 1.0)]) == "Paris"
    assert majority_vote([(0, "Lyon", 4.0), (1, "Paris", 2.0)]) == "Paris"  # tie: first given
    assert majority_vote([(0, "The Lyon", 4.0), (1, "lyon", 1.0), (2, "Paris", 0.5)]) == "lyon"
    assert majority_vote([]) == ""


# ------------------------------------------------------------------------------ failures
@pytest.mark.parametrize("executor", ["virtual", "threads"])
def test_one_failing_team_never_takes_down_the_run(engine, demo_suite, register_backend, store,
                                                   executor) -> None:
    register_backend("flaky", FlakyBackend)
    cfg = fast_config(teams=3, backend="flaky", executor=executor, speed=2000.0,
                      backend_options={"fail_teams": [1], "fail_at": 2})
    s = engine.run_task(demo_suite.tasks[0], demo_suite, cfg)
    store.flush()
    assert s.record.status == "finished" and s.record.answer and s.record.error is None
    tm = _q(store, "SELECT * FROM teams WHERE run_id = ? ORDER BY team_idx", s.record.run_id)
    assert tm.status[1] == "error"
    assert "RuntimeError: injected failure in team 1 at step 2" in tm.error[1]
    assert tm.steps[1] == 2
    assert set(tm.status[[0, 2]]) <= {"answered", "budget"}
    st = _q(store, "SELECT team_idx, count(*) AS n FROM steps WHERE run_id = ? GROUP BY 1",
            s.record.run_id).set_index("team_idx").n
    assert st[1] == 2 and st[0] > 2 and st[2] > 2


def test_failure_in_summarize_is_a_team_error_too(engine, demo_suite, register_backend) -> None:
    register_backend("flaky", FlakyBackend)
    cfg = fast_config(teams=2, backend="flaky", policy="all",
                      backend_options={"fail_teams": [0], "fail_at": 1, "where": "summarize"})
    s = engine.run_task(demo_suite.tasks[1], demo_suite, cfg)
    engine.store.flush()
    assert s.record.status == "finished"
    assert engine.store.scalar("SELECT status FROM teams WHERE run_id = ? AND team_idx = 0",
                               [s.record.run_id]) == "error"


def test_every_team_failing_fails_the_run(engine, demo_suite, register_backend, store) -> None:
    register_backend("flaky", FlakyBackend)
    cfg = fast_config(teams=2, backend="flaky", backend_options={"fail_teams": [0, 1], "fail_at": 0})
    s = engine.run_task(demo_suite.tasks[0], demo_suite, cfg)
    store.flush()
    r = _q(store, "SELECT * FROM runs WHERE run_id = ?", s.record.run_id).iloc[0]
    assert r.status == "failed" and r.error.startswith("every team failed: RuntimeError")
    assert r.answer is None and np.isnan(r.em)


def test_failing_aggregator_fails_the_run_instead_of_leaving_it_running(
        engine, demo_suite, register_backend, store) -> None:
    register_backend("scripted", ScriptedBackend)
    cfg = fast_config(teams=2, backend="scripted", backend_options={"fail_aggregate": True})
    s = engine.run_task(demo_suite.tasks[0], demo_suite, cfg)
    store.flush()
    r = _q(store, "SELECT status, error FROM runs WHERE run_id = ?", s.record.run_id).iloc[0]
    assert r.status == "failed"
    assert "aggregation failed: ConnectionError: aggregator unreachable" in r.error


def test_cancel_a_background_run(engine, demo_suite, store) -> None:
    h = engine.start(demo_suite.tasks[0], demo_suite,
                     fast_config(teams=3, executor="threads", speed=10.0))
    deadline = time.monotonic() + 20
    while h.run.n_steps < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not h.done() and h.run.n_steps >= 2
    t0 = time.monotonic()
    h.cancel()
    assert h.wait(10) and time.monotonic() - t0 < 5
    assert h.error is None
    store.flush()
    assert store.scalar("SELECT status FROM runs WHERE run_id = ?", [h.run_id]) == "cancelled"
    tm = store.query("SELECT * FROM teams WHERE run_id = ?", [h.run_id])
    assert set(tm.status) == {"cancelled"}
    # teams stop at the clock time of the last committed step, not at 0
    last = store.scalar("SELECT max(t_end) FROM steps WHERE run_id = ?", [h.run_id])
    assert last > 0 and (tm.t_end == last).all()
    assert store.scalar("SELECT runtime_s FROM runs WHERE run_id = ?", [h.run_id]) == pytest.approx(last)


# ------------------------------------------------------------------------------ settings
@pytest.mark.parametrize(("field", "value", "needle"), [
    ("teams", 0, "teams must be between 1 and 64, got 0"),
    ("teams", 65, "teams must be between 1 and 64"),
    ("stop", "last", "stop must be one of aggregate, first, got 'last'"),
    ("executor", "gpu", "executor must be one of virtual, threads, got 'gpu'"),
    ("max_steps", 0, "max_steps must be between 1 and 500"),
    ("speed", 0.0, "speed must be positive"),
    ("max_fetch_chars", 10, "max_fetch_chars must be at least 100"),
])
def test_run_config_validation(engine, demo_suite, field, value, needle) -> None:
    cfg = fast_config(**{field: value})
    with pytest.raises(ConfigError) as ei:
        cfg.validate()
    assert needle in str(ei.value)
    with pytest.raises(ConfigError):
        engine.run_task(demo_suite.tasks[0], demo_suite, cfg)
    assert engine.store.scalar("SELECT count(*) FROM runs") == 0  # nothing recorded


@pytest.mark.parametrize(("kw", "needle"), [
    ({"policy": "psychic"}, "unknown policy 'psychic'"),
    ({"backend": "nope"}, "unknown back-end 'nope'"),
    ({"embedder": "word2vec"}, "unknown embedder 'word2vec'"),
    ({"backend_options": {"skil": 0.5}}, "unknown sim parameter(s): skil"),
    ({"policy_options": {"similarity": 1.5}}, "dedup similarity must be in (0, 1]"),
])
def test_bad_names_and_options(engine, demo_suite, kw, needle) -> None:
    with pytest.raises(ValueError) as ei:
        engine.run_task(demo_suite.tasks[0], demo_suite, fast_config(**kw))
    assert needle in str(ei.value)


def test_default_config_is_valid_and_serialises() -> None:
    cfg = RunConfig()
    cfg.validate()
    assert json.loads(cfg.to_json())["policy"] == "dedup"
    assert make_backend("sim").simulated
