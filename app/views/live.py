"""Live run: swimlanes, the memory bank and the admission-score stream, refreshed while it runs."""

from __future__ import annotations

import json
import time

import streamlit as st

from app import data, theme, ui
from app.components import admission, swimlane, tables
from app.safe import md

REFRESH_S = 1.0
SAVED_HELP = (
    "**Web calls avoided**: cross-team reads of an entry made by a web step (search or open page) "
    "where the reading team never ran that same call itself, before or after. Matching is on the "
    "exact action and argument, so a search redone with other words still counts as avoided: an "
    "upper bound. The seconds are the producer's modelled tool latency. **Net** subtracts the "
    "memory-read steps the teams took (a read is a step too), so it can be negative."
)


def live_data(db: data.DB, run_id: str) -> dict:
    """Everything one redraw needs (timed by benchmarks/dashboard_bench.py)."""
    return {"run": data.get_run(db, run_id), "steps": data.steps(db, run_id),
            "reads": data.reads(db, run_id), "adm": data.admissions(db, run_id),
            "entries": data.entries(db, run_id), "teams": data.teams(db, run_id),
            "counters": data.live_counters(db, run_id)}


def clock_now(run: dict, steps) -> float | None:
    """The run's clock now (threads executor: wall time since start x speed), None when done."""
    if run["status"] != "running":
        return None
    try:
        speed = float(json.loads(run.get("config_json") or "{}")["run"]["speed"])
    except (KeyError, TypeError, ValueError):
        speed = 1.0
    last = float(steps.t_end.max()) if len(steps) else 0.0
    if run["executor"] != "threads":
        return last
    return max(last, (time.time() - float(run["created_at"])) * speed)


def live_figures(d: dict) -> dict:
    """The page's figures from ``live_data`` (also timed by the benchmark)."""
    run, steps = d["run"], d["steps"]
    now = clock_now(run, steps)
    running = {}
    if now is not None:
        last = steps.groupby("team_idx").t_end.max() if len(steps) else {}
        running = {int(t.team_idx): float(last.get(t.team_idx, 0.0))
                   for t in d["teams"].itertuples() if t.status == "running"}
    return {
        "swimlane": swimlane.swimlane_figure(steps, d["reads"], int(run["teams"]), running=running,
                                             now=now, simulated=bool(run["simulated"])),
        "scores": admission.score_stream_figure(d["adm"], data.policy_threshold(run),
                                                policy=run["policy"], height=320),
    }


def render() -> None:
    svc = ui.svc()
    st.title("Live run")
    follow = st.toggle("Follow the newest run", value=True, key="live_follow",
                       help="On: shows the run in progress (or the newest one) and switches to the "
                            "next run of the queue when it starts. Off: pick any run.")
    if follow:
        run_id = svc.queue.running_run_id() or data.latest_run_id(svc.store)
        st.session_state["run_id"] = run_id
    else:
        run_id = ui.run_picker(svc.store, key="live_pick")
    if run_id is None:
        if svc.queue.active():
            st.info("The first run is starting (loading the embedding model the first time)…",
                    icon=":material/hourglass_top:")
            _wait_for_start(svc)
            return
        ui.empty_state("No run yet. Start one on the Launch page (or the one-click demo).",
                       key="live_empty")
        return
    run = data.get_run(svc.store, run_id)
    if run is None:  # the queue started it a moment ago; its first row is still being written
        st.info("The run is starting…", icon=":material/hourglass_top:")
        _wait_for_start(svc, run_id)
        return
    is_live = run["status"] == "running" or (follow and bool(svc.queue.active()))

    @st.fragment(run_every=REFRESH_S if is_live else None)
    def view() -> None:
        current = svc.queue.running_run_id() if follow else None
        if follow and current and current != run_id:
            st.rerun()  # the queue moved on to its next run
        d = live_data(svc.store, run_id)
        if d["run"] is None:
            return
        _draw(svc, d)
        if is_live and d["run"]["status"] != "running" and not svc.queue.active():
            st.rerun()  # finished: one last full redraw, then stop refreshing

    view()


