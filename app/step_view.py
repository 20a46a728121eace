"""One step, explained: its (u, s, o), the admission decision and why, and what became of it.

Used by the explorer (a selected step) and the reuse graph (the step that wrote an entry).
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from app import data, explain_view, theme, ui
from app.components import tables
from app.safe import clip, md

TEXT_LIMIT = 4000  # characters of u / s shown
OUTPUT_LIMIT = 20_000  # characters of the raw output shown


def step_label(team_idx: int, step_idx: int, action: str = "", arg: str = "") -> str:
    """Plain text (select options); pass it through ``md`` before markdown shows it."""
    lab = f"T{int(team_idx)} · step {int(step_idx)}"
    if action:
        lab += f" · {clip(action, 40)}"
    if arg:
        lab += f" “{clip(arg, 50)}”"
    return lab


def show_step(db: data.DB, run: dict, team_idx: int, step_idx: int, *, key: str) -> None:
    d = data.step_detail(db, run["run_id"], team_idx, step_idx)
    if d is None:
        st.caption("This step is not recorded (yet).")
        return
    color = theme.team_color(team_idx)
    adm = d["admission"]
    dec = data.decision_label(adm["admitted"]) if adm else "none"
    st.markdown(f"<span style='color:{color};font-size:1.3rem'>■</span> "
                f"**{md(step_label(team_idx, step_idx, d['action'], d['arg']), None)}** "
                f"<span class='lts-kv'>· {d['t_start']:.1f}–{d['t_end']:.1f} s · LLM "
                f"{d['llm_s']:.1f} s · tool {d['tool_s']:.1f} s · "
                f"{d['prompt_tokens'] + d['completion_tokens']:,} tokens</span>",
                unsafe_allow_html=True)
    left, right = st.columns([3, 2], gap="medium")
    with left:
        st.markdown("**u** — the orchestrator's instruction")
        st.info(md(d["u"], TEXT_LIMIT, lines=True) or "–", icon=":material/record_voice_over:")
        st.markdown("**s** — the summary (the memory key if admitted)")
        box = st.success if dec == "admitted" else st.warning if dec == "rejected" else st.info
        box(md(d["s"], TEXT_LIMIT, lines=True) or "–", icon=":material/short_text:")
        o = d["o"] or ""
        st.markdown(f"**o** — the raw output ({len(o):,} characters"
                    + (f", the first {OUTPUT_LIMIT:,} shown)" if len(o) > OUTPUT_LIMIT else ")"))
        o = o[:OUTPUT_LIMIT]
        st.code(o, language=None, wrap_lines=True, height=260 if len(o) > 700 else "content")
    with right:
        _decision(db, run, d, adm, dec)
    if adm is not None:
        _nearest(d)
    _fate(db, run, d, key)


def _decision(db: data.DB, run: dict, d: dict, adm: dict | None, dec: str) -> None:
    st.markdown("**Admission decision**")
    if adm is None:
        why = ("memory is off for this run" if not data.memory_on(run) else
               "a memory read re-uses entries already in the bank; it is never a candidate"
               if d["action"] == "memory_read" else "no decision recorded")
        st.caption(f":material/block: No decision: {why}.")
        return
    th = adm["threshold"] if adm and adm.get("threshold") is not None else \
        data.policy_threshold(db, run)
    c1, c2 = st.columns(2)
    c1.markdown(f"<div class='lts-kv'>Decision</div><div style='font-size:1.55rem;font-weight:650;"
                f"color:{theme.DECISION_COLORS[dec]}'>{theme.DECISION_LABELS[dec].upper()}</div>",
                unsafe_allow_html=True)
    feats_all = adm.get("features") or {}
    vote = feats_all.get("vote") if feats_all.get("rule") == "vote" else None
    if isinstance(vote, dict):  # an answer the vote rule decided (policies/vote.py): no threshold
        c2.metric("Vote", f"{vote.get('agree', '?')} of {vote.get('teams', '?')}",
                  "decides it" if vote.get("decided") else "still open", delta_color="off",
                  delta_arrow="off", help="the teams that gave this answer, this one included, out "
                  "of K: shared only when that is a strict majority, which no later answer can "
                  "overturn")
    else:
        c2.metric("Score", f"{adm['score']:.3f}", f"threshold {th:.2f}" if th is not None else None,
                  delta_color="off", delta_arrow="off", help=f"{data.score_label(run)}; admitted "
                  "at and above the threshold")
    if explain_view.has_explanation(feats_all):
        explain_view.show(feats_all, dec, key=f"expl_{d['team_idx']}_{d['step_idx']}")
        if vote is None:
            st.caption(f"Score scale: {md(data.score_label(run), 80)}.")
        _redone(db, run, d, dec)
        return
    st.markdown(f":material/lightbulb: {md(adm['reason'], 600) or 'no reason recorded'}  \n"
                f"<span class='lts-kv'>policy {md(adm['policy'], 40)} · decided in "
                f"{adm['decide_ms']:.2f} ms at {adm['t']:.1f} s · entry "
                f"{'#' + str(d['entry_id']) if d['entry_id'] is not None else '–'}</span>",
                unsafe_allow_html=True)
    st.caption(f"Score scale: {md(data.score_label(run), 80)}.")
    feats = {k: v for k, v in (adm.get("features") or {}).items() if isinstance(v, int | float | str)}
    if feats:
        st.caption("features: " + " · ".join(
            f"{md(k, 40)} {v:.3f}" if isinstance(v, float) else f"{md(k, 40)} {md(v, 80)}"
            for k, v in list(feats.items())[:20]))
    _redone(db, run, d, dec)


def _redone(db: data.DB, run: dict, d: dict, dec: str) -> None:
    """For a rejected web step: the other teams that ran the same call later."""
    if dec != "rejected":
        return
    later = data.redone_later(db, run["run_id"], d["team_idx"], d["step_idx"])
    if later.empty:
        return
    who = ", ".join(f"team {int(r.team_idx)} at step {int(r.step_idx)}"
                    for r in later.head(5).itertuples())
    st.warning(f"Redone later by {who}" + (f" and {len(later) - 5} more" if len(later) > 5 else "")
               + ": the same call, after this step was rejected.", icon=":material/replay:")


def _nearest(d: dict) -> None:
    near = d["nearest"]
    st.markdown("**Nearest keys already in the bank** (what the policy compared this step with)")
    if near.empty:
        st.caption("The bank was empty: nothing to compare with.")
        return
    st.dataframe(
        tables.style_teams(pd.DataFrame({
            "entry": near.entry_id, "cosine": near.cosine,
            "by": ["T" + str(int(t)) if t == t else "" for t in near.team_idx],
            "key": near.key.str.slice(0, tables.KEY_CHARS)}), ["by"]),
        hide_index=True, key=f"near_{d['team_idx']}_{d['step_idx']}",
        column_config={"cosine": st.column_config.ProgressColumn("cosine", min_value=0.0,
                                                                 max_value=1.0, format="%.3f",
                                                                 width="small"),
                       "entry": st.column_config.NumberColumn(width="small"),
                       "by": st.column_config.TextColumn(width="small"),
                       "key": st.column_config.TextColumn(width="large")})


def _fate(db: data.DB, run: dict, d: dict, key: str) -> None:
    readers, fetched = d["readers"], d["fetched"]
    harm = data.harm_entries(db, run["run_id"]) if len(fetched) or d["entry_id"] is not None \
        else None
    wrong = harm[harm.wrong].set_index("entry_id") if harm is not None and len(harm) else None
    if wrong is not None and d["entry_id"] is not None and d["entry_id"] in wrong.index:
        st.error(f"This step's entry #{d['entry_id']} has **wrong content** "
                 f"({md(wrong.loc[d['entry_id'], 'why'], 80)}).", icon=":material/heart_broken:")
    bad = [] if wrong is None else [int(e) for e in fetched.entry_id if int(e) in wrong.index]
    if bad:
        st.error("This step read **wrong content**: " + "; ".join(
            f"entry #{e} ({md(wrong.loc[e, 'why'], 60)}: “{md(wrong.loc[e, 'content'], 80)}”)"
            for e in bad) + ". The Harm tab shows what this team answered.",
            icon=":material/heart_broken:")
    if d["entry_id"] is not None:
        st.markdown(f"**Who read entry #{d['entry_id']} later**")
        if readers.empty:
            st.caption(":material/visibility_off: Nobody: the entry was never read.")
        else:
            st.dataframe(tables.style_teams(pd.DataFrame({
                "reader": ["T" + str(int(t)) for t in readers.reader_team],
                "step": readers.reader_step, "at s": readers.t.round(1),
                "cross-team": readers.cross_team, "similarity": readers.similarity}), ["reader"]),
                hide_index=True, key=f"{key}_readers", column_config=ui.COLUMNS)
    if not fetched.empty:
        st.markdown("**Entries this step fetched from the bank**")
        st.dataframe(tables.style_teams(pd.DataFrame({
            "entry": fetched.entry_id, "from": [theme.team_short(t) for t in fetched.producer_team],
            "step": pd.array([s if t >= 0 else None for t, s in zip(
                fetched.producer_team, fetched.producer_step, strict=True)], dtype="Int64"),
            "content": ["WRONG" if int(e) in bad else "" for e in fetched.entry_id],
            "key": fetched.key.str.slice(0, tables.KEY_CHARS), "chars": fetched.chars}), ["from"]),
            hide_index=True, key=f"{key}_fetched",
            column_config={"key": st.column_config.TextColumn(width="large")})

