"""The memory-reuse graph of one run: teams, entries and reads.

Nodes: one per team (large, team colour) and one per entry (small, producer team's colour; hollow
when nobody read it). Edges: producer team -> entry ("wrote", dotted) and entry -> reader team
("read", weight = number of reads, drawn thicker). ``build_graph`` returns the networkx graph;
``graph_figure`` lays it out (teams on a circle, each entry between its writer and its readers)
and draws it with plotly. Node ids: ``"T3"`` for team 3, ``"E12"`` for entry 12 (the plotly points carry
them as customdata, so a click can be mapped back).
"""

from __future__ import annotations

import math

import networkx as nx
import pandas as pd
import plotly.graph_objects as go

from app import theme
from app.safe import esc

MAX_ENTRY_NODES = 400


def build_graph(entries: pd.DataFrame, reads: pd.DataFrame, n_teams: int,
                wrong: set[int] | frozenset = frozenset()) -> nx.DiGraph:
    """``wrong``: ids of entries whose content is wrong (``lts_core.record.harm``), marked on the nodes.
    Entries planted by a poisoning experiment (team -1) hang off a "planted" node ``T-1``."""
    g = nx.DiGraph()
    for i in range(n_teams):
        g.add_node(f"T{i}", kind="team", team=i)
    if len(entries) and (entries.team_idx < 0).any():
        g.add_node("T-1", kind="team", team=-1)
    for e in entries.itertuples(index=False):
        g.add_node(f"E{e.entry_id}", kind="entry", team=int(e.team_idx), entry_id=int(e.entry_id),
                   step=int(e.step_idx), action=e.action, key=e.key, t=float(e.t_added),
                   wrong=int(e.entry_id) in wrong)
        g.add_edge(f"T{e.team_idx}", f"E{e.entry_id}", kind="wrote", weight=1)
    for (eid, reader), df in reads.groupby(["entry_id", "reader_team"]):
        u, v = f"E{eid}", f"T{reader}"
        if u in g:
            g.add_edge(u, v, kind="read", weight=len(df), cross=bool(df.cross_team.iloc[0]))
    return g


def reuse_figures(entries: pd.DataFrame, reads: pd.DataFrame) -> dict[str, float]:
    """Headline numbers: cross-team share of reads, unused entries, reads per entry."""
    n_e, n_r = len(entries), len(reads)
    read_ids = set(reads.entry_id) if n_r else set()
    return {
        "entries": n_e, "reads": n_r,
        "cross_share": float(reads.cross_team.mean()) if n_r else float("nan"),
        "unused": n_e - len(read_ids & set(entries.entry_id)),
        "unused_share": (n_e - len(read_ids & set(entries.entry_id))) / n_e if n_e else float("nan"),
        "reads_per_used": n_r / len(read_ids) if read_ids else float("nan"),
    }


