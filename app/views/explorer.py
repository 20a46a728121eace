"""Run explorer: any recorded run, its steps and decisions, near-misses, and a clock replay."""

from __future__ import annotations

import functools
import math

import pandas as pd
import streamlit as st

from app import data, harm_view, step_view, story, ui
from app.components import admission, swimlane, tables
from app.safe import md

TAB_STEPS = ":material/list: Steps"
TAB_HARM = ":material/heart_broken: Harm"


def _step_from_url() -> None:
    """``?step=T.S`` (as in a deep link) selects that step once, when the link changes."""
    raw = st.query_params.get("step")
    if not raw or raw == st.session_state.get("_ex_url_step"):
        return
    st.session_state["_ex_url_step"] = raw
    t, _, s_ = str(raw).replace(":", ".").partition(".")
    if t.lstrip("-").isdigit() and s_.isdigit():
        open_step(f"{int(t)}:{int(s_)}")


def _export(svc, run_id: str) -> None:
    """Download the run's rows (every table), secrets masked (lts_core.record.export)."""
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    from lts_core.record.export import export_run

    def payload(fmt: str) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            paths = export_run(svc.store, run_id, Path(tmp), fmt)
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
                for p in paths:
                    z.write(p, f"{run_id}/{p.name}")
            return buf.getvalue()

    with st.popover("Export this run", icon=":material/download:"):
        st.caption("Every table of the run (steps, decisions, entries, reads, calls), secrets "
                   "masked, as a zip of one file per table.")
        for fmt, label in (("parquet", "Parquet"), ("jsonl", "JSON Lines")):
            st.download_button(f"Download {label}", lambda f=fmt: payload(f),
                               file_name=f"lts-run-{run_id}-{fmt}.zip", mime="application/zip",
                               key=f"ex_dl_{fmt}", icon=":material/download:", on_click="ignore")
STEP_COLUMNS = {
    **ui.COLUMNS,
    "argument": st.column_config.TextColumn(width="medium"),
    "entry": st.column_config.NumberColumn(format="%d"),
}


def render() -> None:
    svc = ui.svc()
    st.title("Run explorer")
    _step_from_url()
    run_id = ui.run_picker(svc.store, key="ex_pick")
    if run_id is None:
        if not ui.unknown_run_said():
            ui.empty_state("No runs recorded yet.", key="ex_empty")
        return
    run = data.get_run(svc.store, run_id)
    ui.run_header(run)
    ui.result_line(run)
    story.counterfactual_panel(svc, run, key="ex_cf")
    _export(svc, run_id)
    if run["status"] == "running":
        st.caption(":material/progress_activity: This run is in progress: the explorer shows it as "
                   "of now (press R to refresh), the Live run page follows it.")
    steps = data.steps(svc.store, run_id)
    if steps.empty:
        st.info("No steps recorded for this run yet.", icon=":material/hourglass_top:")
        return
    tabs = st.tabs([TAB_STEPS, TAB_HARM, ":material/report: Near-misses",
                    ":material/replay: Replay", ":material/groups: Teams & answers"],
                   key="ex_tab", on_change="rerun")
    draw = (lambda: _steps_tab(svc.store, run, steps), lambda: harm_view.harm_tab(svc.store, run),
            lambda: _near_tab(svc.store, run),
            lambda: _replay_tab(svc.store, run, steps), lambda: _teams_tab(svc.store, run))
    for i, (tab, fn) in enumerate(zip(tabs, draw, strict=True)):
        with tab:
            if tab.open or (tab.open is None and i == 0):  # only the visible tab is computed
                fn()


def filter_steps(steps: pd.DataFrame, teams: list[int], actions: list[str], decisions: list[str],
                 text: str) -> pd.DataFrame:
    df = steps
    if teams:
        df = df[df.team_idx.isin(teams)]
    if actions:
        df = df[df.action.isin(actions)]
    if decisions:
        df = df[df.decision.isin(decisions)]
    if text.strip():
        t = text.strip().lower()
        df = df[df.arg.str.lower().str.contains(t, regex=False)
                | df.s.str.lower().str.contains(t, regex=False)]
    return df


def _pick_step(table_key: str, keys: list[str]) -> None:
    rows = st.session_state[table_key].selection.rows
    if rows:
        st.session_state["ex_step"] = keys[rows[0]]


