"""Memory reuse: who wrote which entry, who read it, and how much of the bank was ever used."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import data, step_view, theme, ui
from app.components import reuse_graph, tables
from app.safe import clip, md
from app.views import explorer


def _on_select() -> None:
    ev = st.session_state.get("g_chart")
    pts = (ev or {}).get("selection", {}).get("points", []) if ev else []
    for p in pts:
        cd = p.get("customdata")
        if isinstance(cd, list):
            cd = cd[0] if cd else None
        if isinstance(cd, str) and cd[:1] in ("T", "E"):
            st.session_state["g_node"] = cd
            return


def render() -> None:
    svc = ui.svc()
    st.title("Memory reuse")
    run_id = ui.run_picker(svc.store, key="g_pick")
    if run_id is None:
        ui.empty_state("No runs recorded yet.", key="g_empty")
        return
    run = data.get_run(svc.store, run_id)
    ui.run_header(run)
    if not data.memory_on(run):
        st.info(f"Memory is off for this run (policy **{md(run['policy'], 40)}**): there is no "
                "bank to reuse. Pick a run with another policy.", icon=":material/hub:")
        return
    entries, reads = data.entries(svc.store, run_id), data.reads(svc.store, run_id)
    harm = data.harm_entries(svc.store, run_id)
    wrong = {int(e) for e in harm[harm.wrong].entry_id} if len(harm) else set()
    n_teams = int(run["teams"])
    f = reuse_graph.reuse_figures(entries, reads)
    if wrong:
        n_reads = int(harm[harm.wrong].reads.sum())
        st.warning(f"{len(wrong)} entr{'y' if len(wrong) == 1 else 'ies'} with **wrong content** "
                   f"(diamonds ringed in magenta; {n_reads} read(s) of them drawn in magenta). "
                   "The explorer's Harm tab says who read them and what they answered.",
                   icon=":material/heart_broken:")
    m = st.columns(5)
    m[0].metric("Entries", f["entries"])
    m[1].metric("Reads", f["reads"])
    m[2].metric("Cross-team share", "–" if f["reads"] == 0 else f"{f['cross_share']:.0%}",
                help="reads of an entry written by another team / all reads (paper: ~69%)")
    m[3].metric("Unused entries", f["unused"],
                None if not f["entries"] else f"{f['unused_share']:.0%} of the bank", delta_color="off", delta_arrow="off",
                help="entries nobody ever read (paper: ~78% of stored entries)")
    m[4].metric("Reads per used entry", "–" if f["reads"] == 0 else f"{f['reads_per_used']:.1f}")
    shown = reuse_graph.trim_entries(entries)
    if len(shown) < len(entries):
        st.caption(f"Showing {len(shown)} of {len(entries)} entries (every read entry, then the "
                   "newest unread ones).")
    g = reuse_graph.build_graph(shown, reads[reads.entry_id.isin(shown.entry_id)], n_teams, wrong)
    nodes = ([f"T{i}" for i in range(n_teams)] + (["T-1"] if "T-1" in g else [])
             + [f"E{e}" for e in sorted(shown.entry_id)])
    if st.session_state.get("g_node") not in nodes or st.session_state.get("g_run") != run_id:
        st.session_state["g_node"] = nodes[0]
        st.session_state["g_run"] = run_id
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown("**Teams (squares) and entries (dots)**. Click a node to inspect it.")
        st.plotly_chart(reuse_graph.graph_figure(g, n_teams, selected=st.session_state["g_node"]),
                        key="g_chart", on_select=_on_select, selection_mode="points",
                        config={"displaylogo": False, "scrollZoom": True})
    with right:
        node = st.selectbox("Node", nodes, key="g_node", format_func=lambda n: _node_label(g, n))
        with st.container(border=True):
            _node_detail(svc.store, run, g, entries, reads, node)
    st.markdown("**Most-reused entries**")
    top = reuse_graph.most_reused(entries)
    if top.empty:
        st.caption("No entry was read in this run.")
    else:
        st.dataframe(tables.style_teams(tables.bank_table(top, wrong), ["team"]), hide_index=True,
                     key="g_top", column_config=ui.COLUMNS)


def _node_label(g, n: str) -> str:
    d = g.nodes[n]
    if d["kind"] == "team":
        return theme.team_label(d["team"])
    return (f"Entry #{d['entry_id']}{' (WRONG)' if d.get('wrong') else ''} · "
            f"{theme.team_short(d['team'])} {clip(d['action'], 40)} · {clip(d['key'], 50)}")


def _node_detail(db, run: dict, g, entries: pd.DataFrame, reads: pd.DataFrame, node: str) -> None:
    d = g.nodes[node]
    if d["kind"] == "team" and d["team"] < 0:
        mine = entries[entries.team_idx < 0]
        st.markdown("**Planted entries** (a poisoning experiment): wrong on purpose, added to the "
                    f"bank at {mine.t_added.min():.0f} s without an admission decision.")
        st.metric("Reads of them", int(reads[reads.producer_team < 0].shape[0]))
        return
    if d["kind"] == "team":
        i = d["team"]
        mine = entries[entries.team_idx == i]
        got = reads[reads.reader_team == i]
        given = reads[reads.producer_team == i]
        st.markdown(f"<span style='color:{theme.team_color(i)};font-size:1.3rem'>■</span> "
                    f"**Team {i}**", unsafe_allow_html=True)
        c = st.columns(3)
        c[0].metric("Entries written", len(mine))
        c[1].metric("Reads made", len(got), f"{int(got.cross_team.sum())} cross-team", delta_color="off", delta_arrow="off")
        c[2].metric("Its entries read", len(given),
                    f"{int(given.cross_team.sum())} by others", delta_color="off", delta_arrow="off")
        if len(got):
            src = got.groupby("producer_team").size()
            st.caption("Read from: " + ", ".join(f"{theme.team_short(t)} ×{n}"
                                                 for t, n in src.items()))
        return
    e = entries[entries.entry_id == d["entry_id"]].iloc[0]
    by = ("planted (poisoning experiment)" if d["team"] < 0
          else f"written by T{d['team']} at step {d['step']}")
    st.markdown(f"<span style='color:{theme.team_color(d['team'])};font-size:1.3rem'>●</span> "
                f"**Entry #{d['entry_id']}** {by} ({md(d['action'], 40)}, {d['t']:.1f} s)",
                unsafe_allow_html=True)
    if d.get("wrong"):
        st.error("Its content is **wrong** (see the explorer's Harm tab).",
                 icon=":material/heart_broken:")
    st.markdown(f"> {md(e.key, 2000, lines=True)}")
    er = reads[reads.entry_id == d["entry_id"]]
    if er.empty:
        st.caption(":material/visibility_off: Never read.")
    else:
        st.dataframe(pd.DataFrame({"reader": ["T" + str(int(t)) for t in er.reader_team],
                                   "step": er.reader_step, "at s": er.t.round(1),
                                   "cross-team": er.cross_team}), hide_index=True, key="g_readers",
                     column_config=ui.COLUMNS)
    if d["team"] < 0:
        return
    with st.expander("The step that wrote it"):
        step_view.show_step(db, run, d["team"], d["step"], key="g_step")
    if st.button("Open that step in the explorer", icon=":material/manage_search:", key="g_open"):
        explorer.open_step(f"{d['team']}:{d['step']}")
        ui.go("explorer")
