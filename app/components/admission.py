"""Admission figures: the score stream over clock time, and the decision summary per team."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from app import theme
from app.safe import esc


def score_stream_figure(adm: pd.DataFrame, threshold: float | None, *, policy: str = "",
                        t_cut: float | None = None, height: int = 300,
                        label: str = "admission score", simulated: bool = False) -> go.Figure:
    """Each admission decision as a point (x = clock time, y = score), coloured by decision.

    The policy's threshold is the dashed line: steps scoring at or above it are admitted. Decisions
    a rule made instead of the score (``adm.rule``, e.g. the vote rule's answers) are drawn apart.
    """
    if t_cut is not None:
        adm = adm[adm.t <= t_cut + 1e-9]
    fig = go.Figure()
    ruled = adm.rule.notna() if "rule" in adm else pd.Series(False, index=adm.index)
    for dec in ("admitted", "rejected"):
        df = adm[(adm.decision == dec) & ~ruled]
        if df.empty:
            continue
        fig.add_trace(go.Scatter(
            x=df.t, y=df.score, mode="markers", name=theme.DECISION_LABELS[dec],
            marker=dict(color=theme.DECISION_COLORS[dec], size=8, opacity=0.85,
                        symbol="circle" if dec == "admitted" else "x-thin",
                        line=dict(width=1.5 if dec == "admitted" else 2.5,
                                  color="#FFFFFF" if dec == "admitted"
                                  else theme.DECISION_COLORS[dec])),
            customdata=list(zip(df.team_idx, df.step_idx, strict=True)),
            hovertext=[f"<b>T{r.team_idx} #{r.step_idx}</b> {esc(r.action, 40)} · score "
                       f"{r.score:.3f}<br>{esc(r.s, 110)}" for r in df.itertuples(index=False)],
            hoverinfo="text",
        ))
    if ruled.any():  # decided by a rule, not by the score: drawn apart, at 1 (shared) or 0
        df = adm[ruled]
        fig.add_trace(go.Scatter(
            x=df.t, y=df.admitted.astype(float), mode="markers", name="answer, by the vote rule",
            marker=dict(color=[theme.DECISION_COLORS[d] for d in df.decision], size=9,
                        symbol="diamond-open", line=dict(width=2)),
            customdata=list(zip(df.team_idx, df.step_idx, strict=True)),
            hovertext=[f"<b>T{r.team_idx} #{r.step_idx}</b> {esc(r.action, 40)} · "
                       f"{theme.DECISION_LABELS[r.decision]} by the {esc(r.rule, 20)} rule, not by "
                       f"the score<br>{esc(r.s, 110)}" for r in df.itertuples(index=False)],
            hoverinfo="text"))
    shapes, notes = [], []
    if threshold is not None:  # layout shapes: far cheaper than fig.add_hline
        shapes.append(dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=threshold,
                           y1=threshold, line=dict(color="#3D4A5C", dash="dash", width=1)))
        notes.append(dict(text=f"{esc(policy, 40)} threshold {threshold:.2f}", xref="paper", yref="y",
                          x=0, y=threshold, xanchor="left", yanchor="bottom", showarrow=False,
                          font=dict(size=11, color="#3D4A5C")))
    fig.update_layout(shapes=shapes, annotations=notes)
    fig.update_layout(**theme.base_layout(
        height=height, xaxis=dict(title=f"run clock, seconds{' (modelled)' if simulated else ''}",
                                  gridcolor=theme.GRID, zeroline=False),
        yaxis=dict(title=esc(label, 60), range=[-0.05, 1.08], gridcolor=theme.GRID),
    ))
    if adm.empty:
        _empty_note(fig, "no admission decisions yet")
    return fig


def decisions_by_team_figure(adm: pd.DataFrame, n_teams: int, height: int = 220) -> go.Figure:
    """Stacked bars: admitted / rejected steps per team."""
    fig = go.Figure()
    counts = adm.groupby(["team_idx", "decision"]).size().unstack(fill_value=0) if len(adm) else None
    lanes = [theme.team_label(i) for i in range(n_teams)]
    for dec in ("admitted", "rejected"):
        vals = [int(counts.loc[i, dec]) if counts is not None and i in counts.index
                and dec in counts.columns else 0 for i in range(n_teams)]
        fig.add_trace(go.Bar(x=lanes, y=vals, name=theme.DECISION_LABELS[dec],
                             marker_color=theme.DECISION_COLORS[dec]))
    fig.update_layout(**theme.base_layout(barmode="stack", height=height,
                                          yaxis=dict(title="steps", gridcolor=theme.GRID)))
    return fig


def _empty_note(fig: go.Figure, text: str) -> None:
    fig.add_annotation(text=text, showarrow=False, xref="paper", yref="paper", x=0.5, y=0.5,
                       font=dict(color="#8A8F98", size=13))