def most_reused(entries: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    df = entries[entries.n_reads > 0].sort_values(["n_reads", "entry_id"], ascending=[False, True])
    return df.head(n)


def _layout(g: nx.DiGraph, n_teams: int) -> dict[str, tuple[float, float]]:
    """Deterministic positions: teams on a circle; a read entry between its writer (60%) and
    its readers (40%), entries sharing writer and readers spread side by side; unread entries on
    an arc outside their writer."""
    radius = (1.6 * max(1.0, n_teams / 6)) if n_teams > 1 else 0.0  # room for entries at large K
    ang = {i: 2 * math.pi * i / max(n_teams, 1) + math.pi / 2 for i in range(n_teams)}
    pos = {f"T{i}": (radius * math.cos(ang[i]), radius * math.sin(ang[i])) for i in range(n_teams)}
    if "T-1" in g:  # planted entries come from outside the teams: their node sits below the ring
        ang[-1], pos["T-1"] = -math.pi / 2, (0.0, -1.45 * max(radius, 1.0))
    groups: dict[tuple[int, tuple[int, ...]], list[str]] = {}
    for node, d in sorted(g.nodes(data=True), key=lambda x: x[1].get("entry_id", -1)):
        if d["kind"] == "entry":
            readers = tuple(sorted(g.nodes[v]["team"] for v in g.successors(node)))
            groups.setdefault((d["team"], readers), []).append(node)
    for (writer, readers), nodes in groups.items():
        wx, wy = pos[f"T{writer}"]
        if not readers:  # unread: an arc on the outer side of the writer
            for j, node in enumerate(nodes):
                ring, k = divmod(j, 16)
                m = min(len(nodes) - ring * 16, 16)
                a = ang[writer] + (k - (m - 1) / 2) * min(0.32, 4.0 / max(m, 1))
                r = 0.48 + 0.2 * ring
                pos[node] = (wx + r * math.cos(a), wy + r * math.sin(a))
            continue
        rx = sum(pos[f"T{t}"][0] for t in readers) / len(readers)
        ry = sum(pos[f"T{t}"][1] for t in readers) / len(readers)
        if readers == (writer,):  # read only by its writer: just inside the writer
            rx, ry = wx * 0.4, wy * 0.4
        ax, ay = 0.6 * wx + 0.4 * rx, 0.6 * wy + 0.4 * ry
        dx, dy = rx - wx, ry - wy
        norm = math.hypot(dx, dy) or 1.0
        px, py = -dy / norm, dx / norm  # spread members across the writer -> readers direction
        for j, node in enumerate(nodes):
            off = (j - (len(nodes) - 1) / 2) * 0.16
            pos[node] = (ax + px * off, ay + py * off)
    return pos


def _label_side(pos: dict[str, tuple[float, float]], node: str, d: dict, reads: int) -> str:
    """An unread entry sits on an arc outside its writer: its label goes on the far side of the
    writer's node (below an entry that hangs below it, e.g. the planted node's), not over it."""
    if reads == 0 and pos[node][1] < pos[f"T{d['team']}"][1]:
        return "bottom center"
    return "top center"


def trim_entries(entries: pd.DataFrame, limit: int = MAX_ENTRY_NODES) -> pd.DataFrame:
    """Keep read entries first, then the newest unread ones, up to ``limit`` nodes."""
    if len(entries) <= limit:
        return entries
    return entries.sort_values(["n_reads", "entry_id"], ascending=[False, False]).head(limit)


def graph_figure(g: nx.DiGraph, n_teams: int, *, selected: str | None = None,
                 height: int = 560) -> go.Figure:
    pos = _layout(g, n_teams)
    fig = go.Figure()
    # wrote edges: one dotted trace per producer team
    for i in range(n_teams):
        xs, ys = [], []
        for u, v, d in g.out_edges(f"T{i}", data=True):
            if d["kind"] == "wrote":
                xs += [pos[u][0], pos[v][0], None]
                ys += [pos[u][1], pos[v][1], None]
        if xs:
            fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", hoverinfo="skip", showlegend=i == 0,
                                     name="wrote (team → entry)", legendgroup="wrote",
                                     line=dict(color=theme.team_color(i), width=0.8, dash="dot")))
    # read edges: grouped by weight so each group can have its own width; reads of wrong entries
    # in their own colour, on top
    by_w: dict[tuple[bool, int, bool], list] = {}
    for u, v, d in g.edges(data=True):
        if d["kind"] == "read":
            bad = bool(g.nodes[u].get("wrong"))
            by_w.setdefault((bad, min(d["weight"], 6), d["cross"]), []).append((u, v))
    first, first_bad = True, True
    for (bad, w, cross), edges in sorted(by_w.items()):
        xs, ys = [], []
        for u, v in edges:
            xs += [pos[u][0], pos[v][0], None]
            ys += [pos[u][1], pos[v][1], None]
        color = theme.WRONG_COLOR if bad else "#3D4A5C" if cross else "#9AA5B1"
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", hoverinfo="skip", legendgroup="wrong" if bad else "read",
            name="read of a WRONG entry" if bad else "read (entry → team), width = reads",
            showlegend=first_bad if bad else first,
            line=dict(color=color, width=(2.5 if bad else 0.8) + 1.4 * w,
                      dash="solid" if cross or bad else "dash"), opacity=0.85 if bad else 0.55))
        if bad:
            first_bad = False
        else:
            first = False
    _entry_nodes(fig, g, pos, selected, labels_all=n_teams <= 6)
    _team_nodes(fig, g, pos, n_teams, selected)
    fig.update_layout(**theme.base_layout(
        height=height, xaxis=dict(visible=False), yaxis=dict(visible=False, scaleanchor="x"),
        hovermode="closest", dragmode="pan", clickmode="event+select",
        margin=dict(l=10, r=10, t=40, b=10),
    ))
    return fig


