"""Live run: swimlanes, the memory bank and the admission-score stream, refreshed while it runs."""

from __future__ import annotations

import time

import streamlit as st

from app import data, story, theme, ui
from app.components import admission, swimlane, tables
from app.components.steady_chart import steady_plotly_chart
from app.safe import md
from lts_core.registry import EXECUTORS

REFRESH_S = 1.0
IDLE_POLL_S = 5.0  # a followed, finished run: how often to look for a newer one
SAVED_HELP = (
    "**Web calls avoided**: cross-team reads of an entry made by a web step (search or open page) "
    "where the reading team never ran that same call itself, before or after. Matching is on the "
    "exact action and argument, so a search redone with other words still counts as avoided: an "
    "upper bound. The seconds are the producer's modelled tool latency. **Net** subtracts the "
    "memory-read steps the teams took (a read is a step too), so it can be negative."
)


def live_data(db: data.DB, run_id: str) -> dict:
    """Everything one redraw needs (timed by benchmarks/dashboard_bench.py)."""
    out = {"run": data.get_run(db, run_id), "steps": data.steps(db, run_id),
            "reads": data.reads(db, run_id), "adm": data.admissions(db, run_id),
            "entries": data.entries(db, run_id), "teams": data.teams(db, run_id),
            "counters": data.live_counters(db, run_id), "harm": data.harm_entries(db, run_id),
            "threshold": None}
    if out["run"] is not None:
        out["threshold"] = data.policy_threshold(db, out["run"])
    return out


def clock_now(run: dict, steps) -> float | None:
    """The run's clock now (threads executor: wall time since start x speed), None when done."""
    if run["status"] != "running":
        return None
    speed = float(run.get("speed") or 1.0)  # recorded with the run (RunRecord.speed)
    last = float(steps.t_end.max()) if len(steps) else 0.0
    executor = EXECUTORS.find(str(run["executor"]))
    if executor is None or not executor.real_clock:
        return last
    return max(last, (time.time() - float(run["created_at"])) * speed)


def wrong_ids(d: dict) -> set[int]:
    h = d.get("harm")
    return set() if h is None or h.empty else {int(e) for e in h[h.wrong].entry_id}


def live_figures(d: dict, focus_team: int | None = None) -> dict:
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
                                             now=now, simulated=bool(run["simulated"]),
                                             focus_team=focus_team, wrong=wrong_ids(d)),
        "scores": admission.score_stream_figure(d["adm"], d["threshold"],
                                                policy=run["policy"], height=320,
                                                label=data.score_label(run),
                                                simulated=bool(run["simulated"])),
    }


# The view redraws itself every REFRESH_S; Streamlit fades every element while a redraw runs, which
# on a busy machine made the whole page blink. Here the fade says nothing (it always redraws), so
# the page keeps it off.
NO_FADE_CSS = ('<style>.stElementContainer[data-stale="true"] '
               "{ opacity: 1 !important; transition: none !important; }</style>")


def render() -> None:
    svc = ui.svc()
    st.html(NO_FADE_CSS)
    st.title("Live run")
    if "live_follow" not in st.session_state:  # a link to one run (/live?run=ID) shows that run
        st.session_state["live_follow"] = not st.query_params.get("run")
    follow = st.toggle("Follow the newest run", key="live_follow",
                       help="On: shows the run in progress (or the newest one) and switches to the "
                            "next run of the queue when it starts. Off: pick any run.")
    if follow:  # never a training episode, calibration or counterfactual run (data.INTERNAL_...)
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
        if ui.sidebar_stale():
            st.rerun()  # a batch started or ended in another tab: the sidebar follows
        d = live_data(svc.store, run_id)
        if d["run"] is None:
            return
        _draw(svc, d)
        if is_live and d["run"]["status"] != "running" and not svc.queue.active():
            st.rerun()  # finished: one last full redraw, then stop refreshing

    view()
    if follow and not is_live:
        _watch_for_new_work(svc, run_id)


