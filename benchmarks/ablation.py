"""The training ablation (issue #10): one checkpoint per row, each calibrated on hotpotqa-train's
validation slice, then measured once on hotpotqa-dev (K=3, 3 seeds) at its stored threshold.

    .venv/bin/python benchmarks/ablation.py --out benchmarks/results/ablation [--rows "v1;lts, no sparsity"]
        [--val-tasks 50:100 --val-seeds 0,1,2]

Every row trains with ``lts train --recipe R FLAGS --tasks 50 --val-tasks V --val-seeds S
--thresholds 0.1,0.3,0.5,0.7,0.9`` (hotpotqa-train, G = 4, K = 3, seed 0), so the threshold, like
every other choice, comes from the training suite (the first ablation: V 70:100, S 0,1; the
protocol since stop 18: V 50:100, S 0,1,2, benchmarks/JOURNAL.md); dev is played once per row, for reporting. ``none`` is
played once on dev. Prints one table (markdown) with the validation and dev figures and writes it
to ``OUT/ablation.md``; checkpoints and logs stay in OUT. Every figure is SIMULATED.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROWS: dict[str, list[str]] = {
    "lts": ["--recipe", "lts"],
    "official (released schedule)": ["--recipe", "official"],
    "v1": ["--recipe", "v1"],
    "lts, no usage bonus": ["--recipe", "lts", "--no-usage-bonus"],
    "lts, no sparsity": ["--recipe", "lts", "--no-sparsity"],
    "lts, no group norm": ["--recipe", "lts", "--no-group-norm"],
    "lts, lambda_first = 0": ["--recipe", "lts", "--lambda-first", "0"],
    "lts + usage penalty 0.5": ["--recipe", "lts", "--usage-penalty", "0.5"],
    "lts + cost alpha 0.5": ["--recipe", "lts", "--cost-alpha", "0.5"],
    "lts + wrong penalty 1.0": ["--recipe", "lts", "--wrong-penalty", "1.0"],
    "lts + wrong penalty 1.0 + cost alpha 0.5": ["--recipe", "lts", "--wrong-penalty", "1.0",
                                                 "--cost-alpha", "0.5"],
    "lts + cost alpha 0.5 + support input": ["--recipe", "lts", "--cost-alpha", "0.5",
                                             "--support-input"],
    "lts + wrong penalty 1.0 + support input": ["--recipe", "lts", "--wrong-penalty", "1.0",
                                                "--support-input"],
}
TRAIN = ["--suite", "hotpotqa-train", "--tasks", "50", "--thresholds", "0.1,0.3,0.5,0.7,0.9",
         "--quiet"]


def slug(name: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in name).strip("-").replace("--", "-")


def dev_figures(engine, suite, policy: str, opts: dict, seeds: list[int]) -> dict[str, float]:
    from lts_core.runtime.engine import RunConfig

    em, rt, adm = [], [], []
    for seed in seeds:
        rc = RunConfig(teams=3, policy=policy, policy_options=opts, seed=seed, executor="virtual")
        res = [engine.run_task(t, suite, rc, batch_id="ablation-dev") for t in suite.tasks]
        em.append(100 * np.mean([r.record.em or 0.0 for r in res]))
        rt.append(float(np.mean([r.record.runtime_s or 0.0 for r in res])))
        adm.append(100 * sum(r.admitted for r in res) / max(1, sum(r.decisions for r in res)))
    return {"em": float(np.mean(em)), "em_std": float(np.std(em)), "rt": float(np.mean(rt)),
            "rt_std": float(np.std(rt)), "admit": float(np.mean(adm))}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--rows", default=";".join(ROWS), help="row names separated by ;")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--val-tasks", default="70:100", help="validation slice of hotpotqa-train")
    ap.add_argument("--val-seeds", default="0,1", help="validation seeds")
    ap.add_argument("--cold-first", action="store_true",
                    help="train the first row with an empty embedding cache (its wall time is then "
                         "a from-scratch retrain)")
    ap.add_argument("--workers", type=int, default=1,
                    help="Ray workers for each row's training and calibration (the weights do not change)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = [r.strip() for r in a.rows.split(";") if r.strip()]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        sys.exit(f"unknown rows {unknown}; known: {list(ROWS)}")
    seeds = [int(s) for s in a.seeds.split(",")]
    from lts_core.record.store import Store
    from lts_core.runtime.engine import Engine

    lines = ["| row | flags | train + calibration wall s | val T | val EM | val runtime | dev EM | dev runtime "
             "| × none | dev admit% |", "|---|---|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as d:
        engine = Engine(Store(Path(d) / "dev.duckdb"))
        suite = engine.suite("hotpotqa-dev")
        none = dev_figures(engine, suite, "none", {}, seeds)
        lines.append(f"| none | – | – | – | – | – | {none['em']:.1f} ± {none['em_std']:.1f} | "
                     f"{none['rt']:.1f} ± {none['rt_std']:.1f} | 1.00 | – |")
        print(lines[-1], flush=True)
        for name in rows:
            ckpt = out / f"{slug(name)}.pt"
            t0 = time.time()
            cmd = [sys.executable, "-m", "lts_core.cli.main", "train", *ROWS[name], *TRAIN,
                   "--val-tasks", a.val_tasks, "--val-seeds", a.val_seeds, "--out", str(ckpt),
                   "--workers", str(a.workers)]
            env = {**os.environ, "LTS_DB": str(out / f"{slug(name)}.duckdb")}
            if a.cold_first and name == rows[0]:
                env["LTS_CACHE_DIR"] = tempfile.mkdtemp(prefix="lts-cold-cache-")
            with open(out / f"{slug(name)}.log", "w") as log:
                rc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT).returncode
            wall = time.time() - t0
            if rc != 0:
                lines.append(f"| {name} | `{' '.join(ROWS[name])}` | failed (exit {rc}) | | | | | | | |")
                print(lines[-1], flush=True)
                continue
            side = json.loads(ckpt.with_suffix(".json").read_text())
            cal = side["calibration"]
            chosen = next(c for c in cal["curve"] if c["threshold"] == cal["threshold"])
            dev = dev_figures(engine, suite, "learned", {"checkpoint": str(ckpt), "explain": False},
                              seeds)
            lines.append(
                f"| {name} | `{' '.join(ROWS[name])}` | {wall:.0f} | {cal['threshold']:g} | "
                f"{100 * chosen['em']:.1f} (none {100 * cal['none']['em']:.1f}) | "
                f"{chosen['runtime_s']:.1f} ({chosen['runtime_s'] / cal['none']['runtime_s']:.2f}×) | "
                f"{dev['em']:.1f} ± {dev['em_std']:.1f} | {dev['rt']:.1f} ± {dev['rt_std']:.1f} | "
                f"{dev['rt'] / none['rt']:.2f} | {dev['admit']:.1f} |")
            print(lines[-1], flush=True)
            (out / "ablation.md").write_text("\n".join(lines) + "\n")
        engine.store.close()
    (out / "ablation.md").write_text("\n".join(lines) + "\n")
    print(f"wrote {out / 'ablation.md'}")


if __name__ == "__main__":
    main()
