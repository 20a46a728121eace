"""The explorer's Harm tab: entries whose content was wrong, who read them, what followed.

Wrongness comes from the engine's read model (``lts_core.record.harm``): planted entries, answer entries
that do not match the gold answer, page facts the simulator knows are false.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import data, theme, ui
from app.components import tables
from app.safe import md


def harm_tab(db, run: dict) -> None:
    ent = data.harm_entries(db, run["run_id"])
    wrong = ent[ent.wrong] if not ent.empty else ent
    st.markdown("**Harm**: bank entries whose content was **wrong**, who read them, and what "
                "those teams answered. Wrong = planted by a poisoning experiment, an answer that "
                "does not match the gold answer, or a page fact the simulator knows is false.")
    if wrong.empty:
        st.success("No wrong entry in this run's bank." if len(ent) else
                   "No bank entries in this run.", icon=":material/verified:")
        return
    rd = data.harm_reads(db, run["run_id"], ent)
    final_ok = (run.get("em") or 0) >= 1
    repeated = rd[rd.repeated] if len(rd) else rd
    m = st.columns(4)
    m[0].metric("Wrong entries", len(wrong), f"{int(wrong.planted.sum())} planted",
                delta_color="off", delta_arrow="off")
    m[1].metric("Reads of them", len(rd), f"{rd.reader_team.nunique() if len(rd) else 0} teams",
                delta_color="off", delta_arrow="off")
    m[2].metric("Teams that repeated a wrong answer",
                repeated.reader_team.nunique() if len(repeated) else 0,
                help="reader teams whose final answer is a wrong answer entry they read")
    m[3].metric("Final answer", "right" if final_ok else "wrong",
                md(run.get("answer") or "none", 60), delta_color="off", delta_arrow="off")
    st.markdown(_verdict(run, rd, final_ok))
    st.dataframe(tables.style_teams(pd.DataFrame({
        "entry": wrong.entry_id, "by": [theme.team_short(t) for t in wrong.team_idx],
        "step": pd.array([s if t >= 0 else None for t, s in zip(wrong.team_idx, wrong.step_idx,
                                                                  strict=True)], dtype="Int64"),
        "why wrong": wrong.why, "content": wrong.content.str.slice(0, 200),
        "added at s": wrong.t_added.round(1), "reads": wrong.reads,
        "key": wrong.key.str.slice(0, tables.KEY_CHARS)}), ["by"]),
        hide_index=True, key="ex_harm_entries",
        column_config={**ui.COLUMNS, "key": st.column_config.TextColumn(width="large")})
    if len(rd):
        st.markdown("**Who read them, and what that team answered in the end**")
        st.dataframe(tables.style_teams(pd.DataFrame({
            "reader": ["T" + str(int(t)) for t in rd.reader_team], "at step": rd.reader_step,
            "at s": rd.t.round(1), "entry": rd.entry_id, "why wrong": rd.why,
            "team's answer": rd.team_answer.fillna("(none)").str.slice(0, 200),
            "team right": [None if e is None or e != e else e >= 1 for e in rd.team_em],
            "repeated the wrong answer": rd.repeated}), ["reader"]),
            hide_index=True, key="ex_harm_reads", column_config=ui.COLUMNS)
    else:
        st.caption(":material/visibility_off: No team read a wrong entry.")


def _verdict(run: dict, rd: pd.DataFrame, final_ok: bool) -> str:
    """One or two sentences: did wrong entries reach the final answer, and through whom? Follows
    the readers who voted for the run's answer (``gave_final``) whatever kind of entry they read."""
    if rd.empty:
        return ":green[:material/check: No team read a wrong entry; they could not have changed " \
               "the answer.]"
    who = _teams(rd)
    final = md(run.get("answer") or "none", 80)
    rep = rd[rd.repeated]
    also = (f" {_teams(rep)} repeated the wrong answer entry “{md(rep.content.iloc[0], 80)}”."
            if len(rep) and not rep.gave_final.all() else "")
    if final_ok:
        return f":orange[:material/info: {who} read wrong entries; the final answer is still right.{also}]"
    led = rd[rd.gave_final]
    if led.empty:
        return (f":orange[:material/warning: {who} read wrong entries and the final answer "
                f"“{final}” is wrong, but no reader voted for it: check the other teams' steps.{also}]")
    seen = led.drop_duplicates("entry_id")
    ents = ", ".join(f"#{int(e.entry_id)} ({md(e.why, 60)})" for e in seen.head(4).itertuples())
    more = f" and {len(seen) - 4} more" if len(seen) > 4 else ""
    return (f":red[:material/warning: **The vote came out wrong (“{final}”): {_teams(led)} "
            f"answered it after reading wrong {'entry' if len(seen) == 1 else 'entries'} "
            f"{ents}{more}.**{also}]")


def _teams(rd: pd.DataFrame) -> str:
    return ", ".join(f"T{t}" for t in sorted({int(t) for t in rd.reader_team}))