def _wait_for_start(svc, run_id: str | None = None) -> None:
    """Poll until the queue's run (or ``run_id``'s first row) exists, then redraw the page."""
    @st.fragment(run_every=REFRESH_S / 2)
    def waiter() -> None:
        if run_id is not None:
            if data.get_run(svc.store, run_id) is not None:
                st.rerun()
        elif svc.queue.running_run_id() or not svc.queue.active():
            st.rerun()

    waiter()


def _draw(svc, d: dict) -> None:
    run, c = d["run"], d["counters"]
    ui.run_header(run)
    if run["status"] == "running":
        if st.button("Cancel this run", icon=":material/stop_circle:", key="live_cancel"):
            svc.queue.cancel_run(run["run_id"])
    else:
        ui.result_line(run)
    wall = (time.time() - run["created_at"]) if run["status"] == "running" else (run["wall_s"] or 0)
    m = st.columns(6)
    m[0].metric("Steps", f"{c['steps']:.0f}", help="steps committed so far, all teams")
    m[1].metric("Memory reads", f"{c['reads']:.0f}",
                help="entries fetched from the bank (one read step can fetch several)")
    m[2].metric("Cross-team reads", f"{c['cross_reads']:.0f}",
                help="reads of an entry that another team produced")
    m[3].metric("Web calls avoided", f"{c['avoided']:.0f}", f"{c['net_saved']:+.0f} net steps",
                delta_color="off" if c["net_saved"] == 0 else "normal",
                delta_arrow="off" if c["net_saved"] == 0 else "auto", help=SAVED_HELP)
    m[4].metric("Bank", f"{c['entries']:.0f} entries",
                f"{c['entries'] / c['decisions']:.0%} admitted" if c["decisions"] else None,
                delta_color="off", delta_arrow="off", help="entries admitted / admission decisions taken")
    m[5].metric("Elapsed", tables.fmt_secs(c["clock_s"]), f"wall {tables.fmt_secs(wall)}",
                delta_color="off", delta_arrow="off", help="run clock (modelled for simulated runs) and real time")
    figs = live_figures(d)
    st.markdown("**Teams** — bars are steps, coloured by action; arrows are memory reads, from "
                "the step that wrote the entry to the step that read it, in the writer's colour.")
    st.plotly_chart(figs["swimlane"], key="live_swim", config={"displaylogo": False})
    _teams_strip(d["teams"], d["steps"])
    left, right = st.columns([4, 5], gap="medium")
    with left:
        st.markdown("**Admission scores** — every decision, coloured by outcome")
        if run["policy"] == "none":
            st.caption("Memory is off for this run (policy none): no admission decisions.")
        st.plotly_chart(figs["scores"], key="live_scores", config={"displaylogo": False})
    with right:
        st.markdown(f"**Memory bank** — newest first ({len(d['entries'])} entries)")
        if d["entries"].empty:
            st.caption("The bank is empty." if run["policy"] != "none" else "No bank: memory is off.")
        else:
            st.dataframe(tables.style_teams(tables.bank_table(d["entries"]), ["team"]),
                         hide_index=True, height=320, key="live_bank",
                         column_config=ui.COLUMNS)


def _teams_strip(teams, steps) -> None:
    if teams.empty:
        return
    done = steps.groupby("team_idx").size() if len(steps) else {}
    cols = st.columns(min(len(teams), 6))
    for i, t in enumerate(teams.itertuples(index=False)):
        with cols[i % len(cols)]:
            color = theme.team_color(t.team_idx)
            ans = f" → “{md(t.answer, 40)}”" if t.answer else ""
            st.markdown(f"<span style='color:{color}'>■</span> **T{int(t.team_idx)}** "
                        f"<span class='lts-kv'>{md(t.status, 40)} · {int(done.get(t.team_idx, 0))} steps"
                        f"{ans}</span>",
                        unsafe_allow_html=True)
