"""Launch: pick a task and settings, start a run or queue several, watch the queue, cancel."""

from __future__ import annotations

import uuid
from collections import Counter
from pathlib import Path

import streamlit as st

from app import data, form_checks, theme, ui
from app.exposure import ApiBasePolicy, SettingError, api_base_policy, shown
from app.form_checks import int_problem, parse_seeds
from app.safe import clip, md
from app.state import Job
from lts_core import ConfigError, RunConfig, TaskFileError
from lts_core.policies import available_policies
from lts_core.registry import BACKENDS, EXECUTORS, POLICIES, is_simulated, score_label, uses_memory
from lts_core.runtime.poison import MAX_POISON
from lts_core.runtime.run_config import STOP_RULES
from lts_core.world.tasks import SUITE_NAMES

MAX_OPTIONS = 500
MAX_JOBS = 500
MAX_TEAMS = 64  # RunConfig.validate's bounds
MAX_STEPS = 500
QUEUE_ORDER = {"running": 0, "starting": 1, "queued": 2, "finished": 3}  # the queue's count line
ANSWER_CHOICES = {None: "each policy's default (learned: as calibrated with its checkpoint)",
                  "policy": "decided by the policy's score, like any step",
                  "decided": "shared only once they decide the vote"}
DEMO = dict(suite="demo", teams=3, policy="dedup", executor="threads", speed=8.0, embedder="minilm")


def start_demo(svc) -> Job:
    suite = svc.engine.suite("demo")
    cfg = RunConfig(teams=DEMO["teams"], policy=DEMO["policy"], executor=DEMO["executor"],
                    speed=DEMO["speed"], embedder=DEMO["embedder"])
    return svc.queue.submit("demo", suite.tasks[0].id, cfg)


def render() -> None:
    svc = ui.svc()
    st.title("Launch")
    if data.db_summary(svc.store)["runs"] == 0 and not svc.queue.jobs():
        with st.container(border=True):
            st.subheader(":material/waving_hand: Nothing recorded yet")
            st.markdown("Watch three **simulated** teams answer a demo question in parallel, "
                        "sharing what they find through a memory bank that the **dedup** policy "
                        "curates. The first steps show within seconds; the whole run takes about "
                        "half a minute.")
            _warm_status(svc)
            if st.button("Run the demo", type="primary", icon=":material/play_arrow:", key="demo"):
                start_demo(svc)
                ui.go("live")
    left, right = st.columns([3, 2], gap="large")
    with left:
        _form(svc)
    with right:
        _queue_panel(svc)


def _warm_status(svc) -> None:
    """What the start-up warm-up is doing (embedding model, demo index), until it is done."""
    w = svc.warmup
    if w is None:
        return

    @st.fragment(run_every=0.5 if not w.done else None)
    def status() -> None:
        if w.done:
            if st.session_state.pop("launch_warming", False):
                st.rerun()
            st.caption(f":material/check_circle: Ready (embedding model and search index loaded in "
                       f"{w.elapsed():.0f} s).")
            return
        st.session_state["launch_warming"] = True
        st.caption(f":material/progress_activity: Getting ready: loading {w.stage} "
                   f"({w.elapsed():.0f} s). You can start now; the run begins when it is done.")

    status()


def _tasks(svc, suite_name: str):
    try:
        return svc.engine.suite(suite_name)
    except (TaskFileError, OSError) as e:
        st.error(f"Suite **{md(suite_name, 80)}** is not available here: {md(e, 500)}",
                 icon=":material/folder_off:")
        return None


