"""The swimlane: one lane per team, one bar per step (coloured by action), reads as arrows.

``swimlane_figure(steps, reads, n_teams)`` takes the frames of ``data.steps`` and ``data.reads``.
A read is drawn from the end of the step that produced the entry (producer lane) to the start of
the step that fetched it (reader lane), in the producer team's colour. Admission decisions sit at
the end of each bar (green dot = admitted, red cross = rejected). ``t_cut`` shows the run as it
was at that clock time (replay); ``running`` adds a hatched "in progress" bar for teams still at
work, from their last step's end to ``now``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app import theme
from app.safe import esc


def lane_ticks(n_teams: int, planted: bool = False) -> tuple[list[str], list[str]]:
    """Category values and coloured tick labels, Team 0 on top (the planted lane above it)."""
    idx = ([-1] if planted else []) + list(range(n_teams))
    vals = [theme.team_label(i) for i in idx]
    text = [f"<span style='color:{theme.team_color(i)}'>■</span> {v}" for i, v in zip(idx, vals,
                                                                                      strict=True)]
    return vals, text


def reads_shown(reads: pd.DataFrame, focus_team: int | None, wrong: set[int] | frozenset = frozenset()
                ) -> pd.DataFrame:
    """Reads drawn as arrows: all, or those to or from ``focus_team``; reads of wrong entries always."""
    if focus_team is None or reads.empty:
        return reads
    keep = ((reads.producer_team == focus_team) | (reads.reader_team == focus_team)
            | reads.entry_id.isin(list(wrong)))
    return reads[keep]


def clip(steps: pd.DataFrame, reads: pd.DataFrame, t_cut: float | None):
    """Steps and reads as they stood at clock ``t_cut`` (steps end at their commit time)."""
    if t_cut is None:
        return steps, reads
    return steps[steps.t_end <= t_cut + 1e-9], reads[reads.t <= t_cut + 1e-9]


def _hover(df: pd.DataFrame) -> np.ndarray:
    out = []
    for r in df.itertuples(index=False):
        score = "" if pd.isna(r.score) else f" (score {r.score:.2f})"
        dec = theme.DECISION_LABELS[r.decision]
        out.append(f"<b>T{r.team_idx} #{r.step_idx} {esc(r.action, 40)}</b> {esc(r.arg, 60)}<br>"
                   f"{esc(r.s, 110)}<br>{r.t_start:.1f}–{r.t_end:.1f} s · {dec}{score}")
    return np.array(out, dtype=object)  # arrays skip plotly's per-element list validation


def vline(x: float) -> dict:
    """A dotted vertical line as a layout shape (much cheaper than ``fig.add_vline``)."""
    return dict(type="line", xref="x", yref="paper", x0=x, x1=x, y0=0, y1=1,
                line=dict(color="#3D4A5C", width=1, dash="dot"))


def swimlane_figure(steps: pd.DataFrame, reads: pd.DataFrame, n_teams: int, *,
                    t_cut: float | None = None, running: dict[int, float] | None = None,
                    now: float | None = None, simulated: bool = False,
                    height: int | None = None, focus_team: int | None = None,
                    wrong: set[int] | frozenset = frozenset()) -> go.Figure:
    """``focus_team``: draw only the reads to or from that team (large K); ``wrong``: entry ids
    whose content is wrong, their reads drawn thick and dashed in the harm colour."""
    steps, reads = clip(steps, reads, t_cut)
    n_teams = max(int(n_teams), int(steps.team_idx.max()) + 1 if len(steps) else 1,
                  int(reads[["producer_team", "reader_team"]].max().max()) + 1 if len(reads) else 1)
    planted = bool(len(reads)) and bool((reads.producer_team < 0).any())
    lanes, ticktext = lane_ticks(n_teams, planted)
    lane_arr = np.array(lanes[1:] if planted else lanes, dtype=object)  # indexed by team
    lane_of = {i: lab for i, lab in zip(([-1] if planted else []) + list(range(n_teams)), lanes,
                                        strict=True)}
    reads = reads_shown(reads, focus_team, wrong)
    fig = go.Figure()
    for action in theme.ACTION_ORDER + sorted(set(steps.action) - set(theme.ACTION_ORDER)):
        df = steps[steps.action == action]
        if df.empty:
            continue
        fig.add_trace(go.Bar(
            orientation="h", base=df.t_start.to_numpy(),
            x=(df.t_end - df.t_start).clip(lower=0.05).to_numpy(),
            y=lane_arr[df.team_idx.to_numpy(dtype=int)],
            name=theme.ACTION_LABELS.get(action) or esc(action, 40),
            marker=dict(color=theme.ACTION_COLORS.get(action, "#CCCCCC"),
                        line=dict(color="#FFFFFF", width=1)),
            hovertext=_hover(df), hoverinfo="text", width=0.62,
            customdata=df[["team_idx", "step_idx"]].to_numpy(dtype=int),
        ))
    if running and now is not None:
        run_df = [(i, t0) for i, t0 in running.items() if now > t0]
        if run_df:
            fig.add_trace(go.Bar(
                orientation="h", base=[t0 for _, t0 in run_df], x=[now - t0 for _, t0 in run_df],
                y=[lane_of[i] for i, _ in run_df], name="in progress", width=0.62,
                marker=dict(color="rgba(120,130,150,0.12)", pattern=dict(shape="/", fgcolor="#A0A8B8"),
                            line=dict(color="#A0A8B8", width=1)),
                hoverinfo="skip"))
    _decision_marks(fig, steps, lane_arr)
    _read_arrows(fig, reads, lane_of, wrong)
    x_max = max([now or 0.0, t_cut or 0.0, float(steps.t_end.max()) if len(steps) else 1.0])
    n_lanes = len(lanes)
    fig.update_layout(**theme.base_layout(
        barmode="overlay", bargap=0.3,
        height=height or max(230, 70 + (44 if n_lanes <= 12 else 26) * n_lanes),
        xaxis=dict(title=f"run clock, seconds{' (modelled)' if simulated else ''}",
                   range=[0, x_max * 1.02 + 0.5], gridcolor=theme.GRID, zeroline=False),
        yaxis=dict(categoryorder="array", categoryarray=lanes[::-1], tickvals=lanes,
                   ticktext=ticktext, range=[-0.6, n_lanes - 0.4],
                   tickfont=dict(size=12 if n_lanes <= 12 else 10)),
        margin=dict(l=10, r=10, t=30, b=10), hovermode="closest",
        shapes=[vline(now)] if now is not None else [],
    ))
    return fig


def _decision_marks(fig: go.Figure, steps: pd.DataFrame, lanes: np.ndarray) -> None:
    for dec, symbol in (("admitted", "circle"), ("rejected", "x-thin")):
        df = steps[steps.decision == dec]
        if df.empty:
            continue
        fig.add_trace(go.Scatter(
            x=df.t_end.to_numpy(), y=lanes[df.team_idx.to_numpy(dtype=int)], mode="markers",
            name=theme.DECISION_LABELS[dec], hoverinfo="skip",
            marker=dict(symbol=symbol, size=7, color=theme.DECISION_COLORS[dec],
                        line=dict(width=2 if dec == "rejected" else 1,
                                  color=theme.DECISION_COLORS[dec] if dec == "rejected" else "#FFF")),
        ))


def _read_arrows(fig: go.Figure, reads: pd.DataFrame, lane_of: dict[int, str],
                 wrong: set[int] | frozenset = frozenset()) -> None:
    if reads.empty:
        return
    bad = reads.entry_id.isin(list(wrong))
    groups = [(int(p), df, False) for p, df in reads[~bad].groupby("producer_team", sort=True)]
    if bad.any():
        groups.append((0, reads[bad], True))
    for n, (producer, df, is_wrong) in enumerate(groups):
        xs: list[float | None] = []
        ys: list[str | None] = []
        sizes: list[float] = []
        texts: list[str] = []
        for r in df.itertuples(index=False):
            xs += [r.t_added, r.t, None]
            ys += [lane_of[int(r.producer_team)], lane_of[int(r.reader_team)], None]
            sizes += [0, 13 if is_wrong else 11, 0]
            tip = (f"<b>memory #{r.entry_id}</b>{' (WRONG content)' if is_wrong else ''} from "
                   f"{theme.team_short(r.producer_team)} #{r.producer_step} → T{r.reader_team} "
                   f"#{r.reader_step} at {r.t:.1f} s<br>{esc(r.key, 110)}")
            texts += [tip, tip, ""]
        color = theme.WRONG_COLOR if is_wrong else theme.team_color(producer)
        fig.add_trace(go.Scatter(
            x=np.array(xs, dtype=object), y=np.array(ys, dtype=object),
            mode="lines+markers",
            name="read of a wrong entry" if is_wrong else "memory read (writer's colour)",
            legendgroup="wrong" if is_wrong else "reads", showlegend=is_wrong or n == 0,
            line=dict(color=color, width=3.5 if is_wrong else 2, dash="dash" if is_wrong else None),
            marker=dict(symbol="arrow", angleref="previous", size=np.array(sizes), color=color),
            hovertext=np.array(texts, dtype=object), hoverinfo="text", connectgaps=False, opacity=0.9,
        ))
