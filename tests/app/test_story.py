"""The two stories on the pages: what sharing saved (counterfactual, Pareto) and what went wrong
(harm view, wrong entries on the graph and Live), deep links, learned explanations."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from app_helpers import TIMEOUT, no_exception, open_page, texts

from app import counterfactual, data, explain_view, state, theme
from app.components import pareto, reuse_graph, swimlane, tables
from lts_core import RunConfig


@pytest.fixture(scope="session")
def poisoned_db(tmp_path_factory):
    """One finished run with two planted wrong entries (policy all), read through the sim."""
    path = tmp_path_factory.mktemp("poisoned") / "lts.duckdb"
    svc = state._services_for(str(path))
    suite = svc.engine.suite("demo")
    best = None
    for i in range(4):  # a task where some team reads a planted entry
        s = svc.engine.run_task(suite.tasks[i], suite, RunConfig(
            policy="all", embedder="hash", poison=2, poison_at_s=0.0), batch_id="p1")
        svc.store.flush()
        h = data.harm_entries(svc.store, s.record.run_id)
        best = s.record.run_id
        if int(h[h.planted].reads.sum()):
            break
    return path, best


def _page(name, db, monkeypatch, **params):
    from app_helpers import page_script
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LTS_DB", str(db))
    at = AppTest.from_string(page_script(name), default_timeout=TIMEOUT)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def test_harm_tab_flags_planted_entries(poisoned_db, monkeypatch):
    db, rid = poisoned_db
    at = _page("explorer", db, monkeypatch, run=rid)
    no_exception(at)
    at.session_state["ex_tab"] = ":material/heart_broken: Harm"
    at.run()
    no_exception(at)
    t = texts(at)
    m = next(m for m in at.metric if m.label == "Wrong entries")
    assert int(m.value) >= 2 and m.delta == "2 planted" and "Reads of them" in t
    tbl = next(d.value for d in at.dataframe if "why wrong" in d.value.columns)
    assert tbl["why wrong"].str.startswith("planted wrong").sum() == 2


def test_graph_and_live_show_wrong_entries(poisoned_db, monkeypatch):
    db, rid = poisoned_db
    at = _page("graph", db, monkeypatch, run=rid)
    no_exception(at)
    assert "wrong content" in texts(at)
    at = _page("live", db, monkeypatch)
    no_exception(at)
    m = next(m for m in at.metric if m.label == "Reads of wrong entries")
    assert str(m.delta).endswith(", 2 planted")
    bank = next(m for m in at.metric if m.label == "Bank")  # policy all: every step admitted
    assert bank.delta == "100% admitted" and "bypass admission: 2 here" in bank.help


def test_deep_link_opens_run_and_step(poisoned_db, monkeypatch):
    db, rid = poisoned_db
    at = _page("explorer", db, monkeypatch, run=rid, step="1.2")
    no_exception(at)
    assert at.selectbox(key="ex_step").value == "1:2"
    assert rid in texts(at)


def test_unknown_run_id_is_said(poisoned_db, monkeypatch):
    db, _ = poisoned_db
    at = _page("explorer", db, monkeypatch, run="nosuchrun")
    no_exception(at)
    assert "No run with id" in texts(at) and "nosuchrun" in texts(at)
    assert at.query_params["run"] == ["nosuchrun"] or at.query_params["run"] == "nosuchrun"


def test_counterfactual_is_played_and_shown(finished_db, monkeypatch):
    at = open_page("explorer", finished_db, monkeypatch)
    no_exception(at)
    rid = at.session_state["run_id"]
    end = time.monotonic() + 60
    while counterfactual.playing(rid) and time.monotonic() < end:
        time.sleep(0.3)
    at.run()
    no_exception(at)
    t = texts(at)
    assert "with sharing vs" in t and "without" in t, t[:2000]
    assert "played by the dashboard on the virtual executor" in t
    # the counterfactual never becomes the run Live follows
    svc = state._services_for(str(finished_db))
    assert data.latest_run_id(svc.store) == rid


def test_pareto_points_front_and_deltas():
    rows = []
    for policy, em, rt in (("dedup", 1.0, 80.0), ("none", 1.0, 100.0), ("all", 0.0, 70.0),
                           ("slow", 0.0, 120.0)):
        for seed in (0, 1):
            rows.append(dict(group=policy, policy=policy, seed=seed, em=em, runtime_s=rt + seed))
    pts = pareto.with_deltas(pareto.group_points(pd.DataFrame(rows), {"none"}))
    assert pts.group.iloc[0] == "none"  # the baseline first
    assert pareto.pareto_front(pts) == ["all", "dedup"]
    d = pts.set_index("group")
    assert d.loc["dedup", "ΔEM"] == 0 and round(d.loc["dedup", "runtime ×"], 2) == 0.80
    fig = pareto.pareto_figure(pts, {g: "#000" for g in pts.group})
    assert any(t.name == "Pareto front" for t in fig.data)


def test_compare_leads_with_pareto(finished_db, monkeypatch):
    at = open_page("compare", finished_db, monkeypatch)
    no_exception(at)
    assert at.get("plotly_chart")[0].proto.id  # the first chart on the page
    assert "one run only" in texts(at)


def test_learned_explanation_words_first():
    from streamlit.testing.v1 import AppTest

    def page():
        from app import explain_view

        explain_view.show({"in_words": "rejected mostly because of o (the step's output)",
                           "p_yes": 0.2, "threshold": 0.5,
                           "attribution": [{"input": "o", "p_without": 0.41, "delta": -0.21},
                                           {"input": "key", "entry_id": 3, "p_without": 0.1,
                                            "delta": 0.1}],
                           "similar_training": [{"action": "search", "summary": "s", "admitted": False,
                                                 "advantage": -0.1, "used": False, "reward": 1.0,
                                                 "similarity": 0.9}]}, "rejected", key="t")

    at = AppTest.from_function(page).run()
    no_exception(at)
    assert "rejected mostly because of o" in at.markdown[0].value
    assert "threshold 0.50: rejected" in at.caption[0].value  # the recorded decision, quoted
    assert len(at.dataframe) == 1
    fig = explain_view.attribution_figure([{"input": "o", "delta": -0.2}, {"input": "s", "delta": 0.1}])
    assert list(fig.data[0].y) == ["s (summary)", "o (output)"]


def test_small_pieces():
    assert tables.fmt_secs(119.6) == "2 min 0 s" and tables.fmt_secs(59.97) == "1 min 0 s"
    assert len({theme.team_color(i) for i in range(32)}) == 32
    assert theme.team_label(-1) == "Planted"
    reads = pd.DataFrame({"entry_id": [0, 5], "producer_team": [-1, 1], "producer_step": [0, 2],
                          "t_added": [0.0, 3.0], "reader_team": [0, 2], "reader_step": [1, 4],
                          "t": [2.0, 6.0], "cross_team": [True, True], "similarity": [0.5, 0.6],
                          "key": ["k", "k2"]})
    steps = pd.DataFrame({"team_idx": [0, 1, 2], "step_idx": [1, 2, 4], "action": ["memory_read"] * 3,
                          "arg": ["0"] * 3, "s": ["x"] * 3, "t_start": [1.0, 2.0, 5.0],
                          "t_end": [2.0, 3.0, 6.0], "score": [None] * 3, "decision": ["none"] * 3})
    fig = swimlane.swimlane_figure(steps, reads, 3, wrong={0}, focus_team=2)
    names = [t.name for t in fig.data]
    assert "read of a wrong entry" in names  # shown although team 2 is in focus
    assert fig.layout.yaxis.tickvals[0] == "Planted"
    entries = pd.DataFrame({"entry_id": [0, 5], "team_idx": [-1, 1], "step_idx": [0, 2],
                            "action": ["open", "search"], "key": ["k", "k2"], "t_added": [0.0, 3.0]})
    g = reuse_graph.build_graph(entries, reads, 3, {0})
    assert g.nodes["E0"]["wrong"] and "T-1" in g
    fig = reuse_graph.graph_figure(g, 3)
    assert any("WRONG" in (t.name or "") for t in fig.data)
    assert explain_view.input_label({"input": "key", "entry_id": 7}) == "key #7"


def test_counterfactual_of_an_unknown_suite_is_none():
    class Eng:
        def suite(self, name):
            raise ValueError(f"unknown suite {name!r}")

    class Store:
        def query(self, sql, params=None):
            return pd.DataFrame(columns=["run_id"])

    svc = type("Svc", (), {"engine": Eng(), "store": Store()})()
    run = {"run_id": "r-unknown", "suite": "synthetic", "task_id": "t", "seed": 0, "teams": 3,
           "backend": "sim", "max_steps": 30, "stop": "aggregate", "status": "finished",
           "simulated": True, "policy": "dedup", "config_json": "{}"}
    assert counterfactual.find_or_play(svc, run) is None
    assert not counterfactual.playing("r-unknown")


def test_the_panel_polls_from_the_redraw_that_starts_the_replay(tmp_path, monkeypatch):
    """The run's last redraw starts the no-memory replay; that same panel must poll for it (it
    did not, and the result waited for a reload)."""
    from app import story
    from lts_core import RunConfig

    svc = state._services_for(str(tmp_path / "cf.duckdb"))
    suite = svc.engine.suite("demo")
    svc.engine.run_task(suite.tasks[1], suite, RunConfig(policy="dedup", embedder="hash"))
    svc.store.flush()
    run = data.get_run(svc.store, data.latest_run_id(svc.store))
    polls: list = []

    def fragment(run_every=None):
        polls.append(run_every)
        return lambda f: f

    monkeypatch.setattr(story.st, "fragment", fragment)
    story.counterfactual_panel(svc, run, key="t")
    assert polls == [1.0]
    end = time.monotonic() + 60
    while counterfactual.playing(run["run_id"]) and time.monotonic() < end:
        time.sleep(0.2)
    story.counterfactual_panel(svc, run, key="t")  # recorded now: nothing left to poll for
    assert polls == [1.0, None]


def test_the_harm_verdict_follows_the_readers_who_voted_for_the_wrong_answer():
    from app.harm_view import _verdict

    rd = pd.DataFrame({"reader_team": [1, 2, 0], "entry_id": [0, 0, 3],
                       "why": ["planted wrong fact", "planted wrong fact", "wrong answer"],
                       "content": ["fact", "fact", "Kestrow Span"],
                       "repeated": [False, False, True], "gave_final": [True, True, False]})
    v = _verdict({"answer": "Greywater Bridge"}, rd, final_ok=False)
    assert "The vote came out wrong (“Greywater Bridge”): T1, T2 answered it after reading " \
           "wrong entry #0 (planted wrong fact)" in v
    assert "T0 repeated the wrong answer entry “Kestrow Span”" in v
    v = _verdict({"answer": "x"}, rd.assign(gave_final=False), final_ok=False)
    assert "no reader voted for it" in v
    assert "still right" in _verdict({"answer": "y"}, rd, final_ok=True)


def test_the_counterfactual_headline_says_which_answer_was_right():
    from app.counterfactual import Counterfactual
    from app.story import headline, worth_it

    def cf(em, em_off, same=True, a=100.0, b=200.0):
        return Counterfactual("r", a, b, 100 * (1 - a / b), same, em, em_off, True)

    assert headline(cf(1.0, 1.0)) == "100 s with sharing vs 200 s without (-50%); both right"
    assert headline(cf(0.0, 1.0, False)).endswith("wrong with sharing, right without")
    assert headline(cf(1.0, 0.0, False)).endswith("right with sharing, wrong without")
    assert headline(cf(0.0, 0.0, False)).endswith("both wrong, with different answers")
    assert headline(cf(None, None, None)).endswith("answers not comparable")
    assert worth_it(cf(1.0, 1.0)) and not worth_it(cf(0.0, 1.0)) and not worth_it(cf(1.0, 1.0, a=300))
