"""Can a controller tell a false page fact from a true one by the similarities it could compute?

    .venv/bin/python benchmarks/false_facts.py [--tasks 0:30] [--seeds 0,1]

Plays ``all`` (K=3, sim back-end, virtual executor) on hotpotqa-train tasks, takes every page read
that yielded a fact for a sub-goal (``payload.as_target`` set), and prints the MiniLM cosine of
s with o, s with the query, o with the query, u with s and u with o, for true and false facts
(mean ± std; the simulator's ground truth says which). Every figure is SIMULATED. Training suite
only.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig
from lts_core.world.embeddings import get_embedder

PAIRS = {"s.o": (2, 3), "s.query": (2, 0), "o.query": (3, 0), "u.s": (1, 2), "u.o": (1, 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tasks", default="0:30", help="START:END slice of hotpotqa-train")
    ap.add_argument("--seeds", default="0,1")
    a = ap.parse_args()
    lo, hi = (int(x) for x in a.tasks.split(":"))
    with tempfile.TemporaryDirectory() as d:
        engine = Engine(Store(Path(d) / "facts.duckdb"))
        suite = engine.suite("hotpotqa-train")
        for seed in (int(s) for s in a.seeds.split(",")):
            for task in suite.tasks[lo:hi]:
                engine.run_task(task, suite, RunConfig(teams=3, policy="all", seed=seed,
                                                       executor="virtual"), batch_id="facts")
        df = engine.store.query("SELECT r.question, s.u, s.s, s.o, s.detail_json FROM steps s "
                                "JOIN runs r USING (run_id) WHERE s.action = 'open'")
        engine.store.close()
    emb = get_embedder("minilm")
    sims: dict[bool, list[list[float]]] = {True: [], False: []}
    for row in df.itertuples():
        payload = json.loads(row.detail_json).get("payload", {})
        if not payload.get("as_target"):
            continue
        v = emb.encode([row.question, row.u, row.s, row.o])
        sims[bool(payload.get("true"))].append([float(v[i] @ v[j]) for i, j in PAIRS.values()])
    print(f"SIMULATED | hotpotqa-train {a.tasks} x seeds {a.seeds} | K=3 | policy all | page reads "
          f"with a target: {len(sims[True])} true, {len(sims[False])} false")
    print(f"{'cosine':>8} {'true facts':>14} {'false facts':>14}")
    t, f = np.array(sims[True]), np.array(sims[False])
    for k, name in enumerate(PAIRS):
        print(f"{name:>8} {t[:, k].mean():>7.2f} ± {t[:, k].std():.2f} "
              f"{f[:, k].mean():>7.2f} ± {f[:, k].std():.2f}")


if __name__ == "__main__":
    main()
