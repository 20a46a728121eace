"""Controller speed on CPU: per-decision latency with 100 keys, and its share of a run's wall-clock.

    .venv/bin/python benchmarks/controller_bench.py [--checkpoint PATH] [--decisions 2000] [--runs 20]

1. ``forward``: ``AdmissionController.score`` on one decision with ``--keys`` keys in the bank (the
   embeddings given), one torch thread: p50 / p99 / max in ms. The issue's target: p50 <= 2 ms,
   p99 <= 10 ms with 100 keys.
2. ``decide (cached text)``: the whole ``LearnedPolicy.decide`` (embedding lookups of query, u, o
   from the cache, stacking the keys, the forward pass, the nearest keys). ``explanation``: the
   attributions and similar training decisions, which the run's explainer thread computes after the
   decision is recorded (``lts_core.runtime.explainer``), so they are not part of the decision's latency.
3. ``decide (new o)``: the same with a never-seen step output, so MiniLM embeds it (the cost a real
   run pays once per new output).
4. Share of wall-clock: ``--runs`` hotpotqa-dev tasks with ``learned`` (K=3, sim, virtual): the
   admission time recorded per decision over the engine's wall time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from lts_core.policies import AdmissionContext, make_policy
from lts_core.policies.controller import DecisionInput, default_checkpoint, load_checkpoint
from lts_core.record.store import Store
from lts_core.runtime.engine import Engine, RunConfig
from lts_core.world.embeddings import get_embedder
from lts_core.world.memory import MemoryBank


def pct(xs: list[float]) -> str:
    xs = sorted(xs)
    q = lambda p: xs[min(len(xs) - 1, int(p * len(xs)))]  # noqa: E731
    return f"p50 {q(0.5):.3f} ms | p99 {q(0.99):.3f} ms | max {xs[-1]:.3f} ms (n={len(xs)})"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=str(default_checkpoint()))
    ap.add_argument("--keys", type=int, default=100)
    ap.add_argument("--decisions", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = load_checkpoint(args.checkpoint)
    emb = get_embedder("minilm")
    rng = np.random.default_rng(0)

    def unit(n: int | None = None) -> np.ndarray:
        v = rng.standard_normal((n, 384) if n else 384).astype(np.float32)
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    xs = [DecisionInput(unit(), unit(args.keys), unit(), unit(), unit()) for _ in range(64)]
    for x in xs[:20]:
        model.score(x)  # warm-up
    lat = []
    for i in range(args.decisions):
        t0 = time.perf_counter()
        model.score(xs[i % len(xs)])
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"forward, {args.keys} keys:            {pct(lat)}")

    pol = make_policy("learned", checkpoint=args.checkpoint)
    bank = MemoryBank()
    for i in range(args.keys):
        k = f"Read 'Page {i}': some summary of page number {i} about a topic."
        bank.add(team_idx=i % 3, step_idx=i, action="open", key=k, value="v", t_added=0.0,
                 key_vec=emb.one(k))
    keys = bank.keys_at()
    s = "Searched 'who directed the film'; top results: A, B, C."
    s_vec = emb.one(s)

    def ctx(o: str) -> AdmissionContext:
        return AdmissionContext("Who directed the film?", keys, "Search the web for the director",
                                s, o, "search", 0, 5, emb, s_vec, random.Random(0))

    pol.decide(ctx("cached output"))
    lat = []
    for _ in range(args.decisions // 4):
        t0 = time.perf_counter()
        pol.decide(ctx("cached output"))
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"decide (cached text), {args.keys} keys: {pct(lat)}")
    later = pol.decide(ctx("cached output")).explain_later
    lat = []
    for _ in range(args.decisions // 8):
        t0 = time.perf_counter()
        later()
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"explanation (off the decision path), {args.keys} keys: {pct(lat)}")
    lat = []
    for i in range(100):
        o = f"Page {i} text: " + " ".join(f"word{(i * 7 + j) % 997}" for j in range(150))
        t0 = time.perf_counter()
        pol.decide(ctx(o))
        lat.append((time.perf_counter() - t0) * 1000)
    print(f"decide (new o, MiniLM), {args.keys} keys: {pct(lat)}")

    with tempfile.TemporaryDirectory() as d:
        engine = Engine(Store(Path(d) / "b.duckdb"))
        suite = engine.suite("hotpotqa-dev")
        rc = RunConfig(teams=3, policy="learned", policy_options={"checkpoint": args.checkpoint})
        for t in suite.tasks[:3]:  # warm the caches and the index
            engine.run_task(t, suite, rc)
        res = [engine.run_task(t, suite, rc) for t in suite.tasks[3:3 + args.runs]]
        engine.store.close()
    ms = sum(r.decide_ms for r in res)
    wall = sum(r.record.wall_s or 0.0 for r in res)
    per = [r.decide_ms / max(1, r.decisions) for r in res]
    print(f"share of wall-clock ({len(res)} hotpotqa-dev runs, K=3, SIMULATED): controller "
          f"{ms / 1000:.2f} s of {wall:.2f} s engine wall = {100 * ms / 1000 / wall:.1f}%; "
          f"mean {statistics.fmean(per):.2f} ms per decision incl. text embedding; "
          f"of the modelled runtime: {100 * ms / 1000 / sum(r.record.runtime_s for r in res):.4f}%")


if __name__ == "__main__":
    main()
