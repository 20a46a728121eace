"""Memory reuse page in three states, node details, and the graph builder."""

from __future__ import annotations

import pandas as pd
from app_helpers import no_exception, open_page, texts

from app.components import reuse_graph


def test_empty(empty_db, monkeypatch):
    at = open_page("graph", empty_db, monkeypatch)
    no_exception(at)
    assert "No runs recorded yet" in texts(at)


def test_finished_run_team_and_entry_details(finished_db, monkeypatch):
    at = open_page("graph", finished_db, monkeypatch)
    no_exception(at)
    body = texts(at)
    assert "Cross-team share" in body and "Unused entries" in body
    assert len(at.get("plotly_chart")) == 1
    assert "Entries written" in body  # a team is selected by default
    node = at.selectbox(key="g_node")
    entry = next(o for o in node.options if o.startswith("Entry"))
    node.select(entry).run()
    no_exception(at)
    assert "written by T" in texts(at)


def test_run_in_progress(running_db, monkeypatch):
    at = open_page("graph", running_db, monkeypatch)
    no_exception(at)


def test_graph_counts_reads_as_edge_weights():
    entries = pd.DataFrame({"entry_id": [0, 1], "team_idx": [0, 1], "step_idx": [1, 2],
                            "action": ["search", "open"], "key": ["k0", "k1"], "t_added": [1.0, 2.0],
                            "n_reads": [2, 0]})
    reads = pd.DataFrame({"entry_id": [0, 0], "reader_team": [1, 1], "producer_team": [0, 0],
                          "cross_team": [True, True]})
    g = reuse_graph.build_graph(entries, reads, 2)
    assert g["E0"]["T1"]["weight"] == 2 and g["T0"]["E0"]["kind"] == "wrote"
    f = reuse_graph.reuse_figures(entries, reads)
    assert f["unused"] == 1 and f["cross_share"] == 1.0
    fig = reuse_graph.graph_figure(g, 2)
    assert {"T0", "T1", "E0", "E1"} <= {c for t in fig.data if t.customdata is not None
                                          for c in t.customdata}


def test_an_unread_planted_entry_is_labelled_below_its_node():
    """The planted node sits below the ring and its unread entries hang below it: their label
    goes under the entry, not over the planted node's square (seen at K=10)."""
    entries = pd.DataFrame({"entry_id": [0, 1], "team_idx": [-1, 0], "step_idx": [0, 1],
                            "action": ["open", "search"], "key": ["k0", "k1"], "t_added": [0.0, 1.0],
                            "n_reads": [0, 0]})
    reads = pd.DataFrame(columns=["entry_id", "reader_team", "producer_team", "cross_team"])
    g = reuse_graph.build_graph(entries, reads, 10, {0})
    fig = reuse_graph.graph_figure(g, 10)
    dots = next(t for t in fig.data if (t.name or "").startswith("entry"))
    tp = dots.textposition
    side = dict(zip(dots.customdata, [tp] * len(dots.customdata) if isinstance(tp, str) else tp,
                    strict=True))
    assert side["E0"] == "bottom center"  # under the planted node
    assert side["E1"] == "top center"  # team 0 is at the top of the ring: outward is up
