"""Training curves from ``train_epochs``: one line per train id in each small panel."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from app import theme
from app.safe import esc

PANELS = [("reward", "reward R"), ("accuracy", "accuracy"), ("admission_rate", "admission rate"),
          ("usage", "usage (share of entries read)"), ("loss", "loss"),
          ("wall_s", "seconds per epoch")]
RATES = ("accuracy", "admission_rate", "usage")


def curves_figure(epochs: pd.DataFrame, height: int = 540) -> go.Figure:
    fig = make_subplots(rows=2, cols=3, subplot_titles=[t for _, t in PANELS],
                        horizontal_spacing=0.07, vertical_spacing=0.2)
    ids = list(dict.fromkeys(epochs.train_id)) if len(epochs) else []
    for i, tid in enumerate(ids):
        d = epochs[epochs.train_id == tid].sort_values("epoch")
        color = theme.TEAM_COLORS[(i * 3) % len(theme.TEAM_COLORS)]
        for j, (col, _) in enumerate(PANELS):
            fig.add_trace(go.Scatter(x=d.epoch, y=d[col], mode="lines+markers", name=esc(tid, 80),
                                     legendgroup=str(tid), showlegend=j == 0,
                                     line=dict(color=color, width=2), marker=dict(size=6)),
                          row=j // 3 + 1, col=j % 3 + 1)
    fig.update_xaxes(gridcolor=theme.GRID, dtick=1)
    fig.update_xaxes(title_text="epoch", row=2)
    fig.update_yaxes(gridcolor=theme.GRID)
    for j, (col, _) in enumerate(PANELS):
        if col in RATES:  # rates live in [0, 1]
            fig.update_yaxes(range=[-0.02, 1.02], row=j // 3 + 1, col=j % 3 + 1)
    fig.update_annotations(font_size=13)
    fig.update_layout(**theme.base_layout(height=height, margin=dict(l=10, r=10, t=70, b=10)))
    fig.update_layout(legend=dict(y=1.1))
    return fig


def pyes_figure(dec: pd.DataFrame, height: int = 300) -> go.Figure:
    """Mean P(YES) per epoch for steps whose entry was later used vs never used."""
    fig = go.Figure()
    for used, name, color in ((True, "entry was read", theme.DECISION_COLORS["admitted"]),
                              (False, "never read", theme.DECISION_COLORS["none"])):
        d = dec[dec.used == used]
        for tid, dd in d.groupby("train_id", sort=False):
            fig.add_trace(go.Scatter(x=dd.epoch, y=dd.p_yes, mode="lines+markers",
                                     name=f"{name} · {esc(tid, 80)}", line=dict(color=color)))
    fig.update_layout(**theme.base_layout(
        height=height, title=dict(text="Controller P(YES) by later usage", font_size=14),
        legend=dict(orientation="h", y=-0.25, yanchor="top", x=0),
        xaxis=dict(title="epoch", gridcolor=theme.GRID, dtick=1),
        yaxis=dict(title="mean P(YES)", range=[0, 1], gridcolor=theme.GRID)))
    return fig
