"""Calibrate the simulator's ``read_threshold`` on HotpotQA *train* (never on dev).

Runs K=3 teams with policy ``all`` and reading switched off (threshold above 1), so the bank fills as
it would and no read changes the course of a run. Then, for every web step a team took and every key
from another team visible at that moment, it computes cosine(key, the team's sub-goal) with the real
embedder and labels the pair *useful* when the entry would have served that sub-goal: a page read
whose fact is the team's current target, or search hits that contain the target. It prints
precision / recall / F1 of "fetch when cosine >= t" for a grid of t; the default is the F1-best t.

    .venv/bin/python benchmarks/calibrate_read_threshold.py --tasks 100 --seeds 0,1
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from lts_core import Engine, RunConfig, Store
from lts_core.world.embeddings import get_embedder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--suite", default="hotpotqa-train")
    ap.add_argument("--tasks", type=int, default=100)
    ap.add_argument("--seeds", default="0,1")
    args = ap.parse_args()
    db = Path(tempfile.mkdtemp()) / "calib.duckdb"
    store = Store(db)
    engine = Engine(store)
    suite = engine.suite(args.suite)
    emb = get_embedder("minilm")
    pairs: list[tuple[float, bool, str]] = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        for task in suite.tasks[: args.tasks]:
            cfg = RunConfig(teams=3, policy="all", seed=seed,
                            backend_options={"read_threshold": 1.5})
            run = engine.prepare_run(task, suite, cfg)
            engine.execute(run)
            store.flush()
            steps = store.query("SELECT team_idx, t_start, action, detail_json FROM steps "
                                "WHERE run_id = ? AND action IN ('search', 'open')", [run.run_id])
            entries = run.bank.keys_at()
            bridge = task.type == "bridge"
            hop1 = task.hop_titles[0] if task.hop_titles else None
            for _, st in steps.iterrows():
                target = json.loads(st.detail_json).get("target")
                if not target:
                    continue
                goal = task.question if (bridge and target == hop1) else target
                g = emb.one(goal)
                for e in entries:
                    if e.team_idx == st.team_idx or e.t_added > st.t_start:
                        continue
                    pl = e.payload
                    useful = (pl.get("kind") == "open" and pl.get("as_target") == target) or (
                        pl.get("kind") == "search" and target in pl.get("hits", []))
                    pairs.append((float(e.key_vec @ g), useful, pl.get("kind", "?")))
    store.close()
    sims = np.array([p[0] for p in pairs])
    lab = np.array([p[1] for p in pairs])
    print(f"{len(pairs)} (sub-goal, key) pairs, {lab.mean():.1%} useful")
    for kind in sorted({p[2] for p in pairs}):
        m = np.array([p[2] == kind for p in pairs])
        print(f"  {kind:<7} n={m.sum():5d} useful={lab[m].mean():.1%} "
              f"mean cosine={sims[m].mean():.3f}")
    best = (0.0, 0.0)
    print(f"{'t':>5} {'precision':>9} {'recall':>7} {'F1':>6}")
    for t in np.arange(0.40, 0.91, 0.02):
        pred = sims >= t
        tp = (pred & lab).sum()
        prec = tp / pred.sum() if pred.sum() else 0.0
        rec = tp / lab.sum() if lab.sum() else 0.0
        f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
        best = max(best, (f1, round(float(t), 2)))
        print(f"{t:5.2f} {prec:9.3f} {rec:7.3f} {f1:6.3f}")
    print(f"F1-best read_threshold = {best[1]} (F1 {best[0]:.3f})")


if __name__ == "__main__":
    main()
