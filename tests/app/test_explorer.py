"""Run explorer in three states, step selection, near-misses and replay."""

from __future__ import annotations

import pandas as pd
from app_helpers import no_exception, open_page, texts

from app import data, state
from app.views import explorer


def test_empty(empty_db, monkeypatch):
    at = open_page("explorer", empty_db, monkeypatch)
    no_exception(at)
    assert "No runs recorded yet" in texts(at)


def test_finished_run_explains_a_step(finished_db, monkeypatch):
    at = open_page("explorer", finished_db, monkeypatch)
    no_exception(at)
    body = texts(at)
    assert "gold" in body and ("right" in body or "wrong" in body)
    assert "simulated" in body
    sel = at.selectbox(key="ex_step")
    svc = state._services_for(str(finished_db))
    steps = data.steps(svc.store, data.latest_run_id(svc.store))
    rejected = steps[(steps.decision == "rejected")].iloc[0]
    at.selectbox(key="ex_step").set_value(f"{rejected.team_idx}:{rejected.step_idx}").run()
    no_exception(at)
    body = texts(at)
    assert "Admission decision" in body and "REJECTED" in body
    assert "Nearest keys already in the bank" in body
    assert sel is not None


def test_step_filters():
    df = pd.DataFrame({"team_idx": [0, 1, 1], "action": ["search", "open", "search"],
                       "decision": ["admitted", "rejected", "none"],
                       "arg": ["Foo bar", "Baz", "qux"], "s": ["a", "b", "c"]})
    assert len(explorer.filter_steps(df, [1], [], [], "")) == 2
    assert len(explorer.filter_steps(df, [], ["search"], ["none"], "")) == 1
    assert len(explorer.filter_steps(df, [], [], [], "foo")) == 1


def test_other_tabs_render(finished_db, monkeypatch):
    tabs = {":material/report: Near-misses": "Near-misses",
            ":material/replay: Replay": "Steps done",
            ":material/groups: Teams & answers": "Gold answer"}
    for tab, expected in tabs.items():
        at = open_page("explorer", finished_db, monkeypatch)
        at.session_state["ex_tab"] = tab
        at.run()
        no_exception(at)
        assert expected in texts(at), tab


def test_replay_at_the_end_shows_every_step_and_steps_back(finished_db, monkeypatch):
    at = open_page("explorer", finished_db, monkeypatch)
    at.session_state["ex_tab"] = ":material/replay: Replay"
    at.run()
    done = next(m for m in at.metric if m.label == "Steps done").value
    n, total = map(int, done.split(" / "))
    assert n == total
    at.button(key="ex_prev").click().run()
    n2 = int(next(m for m in at.metric if m.label == "Steps done").value.split(" / ")[0])
    assert n2 < n


def test_run_in_progress(running_db, monkeypatch):
    at = open_page("explorer", running_db, monkeypatch)
    no_exception(at)
    assert "running" in texts(at)
    assert "No final answer yet" in texts(at)


def test_a_retried_run_shows_why(tmp_path, monkeypatch):
    """A run lost with its Ray worker (status ``retried``) says so at the top of the explorer."""
    from lts_core.runtime.engine import RunConfig
    from lts_core.scale.pool import lost_run

    path = tmp_path / "retried.duckdb"
    svc = state._services_for(str(path))
    suite = svc.engine.suite("demo")
    s = lost_run(suite.tasks[0], "demo", RunConfig(embedder="hash"), "b-r", "retried",
                 "lost with its Ray worker (attempt 1 of 2): the worker died; played again")
    svc.store.write(s.record)
    svc.store.flush()
    at = open_page("explorer", path, monkeypatch)
    no_exception(at)
    assert "lost with its Ray worker (attempt 1 of 2)" in texts(at)


def test_an_answer_the_vote_rule_decided_shows_the_vote_not_a_score(tmp_path, monkeypatch):
    from lts_core import RunConfig

    path = tmp_path / "lts.duckdb"
    svc = state._services_for(str(path))
    suite = svc.engine.suite("demo")
    svc.engine.run_task(suite.tasks[0], suite, RunConfig(policy="dedup", embedder="hash",
                                                         policy_options={"answers": "decided"}))
    svc.store.flush()
    rid = data.latest_run_id(svc.store)
    adm = data.admissions(svc.store, rid)
    answers = adm[adm.action == "answer"]
    assert len(answers) and (answers.rule == "vote").all() and adm[adm.action != "answer"].rule.isna().all()
    at = open_page("explorer", path, monkeypatch)
    a = answers.iloc[-1]
    at.selectbox(key="ex_step").set_value(f"{a.team_idx}:{a.step_idx}").run()
    no_exception(at)
    vote = next(m for m in at.metric if m.label == "Vote")
    assert vote.value.endswith("of 3") and "vote rule" in texts(at)
    assert not any(m.label == "Score" for m in at.metric)


def test_the_score_stream_draws_rule_decisions_apart_from_scored_ones():
    from app.components.admission import score_stream_figure

    adm = pd.DataFrame({"team_idx": [0, 1, 2], "step_idx": [1, 5, 6], "t": [1.0, 2.0, 3.0],
                        "score": [0.7, 1.0, 0.0], "admitted": [True, True, False],
                        "threshold": [0.5, None, None], "action": ["search", "answer", "answer"],
                        "s": ["a", "b", "c"], "rule": [None, "vote", "vote"],
                        "decision": ["admitted", "admitted", "rejected"]})
    fig = score_stream_figure(adm, 0.5, policy="learned")
    names = [t.name for t in fig.data]
    assert names.count("answer, by the vote rule") == 1
    ruled = fig.data[names.index("answer, by the vote rule")]
    assert list(ruled.y) == [1.0, 0.0] and "not by the score" in ruled.hovertext[0]
    assert sum(len(t.x) for t in fig.data) == 3  # each decision drawn once
    assert len(score_stream_figure(adm.drop(columns="rule"), 0.5).data) == 2  # older records