def _form(svc) -> None:
    st.subheader("New run")
    st.caption("One run opens the live view; several (policies × seeds × tasks) are queued as one "
               "batch, run one after another, and compared on the Compare page.")
    c1, c2 = st.columns([1, 2])
    suite_name = c1.selectbox("Suite", SUITE_NAMES, key="l_suite")
    query = c2.text_input("Search tasks", key="l_query", placeholder="words of the question, or an id")
    suite = _tasks(svc, suite_name)
    if suite is None:
        return
    q = (query or "").strip().lower()
    matches = [t for t in suite.tasks if not q or q in t.id.lower() or q in t.question.lower()]
    if not matches:
        st.warning(f"No task of {md(suite_name, 80)} matches “{md(query, 100)}”.")
        return
    shown = matches[:MAX_OPTIONS]
    by_id = {t.id: t for t in shown}
    task_id = st.selectbox(
        f"Task ({len(matches):,} match{'es' if len(matches) != 1 else ''}"
        + (f", first {MAX_OPTIONS} listed" if len(matches) > MAX_OPTIONS else "") + ")",
        list(by_id), key="l_task",
        format_func=lambda i: f"{clip(i, 80)} — {clip(by_id[i].question, 110)}")
    all_matching = st.checkbox(f"Queue every matching task ({min(len(matches), MAX_JOBS):,})",
                               key="l_all", disabled=len(matches) < 2)
    if task_id and not all_matching:
        t = by_id[task_id]
        st.caption(f"Gold answer: **{md(t.answer, 200)}** · {len(t.docs)} paragraphs · level "
                   f"{md(t.level or '–', 40)}")
    problems: list[str] = []
    c1, c2, c3 = st.columns(3)
    teams = c1.number_input("Teams (K)", value=3, step=1, key="l_k", help=f"1 to {MAX_TEAMS}")
    max_steps = c2.number_input("Max steps per team", value=30, step=1, key="l_steps",
                                help=f"1 to {MAX_STEPS}")
    seeds_text = c3.text_input("Seed(s)", "0", key="l_seeds", help="0, or 0,1,2, or a range 0-4")
    problems += [p for p in (int_problem("Teams (K)", teams, 1, MAX_TEAMS),
                             int_problem("Max steps per team", max_steps, 1, MAX_STEPS)) if p]
    policies = st.multiselect("Admission policy (several = one run each)", available_policies(),
                              default=["dedup"], key="l_policy")
    if not policies:
        problems.append("Admission policy: choose at least one")
    tuned = [p for p in policies if POLICIES.takes(p, "threshold")]
    threshold = None
    if tuned:
        scales = "; ".join(f"{p}: {score_label(p)}" for p in tuned)
        threshold = st.number_input(
            f"Admission threshold ({', '.join(tuned)})", min_value=0.0, max_value=1.0, value=None,
            step=0.05, key="l_threshold", placeholder="empty = each policy's own default",
            help=f"A step is admitted when its score is at or above this. Scores: {scales}. "
                 "Every decision records the threshold it was compared with.")
    ckpt = ""
    loaded = [p for p in policies if POLICIES.takes(p, "checkpoint")]
    if loaded:
        ckpt = st.text_input(f"Controller checkpoint ({', '.join(loaded)})", "", key="l_ckpt",
                             placeholder="empty = the shipped lts_core/assets/controller/lts-controller.pt",
                             help="A file written by `lts train` or the Training page.").strip()
        if ckpt and not Path(ckpt).expanduser().is_file():
            problems.append(f"Controller checkpoint: {ckpt} does not exist")
    answers = None
    ruled = [p for p in policies if POLICIES.takes(p, "answers")]
    if ruled:
        answers = st.selectbox(
            f"Final answers ({', '.join(ruled)})", [None, "policy", "decided"], key="l_answers",
            format_func=lambda a: ANSWER_CHOICES[a],
            help="decided: share a team's final answer only once it makes a strict majority of the "
                 "K teams, so that sharing it cannot change the vote (it can only end the others' "
                 "work sooner); policy: the policy's score decides answers like any other step.")
    poison, poison_at = _poison_fields(policies)
    backend, options, llm_problems = _backend()
    problems += llm_problems
    c1, c2, c3 = st.columns(3)
    executors = sorted(EXECUTORS.available(), key=lambda n: n != DEMO["executor"])
    executor = c1.radio("Executor", executors, key="l_exec",
                        help="threads: real clock, scaled by speed, for watching live. virtual: "
                             "a deterministic event loop, finishes at once.")
    speed = c2.slider("Speed (clock s per real s)", 1.0, 100.0, 10.0, key="l_speed",
                      disabled=not EXECUTORS.load(executor).real_clock)
    stop = c3.radio("Stop rule", list(STOP_RULES), key="l_stop",
                    help="aggregate: wait for every team, then aggregate their answers. first: "
                         "take the first team's answer and cancel the rest.")
    try:
        seeds = parse_seeds(seeds_text)
    except ValueError as e:
        seeds = []
        problems.append(f"Seed(s): {e}")
    tasks = [t.id for t in matches[:MAX_JOBS]] if all_matching else [task_id]
    jobs = [(t, p, s) for p in policies for s in seeds for t in tasks]
    if len(jobs) > MAX_JOBS:
        problems.append(f"{len(jobs):,} runs is more than {MAX_JOBS} at once; narrow the selection")
    if problems:
        st.error("**Fix these to start:**\n" + "\n".join(f"- {md(p, 500)}" for p in problems),
                 icon=":material/edit_note:")
    label = ("Start run" if len(jobs) == 1 else f"Queue {len(jobs)} runs" if jobs else
             "Start (nothing to run yet)")
    if st.button(label, type="primary", icon=":material/play_arrow:", key="l_go",
                 disabled=bool(problems) or not jobs or backend is None):
        batch = uuid.uuid4().hex[:8]
        try:
            for t, p, s in jobs:
                popts: dict[str, object] = {}
                if ckpt and POLICIES.takes(p, "checkpoint"):
                    popts["checkpoint"] = str(Path(ckpt).expanduser())
                if threshold is not None and POLICIES.takes(p, "threshold"):
                    popts["threshold"] = float(threshold)
                if answers is not None and POLICIES.takes(p, "answers"):
                    popts["answers"] = answers
                cfg = RunConfig(teams=int(teams), policy=p, policy_options=popts, backend=backend,
                                backend_options=options,
                                executor=executor, stop=stop, max_steps=int(max_steps), seed=s,
                                speed=float(speed), poison=poison if uses_memory(p) else 0,
                                poison_at_s=poison_at)
                svc.queue.submit(suite_name, t, cfg, batch_id=batch)
        except (ConfigError, SettingError) as e:
            st.error(f"Setting rejected: {md(e, 500)}")
            return
        st.toast(f"Queued {len(jobs)} run(s) in batch {batch}", icon=":material/schedule:")
        if len(jobs) == 1:  # one run: watch it; several: stay here and follow the queue
            ui.go("live")


