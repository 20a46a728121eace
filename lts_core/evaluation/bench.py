"""``lts bench``: policies x a suite x K x seeds, and the figures that compare them.

Every run is an ordinary recorded run (batch id ``bench-<id>``). Figures per (policy, K) are
computed per seed over the tasks, then given as mean ± std over seeds:

- EM and F1 (overall and per task level), mean runtime per task, modelled tokens per task;
- runtime reduction against ``none`` at the same K and seed, both from the means
  (1 - mean_policy / mean_none) and per task (mean over tasks of 1 - rt_policy / rt_none);
- admission rate, share of stored entries ever read, cross-team share of reads, entries per task;
- ``wrong_%``: the share of admitted entries whose content is wrong (``wrong_entries``);
- the controller's share of the engine's wall-clock (decision time / run wall time).

With the ``sim`` back-end the bench also runs ``oracle`` (policies/oracle.py) on the same tasks and
seeds: the runtime bound no admission policy beats in the simulator. ``of_oracle`` = (none - policy)
/ (none - oracle): the share of the oracle's saving a policy reaches.

With ``workers > 1`` (or ``ray_address``) the runs are played on Ray workers (``lts_core.scale.pool``) and
recorded by this engine's store as they finish; rows and figures are those of the sequential path.

Thread-safety: one bench per engine at a time.
"""

from __future__ import annotations

import dataclasses
import time
import uuid
from collections.abc import Callable
from typing import Any

import pandas as pd

from lts_core.evaluation.bench_config import BenchConfig
from lts_core.evaluation.bench_report import (  # the figures and outputs (re-exported)
    ORDER,
    BenchResult,
    combine,
    markdown_tables,
    over_seeds,
    plot,
    sort_policies,
    summarize_bench,
    write_outputs,
)
from lts_core.record.queries import run_ids_of_batches, run_metrics
from lts_core.runtime.engine import Engine, RunSummary

WEB_ACTIONS = ("search", "open")


def run_bench(engine: Engine, cfg: BenchConfig,
              progress: Callable[[int, int], None] | None = None) -> BenchResult:
    cfg.validate()
    suite = engine.suite(cfg.suite)
    tasks = suite.tasks[: cfg.limit] if cfg.limit else suite.tasks
    batch = "bench-" + uuid.uuid4().hex[:8]
    jobs = [(k, r, s, t) for k in cfg.ks for r in cfg.runs() for s in cfg.seeds for t in tasks]
    settings = {(k, s): dict(cfg.run_configs(k, s)) for k in cfg.ks for s in cfg.seeds}
    rcs = [dataclasses.replace(settings[k, seed][label]) for k, (label, _, _), seed, _ in jobs]
    rows, t0 = [], time.time()
    if cfg.workers > 1 or cfg.ray_address:  # on Ray workers; rows in this same order
        from lts_core.scale.pool import ScaleOptions, play_runs

        done = play_runs(engine, [(j[3], rc) for j, rc in zip(jobs, rcs, strict=True)], cfg.suite,
                         batch, ScaleOptions.of(cfg), progress)
        rows = [_row(s, k, label) for s, (k, (label, _, _), _, _) in zip(done, jobs, strict=True)]
    else:
        for i, (k, (label, _, _), _, task) in enumerate(jobs):
            rows.append(_row(engine.run_task(task, suite, rcs[i], batch_id=batch), k, label))
            if progress:
                progress(i + 1, len(jobs))
    engine.store.flush()
    counts = run_metrics(engine.store, [r["run_id"] for r in rows])[["run_id", *COUNTS]]
    runs = pd.DataFrame(rows).merge(counts, on="run_id", how="left")  # counts: the read model's
    runs = runs.merge(wrong_entries(engine, batch), on="run_id", how="left")
    runs["wrong_entries"] = runs.wrong_entries.fillna(0).astype(int)
    summary, levels = summarize_bench(runs)
    return BenchResult(batch, runs, summary, levels, time.time() - t0)


COUNTS = ["decisions", "admitted", "entries", "entries_read", "reads", "cross_reads", "tokens",
          "decide_ms"]  # per run, from queries.run_metrics


def _row(s: RunSummary, k: int, label: str) -> dict[str, Any]:
    """What the bench knows of a run beyond the record's counts: its setting and its scores."""
    r = s.record
    return {"run_id": r.run_id, "policy": label, "K": k, "seed": r.seed, "task_id": r.task_id,
            "level": s.level or "-", "status": r.status, "em": float(r.em or 0.0),
            "f1": float(r.f1 or 0.0), "runtime_s": float(r.runtime_s or 0.0),
            "wall_s": float(r.wall_s or 0.0)}


def wrong_entries(engine: Engine, batch: str) -> pd.DataFrame:
    """Per run of ``batch``: admitted entries whose content is wrong (``lts_core.record.harm``: an answer
    that does not match the gold answer, or a page-read fact the simulator recorded as false);
    planted entries (``lts_core.runtime.poison``) were never admitted and do not count."""
    from lts_core.record.harm import entry_harm

    e = entry_harm(engine.store, run_ids_of_batches(engine.store, [batch]))
    counts = e[e.wrong & ~e.planted.astype(bool)].groupby("run_id").size()
    return pd.DataFrame({"run_id": counts.index.tolist(), "wrong_entries": counts.tolist()},
                        columns=["run_id", "wrong_entries"])


__all__ = ["ORDER", "BenchConfig", "BenchResult", "combine", "markdown_tables", "over_seeds",
           "plot", "run_bench", "sort_policies", "summarize_bench", "write_outputs",
           "wrong_entries"]
