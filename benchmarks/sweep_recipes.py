"""How the shipped recipe (``--recipe lts``) was chosen: training recipes compared on hotpotqa-train.

Each named point runs ``lts train`` in its own process and database: trained on the first
``--tasks`` hotpotqa-train tasks outside the validation slice, then calibrated on ``--val-tasks``
(seeds 0,1; K=3). Prints, per point, the validation curve (EM, runtime, admission per threshold)
against ``none`` and the threshold the calibration rule picks. Dev is never touched. SIMULATED.

    .venv/bin/python benchmarks/sweep_recipes.py --points official,penalty,cost,both --jobs 2
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POINTS: dict[str, list[str]] = {
    "official": ["--recipe", "official"],
    "v1": ["--recipe", "v1"],
    "penalty": ["--recipe", "official", "--usage-penalty", "0.5"],
    "cost": ["--recipe", "official", "--cost-alpha", "0.5"],
    "both": ["--recipe", "official", "--usage-penalty", "0.5", "--cost-alpha", "0.5"],
    "both-a1": ["--recipe", "official", "--usage-penalty", "0.5", "--cost-alpha", "1.0"],
    "both-lr3": ["--recipe", "official", "--usage-penalty", "0.5", "--cost-alpha", "0.5",
                 "--lr", "3e-4"],
    "no-bonus": ["--recipe", "official", "--no-usage-bonus"],
    "no-sparsity": ["--recipe", "official", "--no-sparsity"],
    "no-group-norm": ["--recipe", "official", "--no-group-norm"],
    "no-first": ["--recipe", "official", "--lambda-first", "0"],
    # on-line updates (no reuse passes): what this 2-core machine can afford
    "official-online": ["--recipe", "official", "--reuse-passes", "0", "--lr", "1e-3"],
    "penalty-online": ["--recipe", "official", "--reuse-passes", "0", "--lr", "1e-3",
                       "--usage-penalty", "0.5"],
    "signed-online": ["--recipe", "official", "--reuse-passes", "0", "--lr", "1e-3",
                      "--usage-penalty", "0.5", "--no-sparsity"],
    "cost-signed": ["--recipe", "official", "--reuse-passes", "0", "--lr", "1e-3",
                    "--usage-penalty", "0.5", "--cost-alpha", "0.5", "--no-sparsity"],
    "cost-nosparse": ["--recipe", "official", "--reuse-passes", "0", "--lr", "1e-3",
                      "--cost-alpha", "0.5", "--no-sparsity"],
    "ours-online": ["--recipe", "official", "--reuse-passes", "0", "--lr", "1e-3",
                    "--usage-penalty", "0.5", "--cost-alpha", "0.5"],
}


def run_point(name: str, args: argparse.Namespace, out: Path) -> dict:
    ckpt = out / f"{name}.pt"
    cmd = [str(ROOT / ".venv/bin/lts"), "--db", str(out / f"{name}.duckdb"), "train",
           *POINTS[name], "--tasks", str(args.tasks), "--epochs", str(args.epochs),
           "--val-tasks", args.val_tasks, "--thresholds", args.thresholds, "--out", str(ckpt),
           "-q", *args.extra.split()]
    t0 = time.time()
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode:
        return {"name": name, "error": p.stderr[-800:]}
    side = json.loads(ckpt.with_suffix(".json").read_text())
    return {"name": name, "wall_s": time.time() - t0, "side": side}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--points", default="official,penalty,cost,both")
    ap.add_argument("--tasks", type=int, default=60)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--val-tasks", default="70:100")
    ap.add_argument("--thresholds", default="0.1,0.3,0.5,0.7,0.9")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--extra", default="", help="more lts train flags for every point")
    ap.add_argument("--out", default="", help="folder for checkpoints and databases")
    args = ap.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="lts-sweep-"))
    out.mkdir(parents=True, exist_ok=True)
    names = [n for n in args.points.split(",") if n]
    unknown = [n for n in names if n not in POINTS]
    if unknown:
        print(f"unknown point(s) {unknown}; known: {', '.join(POINTS)}", file=sys.stderr)
        return 2
    print(f"SIMULATED | train hotpotqa-train first {args.tasks} tasks outside {args.val_tasks}, "
          f"{args.epochs} epochs | validation {args.val_tasks} seeds 0,1, K=3 | out {out}")
    with cf.ThreadPoolExecutor(args.jobs) as ex:
        for r in ex.map(lambda n: run_point(n, args, out), names):
            if "error" in r:
                print(f"\n{r['name']}: FAILED\n{r['error']}")
                continue
            cal, ep = r["side"]["calibration"], r["side"]["epochs"][-1]
            none = cal["none"]
            print(f"\n{r['name']} ({r['wall_s']:.0f} s; last epoch admit "
                  f"{100 * ep['admission_rate']:.1f}% {ep['extra'].get('admit_by_action')}) "
                  f"-> threshold {cal['threshold']}")
            print(f"  none        EM {100 * none['em']:5.1f}  runtime {none['runtime_s']:6.1f}")
            for c in cal["curve"]:
                print(f"  T={c['threshold']:<5}     EM {100 * c['em']:5.1f}  runtime "
                      f"{c['runtime_s']:6.1f} ({c['runtime_s'] / none['runtime_s']:.2f}x)  "
                      f"admit {100 * c['admit']:5.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
