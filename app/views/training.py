"""Training: the controller's curves per training job, and a short background training."""

from __future__ import annotations

import streamlit as st

from app import data, training_job, ui
from app.components import tables, training
from app.safe import md


def render() -> None:
    svc = ui.svc()
    st.title("Training")
    _start_panel(svc)
    runs = data.train_runs(svc.store)
    if runs.empty:
        st.info("No training recorded yet. Curves appear here as soon as a training writes its "
                "first epoch (table `train_epochs`).", icon=":material/model_training:")
        return
    ids = list(runs.train_id)
    chosen = st.multiselect("Training jobs", ids, default=ids[:3], key="tr_ids")
    show = runs.assign(created=[tables.fmt_time(t) for t in runs.created_at]).drop(columns="created_at")
    st.dataframe(show, hide_index=True, key="tr_table", height=min(36 * (len(runs) + 1) + 3, 250))
    if not chosen:
        return
    ep = data.train_epochs(svc.store, chosen)
    st.plotly_chart(training.curves_figure(ep), key="tr_curves")
    st.caption("Reward R = score of the aggregated answer + score of the first team to finish. "
               "Usage = share of admitted entries some team later read. Trainings on the `sim` "
               "back-end (the default) play **SIMULATED** episodes.")
    dec = data.train_decisions_summary(svc.store, chosen)
    if not dec.empty:
        st.plotly_chart(training.pyes_figure(dec), key="tr_pyes")


def _start_panel(svc) -> None:
    with st.container(border=True):
        st.markdown("**Start a short training in the background**")
        if not training_job.trainer_available():
            st.caption(":material/block: Training is **not available in this build**: the "
                       "trainer module `lts_core.train` is not installed. The curves of "
                       "trainings recorded elsewhere still show below.")
            return
        job = st.session_state.get("tr_job")
        if job is not None:
            msg = {"running": ":material/progress_activity: running",
                   "finished": ":material/check_circle: finished",
                   "failed": ":material/error: failed"}[job.status]
            st.caption(f"Last training started here: {msg}"
                       + (f" — {md(job.error)}" if job.error else ""))
            ckpt = getattr(job.result, "checkpoint", None)
            if job.status == "finished" and ckpt:
                st.caption(f"Checkpoint {md(ckpt)} (weights {md(job.result.weights_sha, 80)}). "
                           "Launch runs with it: policy `learned`, controller checkpoint "
                           f"{md(ckpt)}.")
        c = st.columns(4)
        suite = c[0].selectbox("Suite", ["demo", "hotpotqa-train"], key="tr_suite")
        epochs = c[1].number_input("Epochs", 1, 50, 2, key="tr_epochs")
        tasks = c[2].number_input("Tasks", 1, 500, 4, key="tr_tasks")
        teams = c[3].number_input("Teams (K)", 1, 10, 3, key="tr_k")
        busy = job is not None and job.status == "running"
        if st.button("Start training", icon=":material/play_arrow:", disabled=busy, key="tr_go"):
            try:
                st.session_state["tr_job"] = training_job.start_training(
                    svc.engine, suite=suite, epochs=int(epochs), tasks=int(tasks), teams=int(teams))
                st.toast("Training started; its curves appear below as epochs finish.")
            except Exception as e:
                st.error(f"Could not start the training: {md(e)}")
