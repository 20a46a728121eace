"""The two stories a run page tells: what sharing saved (the counterfactual) and what went wrong
(reads of wrong entries). Shared by Live and the explorer."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from app import counterfactual, data, theme
from app.safe import md


def counterfactual_figure(cf: counterfactual.Counterfactual, simulated: bool) -> go.Figure:
    """Two bars: the run's runtime with sharing and without (same task and seed)."""
    labels = ["without sharing", "with sharing"]
    vals = [cf.runtime_off or 0.0, cf.runtime_s or 0.0]
    fig = go.Figure(go.Bar(
        orientation="h", y=labels, x=vals, marker=dict(color=["#8A8F98", "#4E79A7"]),
        text=[f"{v:.0f} s" for v in vals], textposition="inside", insidetextanchor="end",
        hoverinfo="skip"))
    fig.update_layout(**theme.base_layout(
        height=120, showlegend=False, margin=dict(l=10, r=10, t=8, b=28),
        xaxis=dict(title=f"runtime, seconds{' (modelled, SIMULATED)' if simulated else ''}",
                   gridcolor=theme.GRID, zeroline=False),
        yaxis=dict(autorange="reversed")))
    return fig


def headline(cf: counterfactual.Counterfactual) -> str:
    """"183 s with sharing vs 330 s without (-45%); both right" (or which answer was right)."""
    if cf.runtime_s is None or cf.runtime_off is None:
        return "no runtime to compare yet"
    pct = f" ({-cf.saved_pct:+.0f}%)" if cf.saved_pct is not None else ""
    return (f"{cf.runtime_s:.0f} s with sharing vs {cf.runtime_off:.0f} s without{pct}; "
            f"{_answers(cf)}")


def _answers(cf: counterfactual.Counterfactual) -> str:
    """Whether each answer was right: what a saving is worth depends on it."""
    if cf.em is None or cf.em_off is None:
        return {True: "same answer", False: "a different answer",
                None: "answers not comparable"}[cf.same_answer]
    right, right_off = cf.em >= 1, cf.em_off >= 1
    if right == right_off:
        return ("both right" if right else "both wrong") + (
            "" if cf.same_answer is not False else ", with different answers")
    return "right with sharing, wrong without" if right else "wrong with sharing, right without"


def cost_the_answer(cf: counterfactual.Counterfactual) -> bool:
    """Right without sharing, wrong with it."""
    return cf.em is not None and cf.em_off is not None and cf.em < 1 <= cf.em_off


def worth_it(cf: counterfactual.Counterfactual) -> bool:
    """Sharing saved time without costing the right answer."""
    return cf.saved_pct is not None and cf.saved_pct > 0 and not cost_the_answer(cf)


def counterfactual_panel(svc, run: dict, *, key: str) -> None:
    """The counterfactual line and figure, or why there is none (polls while it is played)."""
    if not data.memory_on(run):
        st.caption(":material/block: This run is itself the no-sharing baseline (memory off).")
        return
    if run["status"] != "finished":
        st.caption(":material/hourglass_top: What sharing saved shows when the run has finished "
                   "(compared with the same task and seed run without memory).")
        return

    # Start the replay (when none is recorded) before the panel decides whether to poll: decided
    # first, the panel of the run's last redraw never polled and the result waited for a reload.
    first = counterfactual.find_or_play(svc, run)

    @st.fragment(run_every=1.0 if first is None and counterfactual.playing(run["run_id"]) else None)
    def panel() -> None:
        cf_run = counterfactual.find_or_play(svc, run)
        if cf_run is None:
            if counterfactual.playing(run["run_id"]):
                st.info("Playing the same task and seed **without memory** on the virtual "
                        "executor (SIMULATED, a few seconds) to show what sharing saved…",
                        icon=":material/hourglass_top:")
                st.session_state[f"{key}_wait"] = True
            else:
                st.caption(":material/info: No recorded run of this task and seed without memory"
                           + (" (LLM runs are not replayed: run it with a memory-off policy to "
                              "compare)." if not run["simulated"] else "."))
            return
        if st.session_state.pop(f"{key}_wait", False):
            st.rerun()  # it just arrived: stop polling
        cf = counterfactual.compare(run, cf_run)
        icon = (":material/savings:" if worth_it(cf) else ":material/warning:"
                if cost_the_answer(cf)
                else ":material/trending_flat:")
        left, right = st.columns([2, 3], vertical_alignment="center")
        with left:
            st.markdown(f"{icon} **{md(headline(cf))}**")
            origin = ("played by the dashboard on the virtual executor" if cf.played
                      else "recorded")
            st.caption(f"Counterfactual: the same task, seed, K and agents with memory off "
                       f"(run {md(cf.run_id, 20)}, {origin})."
                       + (" SIMULATED: modelled clock seconds." if run["simulated"] else ""))
        with right:
            st.plotly_chart(counterfactual_figure(cf, bool(run["simulated"])), key=f"{key}_fig",
                            config={"displayModeBar": False})

    panel()


def wrong_reads_metric(col, n_wrong_reads: int, n_wrong: int, n_planted: int) -> None:
    """The Live counter: reads of entries whose content was wrong."""
    col.metric("Reads of wrong entries", f"{n_wrong_reads}",
               f"of {n_wrong} wrong" + (f", {n_planted} planted" if n_planted else ""),
               delta_color="inverse" if n_wrong_reads else "off",
               delta_arrow="off",
               help="Reads of bank entries whose content is wrong: an answer that does not match "
                    "the gold answer, a page fact the simulator knows is false, or an entry "
                    "planted by a poisoning experiment. The explorer's Harm tab shows who read "
                    "them and what they answered.")