def _steps_tab(db, run: dict, steps: pd.DataFrame) -> None:
    c = st.columns([2, 2, 2, 3])
    teams = c[0].multiselect("Teams", sorted(steps.team_idx.unique().tolist()), key="ex_f_team",
                             format_func=lambda i: f"T{i}")
    actions = c[1].multiselect("Actions", sorted(steps.action.unique()), key="ex_f_action")
    decisions = c[2].multiselect("Decision", ["admitted", "rejected", "none"], key="ex_f_dec",
                                 format_func=lambda d: {"none": "no decision"}.get(d, d))
    text = c[3].text_input("Search argument or summary", key="ex_f_text")
    df = filter_steps(steps, teams, actions, decisions, text)
    keys = [f"{t}:{s}" for t, s in zip(df.team_idx, df.step_idx, strict=True)]
    tkey = f"ex_tbl_{run['run_id']}_{abs(hash((tuple(teams), tuple(actions), tuple(decisions), text)))}"
    st.caption(f"{len(df):,} of {len(steps):,} steps, in clock order. Select a row to explain it.")
    st.dataframe(tables.style_teams(tables.steps_table(df), ["team"]) if len(df) <= 3000
                 else tables.steps_table(df), key=tkey, hide_index=True, height=320,
                 on_select=functools.partial(_pick_step, tkey, keys), selection_mode="single-row",
                 column_config=STEP_COLUMNS)
    all_keys = [f"{t}:{s}" for t, s in zip(steps.team_idx, steps.step_idx, strict=True)]
    if st.session_state.get("ex_step") not in all_keys:
        st.session_state["ex_step"] = next(iter(keys or all_keys))
    info = {k: (a, g) for k, a, g in zip(all_keys, steps.action, steps.arg, strict=True)}
    sel = st.selectbox("Step", all_keys, key="ex_step", format_func=lambda k: step_view.step_label(
        *map(int, k.split(":")), *info[k]))
    team_idx, step_idx = map(int, sel.split(":"))
    st.query_params["step"] = f"{team_idx}.{step_idx}"
    st.session_state["_ex_url_step"] = st.query_params["step"]
    with st.container(border=True):
        step_view.show_step(db, run, team_idx, step_idx, key="ex_detail")


def _near_tab(db, run: dict) -> None:
    st.markdown("**Near-misses**: web steps the policy **rejected** whose same call (same action "
                "and argument) another team ran again **later**. Each is a candidate for a "
                "wrong NO: the work was done twice. (The nearest key may still have held it: "
                "open the step to check.)")
    st.caption("Steps rejected because an equivalent entry was already in the bank (nearest key "
               f"cosine >= {data.EQUIVALENT_COSINE}) are not near-misses: that NO was right.")
    nm = data.near_misses(db, run["run_id"])
    if not data.memory_on(run):
        st.caption("Memory is off for this run: no admission decisions, no near-misses.")
        return
    if nm.empty:
        st.success("No near-misses: no rejected step was recomputed by another team.",
                   icon=":material/check:")
        return
    st.metric("Near-misses", len(nm), f"{nm.redo_s.sum():.0f} s of redone work", delta_color="off", delta_arrow="off")
    show = pd.DataFrame({"team": ["T" + str(int(t)) for t in nm.team_idx], "step": nm.step_idx,
                         "at s": nm.t.round(1), "action": nm.action, "argument": nm.arg.str.slice(0, 200),
                         "score": nm.score.round(3), "why rejected": nm.reason.str.slice(0, 300),
                         "redone by": nm.redone_by, "redo s": nm.redo_s.round(1)})
    st.dataframe(tables.style_teams(show, ["team"]), hide_index=True, key="ex_near",
                 column_config={**ui.COLUMNS,
                                "why rejected": st.column_config.TextColumn(width="large")})
    keys = [f"{t}:{s}" for t, s in zip(nm.team_idx, nm.step_idx, strict=True)]
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    pick = c1.selectbox("Near-miss to explain", keys, key="ex_near_pick",
                        format_func=lambda k: step_view.step_label(*map(int, k.split(":"))))
    c2.button("Explain it", icon=":material/manage_search:", key="ex_near_go",
              on_click=open_step, args=(pick,))


