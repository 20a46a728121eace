"""Compare's lead figure: accuracy against runtime, one point per group, the no-memory baseline
as the reference and the Pareto front drawn.

Input: ``data.run_metrics`` with a ``group`` column (``compare.with_groups``). Error bars are the
std over seeds of the per-seed means (no bar with one seed). No Streamlit here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app import theme
from app.safe import esc


def group_points(df: pd.DataFrame, baseline: set[str]) -> pd.DataFrame:
    """Per group: EM % and runtime (mean and std over seeds), runs, seeds, is it a baseline."""
    rows = []
    for grp, g in df.groupby("group", sort=False):
        per_seed = g.groupby("seed").agg(em=("em", "mean"), rt=("runtime_s", "mean"))
        rows.append({"group": grp, "policy": str(g.policy.iloc[0]), "runs": len(g),
                     "seeds": len(per_seed), "EM": 100 * float(g.em.mean()),
                     "EM_std": 100 * float(per_seed.em.std(ddof=0)) if len(per_seed) > 1 else 0.0,
                     "runtime": float(g.runtime_s.mean()),
                     "runtime_std": float(per_seed.rt.std(ddof=0)) if len(per_seed) > 1 else 0.0,
                     "baseline": str(g.policy.iloc[0]) in baseline})
    pts = pd.DataFrame(rows)
    if pts.empty:
        return pts
    return pts.sort_values("baseline", ascending=False, kind="stable").reset_index(drop=True)


def pareto_front(pts: pd.DataFrame) -> list[str]:
    """Groups no other group beats on both accuracy (higher) and runtime (lower), fastest first."""
    front = []
    for r in pts.itertuples():
        dominated = ((pts.EM >= r.EM) & (pts.runtime <= r.runtime)
                     & ((pts.EM > r.EM) | (pts.runtime < r.runtime))).any()
        if not dominated and not np.isnan(r.EM) and not np.isnan(r.runtime):
            front.append((r.runtime, r.group))
    return [g for _, g in sorted(front)]


def with_deltas(pts: pd.DataFrame) -> pd.DataFrame:
    """Add ``ΔEM`` (points) and ``runtime ×`` against the first baseline group."""
    base = pts[pts.baseline]
    out = pts.copy()
    if base.empty:
        out["ΔEM"], out["runtime ×"] = np.nan, np.nan
        return out
    b = base.iloc[0]
    out["ΔEM"] = out.EM - b.EM
    out["runtime ×"] = out.runtime / b.runtime if b.runtime else np.nan
    return out


def pareto_figure(pts: pd.DataFrame, colors: dict[str, str], *, simulated: bool = False,
                  height: int = 380) -> go.Figure:
    fig = go.Figure()
    front = pareto_front(pts) if len(pts) else []
    if len(front) > 1:
        f = pts.set_index("group").loc[front]
        fig.add_trace(go.Scatter(x=f.runtime, y=f.EM, mode="lines", name="Pareto front",
                                 line=dict(color="#B8BFC9", width=2, dash="dot", shape="hv"),
                                 hoverinfo="skip"))
    shapes = []
    for r in pts.itertuples():
        if r.baseline:
            shapes += [dict(type="line", xref="x", yref="paper", x0=r.runtime, x1=r.runtime, y0=0,
                            y1=1, line=dict(color="#8A8F98", width=1, dash="dash")),
                       dict(type="line", xref="paper", yref="y", x0=0, x1=1, y0=r.EM, y1=r.EM,
                            line=dict(color="#8A8F98", width=1, dash="dash"))]
        label = esc(r.group, 60) + (" (no memory)" if r.baseline else "")
        fig.add_trace(go.Scatter(
            x=[r.runtime], y=[r.EM], mode="markers+text", name=label, text=[label],
            # diagonal to the point: clear of its error bars, which run straight across it
            textposition=("top right", "bottom right", "top left")[r.Index % 3],
            marker=dict(size=14 if r.baseline else 12,
                                                   color=colors.get(r.group, "#4E79A7"),
                                                   symbol="square" if r.baseline else "circle",
                                                   line=dict(width=1, color="#111")),
            error_x=dict(type="data", array=[r.runtime_std], visible=r.seeds > 1, thickness=1.2),
            error_y=dict(type="data", array=[r.EM_std], visible=r.seeds > 1, thickness=1.2),
            hovertext=[f"<b>{esc(r.group, 80)}</b><br>EM {r.EM:.1f}% ± {r.EM_std:.1f} · runtime "
                       f"{r.runtime:.0f} s ± {r.runtime_std:.0f}<br>{r.runs} runs, {r.seeds} seed(s)"],
            hoverinfo="text", showlegend=False))
    sim = " (modelled, SIMULATED)" if simulated else ""
    fig.update_layout(**theme.base_layout(
        height=height, shapes=shapes,
        title=dict(text="Accuracy against runtime — up and left is better", font_size=14),
        xaxis=dict(title=f"mean runtime per task, seconds{sim}", gridcolor=theme.GRID,
                   rangemode="tozero"),
        yaxis=dict(title="exact match, %", gridcolor=theme.GRID,
                   range=[max(-2.0, float((pts.EM - pts.EM_std).min()) - 8) if len(pts) else 0,
                          min(104.0, float((pts.EM + pts.EM_std).max()) + 8) if len(pts) else 100]),
        margin=dict(l=10, r=10, t=44, b=10),
        legend=dict(orientation="h", yanchor="bottom", y=1.01, xanchor="right", x=1)))
    return fig
