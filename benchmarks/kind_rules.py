"""What admission alone can reach in the simulator: hand rules by step kind, on the training suite.

    .venv/bin/python benchmarks/kind_rules.py [--tasks 0:100] [--seeds 0,1,2] [--teams 3]

Plays, on the same tasks and seeds (sim back-end, virtual executor), ``none``, ``all``, ``dedup``,
the shipped ``learned`` and rules that admit by the step's kind:

- ``search``: share search results only;
- ``search+open``: share searches and page reads, never plans or answers (the issue's hand rule);
- ``search+open(supported)``: the same, but only page reads whose summary s names nothing (a quoted
  'name') that the page o does not contain (``lts_core.world.grounding.support``): a check any policy
  could run on s and o;
- ``search+open(text bound)``: drops the false page reads that the text could betray (a wrong
  "leads to" page, or a wrong page taken for the target) and keeps the misreads whose u, s and o
  are those of a true read. It peeks at the truth too: a bound on any policy that reads the text;
- ``search+open(text bound 1/3)``, ``(2/3)``: the text bound with only a fixed share of its page
  reads (chosen by a hash of the summary, so the same for every run): the points between
  ``search`` and the text bound, to see whether any of them meets an aim;
- ``search+open(leads)``, ``search+open(no leads)``: searches and only the page reads whose
  summary names a next page ("It leads to 'X'", a bridge question's first hop), or only the others:
  a split any policy can make from s;
- ``search+open+answer``, ``search+open+answer(text bound)``: the same two with final answers too
  (a right answer ends a reader's work early; a wrong one herds): can a rule reach ``dedup``'s
  runtime without its loss of accuracy?
- ``...+decided``: the rule before ``+`` plus final answers, but only an answer that, with the
  answers already given, makes a strict majority of the K teams (the vote is then decided whatever
  the others answer, so sharing it cannot change the result; it can only end the others' work):
  does the vote's straggler cost enough runtime to matter? A policy sees every step, so it can
  count the answers itself;
- ``search+open(true)``: the same, but only page reads whose fact the simulator knows is true. It
  peeks at the simulator's ground truth, which no real policy sees: an upper bound on what a
  controller that reads s and o perfectly could do with these kinds.

It prints EM and runtime (mean over tasks, then mean ± std over seeds) and the runtime ratio against
``none``. The rules live here, not in the registry: they are probes, not products. Every figure is
SIMULATED. Choose on the training suite only (hotpotqa-dev is for reporting).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from lts_core import registry
from lts_core.policies.base import AdmissionContext, AdmissionDecision, AdmissionPolicy
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig
from lts_core.scoring import normalize_answer
from lts_core.world.grounding import support


class ByKind(AdmissionPolicy):
    """Admit the steps of the given kinds (``kinds="search,open"``); ``true_only`` also drops page
    reads whose simulated fact is false (ground truth: a bound, not a policy)."""

    name = "by-kind"
    score_label = "1 when the step's kind is shared"

    def __init__(self, kinds: str = "search,open", true_only: bool = False,
                 supported_only: bool = False, text_bound: bool = False,
                 open_share: float = 1.0, leads: bool | None = None, decided_teams: int = 0) -> None:
        self.kinds, self.true_only = set(kinds.split(",")), true_only
        self.supported_only, self.text_bound = supported_only, text_bound
        self.open_share, self.leads = open_share, leads
        self.decided_teams, self.answers = decided_teams, {}  # per run: team -> normalised answer

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        ok = ctx.action in self.kinds
        if ok and self.true_only and ctx.action == "open":
            ok = ctx.payload.get("as_target") is not None and bool(ctx.payload.get("true"))
        if ok and self.supported_only and ctx.action == "open":
            ok = support(ctx.s, ctx.o) == 1.0
        if ok and self.text_bound and ctx.action == "open":
            pl = ctx.payload
            betrayed = pl.get("points_to") or pl.get("title") != pl.get("as_target")
            ok = pl.get("as_target") is None or bool(pl.get("true")) or not betrayed
        if ok and ctx.action == "open" and self.leads is not None:
            ok = ("It leads to '" in ctx.s) == self.leads
        if ok and ctx.action == "open" and self.open_share < 1.0:
            ok = zlib.crc32(ctx.s.encode()) % 1000 < 1000 * self.open_share
        if ctx.action == "answer" and self.decided_teams:
            mine = normalize_answer(str(ctx.payload.get("answer") or ctx.o))
            self.answers[ctx.team_idx] = mine
            ok = 2 * list(self.answers.values()).count(mine) > self.decided_teams
        return self.decision(1.0 if ok else 0.0, {"reason": f"kind {ctx.action}"})


SETTINGS = [("none", "none", {}), ("all", "all", {}), ("dedup", "dedup", {}),
            ("dedup+decided", "dedup", {"answers": "decided"}),
            ("learned", "learned", {"explain": False}),
            ("learned+decided", "learned", {"explain": False, "answers": "decided"}),
            ("search", "by-kind", {"kinds": "search"}),
            ("search+open", "by-kind", {"kinds": "search,open"}),
            ("search+open(supported)", "by-kind", {"kinds": "search,open", "supported_only": True}),
            ("search+open(text bound)", "by-kind", {"kinds": "search,open", "text_bound": True}),
            ("search+open(text bound 1/3)", "by-kind",
             {"kinds": "search,open", "text_bound": True, "open_share": 1 / 3}),
            ("search+open(text bound 2/3)", "by-kind",
             {"kinds": "search,open", "text_bound": True, "open_share": 2 / 3}),
            ("search+open(leads)", "by-kind", {"kinds": "search,open", "leads": True}),
            ("search+open(no leads)", "by-kind", {"kinds": "search,open", "leads": False}),
            ("search+open+answer", "by-kind", {"kinds": "search,open,answer"}),
            ("search+open+answer(text bound)", "by-kind",
             {"kinds": "search,open,answer", "text_bound": True}),
            ("search+open(true)", "by-kind", {"kinds": "search,open", "true_only": True}),
            ("search+decided", "by-kind", {"kinds": "search", "decided_teams": -1}),
            ("search+open(text bound)+decided", "by-kind",
             {"kinds": "search,open", "text_bound": True, "decided_teams": -1}),
            ("search+open(text bound 2/3)+decided", "by-kind",
             {"kinds": "search,open", "text_bound": True, "open_share": 2 / 3, "decided_teams": -1}),
            ("search+open(true)+decided", "by-kind",
             {"kinds": "search,open", "true_only": True, "decided_teams": -1})]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default="hotpotqa-train")
    ap.add_argument("--tasks", default="0:100", help="START:END slice of the suite")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--teams", type=int, default=3)
    ap.add_argument("--only", default="", help="comma-separated labels to play (default: all)")
    a = ap.parse_args()
    registry.POLICIES.register("by-kind", ByKind)
    lo, hi = (int(x) for x in a.tasks.split(":"))
    seeds = [int(s) for s in a.seeds.split(",")]
    only = set(filter(None, a.only.split(",")))
    with tempfile.TemporaryDirectory() as d:
        engine = Engine(Store(Path(d) / "rules.duckdb"))
        suite = engine.suite(a.suite)
        tasks = suite.tasks[lo:hi]
        print(f"SIMULATED | {a.suite} tasks {lo}:{hi} x seeds {seeds} | K={a.teams} | virtual")
        print(f"{'rule':20s} {'EM':>12s} {'runtime s':>14s} {'x none':>7s} {'admit%':>7s}")
        ref = None
        for label, policy, opts in SETTINGS:
            if only and label not in only and label != "none":
                continue
            t0, em, rt, adm = time.time(), [], [], []
            for seed in seeds:
                if opts.get("decided_teams") == -1:  # the vote's size is the run's K
                    opts = {**opts, "decided_teams": a.teams}
                rc = RunConfig(teams=a.teams, policy=policy, policy_options=dict(opts), seed=seed,
                               executor="virtual")
                res = [engine.run_task(t, suite, rc, batch_id=f"rules-{label}") for t in tasks]
                em.append(100 * np.mean([r.record.em or 0.0 for r in res]))
                rt.append(np.mean([r.record.runtime_s or 0.0 for r in res]))
                adm.append(100 * sum(r.admitted for r in res) / max(1, sum(r.decisions for r in res)))
            ref = ref or float(np.mean(rt))
            print(f"{label:20s} {np.mean(em):5.1f} ± {np.std(em):4.1f} {np.mean(rt):7.1f} ± "
                  f"{np.std(rt):4.1f} {np.mean(rt) / ref:6.2f}x {np.mean(adm):6.1f}   "
                  f"({time.time() - t0:.0f} s)", flush=True)
        engine.store.close()


if __name__ == "__main__":
    main()