def _poison_fields(policies: list[str]) -> tuple[int, float]:
    """The poisoning experiment (lts_core.runtime.poison): wrong entries planted in the bank of every run
    whose policy uses memory; the harm they do shows on Live, the explorer and the graph."""
    with st.expander("Experiment: plant wrong entries in the bank", icon=":material/science:"):
        st.caption("Plants wrong facts and wrong answers about the task in the shared bank at a "
                   "chosen clock time, bypassing admission, to watch how far they spread. Runs "
                   "without memory get none. Planted entries are marked wherever they appear.")
        c1, c2 = st.columns(2)
        n = c1.number_input("Wrong entries to plant", 0, MAX_POISON, 0, step=1, key="l_poison",
                            disabled=not any(uses_memory(p) for p in policies))
        at = c2.number_input("Planted at clock second", 0.0, 3600.0, 20.0, step=5.0,
                             key="l_poison_at")
    return int(n or 0), float(at or 0.0)


LLM_CHOICE = "LLM (litellm)"  # every back-end that is not simulated, named by a model string


def _backend() -> tuple[str | None, dict, list[str]]:
    """The agents' back-end, its options, and what is wrong with them."""
    available = BACKENDS.available()  # the registry's, importable here
    sims = [b for b in available if is_simulated(b)]
    real = [LLM_CHOICE] if any(not is_simulated(b) for b in available) else []
    kind = st.radio("Agents", sims + real, horizontal=True, key="l_backend",
                    help="sim: the offline simulator (labelled simulated everywhere). LLM: any "
                         "litellm model string; keys are read from the environment.")
    if kind in sims:
        return kind, {}, []
    try:
        policy = api_base_policy()
    except SettingError as e:
        return None, {}, [str(e)]
    c1, c2 = st.columns(2)
    model = c1.text_input("Model", "openai/gpt-4o-mini", key="l_model",
                          help="a litellm model string: openai/…, ollama/qwen3:8b, hosted_vllm/…")
    api_base = _api_base_field(c2, policy)
    keys = ui.env_keys()
    st.caption("Provider keys come from the environment of the dashboard process, never from this "
               "form. Present: " + (", ".join(md(k, 60) for k in keys) if keys else "none"))
    problems = form_checks.llm_problems(model, api_base, policy)
    return model.strip(), ({"api_base": api_base.strip()} if api_base.strip() else {}), problems


