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
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

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
from lts_core.record.queries import run_ids_of_batches
from lts_core.registry import baseline_policy, bound_policies, is_simulated
from lts_core.runtime.engine import Engine, RunConfig, RunSummary

WEB_ACTIONS = ("search", "open")


@dataclass
class BenchConfig:
    suite: str = "hotpotqa-dev"
    policies: list[str] = field(default_factory=lambda: ["none", "all", "dedup", "learned"])
    ks: list[int] = field(default_factory=lambda: [2, 3, 5, 10])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    limit: int = 0
    backend: str = "sim"
    backend_options: dict[str, Any] = field(default_factory=dict)
    policy_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: str = "virtual"
    embedder: str = "minilm"
    thresholds: list[float] = field(default_factory=list)  # extra learned@T rows (the learned curve)
    poison: int = 0  # planted wrong entries per run (lts_core.runtime.poison; poison_bench runs 0 and N)
    poison_at_s: float = 20.0
    oracle: bool = True  # with sim, also run the oracle bound (False: exactly the given policies)
    workers: int = 1  # Ray workers playing runs in parallel (lts_core.scale.pool); 1: here, no Ray
    ray_address: str | None = None  # join this Ray cluster instead of starting a local one
    runs_per_worker: int = 1  # runs one worker plays at once (threads; LLM back-ends)

    def runs(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(label, policy, options) per compared setting: each policy, then learned@T per threshold."""
        out = [(p, p, dict(self.policy_options.get(p, {}))) for p in self.policies]
        base = dict(self.policy_options.get("learned", {}))
        out += [(f"learned@{t:g}", "learned", {**base, "threshold": t}) for t in self.thresholds]
        if self.oracle and is_simulated(self.backend):  # the bounds, on the same tasks and seeds
            out += [(b, b, {}) for b in bound_policies() if b not in self.policies]
        return out

    def run_configs(self, k: int, seed: int) -> list[tuple[str, RunConfig]]:
        """(label, RunConfig) of every compared setting at ``k`` teams and ``seed``."""
        return [(label, RunConfig(teams=k, policy=policy, policy_options=dict(opts),
                                  backend=self.backend, backend_options=dict(self.backend_options),
                                  executor=self.executor, seed=seed, embedder=self.embedder,
                                  poison=self.poison, poison_at_s=self.poison_at_s))
                for label, policy, opts in self.runs()]

    def check_components(self) -> None:
        """Build every setting's policy and back-end once (``checks.check_components``): a wrong
        option is a ConfigError naming it, before the first run."""
        from lts_core.runtime.checks import check_components

        for _, rc in self.run_configs(self.ks[0], self.seeds[0]):
            rc.validate()
            check_components(rc)

    def validate(self) -> None:
        if baseline_policy() not in self.policies:
            raise ValueError(f"bench needs the {baseline_policy()!r} policy (no memory): reductions "
                             f"and the oracle are against it")
        if not self.seeds or not self.ks:
            raise ValueError("bench needs at least one seed and one K")
        if any(not 0.0 <= t <= 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds must be in [0, 1], got {self.thresholds}")
        if self.workers < 1 or self.runs_per_worker < 1:
            raise ValueError(f"workers and runs_per_worker must be at least 1, got {self.workers} "
                             f"and {self.runs_per_worker}")


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
    runs = pd.DataFrame(rows)
    runs = runs.merge(wrong_entries(engine, batch), on="run_id", how="left")
    runs["wrong_entries"] = runs.wrong_entries.fillna(0).astype(int)
    summary, levels = summarize_bench(runs)
    return BenchResult(batch, runs, summary, levels, time.time() - t0)


def _row(s: RunSummary, k: int, label: str) -> dict[str, Any]:
    r = s.record
    return {"run_id": r.run_id, "policy": label, "K": k, "seed": r.seed, "task_id": r.task_id,
            "level": s.level or "-", "status": r.status, "em": float(r.em or 0.0),
            "f1": float(r.f1 or 0.0), "runtime_s": float(r.runtime_s or 0.0),
            "wall_s": float(r.wall_s or 0.0), "decisions": s.decisions, "admitted": s.admitted,
            "entries": s.entries, "entries_read": s.entries_read, "reads": s.reads,
            "cross_reads": s.cross_reads, "tokens": r.prompt_tokens + r.completion_tokens,
            "decide_ms": s.decide_ms}


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
