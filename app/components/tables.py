"""Table shaping: DataFrames in, display-ready DataFrames (or Stylers) out. No Streamlit."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from app import theme

KEY_CHARS = 500  # characters of a memory key shown in a table cell


def _team_style(v: object) -> str:
    try:
        return f"color: {theme.team_color(int(str(v).lstrip('T')))}; font-weight: 600"
    except ValueError:
        return ""


def _decision_style(v: object) -> str:
    key = {"admitted": "admitted", "rejected": "rejected"}.get(str(v), "none")
    return f"color: {theme.DECISION_COLORS[key]}; font-weight: 600"


def style_teams(df: pd.DataFrame, cols: list[str]):
    """A Styler colouring team columns ("T3") in the team's colour, decisions in theirs."""
    sty = df.style
    cols = [c for c in cols if c in df.columns]
    if cols:
        sty = sty.map(_team_style, subset=cols)
    if "decision" in df.columns:
        sty = sty.map(_decision_style, subset=["decision"])
    return sty


def bank_table(entries: pd.DataFrame, wrong: set[int] | None = None) -> pd.DataFrame:
    """The memory bank, newest first: id, producer, key, when, reads (and, given the ids of wrong
    entries, a "content" column that flags them)."""
    out = pd.DataFrame({
        "entry": entries.entry_id.astype(int),
        "team": [theme.team_short(t) for t in entries.team_idx],
        "step": entries.step_idx.astype(int),
        "action": entries.action,
        "key (summary)": entries.key.str.slice(0, KEY_CHARS),
        "added at s": entries.t_added.round(1),
        "reads": entries.n_reads.astype(int),
        "read by": entries.readers,
    })
    if wrong:
        out.insert(1, "content", ["WRONG" if int(e) in wrong else "" for e in entries.entry_id])
    return out


def steps_table(steps: pd.DataFrame) -> pd.DataFrame:
    """The explorer's step list (light columns only)."""
    return pd.DataFrame({
        "team": ["T" + str(int(t)) for t in steps.team_idx],
        "step": steps.step_idx.astype(int),
        "action": steps.action,
        "decision": steps.decision.replace({"none": "no decision"}),
        "score": steps.score.round(3),
        "argument": steps.arg.str.slice(0, 80),
        "summary": steps.s.str.slice(0, 160),
        "start s": steps.t_start.round(1),
        "end s": steps.t_end.round(1),
        "entry": steps.entry_id,
        "reads": steps.n_reads.astype(int),
        "tokens": steps.tokens.astype(int),
    })


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The run lists' rows: status, task, settings, result, with a simulated marker."""
    return pd.DataFrame({
        "run": runs.run_id,
        "status": runs.status,
        "started": [fmt_time(t) for t in runs.created_at],
        "suite / task": (runs.suite + " / " + runs.task_id).str.slice(0, 200),
        "policy": runs.policy,
        "K": runs.teams.astype(int),
        "seed": runs.seed.astype(int),
        "agents": ["simulated" if s else b for s, b in zip(runs.simulated, runs.backend, strict=True)],
        "EM": runs.em,
        "F1": runs.f1.round(2),
        "runtime s": runs.runtime_s.round(1),
        "batch": runs.batch_id,
    })


def fmt_time(t: float | None) -> str:
    if t is None or t != t:
        return ""
    return dt.datetime.fromtimestamp(float(t)).strftime("%Y-%m-%d %H:%M:%S")


def fmt_secs(s: float | None) -> str:
    if s is None or s != s:
        return "–"
    s = float(s)
    if s < 0.1:
        return f"{s * 1000:.0f} ms"
    if s < 59.95:
        return f"{s:.1f} s"
    whole = int(round(s))  # round first: 119.6 s is "2 min 0 s", never "1 min 60 s"
    return f"{whole // 60} min {whole % 60} s"
