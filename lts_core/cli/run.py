"""``lts run``: check everything, then run the batch; a failed run is named, an interrupt is recorded.

Order: the task file is loaded and checked first (a bad file never creates the database), then every
setting of every job (``lts_core.runtime.checks``: names, numbers, option types, an LLM's model, API
base and key; the policy and back-end are built once), and only then is the database opened and the
first run started. Exit status: 0 when every run finished (a run whose llm-judge calls failed gets a
warning line: it finished, its failed calls counted as NO), 1 when any run failed (one line per
failed run on stderr), 2 for a bad setting or file,
130 on Ctrl-C or SIGTERM (the run in progress is recorded ``interrupted``). With
``--workers N`` / ``--ray-address`` the runs are played on Ray workers (``lts_core.scale.pool``).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from lts_core import interrupts
from lts_core.config import Settings
from lts_core.record.store import StoreError
from lts_core.runtime.checks import (
    backend_options_of,
    check_components,
    options_per_policy,
    parse_json_object,
)
from lts_core.runtime.engine import ConfigError, Engine, Run, RunConfig, RunSummary
from lts_core.scale.pool import ScaleError, options_from_args, play_runs, refuse_secrets
from lts_core.world.tasks import Suite, Task, load_suite

if TYPE_CHECKING:
    from lts_core.record.store import Store


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def select_tasks(suite: Suite, args: argparse.Namespace) -> list[Task]:
    tasks = suite.tasks
    if args.tasks:
        wanted = _csv(args.tasks)
        missing = [t for t in wanted if t not in {x.id for x in tasks}]
        if missing:
            raise ConfigError(f"task(s) not in suite {suite.name}: {', '.join(missing)}")
        tasks = [t for t in tasks if t.id in wanted]
    return tasks[: args.limit] if args.limit else tasks


def plan_jobs(args: argparse.Namespace, tasks: list[Task]) -> list[tuple[RunConfig, Task]]:
    """Every (config, task) of the batch, each config checked; raises ConfigError before any run."""
    policies = _csv(args.policy)
    seeds = args.seeds if args.seeds is not None else [args.seed]
    if not policies:
        raise ConfigError("--policy names no policy")
    if not seeds:
        raise ConfigError("--seeds names no seed")
    backend_opts = backend_options_of(args.backend_options, args.api_base)
    popts = options_per_policy(parse_json_object(args.policy_options, "--policy-options"), policies)
    base: dict[str, RunConfig] = {}
    for p in policies:
        cfg = RunConfig(teams=args.teams, policy=p, policy_options=popts[p], backend=args.backend,
                        backend_options=dict(backend_opts), executor=args.executor, stop=args.stop,
                        max_steps=args.max_steps, seed=seeds[0], web_latency=not args.no_latency,
                        speed=args.speed, use_pool=not args.no_pool)
        cfg.validate()
        check_components(cfg)
        base[p] = cfg
    jobs = [(dataclasses.replace(base[p], seed=s), t) for p in policies for s in seeds for t in tasks]
    for cfg, _ in jobs:
        cfg.validate()
    return jobs


def mark_interrupted(run: Run, store: Store) -> None:
    """Record ``run`` as interrupted by the signal received, whatever point it had reached."""
    r = run.record
    why = f"interrupted by {interrupts.name()}"
    if r.status == "running":  # stopped before execute() recorded it (or during its finalize)
        run.cancel()
        run.finalize(0.0, status="interrupted", error=why)
    elif r.status != "interrupted" or interrupts.name() != "Ctrl-C":
        r.status, r.error = "interrupted", why
        store.update(r)


def run_one(engine: Engine, task: Task, suite: Suite, cfg: RunConfig, batch: str,
            current: list[Run]) -> RunSummary:
    """One run; a run that fails is recorded and returned (the batch goes on), an interrupt raises
    (``current`` then holds the run it recorded as interrupted)."""
    current.clear()
    try:
        run = engine.prepare_run(task, suite, cfg, batch_id=batch)
    except Exception:  # e.g. the search index build, where DuckDB swallows the interrupt
        if interrupts.requested():
            raise KeyboardInterrupt from None
        raise
    current.append(run)
    try:
        return engine.execute(run)
    except KeyboardInterrupt:
        mark_interrupted(run, engine.store)
        raise
    except StoreError:
        raise
    except Exception:  # execute() recorded the run as failed, with the reason
        if interrupts.requested():  # a library turned the signal into an ordinary error
            mark_interrupted(run, engine.store)
            raise KeyboardInterrupt from None
        return run.summary()


def judge_warnings(store: Store, summaries: list[RunSummary]) -> list[str]:
    """One line per run whose llm-judge calls failed (the run still finishes: a failed judge call
    counts as NO, so the step is not admitted, and the exit status stays 0 when the runs did)."""
    runs = {s.record.run_id: s.record for s in summaries if s.record.policy == "llm-judge"}
    ids = list(runs)
    if not ids:
        return []
    store.flush()
    df = store.query("SELECT run_id, count(*) AS n, count(*) FILTER (WHERE NOT ok) AS failed, "
                     "min(error) FILTER (WHERE NOT ok) AS error FROM llm_calls "
                     "WHERE purpose = 'judge' AND list_contains(?, run_id) GROUP BY run_id", [ids])
    out = []
    for r in df[df.failed > 0].itertuples():
        which = "all" if r.failed == r.n else f"{r.failed} of"
        rec = runs[r.run_id]
        out.append(f"warning: run {r.run_id} (task {rec.task_id}, seed {rec.seed}): {which} {r.n} "
                   "llm-judge call(s) failed "
                   f"({(r.error or '').strip()[:160]}); a failed call counts as NO, so "
                   f"{'no step was' if r.failed == r.n else 'those steps were not'} admitted")
    return out


def _failure_line(s: RunSummary) -> str:
    r = s.record
    err = (r.error or "no error recorded").strip().splitlines()[0][:240]
    return (f"{r.status}: run {r.run_id} (task {r.task_id}, policy {r.policy}, seed {r.seed}): "
            f"{err}")


def cmd_run(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from tqdm import tqdm

    from lts_core.evaluation.report import format_table, summarize
    from lts_core.record import queries

    settings = Settings.from_env()
    suite = load_suite(args.suite, settings.data_dir)
    tasks = select_tasks(suite, args)
    jobs = plan_jobs(args, tasks)
    scale = options_from_args(args)
    if scale.enabled:  # before the database opens; play_runs checks again
        refuse_secrets(cfg for cfg, _ in jobs)
    store = open_store(args)
    engine = Engine(store, settings)
    batch = uuid.uuid4().hex[:8]
    summaries: list[RunSummary] = []
    current: list[Run] = []
    recorded = [0]  # runs recorded on Ray workers so far (summaries come only at the end)
    t0 = time.time()
    try:
        if scale.enabled:  # on Ray workers (lts_core.scale.pool); summaries in the jobs' order
            with tqdm(total=len(jobs), desc="runs", unit="run", disable=args.quiet,
                      file=sys.stderr) as bar:
                def ran(i: int, n: int) -> None:
                    recorded[0] = i
                    bar.update(1)

                summaries = play_runs(engine, [(t, c) for c, t in jobs], args.suite, batch, scale,
                                      progress=ran)
        else:
            for cfg, task in tqdm(jobs, desc="runs", unit="run", disable=args.quiet,
                                  file=sys.stderr):
                interrupts.check()
                summaries.append(run_one(engine, task, suite, cfg, batch, current))
        store.flush()
    except ScaleError as e:
        store.close()
        print(f"error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        store.close()  # commits everything queued, the interrupted run's final row included
        what = (f"run {current[0].run_id} is recorded as interrupted" if current
                else "the runs in flight on Ray workers are recorded as interrupted"
                if scale.enabled else "no run was in progress")
        print(f"\ninterrupted ({interrupts.name()}): {max(len(summaries), recorded[0])} of "
              f"{len(jobs)} run(s) done in batch {batch}; {what}", file=sys.stderr)
        return interrupts.exit_code()
    wall = time.time() - t0
    simulated = any(s.record.simulated for s in summaries)
    label = "SIMULATED agents (sim back-end)" if simulated else f"back-end {args.backend}"
    seeds = args.seeds if args.seeds is not None else [args.seed]
    print(f"\n{label} | suite {suite.name} | {len(tasks)} task(s) x {len(seeds)} seed(s) | "
          f"K={args.teams} | executor {args.executor} | stop {args.stop} | batch {batch}")
    store.flush()
    print(format_table(summarize(queries.run_metrics(store, [s.record.run_id for s in summaries]))))
    print(f"\n{len(summaries)} runs in {wall:.1f} s wall; runtime_s is the mean clock time per task "
          f"from start to final answer{' (modelled)' if simulated else ''}. Recorded in {store.path}")
    for line in judge_warnings(store, summaries):
        print(line, file=sys.stderr)
    failed = [s for s in summaries if s.record.status != "finished"]
    for s in failed:
        print(_failure_line(s), file=sys.stderr)
    if failed:
        print(f"{len(failed)} of {len(summaries)} run(s) failed; `lts show RUN_ID` for details",
              file=sys.stderr)
    store.close()
    return 1 if failed else 0
