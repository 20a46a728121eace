"""Comparing runs or batches: grouping, alignment on (task, seed) and the figures.

Input: the frame of ``data.run_metrics`` (one row per run). ``with_groups`` labels each run with
the group it is compared in; everything else works per group.

Two honest "saved" measures, both shown:
- ``web_calls_avoided`` / ``net_saved`` (see ``app.data``): from the run's own record;
- ``*_vs_none``: the same task and seed run without memory (policy ``none``) in the selection,
  minus this run: steps, web calls and runtime saved against the no-sharing baseline.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from app import theme
from app.safe import esc

ALIGN_KEYS = ["task_id", "seed", "teams", "backend", "suite"]


def with_groups(df: pd.DataFrame, mode: str) -> pd.DataFrame:
    """``mode`` "batch": group = policy (· batch when several); "run": one group per run."""
    df = df.copy()
    if mode == "run":
        df["group"] = df.policy + " · " + df.run_id.str[:6]
    elif df.batch_id.nunique() > 1:
        df["group"] = df.policy + " · " + df.batch_id.str[:6]
    else:
        df["group"] = df.policy
    if "planted" in df and (df.planted > 0).any():  # a poisoning experiment is its own group
        df["group"] = df.group.where(df.planted == 0, df.group + " · poisoned")
    return df


def with_baseline(df: pd.DataFrame) -> pd.DataFrame:
    """Add steps / web calls / runtime saved against the aligned memory-off run (the policy
    registry says which policies have no bank; NaN without one)."""
    from lts_core.policies import uses_memory

    off = [p for p in df.policy.unique() if not uses_memory(str(p))]
    base = (df[df.policy.isin(off)].groupby(ALIGN_KEYS)[["steps", "web_calls", "runtime_s"]]
            .mean().add_suffix("_none").reset_index())
    out = df.merge(base, on=ALIGN_KEYS, how="left")
    out["steps_saved_vs_none"] = out.steps_none - out.steps
    out["web_calls_saved_vs_none"] = out.web_calls_none - out.web_calls
    out["runtime_saved_vs_none"] = out.runtime_s_none - out.runtime_s
    return out.drop(columns=["steps_none", "web_calls_none", "runtime_s_none"])


def group_colors(groups: list[str], policies: dict[str, str]) -> dict[str, str]:
    """Policy colour per group; groups sharing a policy get distinct fallbacks."""
    out, used = {}, set()
    for i, g in enumerate(groups):
        c = theme.policy_color(policies.get(g, ""), i)
        if c in used:
            c = theme.TEAM_COLORS[(i * 3 + 1) % len(theme.TEAM_COLORS)]
        used.add(c)
        out[g] = c
    return out


def summary_table(df: pd.DataFrame) -> pd.DataFrame:
    """One row per group: means (runtime also its std) of what Compare plots; the cost is the
    group's total."""
    g = df.groupby("group", sort=False)
    out = pd.DataFrame({
        "runs": g.size(),
        "simulated": g.simulated.any(),
        "EM %": 100 * g.em.mean(),
        "F1 %": 100 * g.f1.mean(),
        "runtime s": g.runtime_s.mean(),
        "runtime std": g.runtime_s.std(ddof=0),
        "admitted %": 100 * g.admitted.sum() / g.decisions.sum().replace(0, np.nan),
        "steps": g.steps.mean(),
        "web calls": g.web_calls.mean(),
        "web calls avoided": g.web_calls_avoided.mean(),
        "net steps saved": g.net_saved.mean(),
        "cross-team reads": g.cross_reads.mean(),
        "tokens": g.tokens.mean(),
        "LLM calls": g.llm_calls.mean(),
        "cost $": g.cost_usd.sum(min_count=1),
    })
    if "planted" in df and (df.planted > 0).any():
        out["planted entries"] = g.planted.mean()
    if "steps_saved_vs_none" in df:
        out["steps saved vs none"] = g.steps_saved_vs_none.mean()
    return out.reset_index()