def _api_base_field(col, policy: ApiBasePolicy) -> str:
    """A free field, a choice among the allowed API bases, or nothing, as the settings say."""
    if policy.allowed is None:
        return col.text_input("API base (optional)", "", key="l_api_base",
                              placeholder="http://127.0.0.1:8000/v1")
    if not policy.allowed:
        col.text_input("API base", "", key="l_api_base_off", disabled=True,
                       placeholder="the provider's own endpoint",
                       help=f"Custom API bases are turned off here ({md(policy.source, 80)}).")
        return ""
    return col.selectbox("API base", ["", *policy.allowed], key="l_api_base_pick",
                         format_func=lambda u: shown(u) if u else "the provider's own endpoint",
                         help=f"The API bases this dashboard allows ({md(policy.source, 80)}).")


def queue_view(jobs: list[Job]) -> tuple[str, list[Job]]:
    """The queue's count line ("1 running · 52 queued · 1 finished — 54 in all") and its jobs in
    the order shown: what runs now first, then the newest of the rest, so that a long batch's
    queued tail never hides the run in progress."""
    counts = Counter(j.status for j in jobs)
    line = " · ".join(f"{n} {s}" for s, n in sorted(
        counts.items(), key=lambda kv: QUEUE_ORDER.get(kv[0], 9))) + f" — {len(jobs)} in all"
    return line, sorted(reversed(jobs), key=lambda j: j.status not in ("starting", "running"))


def _queue_panel(svc) -> None:
    active = bool(svc.queue.active())

    @st.fragment(run_every=1.0 if active else None)
    def panel() -> None:
        jobs = svc.queue.jobs()
        st.subheader("Queue")
        if not jobs:
            st.caption("No runs started from this dashboard yet. Runs start one after another.")
            return
        act = [j for j in jobs if j.status in ("queued", "starting", "running")]
        line, shown = queue_view(jobs)
        st.caption(md(line, 300))
        if act and st.button("Cancel all", icon=":material/cancel:", key="q_cancel_all"):
            svc.queue.cancel_all()
            st.rerun(scope="fragment")
        for j in shown[:15]:
            with st.container(border=True):
                c1, c2 = st.columns([6, 1], vertical_alignment="center")
                icon = theme.STATUS_ICONS.get(j.status, ":material/schedule:")
                color = theme.STATUS_COLORS.get(j.status, "gray")
                c1.markdown(f":{color}[{icon} **{md(j.status, 40)}**] &nbsp; {md(j.label, 200)}  \n"
                            f"<span class='lts-kv'>{md(j.suite, 80)} · {md(j.config.executor, 40)} · "
                            f"{md(j.config.backend, 80)} · batch {md(j.batch_id, 40)}"
                            + (f" · run {md(j.run_id, 40)}" if j.run_id else "") + "</span>",
                            unsafe_allow_html=True)
                if j.error:
                    c1.caption(f":red[{md(j.error)}]")
                if j.status in ("queued", "starting", "running"):
                    if c2.button("", icon=":material/cancel:", key=f"q_cancel_{j.job_id}",
                                 help="cancel this run"):
                        svc.queue.cancel(j.job_id)
                        st.rerun(scope="fragment")
                elif j.run_id and c2.button("", icon=":material/open_in_new:", help="open in the explorer",
                                            key=f"q_open_{j.job_id}"):
                    st.session_state["run_id"] = j.run_id
                    ui.go("explorer")
        if len(jobs) > 15:
            st.caption(f"{len(jobs) - 15} more not shown (the oldest, or queued after these); "
                       "every run is in the explorer.")
        if not act and active:
            st.rerun()  # the queue just emptied: stop refreshing

    panel()
