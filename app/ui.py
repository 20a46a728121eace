"""Streamlit pieces shared by the pages: services, headers, badges, the paged run picker."""

from __future__ import annotations

import functools
import math
import os

import streamlit as st

from app import data, theme
from app.components import tables
from app.safe import md
from app.state import Services, services
from lts_core import StoreError
from lts_core.record.records import RUN_ERROR_STATUSES

PAGE_SIZE = 25


def svc() -> Services:
    """The shared services, or an explained stop when the database cannot be opened."""
    try:
        return services()
    except StoreError as e:
        st.error(f"**The database cannot be opened.** {md(e, 500)}", icon=":material/database:")
        st.stop()
        raise  # unreachable: st.stop() raises


def go(name: str) -> None:
    from app import nav  # nav imports the pages, which import this module

    st.switch_page(nav.page(name))


def global_css() -> None:
    st.html("""<style>
    [data-testid="stMetricValue"] { font-size: 1.55rem; }
    [data-testid="stMetricLabel"] p { font-size: 0.82rem; color: #5B6473; }
    .block-container { padding-top: 2.2rem; }
    .lts-q { font-size: 1.05rem; color: #1F2937; margin: 0.1rem 0 0.4rem 0; }
    .lts-kv { color: #5B6473; font-size: 0.86rem; }
    </style>""")


SIDEBAR_REFRESH_S = 3.0


def sidebar_status() -> None:
    try:
        s = services()
    except StoreError:
        return

    # Drawn as ONE element: a fragment rerun that draws fewer elements than the last one left
    # faded duplicates behind. Refreshed only while the queue has work: a timed fragment rerun that
    # lands while a button's full rerun is running can cut that run short, and the click is lost
    # (seen in the browser test: Start run never switched to Live on a loaded machine).
    @st.fragment(run_every=SIDEBAR_REFRESH_S if s.queue.active() else None)
    def status() -> None:
        summ = data.db_summary(s.store)
        active = s.queue.active()
        st.session_state[_SIDEBAR_SAW_WORK] = bool(active)
        lines = []
        if active:
            lines.append(f":material/progress_activity: {len(active)} run(s) queued or running")
        mine = summ["runs"] - summ["internal"]
        lines.append(f"{mine:,} run{'s' if mine != 1 else ''} · {summ['steps']:,} steps recorded"
                     + (f" · {summ['internal']:,} more played for training, calibration or "
                        "replays" if summ["internal"] else ""))
        lines.append(md(s.db_path))
        if s.interrupted_on_open:
            lines.append(f":material/pause_circle: {s.interrupted_on_open} run(s) left running by "
                         "a stopped process were marked interrupted")
        st.caption("  \n".join(lines))

    with st.sidebar:
        status()


_SIDEBAR_SAW_WORK = "_sidebar_saw_work"


def sidebar_stale() -> bool:
    """True when the queue has started or ended work since this session's sidebar last drew it
    (e.g. a batch started from another tab): a page's own timed refresh then asks for one full
    rerun, so the sidebar's count and its refresh timer follow."""
    try:
        s = services()
    except StoreError:
        return False
    seen = st.session_state.get(_SIDEBAR_SAW_WORK)
    return seen is not None and seen != bool(s.queue.active())


def status_badge(status: str) -> None:
    st.badge(md(status, 40), icon=theme.STATUS_ICONS.get(status),
             color=theme.STATUS_COLORS.get(status, "gray"))


def sim_badge(simulated: bool, backend: str = "") -> None:
    if simulated:
        st.badge("simulated", icon=":material/science:", color="orange", help=theme.SIMULATED_NOTE)
    else:
        st.badge(md(backend or "LLM", 80), icon=":material/smart_toy:", color="blue")


