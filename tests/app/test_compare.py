"""Compare page in three states, and the grouping / alignment helpers."""

from __future__ import annotations

import pandas as pd
from app_helpers import no_exception, open_page, texts

from app import state
from app.components import compare
from lts_core import RunConfig


def test_empty(empty_db, monkeypatch):
    at = open_page("compare", empty_db, monkeypatch)
    no_exception(at)
    assert "Nothing to compare yet" in texts(at)


def test_batches(finished_db, monkeypatch):
    at = open_page("compare", finished_db, monkeypatch)
    no_exception(at)
    assert "simulated" in texts(at).lower()
    assert len(at.get("plotly_chart")) >= 5


def test_runs_mode(tmp_path, monkeypatch):
    db = tmp_path / "two-runs.duckdb"  # two runs to compare (finished_db holds one)
    svc = state._services_for(str(db))
    suite = svc.engine.suite("demo")
    for policy in ("none", "dedup"):
        svc.engine.run_task(suite.tasks[0], suite, RunConfig(policy=policy, embedder="hash"),
                            batch_id="b2")
    svc.store.flush()
    at = open_page("compare", db, monkeypatch)
    at.session_state["cmp_mode"] = "Runs"
    at.run()
    no_exception(at)
    ms = at.multiselect(key="cmp_runs")
    assert len(ms.options) >= 2
    ms.set_value(ms.options[:2]).run()
    no_exception(at)
    assert len(at.get("plotly_chart")) >= 5


def test_run_in_progress(running_db, monkeypatch):
    at = open_page("compare", running_db, monkeypatch)
    no_exception(at)


def _metrics():
    rows = []
    for policy, steps, rt in (("none", 20, 100.0), ("dedup", 16, 80.0)):
        for seed in (0, 1):
            rows.append(dict(run_id=f"{policy}{seed}", batch_id="b", policy=policy, suite="demo",
                             task_id="t1", seed=seed, teams=3, backend="sim", simulated=True,
                             status="finished", runtime_s=rt + seed, em=1.0, f1=1.0, tokens=100,
                             steps=steps, web_calls=steps - 5, read_steps=1, decisions=10,
                             admitted=5, reads=2, cross_reads=2, entries=5, web_calls_avoided=2,
                             tool_s_avoided=3.0, net_saved=1, admission_rate=0.5, llm_calls=40,
                             cost_usd=0.0, planted=0))
    return pd.DataFrame(rows)


def test_baseline_alignment_and_summary():
    df = compare.with_baseline(compare.with_groups(_metrics(), "batch"))
    d = df[df.policy == "dedup"]
    assert list(d.steps_saved_vs_none) == [4, 4]
    assert list(d.runtime_saved_vs_none) == [20.0, 20.0]
    s = compare.summary_table(df)
    assert list(s.group) == ["none", "dedup"] and list(s.runs) == [2, 2]
    al = compare.aligned_table(df)
    assert len(al) == 2 and {"none", "dedup"} <= set(al.columns)
    assert list(s["LLM calls"]) == [40, 40] and "planted entries" not in s
    fig = compare.aligned_scatter(df, "none", "dedup", {"none": "#000", "dedup": "#111"})
    assert "faster on 2 of 2" in fig.layout.title.text


def test_poisoned_runs_are_their_own_group():
    m = _metrics()
    m.loc[m.run_id == "dedup1", "planted"] = 3
    df = compare.with_groups(m, "batch")
    assert list(df.group) == ["none", "none", "dedup", "dedup · poisoned"]
    s = compare.summary_table(df)
    assert s.set_index("group").loc["dedup · poisoned", "planted entries"] == 3
