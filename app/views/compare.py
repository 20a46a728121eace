"""Compare: runs or benchmark batches side by side, aligned on the same task and seed."""

from __future__ import annotations

import functools
import math

import streamlit as st

from app import data, ui
from app.components import compare, pareto, tables
from app.safe import clip, md
from lts_core.registry import memory_off_policies

BATCH_PAGE = 15


def _pick_batches(table_key: str, ids: list[str]) -> None:
    rows = st.session_state[table_key].selection.rows
    st.session_state["cmp_batches"] = [ids[r] for r in rows]


def render() -> None:
    svc = ui.svc()
    st.title("Compare")
    if data.db_summary(svc.store)["runs"] == 0:
        ui.empty_state("Nothing to compare yet: record a few runs first.", key="cmp_empty")
        return
    mode = st.segmented_control("Compare", ["Batches", "Runs"], default="Batches", key="cmp_mode",
                                help="Batches: runs started together, grouped by policy. "
                                     "Runs: any runs, each its own group.")
    run_ids = _choose_batches(svc.store) if mode != "Runs" else _choose_runs(svc.store)
    if not run_ids:
        st.info("Choose at least one batch or two runs.", icon=":material/compare_arrows:")
        return
    df = compare.with_baseline(compare.with_groups(data.run_metrics(svc.store, run_ids),
                                                   "run" if mode == "Runs" else "batch"))
    if df.simulated.any():
        st.caption(":material/science: Includes **SIMULATED** runs: agents are the offline "
                   "simulator (real paragraphs, real search, modelled reasoning and timings), not an "
                   "LLM. Runtimes are modelled clock seconds.")
    if (df.planted > 0).any():
        st.warning("Groups marked **poisoned** had wrong entries planted in their bank (a "
                   "poisoning experiment, Launch or `lts bench --poison`): they show the harm, not "
                   "the policy's usual trade, and are kept apart from the same policy's other runs.",
                   icon=":material/science:")
    off = set(memory_off_policies())
    pts = pareto.with_deltas(pareto.group_points(df, off))
    order = list(pts.group)  # the no-memory baseline first
    df = df.assign(_o=df.group.map({g: i for i, g in enumerate(order)})).sort_values(
        "_o", kind="stable").drop(columns="_o")
    summ = compare.summary_table(df)
    summ = summ.merge(pts[["group", "ΔEM", "runtime ×"]], on="group", how="left")
    summ.insert(1, "ΔEM vs none", summ.pop("ΔEM"))
    summ.insert(2, "runtime × none", summ.pop("runtime ×"))
    groups = list(summ.group)
    colors = compare.group_colors(groups, dict(zip(df.group, df.policy, strict=True)))
    st.plotly_chart(pareto.pareto_figure(pts, colors, simulated=bool(df.simulated.any())),
                    key="cmp_pareto", config={"displaylogo": False})
    front = pareto.pareto_front(pts)
    st.caption(f"One point per {'run' if mode == 'Runs' else 'policy'}: mean over tasks, error "
               "bars = std over seeds; the square and dashed lines are the no-memory baseline. "
               f"On the Pareto front: {', '.join(md(g, 40) for g in front) or '–'}.")
    single = [g for g, n in zip(summ.group, summ.runs, strict=True) if n == 1]
    if single:
        st.warning(f"{', '.join(md(g, 40) for g in single)}: one run only — a single run says "
                   "little (runtimes vary by tens of seconds between seeds). Compare batches with "
                   "several tasks and seeds.", icon=":material/warning:")
    if not any(pts.baseline):
        st.caption(":material/info: No memory-off run in this selection: deltas need one.")
    st.dataframe(summ, hide_index=True, key="cmp_summary", column_config={
        **{c: st.column_config.NumberColumn(format="%.1f") for c in summ.columns
           if c not in ("group", "runs", "simulated")},
        "cost $": st.column_config.NumberColumn(format="$%.4f", help="the group's total model "
                                                 "cost (0 for simulated agents)"),
        "LLM calls": st.column_config.NumberColumn(format="%.1f", help="model calls per run: "
                                                   "orchestrator, summaries, judge, aggregator"),
        "ΔEM vs none": st.column_config.NumberColumn(format="%+.1f"),
        "runtime × none": st.column_config.NumberColumn(format="%.2f×")})
    _charts(df, summ, colors)
    _aligned(df, groups, colors)


