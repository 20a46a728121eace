"""A learned decision, explained: in words first, then each input's contribution and the most
similar training decisions (recorded by the engine: ``lts_core.policies.explain``, policy ``learned``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from app import theme
from app.safe import esc, md

NAMES = {"query": "the task query", "u": "u (instruction)", "s": "s (summary)",
         "o": "o (output)", "support": "support of s by o", "keys": "all bank keys"}


def has_explanation(features: dict[str, Any]) -> bool:
    return bool(features.get("in_words") or features.get("attribution"))


def input_label(item: dict[str, Any]) -> str:
    if item.get("input") == "key":
        return f"key #{item.get('entry_id', '?')}"
    return NAMES.get(str(item.get("input")), str(item.get("input")))


def attribution_figure(attr: list[dict[str, Any]], height: int | None = None) -> go.Figure:
    """Horizontal bars: how much each input moved P(YES) (positive = towards admitting)."""
    items = sorted(attr, key=lambda a: abs(float(a.get("delta", 0.0))))
    deltas = [float(a.get("delta", 0.0)) for a in items]
    fig = go.Figure(go.Bar(
        orientation="h", x=deltas, y=[esc(input_label(a), 40) for a in items],
        marker=dict(color=[theme.DECISION_COLORS["admitted"] if d >= 0
                           else theme.DECISION_COLORS["rejected"] for d in deltas]),
        hovertext=[f"P(YES) without it: {float(a.get('p_without', 0.0)):.3f}" for a in items],
        hoverinfo="text", text=[f"{d:+.3f}" if abs(d) >= 0.001 else f"{d:+.1e}" for d in deltas],
        textposition="outside", cliponaxis=False))
    big = max([abs(d) for d in deltas] + [0.0])
    lim = big * 1.6 or 1.0  # room for the labels outside the bars
    fig.update_layout(**theme.base_layout(
        height=height or 80 + 26 * max(1, len(items)), showlegend=False,
        margin=dict(l=10, r=10, t=8, b=36),
        xaxis=dict(title="ΔP(YES) from the input (+ towards admit)", range=[-lim, lim],
                   tickformat=".2f" if big >= 0.01 else ".0e", nticks=5,
                   gridcolor=theme.GRID, zeroline=True, zerolinecolor="#3D4A5C")))
    return fig


def show(features: dict[str, Any], decision: str, *, key: str) -> None:
    """Words, then the threshold, then the contributions and similar training decisions.
    ``decision`` is the recorded one (``data.decision_label``): it is quoted, never re-derived."""
    words = features.get("in_words")
    if words:
        st.markdown(f":material/psychology: **{md(words, 600)}**")
    p, th = features.get("p_yes"), features.get("threshold")
    if isinstance(p, int | float) and isinstance(th, int | float):
        st.caption(f"P(YES) = {p:.3f}, compared with the threshold {th:.2f}: {decision} "
                   "(admitted at and above it).")
    elif isinstance(p, int | float) and features.get("rule") == "vote":
        st.caption(f"The controller's P(YES) = {p:.3f} was recorded, not used: with the option "
                   "answers = decided, final answers are left to the vote rule.")
    attr = [a for a in features.get("attribution") or [] if isinstance(a, dict)]
    if attr:
        st.plotly_chart(attribution_figure(attr), key=f"{key}_attr",
                        config={"displayModeBar": False})
    sim = [s for s in features.get("similar_training") or [] if isinstance(s, dict)]
    if sim:
        st.markdown("**Most similar decisions in training** (what the controller learned from)")
        st.dataframe(pd.DataFrame({  # what they got first; the long summary last
            "similarity": [s.get("similarity") for s in sim],
            "action": [str(s.get("action", "")) for s in sim],
            "admitted": [s.get("admitted") for s in sim],
            "entry used": [s.get("used") for s in sim],
            "advantage": [s.get("advantage") for s in sim],
            "reward": [s.get("reward") for s in sim],
            "summary": [str(s.get("summary", ""))[:300] for s in sim]}), hide_index=True,
            key=f"{key}_sim",
            column_config={"similarity": st.column_config.NumberColumn(
                               format="%.3f", help="cosine of the controller's CLS states, each "
                               "dimension standardised over the training memory (1 = the same "
                               "decision)"),
                           "advantage": st.column_config.NumberColumn(format="%+.3f"),
                           "reward": st.column_config.NumberColumn(format="%.2f"),
                           "summary": st.column_config.TextColumn(width="large")})
