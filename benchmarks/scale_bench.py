"""Scale-out benchmark (issue #12): the same bench sequentially and on Ray workers, and the writer.

Prints (never asserts):

1. Wall time of one bench, K=3, hotpotqa-dev, policies none/dedup/learned, the first ``--limit``
   tasks (20: 60 runs), seed 0, sim back-end, virtual executor, MiniLM. The simulator's ``oracle``
   bound is left out (``BenchConfig.oracle=False``) so the bench is exactly those runs. Played
   (a) sequentially in this process, (b) with ``--workers`` workers on a local Ray cluster this
   command starts (Ray's start-up and the workers' loading included), (c) the same with Ray already
   up (only the workers' start and loading included). Each on a fresh engine and database, so each
   pays for loading the suite, its index and the embedder, and starts with an empty embedding
   cache (``LTS_CACHE_DIR``: a warm cache makes runs several times faster, so a pass after another
   would otherwise look faster than it is), or with ``--cache warm`` with the cache an untimed
   sequential pass filled (a bench run again). Ratios, and whether every run's figures
   (em, f1, runtime_s, decisions, admitted, entries, reads, tokens, ...) are identical.
   Steady state: runs per second between the first and the last finished run (no start-up).
   Each pass prints the machine's 1-minute load as it started; ``--repeat N`` plays the three
   passes N times, alternating, and prints the spread of the ratios (the machine may be shared).
2. The driver's one writer: rows per run (from the database), rows/s the Store needs at N workers
   (N x the sequential runs/s x rows per run), against rows/s it writes: the recorded ops of real
   runs replayed through a fresh Store (as the driver does) until flushed.

Run from the repository root (SIMULATED agents; figures depend on the machine and its load)::

    .venv/bin/python benchmarks/scale_bench.py
    .venv/bin/python benchmarks/scale_bench.py --limit 3      # a quick check: 9 runs
    .venv/bin/python benchmarks/scale_bench.py --repeat 2     # twice, with the spread

Temporary folders (databases, embedding caches, Ray's files unless ``LTS_RAY_TMPDIR`` is set) are
removed when it ends.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import pandas as pd

from lts_core import Engine, Store
from lts_core.config import Settings
from lts_core.evaluation.bench import BenchConfig, run_bench
from lts_core.record.records import TABLES

FIGURES = ["policy", "K", "seed", "task_id", "status", "em", "f1", "runtime_s", "decisions",
           "admitted", "entries", "entries_read", "reads", "cross_reads", "tokens"]


WARM: dict[str, str] = {}  # --cache warm: the one cache folder every pass shares
MADE: list[str] = []  # temporary folders this command made (removed at its end)


def scratch(prefix: str) -> str:
    """A new temporary folder, removed when the command ends (``main``'s ``finally``)."""
    MADE.append(tempfile.mkdtemp(prefix=prefix))
    return MADE[-1]


def fresh_cache() -> None:
    """The embedding cache of the next pass (``LTS_CACHE_DIR``; Ray's workers inherit it when the
    cluster starts): an empty one (``--cache cold``), so texts embedded by an earlier pass do not
    make a later one faster, or the folder filled by the warm-up pass (``--cache warm``)."""
    os.environ["LTS_CACHE_DIR"] = WARM.get("dir") or scratch("lts-scale-cache-")


def one_bench(cfg: BenchConfig, folder: Path) -> tuple[float, float, pd.DataFrame, int]:
    """(wall s, steady runs/s, runs, rows written) of ``cfg`` on a fresh engine and database."""
    store = Store(folder / f"{uuid.uuid4().hex[:6]}.duckdb")
    engine = Engine(store, Settings.from_env())
    stamps: list[float] = []
    t0 = time.perf_counter()
    res = run_bench(engine, cfg, progress=lambda i, n: stamps.append(time.perf_counter()))
    wall = time.perf_counter() - t0
    store.flush()
    rows = store.rows_written
    store.close()
    steady = (len(stamps) - 1) / (stamps[-1] - stamps[0]) if len(stamps) > 1 else float("nan")
    return wall, steady, res.runs, rows


def writer_rows_per_s(cfg: BenchConfig, folder: Path, copies: int) -> tuple[float, int]:
    """Rows/s the driver's Store writes: the ops of ``cfg``'s first runs, recorded by a worker's
    ``RecordBuffer``, replayed ``copies`` times (fresh run ids) through a fresh Store, flushed."""
    from lts_core.runtime.engine import RunConfig
    from lts_core.scale.pool import replay
    from lts_core.scale.worker import RecordBuffer

    buf = RecordBuffer(folder / "unused")
    engine = Engine(buf, Settings.from_env())  # type: ignore[arg-type]
    suite = engine.suite(cfg.suite)
    ops = []
    for task in suite.tasks[:2]:
        s = engine.run_task(task, suite, RunConfig(teams=3, policy="dedup"))
        ops += buf.take(s.record.run_id)
    batches = []
    for _ in range(copies):
        ids: dict[str, str] = {}
        batch = []
        for op, rec in ops:
            r = copy.copy(rec)
            r.run_id = ids.setdefault(rec.run_id, uuid.uuid4().hex[:12])
            batch.append((op, r))
        batches.append(batch)
    store = Store(folder / "writer.duckdb")
    t0 = time.perf_counter()
    n = sum(replay(store, b) for b in batches)
    store.flush(timeout=600)
    dt = time.perf_counter() - t0
    store.close()
    return n / dt, n


def load() -> str:
    return f"load {os.getloadavg()[0]:.2f}"


def one_round(a: argparse.Namespace, base: dict, folder: Path, r: int) -> dict[str, float]:
    """The three passes (sequential, Ray started by the bench, Ray already up), printed; their
    ratios. Each pass prints the machine's 1-minute load when it started (the machine is shared)."""
    if a.repeat > 1:
        print(f"round {r + 1} of {a.repeat}")
    fresh_cache()
    at = load()
    seq_wall, seq_rate, seq_runs, rows = one_bench(BenchConfig(**base), folder)
    print(f"sequential:                      {len(seq_runs)} runs, {seq_wall:6.1f} s wall, steady "
          f"{seq_rate:.2f} runs/s ({at})")
    fresh_cache()
    at = load()
    par_wall, par_rate, par_runs, _ = one_bench(BenchConfig(**base, workers=a.workers), folder)
    same = seq_runs[FIGURES].equals(par_runs[FIGURES])
    print(f"{a.workers} workers (Ray started here):  {len(par_runs)} runs, {par_wall:6.1f} s wall, "
          f"steady {par_rate:.2f} runs/s ({at})")
    import logging

    import ray

    fresh_cache()
    at = load()
    ray.init(num_cpus=a.workers, include_dashboard=False, logging_level=logging.WARNING,
             _temp_dir=os.environ["LTS_RAY_TMPDIR"])
    try:
        warm_wall, warm_rate, warm_runs, _ = one_bench(BenchConfig(**base, workers=a.workers),
                                                       folder)
    finally:
        ray.shutdown()
    same = same and seq_runs[FIGURES].equals(warm_runs[FIGURES])
    print(f"{a.workers} workers (Ray already up):   {len(warm_runs)} runs, {warm_wall:6.1f} s wall, "
          f"steady {warm_rate:.2f} runs/s ({at})")
    out = {"start": seq_wall / par_wall, "up": seq_wall / warm_wall, "steady": par_rate / seq_rate,
           "seq_rate": seq_rate, "rows": rows, "runs": len(seq_runs)}
    print(f"speed-up: {out['start']:.2f}x wall (Ray start included), {out['up']:.2f}x wall (Ray "
          f"up), {out['steady']:.2f}x steady state")
    print(f"figures identical run for run (sequential vs {a.workers} workers, both passes): "
          f"{'yes' if same else 'NO'}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=20, help="tasks (x 3 policies = runs)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--writer-copies", type=int, default=100,
                    help="replays of 2 recorded runs for the writer measurement")
    ap.add_argument("--repeat", type=int, default=1, help="rounds of the three passes (the "
                    "machine may be shared: the spread of the ratios over rounds)")
    ap.add_argument("--cache", choices=["cold", "warm"], default="cold",
                    help="every pass on an empty embedding cache (cold), or on one filled by an "
                    "untimed sequential pass of the same bench (warm: a bench run again)")
    a = ap.parse_args()
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    try:
        bench(a)
    finally:
        for d in MADE:
            shutil.rmtree(d, ignore_errors=True)


def bench(a: argparse.Namespace) -> None:
    folder = Path(scratch("lts-scale-bench-"))
    if not os.environ.get("LTS_RAY_TMPDIR"):  # Ray's files: a short folder, removed at the end
        os.environ["LTS_RAY_TMPDIR"] = scratch("lts-ray-")
    base = dict(suite="hotpotqa-dev", policies=["none", "dedup", "learned"], ks=[3], seeds=[0],
                limit=a.limit, oracle=False)
    print(f"SIMULATED agents | {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f} | bench: "
          f"hotpotqa-dev, {a.limit} tasks x none/dedup/learned x K=3 x seed 0 (oracle left out) | "
          f"embedding cache: {'empty for every pass' if a.cache == 'cold' else 'warm (filled by an untimed pass)'}")

    if a.cache == "warm":
        fresh_cache()
        WARM["dir"] = os.environ["LTS_CACHE_DIR"]
        one_bench(BenchConfig(**base), folder)  # untimed: fills the cache
    rounds = [one_round(a, base, folder, r) for r in range(a.repeat)]
    if a.repeat > 1:
        print(f"\nspeed-up over {a.repeat} rounds (min / median / max):")
        for key, what in (("start", "wall, Ray start included"), ("up", "wall, Ray up"),
                          ("steady", "steady state")):
            xs = sorted(r[key] for r in rounds)
            print(f"  {what:26s} {xs[0]:.2f}x / {statistics.median(xs):.2f}x / {xs[-1]:.2f}x")
    seq_rate, rows, n_runs = rounds[0]["seq_rate"], rounds[0]["rows"], rounds[0]["runs"]

    per_run = rows / n_runs
    cap, n = writer_rows_per_s(BenchConfig(**base), folder, a.writer_copies)
    print(f"\nwriter: {per_run:.0f} rows per run (all {len(TABLES)} tables; inserts and updates); "
          f"the Store writes {cap:,.0f} rows/s ({n:,} replayed rows)")
    for w in (1, a.workers, 16, 64, 256):
        need = w * seq_rate * per_run
        print(f"  {w:>4} workers x {seq_rate:.2f} runs/s each: needs {need:>9,.0f} rows/s = "
              f"{100 * need / cap:5.1f}% of the writer")
    print(f"  the writer saturates at ~{cap / (seq_rate * per_run):.0f} simulator workers; a "
          f"real-model run (~15 min) needs ~{per_run / 900:.2f} rows/s per worker")


if __name__ == "__main__":
    main()
