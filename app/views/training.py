"""Training: the controller's curves per training job, and a short background training."""

from __future__ import annotations

import streamlit as st

from app import data, training_job, ui
from app.components import tables, training
from app.form_checks import int_problem
from app.safe import md


def render() -> None:
    svc = ui.svc()
    st.title("Training")
    _shipped_panel()
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


_OURS = {"usage_penalty": "usage penalty", "wrong_penalty": "wrong penalty",
         "cost_alpha": "cost α"}  # our credit options (docs/controller.md); off when 0


@st.cache_data(show_spinner=False)
def _card(mtime: float) -> dict | None:
    """The shipped checkpoint's card; ``mtime`` (hashed by the cache) reads it again after a
    retrain in place."""
    from lts_core.policies.controller import checkpoint_card

    try:
        return checkpoint_card()
    except ValueError:
        return None


def _shipped_panel() -> None:
    """The checkpoint ``learned`` uses by default: how it was trained and how its threshold was
    chosen (its own meta, ``lts_core.policies.controller.checkpoint_card``)."""
    from lts_core.policies.controller import default_checkpoint

    path = default_checkpoint()
    c = _card(path.stat().st_mtime if path.is_file() else 0.0)
    if c is None:
        return
    extras = [f"{name} {c['credit'][k]:g}" for k, name in _OURS.items() if c["credit"].get(k)]
    if "support" in c.get("inputs", []):
        extras.append("support input")
    recipe = " + ".join([f"recipe {c['recipe']}", *extras])
    cal = c.get("calibration")
    thr = (f"threshold {c['threshold']:g}, chosen on validation" if cal else
           f"threshold {c['threshold']:g}" if c.get("threshold") is not None else "threshold 0.5")
    with st.expander(md(f"Shipped controller (policy learned): {recipe}; {thr}", 200),
                     icon=":material/neurology:"):
        sim = " (**SIMULATED** episodes)" if c.get("backend") == "sim" else ""
        st.markdown(md(f"Trained on the first {c.get('tasks') or 'all'} tasks of {c.get('suite')}, "
                       f"{c.get('epochs')} epochs, {c.get('episodes')} episodes per task, "
                       f"K = {c.get('teams')}", 300) + sim
                    + f". Weights `{md(c.get('weights_sha'), 40)}`. How each constant was chosen: "
                    "docs/controller.md; how each recipe and checkpoint was chosen: benchmarks/JOURNAL.md.")
        if not cal:
            return
        none = cal["none"]
        st.markdown(md(f"Calibrated on tasks {cal['tasks']} of the training suite, seeds "
                       f"{', '.join(str(x) for x in cal['seeds'])}, K = {cal['teams']}; rule: "
                       f"{cal['rule']}. Without sharing (policy none) on that slice: EM "
                       f"{100 * none['em']:.1f}, {none['runtime_s']:.1f} s.", 400))
        rows = [{"threshold": r["threshold"], "chosen": "◀ chosen" if r["threshold"] == c["threshold"]
                 else "", "EM": 100 * r["em"], "runtime s": r["runtime_s"],
                 "× none": r["runtime_s"] / none["runtime_s"], "admitted %": 100 * r["admit"]}
                for r in cal["curve"]]
        st.dataframe(rows, hide_index=True, key="tr_calibration", column_config={
            "EM": st.column_config.NumberColumn(format="%.1f"),
            "runtime s": st.column_config.NumberColumn(format="%.1f"),
            "× none": st.column_config.NumberColumn(format="%.2f"),
            "admitted %": st.column_config.NumberColumn(format="%.1f")})