def run_header(run: dict) -> None:
    """The run's question, badges, and its settings on one line."""
    cols = st.columns([6, 1.2, 1.2], vertical_alignment="center")
    with cols[0]:
        st.markdown(f"<div class='lts-q'><b>{md(run['question'], 600)}</b></div>",
                    unsafe_allow_html=True)
    with cols[1]:
        status_badge(run["status"])
    with cols[2]:
        sim_badge(bool(run["simulated"]), run["backend"])
    st.markdown(
        f"<span class='lts-kv'>run <code>{md(run['run_id'], 40)}</code> · {md(run['suite'], 80)} / "
        f"{md(run['task_id'], 120)} · policy <b>{md(run['policy'], 40)}</b> · K={int(run['teams'])} "
        f"· seed {int(run['seed'])} · {md(run['executor'], 40)} executor · stop rule "
        f"{md(run['stop'], 40)} · started {tables.fmt_time(run['created_at'])}</span>",
        unsafe_allow_html=True)
    if run.get("error") and run["status"] in RUN_ERROR_STATUSES:
        first = (str(run["error"]).strip().splitlines() or [""])[0]
        st.warning(md(first) or "no error message recorded", icon=":material/warning:")


def result_line(run: dict) -> None:
    """Gold vs answer with EM / F1 (only once the run has an answer)."""
    if run.get("answer") is None:
        if run["status"] == "running":
            st.caption("No final answer yet: the run is in progress.")
        else:
            st.caption(f"No final answer ({md(run['status'], 40)}).")
        return
    ok = (run.get("em") or 0) >= 1
    icon = ":material/check_circle:" if ok else ":material/cancel:"
    color = "green" if ok else "red"
    sim = " · simulated" if run["simulated"] else ""
    st.markdown(f":{color}[{icon} **{'right' if ok else 'wrong'}**] — answer "
                f"**{md(run['answer'], 200)}** · gold **{md(run['gold'], 200)}** · EM {run['em']:.0f} · "
                f"F1 {run['f1']:.2f}{sim}")


def empty_state(text: str, key: str) -> None:
    with st.container(border=True):
        st.markdown(f":material/inbox: {text}")
        if st.button("Go to Launch", icon=":material/rocket_launch:", key=key):
            go("launch")


def env_keys() -> list[str]:
    """Names (never values) of provider keys present in the environment."""
    return sorted(k for k in os.environ if k.endswith(("_API_KEY", "_API_TOKEN")) and os.environ[k])


# --------------------------------------------------------------------------------- run picker
def _pick(table_key: str, run_ids: list[str]) -> None:
    rows = st.session_state[table_key].selection.rows
    if rows:
        st.session_state["run_id"] = run_ids[rows[0]]
        st.session_state.pop("unknown_run", None)


def current_run_id(db: data.DB) -> str | None:
    """The run the user is looking at: a new ?run= link first, then the session, then the newest
    run (never a training, calibration or counterfactual one). A link to a run this database does
    not hold gives None and ``unknown_run`` is set (the picker says so; the URL is kept)."""
    url = st.query_params.get("run")
    if url and url != st.session_state.get("_url_run"):
        st.session_state["_url_run"] = url
        if data.get_run(db, url) is None:
            st.session_state["unknown_run"] = url
            st.session_state["run_id"] = None
            return None
        st.session_state.pop("unknown_run", None)
        st.session_state["run_id"] = url
    if st.session_state.get("unknown_run") and not st.session_state.get("run_id"):
        return None
    rid = st.session_state.get("run_id")
    if rid and data.get_run(db, rid) is None:
        rid = None
    rid = rid or data.latest_run_id(db)
    st.session_state["run_id"] = rid
    return rid


def unknown_run_said() -> bool:
    """Whether the page is showing "no run with this id" (a deep link to an unknown run)."""
    return bool(st.session_state.get("unknown_run")) and not st.session_state.get("run_id")


