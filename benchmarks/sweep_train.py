"""Small sweep that chose the trainer's default beta and lambda_sparse (benchmarks/JOURNAL.md).

Each grid point trains a controller on the first ``--train-tasks`` hotpotqa-train tasks and
evaluates it (argmax, K=3, virtual, sim) on ``--val-tasks`` *other* train tasks (from
``--val-offset``) over ``--val-seeds``; dev is never touched. The rule, fixed before running: the
lowest validation runtime among the points whose validation F1 is within ``--f1-slack`` points
of the best. Prints one row per point; SIMULATED episodes throughout.

    .venv/bin/python benchmarks/sweep_train.py --beta 0,0.5,1 --lambda-sparse 0.1,0.3
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import statistics
import tempfile
import time
from pathlib import Path

from lts_core.learning.credit import CreditConfig
from lts_core.learning.train import TrainConfig, train
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig


def floats(s: str) -> list[float]:
    return [float(x) for x in s.split(",") if x.strip()]


def evaluate(engine: Engine, policy: str, options: dict, tasks, seeds) -> dict[str, float]:
    rows = []
    for seed in seeds:
        for t in tasks:
            rc = RunConfig(teams=3, policy=policy, policy_options=options, seed=seed)
            rows.append(engine.run_task(t, "hotpotqa-train", rc, batch_id="sweep-eval"))
    dec = sum(r.decisions for r in rows)
    return {"f1": 100 * statistics.mean(r.record.f1 or 0.0 for r in rows),
            "em": 100 * statistics.mean(r.record.em or 0.0 for r in rows),
            "runtime": statistics.mean(r.record.runtime_s or 0.0 for r in rows),
            "admit": 100 * sum(r.admitted for r in rows) / dec if dec else 0.0}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--beta", type=floats, default=[0.0, 0.5, 1.0])
    ap.add_argument("--lambda-sparse", type=floats, default=[0.1, 0.3])
    ap.add_argument("--lr", type=floats, default=[3e-3])
    ap.add_argument("--train-tasks", type=int, default=40)
    ap.add_argument("--val-offset", type=int, default=60)
    ap.add_argument("--val-tasks", type=int, default=40)
    ap.add_argument("--val-seeds", default="0,1")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--f1-slack", type=float, default=1.0)
    ap.add_argument("--baselines", default="none,all,dedup")
    ap.add_argument("--db", default=None)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="lts-sweep-"))
    engine = Engine(Store(args.db or tmp / "sweep.duckdb"))
    suite = engine.suite("hotpotqa-train")
    val = suite.tasks[args.val_offset: args.val_offset + args.val_tasks]
    seeds = [int(s) for s in args.val_seeds.split(",")]
    print(f"SIMULATED | train on hotpotqa-train[:{args.train_tasks}] x {args.epochs} epochs x G=5 | "
          f"validate on hotpotqa-train[{args.val_offset}:{args.val_offset + len(val)}] x seeds {seeds}")
    print(f"{'point':<32} {'F1':>6} {'EM':>6} {'runtime':>8} {'admit%':>7} {'train_s':>8}")
    for name in [b for b in args.baselines.split(",") if b]:
        m = evaluate(engine, name, {}, val, seeds)
        print(f"{name:<32} {m['f1']:>6.1f} {m['em']:>6.1f} {m['runtime']:>8.1f} {m['admit']:>7.1f}", flush=True)
    points = []
    for lr, beta, lam in itertools.product(args.lr, args.beta, args.lambda_sparse):
        credit = dataclasses.replace(CreditConfig(), beta=beta, lambda_sparse=lam)
        cfg = TrainConfig(tasks=args.train_tasks, epochs=args.epochs, credit=credit, lr=lr)
        t0 = time.time()
        res = train(engine, cfg, out=tmp / f"lr{lr}-b{beta}-l{lam}.pt")
        m = evaluate(engine, "learned", {"checkpoint": str(res.checkpoint)}, val, seeds)
        m["train_s"] = time.time() - t0
        points.append((f"lr={lr:g} beta={beta:g} lambda={lam:g}", m))
        print(f"{points[-1][0]:<32} {m['f1']:>6.1f} {m['em']:>6.1f} {m['runtime']:>8.1f} "
              f"{m['admit']:>7.1f} {m['train_s']:>8.0f}", flush=True)
    best_f1 = max(m["f1"] for _, m in points)
    ok = [(n, m) for n, m in points if m["f1"] >= best_f1 - args.f1_slack]
    chosen = min(ok, key=lambda p: p[1]["runtime"])
    print(f"\nchosen by the rule (lowest runtime within {args.f1_slack} F1 of the best {best_f1:.1f}): "
          f"{chosen[0]}")


if __name__ == "__main__":
    main()