def _watch_for_new_work(svc, run_id: str) -> None:
    """While following a finished run, poll slowly (a cheap query, nothing drawn) so that a run
    started elsewhere (another tab, ``lts run`` on the same file) shows up without a click."""
    @st.fragment(run_every=IDLE_POLL_S)
    def watcher() -> None:
        if ui.sidebar_stale() or svc.queue.active() or data.latest_run_id(svc.store) != run_id:
            st.rerun()

    watcher()


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
    # One container for the part that changes when the run ends (cancel button -> result line and
    # counterfactual panel), so every element below keeps its place: the full redraw at the end
    # then replaces the metric tiles in place instead of drawing them again below their stale
    # copies (which NO_FADE_CSS leaves fully visible until the redraw completes). The chart
    # frames are not always kept: in a 1440x900 window they are mounted again about 2 s after
    # the result line and stay blank for about 1.3 s; in 1440x1400 they are kept (Playwright
    # probes, stop 22). Not solved.
    with st.container():
        ui.run_header(run)
        if run["status"] == "running":
            if st.button("Cancel this run", icon=":material/stop_circle:", key="live_cancel"):
                svc.queue.cancel_run(run["run_id"])
        else:
            ui.result_line(run)
            story.counterfactual_panel(svc, run, key="live_cf")
    running = run["status"] == "running"
    wall = (time.time() - run["created_at"]) if running else max(
        run["wall_s"] or 0.0, (run.get("finished_at") or run["created_at"]) - run["created_at"])
    h = d["harm"]
    wrong = h[h.wrong] if not h.empty else h
    m = st.columns(6)
    calls = (f"{c['llm_calls']:.0f} model calls" if run["simulated"] else
             f"{c['llm_calls']:.0f} calls · ${c['cost_usd']:.3f}")  # short: a tile cuts it off
    m[0].metric("Steps", f"{c['steps']:.0f}", calls, delta_color="off", delta_arrow="off",
                help="steps committed so far, all teams; the model calls behind them (orchestrator, "
                     "step summaries, judge, aggregator), and with a real model what they cost "
                     "(simulated agents cost nothing; their calls are modelled)")
    m[1].metric("Memory reads", f"{c['reads']:.0f}", f"{c['cross_reads']:.0f} cross-team",
                delta_color="off", delta_arrow="off",
                help="entries fetched from the bank (one read step can fetch several); cross-team: "
                     "reads of an entry that another team produced")
    story.wrong_reads_metric(m[2], int(wrong.reads.sum()) if len(wrong) else 0, len(wrong),
                             int(wrong.planted.sum()) if len(wrong) else 0)
    if running:  # a reader may still run the call itself: the count is final only at the end
        m[3].metric("Web calls avoided", "…", "counted at the end", delta_color="off",
                    delta_arrow="off", help=SAVED_HELP)
    else:
        m[3].metric("Web calls avoided", f"{c['avoided']:.0f}", f"{c['net_saved']:+.0f} net steps",
                    delta_color="off" if c["net_saved"] == 0 else "normal",
                    delta_arrow="off" if c["net_saved"] == 0 else "auto", help=SAVED_HELP)
    m[4].metric("Bank", f"{c['entries']:.0f} entries",
                f"{c['admitted'] / c['decisions']:.0%} admitted" if c["decisions"] else None,
                delta_color="off", delta_arrow="off",
                help="entries in the bank, planted ones included; steps admitted / admission "
                     "decisions taken (entries planted by a poisoning experiment bypass admission: "
                     f"{c['planted']:.0f} here)")
    clock = "Run clock (modelled)" if run["simulated"] else "Run clock"
    m[5].metric(clock, tables.fmt_secs(c["clock_s"]), f"real time {tables.fmt_secs(wall)}",
                delta_color="off", delta_arrow="off",
                help="the run's own clock (modelled seconds for simulated runs), and the real "
                     "time the engine took")
    focus = _focus_picker(int(run["teams"]))
    figs = live_figures(d, focus)
    st.markdown("**Teams** — bars are steps, coloured by action; arrows are memory reads, from "
                "the step that wrote the entry to the step that read it, in the writer's colour"
                + ("; dashed magenta: reads of a wrong entry." if len(wrong) else "."))
    if d["steps"].empty:
        st.info("Waiting for the first step to finish (teams plan first)…",
                icon=":material/hourglass_top:")
    else:
        steady_plotly_chart(figs["swimlane"], key="live_swim")
    _teams_strip(d["teams"], d["steps"])
    left, right = st.columns([4, 5], gap="medium")
    with left:
        st.markdown(f"**Admission scores** — {md(data.score_label(run), 80)}, every decision, "
                    "coloured by outcome")
        if not data.memory_on(run):
            st.caption("Memory is off for this run: no admission decisions.")
        steady_plotly_chart(figs["scores"], key="live_scores")
    with right:
        st.markdown(f"**Memory bank** — newest first ({len(d['entries'])} entries)")
        if d["entries"].empty:
            st.caption("The bank is empty." if data.memory_on(run) else "No bank: memory is off.")
        else:
            st.dataframe(tables.style_teams(tables.bank_table(d["entries"], wrong_ids(d)), ["team"]),
                         hide_index=True, height=320, key="live_bank",
                         column_config=ui.COLUMNS)


def _focus_picker(k: int) -> int | None:
    """Large K: read arrows of one team at a time (reads of wrong entries always show)."""
    if k <= 6:
        return None
    opts = [None, *range(k)]
    pick = st.selectbox("Read arrows of", opts, index=1, key="live_focus",
                        format_func=lambda i: "every team" if i is None else f"Team {i} only",
                        help="At large K all arrows at once are unreadable: show the reads to and "
                             "from one team. Reads of wrong entries always show.")
    return pick


def _teams_strip(teams, steps) -> None:
    if teams.empty:
        return
    done = steps.groupby("team_idx").size() if len(steps) else {}
    cols = st.columns(min(len(teams), 6))
    for i, t in enumerate(teams.itertuples(index=False)):
        with cols[i % len(cols)]:
            color = theme.team_color(t.team_idx)
            ans = f" → “{md(t.answer, 40)}”" if isinstance(t.answer, str) and t.answer else ""
            st.markdown(f"<span style='color:{color}'>■</span> **T{int(t.team_idx)}** "
                        f"<span class='lts-kv'>{md(t.status, 40)} · {int(done.get(t.team_idx, 0))} steps"
                        f"{ans}</span>",
                        unsafe_allow_html=True)
