"""Engine benchmark: how fast the engine itself runs, with no modelled latency in the way.

Prints (never asserts):

1. Runs per minute on the *virtual* executor (sim back-end, policy dedup by default, real MiniLM
   embedder), for the demo suite and, when its data is there, hotpotqa-dev with the distractor pool,
   at each K. Warm-up runs (model load, BM25 index build, first queries) are excluded: they use
   their own tasks, which are not measured. The BM25 and embedding caches are cleared before each
   K pass (``--keep-caches`` keeps them), so every pass pays for its own queries and embeddings.
2. Engine overhead per step: wall seconds / steps on the virtual executor. The virtual clock never
   sleeps, so this is all engine work (agent decisions, BM25, embeddings, admission, recording) and
   no modelled tool or LLM latency. The modelled clock time per run is printed beside it.
3. Store writer throughput: N synthetic StepRecords written from one thread, then ``flush()``;
   rows per second from the first write to the end of the flush.

Run from the repository root::

    .venv/bin/python benchmarks/engine_bench.py
    .venv/bin/python benchmarks/engine_bench.py --suites demo --k 3 --tasks 8 --store-rows 20000
    .venv/bin/python benchmarks/engine_bench.py --torch-threads 1   # see the note below

On a small shared CPU, torch's default intra-op threads make MiniLM's one-text encodes (the
engine embeds each step summary as it commits) many times slower than one thread; compare the
two commands above before trusting ms_per_step.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lts_core import Engine, RunConfig, Store
from lts_core.record.records import StepRecord
from lts_core.world.embeddings import get_embedder
from lts_core.world.tasks import TaskFileError


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def bench_runs(engine: Engine, suite_name: str, ks: list[int], args: argparse.Namespace) -> list[dict]:
    try:
        suite = engine.suite(suite_name)
    except TaskFileError as e:
        print(f"[skip] {suite_name}: {e}")
        return []
    warm = suite.tasks[: args.warmup]
    measured = suite.tasks[args.warmup: args.warmup + args.tasks]
    if not measured:
        print(f"[skip] {suite_name}: no tasks left after {args.warmup} warm-up task(s)")
        return []
    t0 = time.perf_counter()
    engine.index(suite)  # the BM25 index build belongs to warm-up
    for task in warm:
        for k in ks:
            engine.run_task(task, suite, _config(args, k))
    engine.store.flush()
    print(f"{suite_name}: warm-up {len(warm)} task(s) x K={ks} in {time.perf_counter() - t0:.1f} s "
          f"(model load, index build over {len(engine.index(suite))} paragraphs)")
    rows = []
    for k in ks:
        if not args.keep_caches:
            _clear_caches(engine, suite, args.embedder)
        walls, steps, runtimes = [], [], []
        t_all = time.perf_counter()
        for task in measured:
            t = time.perf_counter()
            s = engine.run_task(task, suite, _config(args, k))
            walls.append(time.perf_counter() - t)
            steps.append(s.steps)
            runtimes.append(s.record.runtime_s or 0.0)
        engine.store.flush()  # the writer's backlog counts too
        total = time.perf_counter() - t_all
        rows.append({
            "suite": suite_name, "K": k, "runs": len(measured), "wall_s": total,
            "runs_per_min": 60.0 * len(measured) / total,
            "steps_per_run": statistics.fmean(steps),
            "ms_per_step": 1000.0 * sum(walls) / sum(steps),
            "p50_ms_per_run": 1000.0 * statistics.median(walls),
            "max_ms_per_run": 1000.0 * max(walls),
            "modelled_s_per_run": statistics.fmean(runtimes),
        })
    return rows


def _clear_caches(engine: Engine, suite, embedder: str) -> None:
    """Forget cached BM25 results and text embeddings, so each K pass pays for its own (the model
    and the index stay loaded). Without this the second K pass reuses the first one's work."""
    idx = engine.index(suite)
    with idx._lock:
        idx._cache.clear()
    emb = get_embedder(embedder)
    with emb._lock:
        emb._cache.clear()


def _config(args: argparse.Namespace, k: int) -> RunConfig:
    return RunConfig(teams=k, policy=args.policy, executor="virtual", embedder=args.embedder,
                     max_steps=args.max_steps, seed=args.seed)