def run_picker(db: data.DB, *, key: str) -> str | None:
    """A collapsible, filterable, paged run list; returns the chosen run id (newest by default)."""
    rid = current_run_id(db)
    run = data.get_run(db, rid)
    if rid is None and st.session_state.get("unknown_run"):
        st.error(f"No run with id **{md(st.session_state['unknown_run'], 80)}** is recorded in "
                 f"this database ({md(data_path_hint(), 200)}). Choose a run below.",
                 icon=":material/link_off:")
    label = (f"Run {md(rid, 40)} · {md(run['task_id'], 80)} · {md(run['policy'], 40)} · "
             f"{md(run['status'], 40)}" if run else "Choose a run")
    with st.expander(f":material/list: {label} — change run", expanded=rid is None):
        c = st.columns([3, 2, 2, 2])
        search = c[0].text_input("Search", key=f"{key}_q", placeholder="run id, task id or question")
        opts = {col: [None, *data.distinct(db, col)] for col in ("suite", "policy", "status")}
        fmt = _all_or
        suite = c[1].selectbox("Suite", opts["suite"], key=f"{key}_suite", format_func=fmt)
        policy = c[2].selectbox("Policy", opts["policy"], key=f"{key}_policy", format_func=fmt)
        status = c[3].selectbox("Status", opts["status"], key=f"{key}_status", format_func=fmt)
        internal = st.toggle("Show training, calibration and counterfactual runs",
                             key=f"{key}_internal", help="runs the dashboard or the trainer "
                             "played for itself: training episodes, threshold calibration, and "
                             "the no-memory replays behind 'what sharing saved'")
        filt = dict(suite=suite, policy=policy, status=status, search=search or "",
                    internal=internal)
        n = data.count_runs(db, **filt)
        n_pages = max(1, math.ceil(n / PAGE_SIZE))
        pkey = f"{key}_page"
        if st.session_state.get(pkey, 1) > n_pages:
            st.session_state[pkey] = n_pages
        df = data.list_runs(db, **filt, limit=PAGE_SIZE,
                            offset=(st.session_state.get(pkey, 1) - 1) * PAGE_SIZE)
        tkey = f"{key}_tbl_{abs(hash((tuple(filt.items()), st.session_state.get(pkey, 1))))}"
        here = [i for i, r in enumerate(df.run_id) if r == rid]
        st.dataframe(tables.runs_table(df), key=tkey, hide_index=True,
                     height=min(36 * (len(df) + 1) + 3, 400),
                     on_select=functools.partial(_pick, tkey, list(df.run_id)),
                     selection_mode="single-row", column_config=RUN_COLUMNS,
                     selection_default={"selection": {"rows": here}} if here else None)
        p1, p2 = st.columns([1, 4], vertical_alignment="center")
        p1.number_input("Page", 1, n_pages, key=pkey, step=1)
        first = (st.session_state.get(pkey, 1) - 1) * PAGE_SIZE
        p2.caption(f"runs {min(n, first + 1)}–{min(n, first + PAGE_SIZE)} of {n:,}, newest first. "
                   "Select a row to open that run.")
    if st.session_state.get("run_id"):  # an unknown id stays in the address bar, as typed
        st.query_params["run"] = st.session_state["run_id"]
        st.session_state["_url_run"] = st.session_state["run_id"]
    return st.session_state.get("run_id")


def data_path_hint() -> str:
    try:
        return str(services().db_path)
    except StoreError:
        return "the database"


_N1 = st.column_config.NumberColumn(format="%.1f")
COLUMNS = {  # shared display formats: pass as column_config to any table
    **{c: _N1 for c in ("added at s", "start s", "end s", "at s", "redo s", "finished at s",
                        "runtime s")},
    "score": st.column_config.NumberColumn(format="%.3f"),
    "similarity": st.column_config.NumberColumn(format="%.3f"),
    "key (summary)": st.column_config.TextColumn(width="large"),
    "summary": st.column_config.TextColumn(width="large"),
}

RUN_COLUMNS = {
    "run": st.column_config.TextColumn("run", width="small"),
    "EM": st.column_config.NumberColumn("EM", format="%.0f", width="small"),
    "F1": st.column_config.NumberColumn("F1", format="%.2f", width="small"),
    "K": st.column_config.NumberColumn("K", width="small"),
    "seed": st.column_config.NumberColumn("seed", width="small"),
    "agents": st.column_config.TextColumn("agents", help=theme.SIMULATED_NOTE),
}


def _all_or(v: object) -> str:
    return "all" if v is None else str(v)