def _choose_batches(db) -> list[str]:
    internal = st.toggle("Show training, calibration and counterfactual batches", value=False,
                         key="cmp_internal", help="Runs the trainer, the threshold calibration "
                         "and the dashboard's no-memory counterfactuals recorded for themselves.")
    n = data.count_batches(db, internal=internal)
    if n == 0:
        st.caption("No batches yet (runs queued together share a batch).")
        return []
    n_pages = max(1, math.ceil(n / BATCH_PAGE))
    page = st.session_state.get("cmp_bpage", 1)
    b = data.batches(db, BATCH_PAGE, (min(page, n_pages) - 1) * BATCH_PAGE, internal=internal)
    show = b.assign(created=[tables.fmt_time(t) for t in b.created_at],
                    agents=["simulated" if s else "LLM" for s in b.simulated]).drop(
        columns=["created_at", "simulated"])
    tkey = f"cmp_btbl_{page}"
    several = [str(x) for x, p in zip(b.batch_id, b.policies, strict=True) if "," in str(p)]
    chosen = [x for x in st.session_state.get("cmp_batches") or [] if internal
              or not data.is_internal_batch(x)] or [several[0] if several else str(b.batch_id.iloc[0])]
    here = [i for i, x in enumerate(b.batch_id) if x in chosen]
    st.dataframe(show, hide_index=True, key=tkey, selection_mode="multi-row",
                 on_select=functools.partial(_pick_batches, tkey, list(b.batch_id)),
                 height=min(36 * (len(b) + 1) + 3, 360),
                 selection_default={"selection": {"rows": here}} if here else None)
    c1, c2 = st.columns([1, 4], vertical_alignment="center")
    c1.number_input("Page", 1, n_pages, key="cmp_bpage")
    c2.caption(f"{n:,} batches, newest first. Select one or more rows (by default the newest "
               "batch that compares several policies).")
    st.caption("Comparing batch(es): " + ", ".join(md(x, 40) for x in chosen))
    return data.run_ids_of_batches(db, chosen)


def _choose_runs(db) -> list[str]:
    q = st.text_input("Search runs", key="cmp_q", placeholder="run id, task id or question")
    df = data.list_runs(db, search=q or "", limit=200)
    labels = {r.run_id: f"{r.run_id} · {clip(r.task_id, 80)} · {clip(r.policy, 40)} · seed {r.seed}"
              + (" · simulated" if r.simulated else "") for r in df.itertuples()}
    keep = [r for r in st.session_state.get("cmp_runs", []) if r in labels]
    st.session_state["cmp_runs"] = keep
    st.multiselect("Runs (newest 200 matching)", list(labels), key="cmp_runs",
                   format_func=lambda r: labels.get(r, r))
    return st.session_state["cmp_runs"] if len(st.session_state["cmp_runs"]) >= 2 else []


def _charts(df, summ, colors) -> None:
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(compare.runtime_figure(df, colors), key="cmp_runtime")
    with c2:
        st.plotly_chart(compare.bar_figure(summ, ["EM %", "F1 %"], colors, "Accuracy",
                                           y_title="%"), key="cmp_acc")
    c1, c2 = st.columns(2)
    with c1:
        vs_none = summ["steps saved vs none"].notna().any()
        col = "steps saved vs none" if vs_none else "web calls avoided"
        st.plotly_chart(compare.bar_figure(
            summ, [col], colors, "Steps saved per run, against the same task and seed without "
            "memory" if vs_none else "Web calls avoided per run (cross-team reads)",
            y_title="steps"), key="cmp_saved")
        st.caption("**Steps saved**: steps of the same task and seed run without memory, minus "
                   "this run's (negative: more steps). Without such runs in the selection: **web "
                   "calls avoided**, cross-team reads of a search/open result the reader never "
                   "ran itself (an upper bound).")
    with c2:
        st.plotly_chart(compare.bar_figure(summ, ["admitted %"], colors, "Admission rate",
                                           y_title="% of decisions"), key="cmp_adm")
    c1, c2 = st.columns(2)
    with c1:
        st.plotly_chart(compare.bar_figure(summ, ["tokens"], colors, "Tokens per run",
                                           y_title="prompt + completion"), key="cmp_tok")
    with c2:
        st.plotly_chart(compare.bar_figure(summ, ["web calls", "cross-team reads"], colors,
                                           "Web calls and cross-team reads per run"),
                        key="cmp_mem")


def _aligned(df, groups: list[str], colors) -> None:
    st.subheader("Same task, same seed")
    if len(groups) < 2:
        st.caption("Alignment needs at least two groups.")
        return
    c1, c2 = st.columns(2)
    a = c1.selectbox("Baseline", groups, key="cmp_a",
                     index=0)  # groups are ordered baseline first (pareto.group_points)
    b = c2.selectbox("Against", [g for g in groups if g != a], key="cmp_b")
    al = compare.aligned_table(df)
    if al.empty:
        st.caption("No task and seed was run in two groups.")
        return
    left, right = st.columns([2, 3])
    with left:
        st.plotly_chart(compare.aligned_scatter(df, a, b, colors), key="cmp_scatter")
    with right:
        em = compare.aligned_table(df, "em")
        show = al.merge(em, on=compare.ALIGN_KEYS, suffixes=(" runtime", " EM"))
        st.dataframe(show.drop(columns=["teams", "backend", "suite"]), hide_index=True,
                     key="cmp_aligned", height=min(340, 36 * (len(show) + 1) + 3), column_config={
                         c: st.column_config.NumberColumn(format="%.1f") for c in show.columns
                         if c.endswith(" runtime")})