def bench_store(path: Path, n: int, text_chars: int, batch_size: int) -> dict:
    store = Store(path, batch_size=batch_size)
    o = ("lorem ipsum dolor sit amet " * (text_chars // 27 + 1))[:text_chars]
    recs = [StepRecord("bench", i % 10, i // 10, "search", "query words", "instruction", o,
                       "a fifteen to twenty word summary of what the step found", float(i),
                       float(i) + 1.0, 0.5, 0.5, 1200, 150, 3) for i in range(n)]
    before = store.rows_written
    t0 = time.perf_counter()
    for r in recs:
        store.write(r)
    t_queued = time.perf_counter() - t0
    store.flush(timeout=600)
    total = time.perf_counter() - t0
    written = store.rows_written - before
    count = store.scalar("SELECT count(*) FROM steps WHERE run_id = 'bench'")
    store.close()
    return {"rows": n, "written": written, "count": count, "queue_s": t_queued, "total_s": total,
            "rows_per_s": n / total, "mb": path.stat().st_size / 1e6}


def _table(rows: list[dict], cols: list[tuple[str, str]]) -> str:
    cells = [[fmt.format(r[c]) for c, fmt in cols] for r in rows]
    heads = [c for c, _ in cols]
    w = [max(len(h), *(len(x[i]) for x in cells)) for i, h in enumerate(heads)]
    lines = ["  ".join(h.rjust(w[i]) for i, h in enumerate(heads)),
             "  ".join("-" * x for x in w)]
    lines += ["  ".join(v.rjust(w[i]) for i, v in enumerate(row)) for row in cells]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--suites", default="demo,hotpotqa-dev",
                    help="comma-separated suites (a missing data set is skipped)")
    ap.add_argument("--k", default="3,10", help="comma-separated team counts")
    ap.add_argument("--policy", default="dedup")
    ap.add_argument("--embedder", default="minilm", help="minilm (measured) or hash (unit tests)")
    ap.add_argument("--tasks", type=int, default=14, help="measured tasks per suite")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up tasks per suite (not measured)")
    ap.add_argument("--max-steps", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--store-rows", type=int, default=100_000, help="synthetic StepRecords to write")
    ap.add_argument("--store-text", type=int, default=600, help="characters of each row's output")
    ap.add_argument("--batch-size", type=int, default=2000, help="store writer batch size")
    ap.add_argument("--keep-caches", action="store_true",
                    help="keep BM25/embedding caches between K passes (default: clear them)")
    ap.add_argument("--torch-threads", type=int,
                    help="torch.set_num_threads(N) before loading the embedder (default: torch's)")
    ap.add_argument("--db", help="DuckDB file for the runs (default: a temporary file)")
    args = ap.parse_args()

    if args.torch_threads:
        import torch

        torch.set_num_threads(args.torch_threads)
    threads = "n/a"
    if "torch" in sys.modules or args.embedder == "minilm":
        import torch

        threads = str(torch.get_num_threads())
    tmp = Path(tempfile.mkdtemp(prefix="lts-bench-"))
    db = Path(args.db) if args.db else tmp / "runs.duckdb"
    print(f"engine_bench | python {platform.python_version()} | {platform.machine()} | "
          f"{os.cpu_count()} CPU(s) | load average {os.getloadavg()[0]:.1f} | embedder "
          f"{args.embedder} (torch threads {threads}) | policy {args.policy} | executor virtual | sim back-end (SIMULATED)")
    rows: list[dict] = []
    store = Store(db)
    try:
        engine = Engine(store)
        for name in _csv(args.suites):
            rows += bench_runs(engine, name, [int(k) for k in _csv(args.k)], args)
    finally:
        store.close()
    if rows:
        print("\nRuns on the virtual executor (after warm-up)")
        print(_table(rows, [("suite", "{}"), ("K", "{}"), ("runs", "{}"), ("wall_s", "{:.1f}"),
                            ("runs_per_min", "{:.1f}"), ("steps_per_run", "{:.1f}"),
                            ("ms_per_step", "{:.2f}"), ("p50_ms_per_run", "{:.0f}"),
                            ("max_ms_per_run", "{:.0f}"), ("modelled_s_per_run", "{:.1f}")]))
        print("ms_per_step = engine overhead per step (wall / steps; the virtual clock models all "
              "tool and LLM latency, none is slept).")
    st = bench_store(tmp / "store.duckdb", args.store_rows, args.store_text, args.batch_size)
    print(f"\nStore writer: {st['rows']} StepRecords ({args.store_text}-char outputs, batch "
          f"{args.batch_size}) queued in {st['queue_s']:.2f} s, committed by flush() at "
          f"{st['total_s']:.2f} s -> {st['rows_per_s']:,.0f} rows/s "
          f"({st['count']} rows in the table, {st['mb']:.1f} MB file)")
    if st["count"] != st["rows"]:
        print(f"WARNING: {st['rows']} rows written but {st['count']} in the table", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