def _start_panel(svc) -> None:
    with st.container(border=True):
        st.markdown("**Start a short training in the background**")
        if not training_job.trainer_available():
            st.caption(":material/block: Training is **not available in this build**: the "
                       "trainer module `lts_core.learning.train` is not installed. The curves of "
                       "trainings recorded elsewhere still show below.")
            return
        job = training_job.current_training()  # one per process: every tab sees it
        if job is not None:
            _progress(svc, job)
        from lts_core.learning.recipes import DESCRIPTIONS, RECIPES

        recipe = st.selectbox("Recipe", sorted(RECIPES), index=sorted(RECIPES).index("lts"),
                              key="tr_recipe", help="; ".join(
                                  f"**{n}**: {DESCRIPTIONS.get(n, '')}" for n in sorted(RECIPES))
                              + ". docs/controller.md gives every constant and its source.")
        c = st.columns(4)
        suite = c[0].selectbox("Suite", ["demo", "hotpotqa-train"], key="tr_suite")
        problems: list[str] = []
        try:  # the first tasks of the suite are trained on: no more than it has
            n_tasks = len(svc.engine.suite(suite).tasks)
        except Exception as e:  # e.g. the HotpotQA files are not where the settings say
            n_tasks = 0
            problems.append(f"Suite {suite}: {e}")
        # No min/max on the inputs: out of range, Streamlit keeps the last valid value while the
        # field shows the typed one; checked here, every problem is said and blocks the button.
        epochs = c[1].number_input("Epochs", value=2, step=1, key="tr_epochs", help="1 to 50")
        tasks = c[2].number_input("Tasks", value=4, step=1, key="tr_tasks",
                                  help=f"the first N tasks of the suite, 1 to {max(n_tasks, 1)}")
        teams = c[3].number_input("Teams (K)", value=3, step=1, key="tr_k", help="1 to 10")
        problems += [p for p in (int_problem("Epochs", epochs, 1, 50),
                                 int_problem(f"Tasks ({suite} has {n_tasks})", tasks, 1,
                                             max(n_tasks, 1)),
                                 int_problem("Teams (K)", teams, 1, 10)) if p]
        if problems:
            st.error("**Fix these to start:**\n" + "\n".join(f"- {md(p, 300)}" for p in problems),
                     icon=":material/edit_note:")
        busy = job is not None and job.status in ("running", "stopping")
        if st.button("Start training", icon=":material/play_arrow:", disabled=busy or bool(problems),
                     key="tr_go"):
            try:
                training_job.start_training(
                    svc.engine, recipe=recipe, suite=suite, epochs=int(epochs), tasks=int(tasks),
                    teams=int(teams))
                st.rerun()  # the progress panel above takes over
            except Exception as e:
                st.error(f"Could not start the training: {md(e)}")


STATUS = {"running": ":material/progress_activity: training",
          "stopping": ":material/pause_circle: stopping after the current episodes (a checkpoint "
                      "is saved)",
          "finished": ":material/check_circle: finished", "stopped": ":material/stop_circle: stopped",
          "failed": ":material/error: failed"}


def _progress(svc, job) -> None:
    """Live progress of the training started here: episodes, epoch, reward, admission rate; its
    curves redraw as epochs finish; Stop saves a checkpoint. Refreshes without a reload."""
    live = job.status in ("running", "stopping")

    @st.fragment(run_every=2.0 if live else None)
    def panel() -> None:
        p = data.training_progress(svc.store, job.started_at, job.train_id)
        total = max(job.expected_episodes(), 1)
        done = p["episodes"]
        st.markdown(f"**Training started here** — {STATUS.get(job.status, md(job.status, 40))}"
                    + (f" — {md(job.error)}" if job.error else ""))
        st.progress(min(done / total, 1.0), text=f"{done} of about {total} episodes played "
                    "(SIMULATED episodes on the sim back-end)")
        last = job.epochs_done[-1] if job.epochs_done else None
        c = st.columns(4)
        epochs = int(job.options.get("epochs") or 0)
        c[0].metric("Epoch", f"{len(job.epochs_done)} / {epochs}" if epochs else len(job.epochs_done))
        c[1].metric("Reward", f"{last.reward:.3f}" if last else "–", help="mean episode reward of "
                    "the last finished epoch")
        c[2].metric("Admission rate", f"{last.admission_rate:.0%}" if last else "–")
        c[3].metric("Episode runs now", p["running"])
        if job.status == "running" and job.can_stop:
            if st.button("Stop training", icon=":material/stop_circle:", key="tr_stop",
                         help="Ends after the current group of episodes and saves a checkpoint"):
                job.stop()
                st.rerun()
        ckpt = getattr(job.result, "checkpoint", None)
        if job.status in ("finished", "stopped") and ckpt:
            st.caption(f"Checkpoint {md(ckpt)} (weights {md(job.result.weights_sha, 80)}). "
                       "Launch runs with it: policy `learned`, controller checkpoint "
                       f"{md(ckpt)}.")
        if job.train_id and live:  # once it has ended, its curves are in the list below
            ep = data.train_epochs(svc.store, [job.train_id])
            if len(ep):
                st.plotly_chart(training.curves_figure(ep, height=360), key="tr_live_curves")
        if not live:
            return
        if job.status not in ("running", "stopping"):
            st.rerun()  # it just ended: one full redraw

    panel()