def runtime_figure(df: pd.DataFrame, colors: dict[str, str], height: int = 340) -> go.Figure:
    """Runtime distribution per group: box plus every run as a point."""
    fig = go.Figure()
    for grp, d in df.groupby("group", sort=False):
        fig.add_trace(go.Box(
            y=d.runtime_s, name=esc(grp, 80), marker_color=colors[grp], boxpoints="all",
            jitter=0.4, pointpos=0, boxmean=True,
            hovertext=[f"{esc(r.task_id, 120)} seed {r.seed} · {esc(r.run_id, 40)}"
                       for r in d.itertuples(index=False)],
            hoverinfo="y+text"))
    sim = " (modelled)" if df.simulated.any() else ""
    top = float(df.runtime_s.max()) if df.runtime_s.notna().any() else 1.0
    fig.update_layout(**theme.base_layout(
        height=height, showlegend=False, title=dict(text=f"Runtime per task{sim}", font_size=14),
        yaxis=dict(title="seconds, start to final answer", gridcolor=theme.GRID,
                   range=[0, top * 1.12 + 1])))
    return fig


def bar_figure(summary: pd.DataFrame, cols: list[str], colors: dict[str, str], title: str, *,
               y_title: str = "", height: int = 300) -> go.Figure:
    """Grouped bars of ``cols`` per group (one bar per group and column)."""
    fig = go.Figure()
    multi = len(cols) > 1
    for _, r in summary.iterrows():
        fig.add_trace(go.Bar(
            x=cols if multi else [esc(r.group, 80)], y=[r[c] for c in cols], name=esc(r.group, 80),
            marker_color=colors[r.group], showlegend=multi,
            text=[_fmt(r[c]) for c in cols], textposition="outside", cliponaxis=False))
    vals = [float(v) for c in cols for v in summary[c] if v == v]
    lo, hi = min(vals + [0.0]), max(vals + [0.0])
    pad = (hi - lo) * 0.15 or 1.0
    y_range = [lo - (pad if lo < 0 else 0), hi + pad]
    if all(c.endswith("%") for c in cols) and lo >= 0:  # a share: always on its 0-100 scale
        y_range = [0, max(hi + pad, 100 * 1.15)]
    fig.update_layout(**theme.base_layout(
        height=height, barmode="group", title=dict(text=title, font_size=14),
        yaxis=dict(title=y_title, gridcolor=theme.GRID, range=y_range,
                   zeroline=True, zerolinecolor="#B8BFC9"),
        xaxis=dict(tickangle=0), margin=dict(l=10, r=10, t=40, b=10)))
    if multi:
        fig.update_layout(legend=dict(orientation="h", y=-0.12, yanchor="top", x=0))
    return fig


def aligned_table(df: pd.DataFrame, value: str = "runtime_s") -> pd.DataFrame:
    """Pivot: one row per (task, seed, ...) present in at least two groups, one column per group."""
    p = df.pivot_table(index=ALIGN_KEYS, columns="group", values=value, aggfunc="mean")
    p = p[p.notna().sum(axis=1) >= 2]
    return p.reset_index()


def aligned_scatter(df: pd.DataFrame, a: str, b: str, colors: dict[str, str],
                    height: int = 340) -> go.Figure:
    """Runtime of group ``a`` vs ``b`` on the same task and seed; below the diagonal = b faster."""
    p = aligned_table(df)
    fig = go.Figure()
    if a in p and b in p:
        p = p.dropna(subset=[a, b])
        lim = float(max(p[a].max(), p[b].max(), 1.0)) * 1.05 if len(p) else 1.0
        fig.add_trace(go.Scatter(x=[0, lim], y=[0, lim], mode="lines", hoverinfo="skip",
                                 line=dict(color="#B8BFC9", dash="dot"), showlegend=False))
        fig.add_trace(go.Scatter(
            x=p[a], y=p[b], mode="markers", marker=dict(color=colors.get(b, "#4E79A7"), size=9),
            hovertext=[f"{esc(r.task_id, 120)} seed {r.seed}" for r in p.itertuples(index=False)],
            hoverinfo="text+x+y", showlegend=False))
        faster = int((p[b] < p[a]).sum())
        fig.update_layout(title=dict(text=f"Same task &amp; seed: {esc(b, 80)} faster on {faster} "
                                          f"of {len(p)}",
                                     font_size=14))
    fig.update_layout(**theme.base_layout(
        height=height,
        xaxis=dict(title=f"{esc(a, 80)} runtime (s)", gridcolor=theme.GRID, rangemode="tozero"),
        yaxis=dict(title=f"{esc(b, 80)} runtime (s)", gridcolor=theme.GRID, rangemode="tozero")))
    return fig


def _fmt(v: float) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:.1f}"