def open_step(key: str) -> None:
    """Callback: show step ``key`` ("team:step") in the Steps tab."""
    for k in ("ex_f_team", "ex_f_action", "ex_f_dec", "ex_f_text"):
        st.session_state.pop(k, None)  # the filters must not hide it
    st.session_state["ex_step"] = key
    st.session_state["ex_tab"] = TAB_STEPS
    st.query_params["step"] = key.replace(":", ".")


def _replay_tab(db, run: dict, steps: pd.DataFrame) -> None:
    events = sorted({math.ceil(t * 10 - 1e-6) / 10 for t in steps.t_end})  # on the slider's grid
    t_max = float(events[-1]) if events else 0.0
    if (st.session_state.get("ex_replay_run") != run["run_id"]
            or st.session_state.get("ex_replay_t", t_max + 1) > t_max):
        st.session_state["ex_replay_t"] = t_max
        st.session_state["ex_replay_run"] = run["run_id"]
    c1, c2, c3 = st.columns([1, 8, 1], vertical_alignment="bottom")
    if c1.button("◀ step", key="ex_prev", help="previous event"):
        st.session_state["ex_replay_t"] = max([e for e in events
                                               if e < st.session_state["ex_replay_t"] - 1e-6] or [0.0])
    if c3.button("step ▶", key="ex_next", help="next event"):
        st.session_state["ex_replay_t"] = min([e for e in events
                                               if e > st.session_state["ex_replay_t"] + 1e-6] or [t_max])
    t = c2.slider("Run clock (s)", 0.0, max(t_max, 0.1), key="ex_replay_t", step=0.1, format="%.1f s")
    reads, adm, ent = data.reads(db, run["run_id"]), data.admissions(db, run["run_id"]), \
        data.entries(db, run["run_id"])
    done = steps[steps.t_end <= t + 1e-9]
    r_now, e_now = reads[reads.t <= t + 1e-9], ent[ent.t_added <= t + 1e-9]
    m = st.columns(4)
    m[0].metric("Steps done", f"{len(done)} / {len(steps)}")
    m[1].metric("Bank entries", len(e_now))
    m[2].metric("Reads", len(r_now), f"{int(r_now.cross_team.sum())} cross-team",
                delta_color="off", delta_arrow="off")
    m[3].metric("Teams answered", int((done.action == "answer").sum()))
    h = data.harm_entries(db, run["run_id"])
    wrong = {int(e) for e in h[h.wrong].entry_id} if len(h) else set()
    st.plotly_chart(swimlane.swimlane_figure(steps, reads, int(run["teams"]), t_cut=t, now=t,
                                             simulated=bool(run["simulated"]), wrong=wrong,
                                             focus_team=0 if int(run["teams"]) > 6 else None),
                    key="ex_replay_swim")
    left, right = st.columns(2)
    with left:
        st.plotly_chart(admission.score_stream_figure(adm, data.policy_threshold(db, run),
                                                      policy=run["policy"], t_cut=t, height=280,
                                                      label=data.score_label(run),
                                                      simulated=bool(run["simulated"])),
                        key="ex_replay_scores")
    with right:
        st.markdown(f"**Bank at {t:.1f} s** ({len(e_now)} entries, newest first)")
        st.dataframe(tables.style_teams(tables.bank_table(e_now, wrong), ["team"]), hide_index=True,
                     height=280, key="ex_replay_bank", column_config=ui.COLUMNS)


def _teams_tab(db, run: dict) -> None:
    tm = data.teams(db, run["run_id"])
    st.markdown(f"Gold answer: **{md(run['gold'], 200)}**"
                + (" · simulated run" if run["simulated"] else ""))
    st.dataframe(tables.style_teams(pd.DataFrame({
        "team": ["T" + str(int(t)) for t in tm.team_idx], "status": tm.status, "answer": tm.answer.str.slice(0, 200),
        "EM": tm.em, "F1": tm.f1.round(2), "steps": tm.steps, "finished at s": tm.t_end.round(1),
        "tokens": tm.tokens, "error": tm.error.fillna("").str.slice(0, 120)}), ["team"]),
        hide_index=True, key="ex_teams", column_config=ui.COLUMNS)
