"""``lts bench --poison N``: every setting run without and with N planted wrong entries.

Both benches use the same tasks, seeds and K, so a poisoned run has a clean twin (same policy, K,
seed, task). Per (policy, K), mean ± std over seeds:

- ``read_%``: runs in which some team read a planted entry; ``reads``: planted reads per run;
- ``EM_clean`` / ``EM_poisoned`` and ``EM_lost`` = clean - poisoned (points);
- ``flipped``: runs right without poison and wrong with it (per seed, summed over tasks);
- ``repeated``: runs whose final answer is a wrong answer entry that a team read (planted, or
  written by a team that was misled).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lts_core.evaluation.bench import BenchConfig, BenchResult, over_seeds, run_bench, sort_policies
from lts_core.record.harm import run_harm
from lts_core.registry import is_simulated
from lts_core.runtime.engine import Engine

COLUMNS = ["policy", "K", "read_%", "reads", "EM_clean", "EM_poisoned", "EM_lost", "flipped",
           "repeated"]


@dataclass
class PoisonResult:
    clean: BenchResult
    poisoned: BenchResult
    table: pd.DataFrame  # one row per (policy, K): COLUMNS, with _std columns


def run_poison_bench(engine: Engine, cfg: BenchConfig,
                     progress: Callable[[int, int], None] | None = None) -> PoisonResult:
    """Run ``cfg`` with ``poison=0`` and with ``cfg.poison``; compare the twins."""
    if cfg.poison < 1:
        raise ValueError("poison bench needs poison >= 1")
    clean = run_bench(engine, dataclasses.replace(cfg, poison=0), progress)
    dirty = run_bench(engine, cfg, progress)
    return PoisonResult(clean, dirty, poison_table(engine, clean.runs, dirty.runs))


def poison_table(engine: Engine, clean: pd.DataFrame, dirty: pd.DataFrame) -> pd.DataFrame:
    """Per (policy, K): the figures of the module docstring, mean and std over seeds."""
    harm = run_harm(engine.store, dirty.run_id.tolist()).set_index("run_id")
    keys = ["policy", "K", "seed", "task_id"]
    d = dirty.set_index("run_id").join(harm[["planted_reads", "final_repeats_wrong"]])
    both = d.reset_index().merge(clean[keys + ["em"]], on=keys, suffixes=("", "_clean"))
    per_seed = []
    for (policy, k, seed), g in both.groupby(["policy", "K", "seed"]):
        per_seed.append({
            "policy": policy, "K": k, "seed": seed, "tasks": len(g),
            "read_%": 100 * (g.planted_reads > 0).mean(), "reads": g.planted_reads.mean(),
            "EM_clean": 100 * g.em_clean.mean(), "EM_poisoned": 100 * g.em.mean(),
            "EM_lost": 100 * (g.em_clean.mean() - g.em.mean()),
            "flipped": int(((g.em_clean > 0) & (g.em == 0)).sum()),
            "repeated": int(g.final_repeats_wrong.sum())})
    return sort_policies(over_seeds(pd.DataFrame(per_seed), ["policy", "K"]))


def markdown(table: pd.DataFrame, n: int, markdown: bool = True) -> str:
    """The poisoning table (value ± std over seeds)."""
    from lts_core.evaluation.report import format_table

    rows = [{**r, "K": str(r["K"])} for r in table.to_dict("records")]
    return (f"Poisoning: {n} planted wrong entr{'y' if n == 1 else 'ies'} per run\n\n"
            + format_table(rows, COLUMNS, markdown=markdown))


def cmd_poison(engine: Engine, cfg: BenchConfig, args, total: int, n_tasks: int) -> int:
    """``lts bench --poison N``: both benches, the poisoning table, CSVs under ``--out``."""
    import sys
    from pathlib import Path

    from tqdm import tqdm

    with tqdm(total=2 * total, desc="bench+poison", unit="run", disable=args.quiet,
              file=sys.stderr) as bar:
        res = run_poison_bench(engine, cfg, progress=lambda i, n: bar.update(1))
    label = (f"SIMULATED agents ({cfg.backend} back-end)" if is_simulated(cfg.backend)
             else f"back-end {cfg.backend}")
    title = (f"{label} | suite {cfg.suite} | {n_tasks} tasks x seeds {cfg.seeds} | K in {cfg.ks} | "
             f"poison {cfg.poison} at {cfg.poison_at_s:g} s | batches {res.clean.batch_id} (clean), "
             f"{res.poisoned.batch_id} (poisoned)")
    text = markdown(res.table, cfg.poison, markdown=not args.plain)
    print(f"\n{title}\n\n{text}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    res.table.to_csv(out / "poison.csv", index=False)
    pd.concat([res.clean.runs.assign(poison=0), res.poisoned.runs.assign(poison=cfg.poison)]
              ).to_csv(out / "poison_runs.csv", index=False)
    (out / "poison.md").write_text(f"{title}\n\n{text}\n")
    print(f"\nWrote: {out / 'poison.csv'}, {out / 'poison_runs.csv'}, {out / 'poison.md'}")
    bad = pd.concat([res.clean.runs, res.poisoned.runs])
    return 1 if (bad.status != "finished").any() else 0