def _entry_nodes(fig: go.Figure, g: nx.DiGraph, pos: dict, selected: str | None,
                 labels_all: bool = True) -> None:
    """Entry dots; wrong entries are diamonds ringed in the harm colour. At large K only wrong,
    selected and twice-read entries carry a label (the rest overlap)."""
    nodes = [(n, d) for n, d in g.nodes(data=True) if d["kind"] == "entry"]
    if not nodes:
        return
    n_reads = {n: sum(d["weight"] for _, _, d in g.out_edges(n, data=True)) for n, _ in nodes}

    def label(n: str, d: dict) -> str:
        show = d.get("wrong") or n == selected or n_reads[n] >= (1 if labels_all else 2)
        return (f"#{d['entry_id']}" + (" WRONG" if d.get("wrong") else "")) if show else ""

    def ring(n: str, d: dict) -> str:
        return "#111" if n == selected else theme.WRONG_COLOR if d.get("wrong") \
            else theme.team_color(d["team"])

    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n, _ in nodes], y=[pos[n][1] for n, _ in nodes], mode="markers+text",
        name="entry (size = reads; hollow = never read; diamond = wrong)",
        customdata=[n for n, _ in nodes], text=[label(n, d) for n, d in nodes],
        textposition=[_label_side(pos, n, d, n_reads[n]) for n, d in nodes],
        textfont=dict(size=10, color=[theme.WRONG_COLOR if d.get("wrong") else "#5B6473"
                                      for _, d in nodes]),
        marker=dict(
            size=[9 + 4 * min(n_reads[n], 8) + (4 if d.get("wrong") else 0) for n, d in nodes],
            color=[theme.team_color(d["team"]) if n_reads[n] else "#FFFFFF" for n, d in nodes],
            line=dict(width=[3 if n == selected or d.get("wrong") else 1.5 for n, d in nodes],
                      color=[ring(n, d) for n, d in nodes]),
            symbol=["diamond" if d.get("wrong") else "circle" for _, d in nodes]),
        hovertext=[f"<b>entry #{d['entry_id']}</b>{' — WRONG content' if d.get('wrong') else ''} "
                   f"({esc(d['action'], 40)}) by {theme.team_short(d['team'])} step "
                   f"{d['step']}<br>{esc(d['key'], 110)}<br>read {n_reads[n]}×"
                   for n, d in nodes],
        hoverinfo="text"))


def _team_nodes(fig: go.Figure, g: nx.DiGraph, pos: dict, n_teams: int,
                selected: str | None) -> None:
    idx = ([-1] if "T-1" in g else []) + list(range(n_teams))
    ids = [f"T{i}" for i in idx]
    wrote = [g.out_degree(n) for n in ids]
    read = [sum(d["weight"] for _, _, d in g.in_edges(n, data=True)) for n in ids]
    fig.add_trace(go.Scatter(
        x=[pos[n][0] for n in ids], y=[pos[n][1] for n in ids], mode="markers+text",
        name="team", customdata=ids, text=["P" if i < 0 else f"T{i}" for i in idx],
        textfont=dict(color="#FFFFFF", size=12 if n_teams <= 12 else 10),
        textposition="middle center",
        marker=dict(size=38 if n_teams <= 12 else 28, color=[theme.team_color(i) for i in idx],
                    symbol="square",
                    line=dict(width=[3 if n == selected else 1 for n in ids], color="#111")),
        hovertext=[(f"<b>{theme.team_label(i)}</b><br>wrote {w} entries · read {r}×" if i >= 0 else
                    f"<b>Planted</b> (poisoning experiment)<br>{w} wrong entries planted")
                   for i, w, r in zip(idx, wrote, read, strict=True)],
        hoverinfo="text"))
