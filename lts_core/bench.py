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

With ``workers > 1`` (or ``ray_address``) the runs are played on Ray workers (``lts_core.scale``) and
recorded by this engine's store as they finish; rows and figures are those of the sequential path.

Thread-safety: one bench per engine at a time.
"""

from __future__ import annotations

import statistics
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .engine import Engine, RunConfig, RunSummary

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
    poison: int = 0  # planted wrong entries per run (lts_core.poison; poison_bench runs 0 and N)
    poison_at_s: float = 20.0
    oracle: bool = True  # with sim, also run the oracle bound (False: exactly the given policies)
    workers: int = 1  # Ray workers playing runs in parallel (lts_core.scale); 1: here, no Ray
    ray_address: str | None = None  # join this Ray cluster instead of starting a local one
    runs_per_worker: int = 1  # runs one worker plays at once (threads; LLM back-ends)

    def runs(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(label, policy, options) per compared setting: each policy, then learned@T per threshold."""
        out = [(p, p, dict(self.policy_options.get(p, {}))) for p in self.policies]
        base = dict(self.policy_options.get("learned", {}))
        out += [(f"learned@{t:g}", "learned", {**base, "threshold": t}) for t in self.thresholds]
        if self.backend == "sim" and self.oracle and "oracle" not in self.policies:
            out.append(("oracle", "oracle", {}))  # the bound, on the same tasks and seeds
        return out

    def validate(self) -> None:
        if "none" not in self.policies:
            raise ValueError("bench needs the 'none' policy: reductions and the oracle are against it")
        if not self.seeds or not self.ks:
            raise ValueError("bench needs at least one seed and one K")
        if any(not 0.0 <= t <= 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds must be in [0, 1], got {self.thresholds}")
        if self.workers < 1 or self.runs_per_worker < 1:
            raise ValueError(f"workers and runs_per_worker must be at least 1, got {self.workers} "
                             f"and {self.runs_per_worker}")


@dataclass
class BenchResult:
    batch_id: str
    runs: pd.DataFrame  # one row per run
    summary: pd.DataFrame  # one row per (policy, K): mean and _std columns
    levels: pd.DataFrame  # EM per (policy, K, level)
    wall_s: float


def run_bench(engine: Engine, cfg: BenchConfig,
              progress: Callable[[int, int], None] | None = None) -> BenchResult:
    cfg.validate()
    suite = engine.suite(cfg.suite)
    tasks = suite.tasks[: cfg.limit] if cfg.limit else suite.tasks
    batch = "bench-" + uuid.uuid4().hex[:8]
    jobs = [(k, r, s, t) for k in cfg.ks for r in cfg.runs() for s in cfg.seeds for t in tasks]
    rcs = [RunConfig(teams=k, policy=policy, policy_options=dict(opts),
                     backend=cfg.backend, backend_options=dict(cfg.backend_options),
                     executor=cfg.executor, seed=seed, embedder=cfg.embedder,
                     poison=cfg.poison, poison_at_s=cfg.poison_at_s)
           for k, (_, policy, opts), seed, _ in jobs]
    rows, t0 = [], time.time()
    if cfg.workers > 1 or cfg.ray_address:  # on Ray workers; rows in this same order
        from .scale import ScaleOptions, play_runs

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
    """Per run of ``batch``: admitted entries whose content is wrong (``lts_core.harm``: an answer
    that does not match the gold answer, or a page-read fact the simulator recorded as false);
    planted entries (``lts_core.poison``) were never admitted and do not count."""
    from .harm import entry_harm

    ids = engine.store.query("SELECT run_id FROM runs WHERE batch_id = ?", [batch]).run_id.tolist()
    e = entry_harm(engine.store, ids)
    counts = e[e.wrong & ~e.planted.astype(bool)].groupby("run_id").size()
    return pd.DataFrame({"run_id": counts.index.tolist(), "wrong_entries": counts.tolist()},
                        columns=["run_id", "wrong_entries"])


def _mean(xs) -> float:
    xs = list(xs)
    return statistics.fmean(xs) if xs else float("nan")


def summarize_bench(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary per policy and K, EM/F1 per policy, K and level); mean and std over seeds."""
    base = runs[runs.policy == "none"].set_index(["K", "seed", "task_id"])
    orc = runs[runs.policy == "oracle"].set_index(["K", "seed", "task_id"]).runtime_s
    per_seed, per_level = [], []
    for (policy, k, seed), g in runs.groupby(["policy", "K", "seed"]):
        b = base.loc[(k, seed)] if (k, seed) in base.index.droplevel(2) else None
        rt_none = b.runtime_s.reindex(g.task_id).to_numpy() if b is not None else None
        dec, ent, reads = g.decisions.sum(), g.entries.sum(), g.reads.sum()
        fig = {"policy": policy, "K": k, "seed": seed, "tasks": len(g),
               "EM": 100 * g.em.mean(), "F1": 100 * g.f1.mean(), "runtime_s": g.runtime_s.mean(),
               "admit_%": 100 * g.admitted.sum() / dec if dec else float("nan"),
               "read_%": 100 * g.entries_read.sum() / ent if ent else float("nan"),
               "cross_%": 100 * g.cross_reads.sum() / reads if reads else float("nan"),
               "entries": g.entries.mean(), "tokens": g.tokens.mean(),
               "wrong_%": 100 * g.wrong_entries.sum() / ent if ent else float("nan"),
               "ctrl_%": 100 * g.decide_ms.sum() / 1000 / g.wall_s.sum() if g.wall_s.sum() else 0.0}
        if rt_none is not None:
            none_mean = rt_none.mean()
            fig["red_means_%"] = 100 * (1 - g.runtime_s.mean() / none_mean)
            fig["red_per_task_%"] = 100 * _mean(1 - g.runtime_s.to_numpy() / rt_none)
            keys = [(k, seed, t) for t in g.task_id]
            if all(key in orc.index for key in keys):
                oracle_mean = float(orc.loc[keys].mean())
                fig["oracle_s"] = oracle_mean
                gap = none_mean - oracle_mean
                fig["of_oracle_%"] = (100 * (none_mean - g.runtime_s.mean()) / gap if gap > 0
                                      else float("nan"))
        per_seed.append(fig)
        for level, gl in g.groupby("level"):
            per_level.append({"policy": policy, "K": k, "seed": seed, "level": level,
                              "tasks": len(gl), "EM": 100 * gl.em.mean(), "F1": 100 * gl.f1.mean()})
    return _over_seeds(pd.DataFrame(per_seed), ["policy", "K"]), \
        _over_seeds(pd.DataFrame(per_level), ["policy", "K", "level"])


def _over_seeds(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    cols = [c for c in df.columns if c not in keys + ["seed", "tasks"]]
    g = df.groupby(keys, sort=False)
    mean = g[cols].mean()
    std = g[cols].std(ddof=0).add_suffix("_std")
    n = g.seed.nunique().rename("seeds")
    tasks = g.tasks.first()
    return pd.concat([n, tasks, mean, std], axis=1).reset_index()


ORDER = ["none", "all", "dedup", "llm-judge", "learned", "oracle"]


def sort_policies(df: pd.DataFrame) -> pd.DataFrame:
    """Rows by K, then the policies in ``ORDER``, then learned@T by threshold."""
    rank = {p: i for i, p in enumerate(ORDER)}

    def key(p: str) -> float:
        if p.startswith("learned@"):
            return 100 + float(p.split("@", 1)[1])
        return rank.get(p, 99)

    return df.assign(_r=df.policy.map(key)).sort_values(["K", "_r"]).drop(columns="_r")


def write_outputs(res: BenchResult, out: Path, title: str) -> list[Path]:
    """CSV of runs and summary, a Markdown report and PNG plots under ``out``."""

    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "runs.csv", out / "summary.csv", out / "levels.csv", out / "report.md"]
    res.runs.to_csv(paths[0], index=False)
    summary = sort_policies(res.summary)
    summary.to_csv(paths[1], index=False)
    sort_policies(res.levels).to_csv(paths[2], index=False)
    paths[3].write_text(f"{title}\n\n{markdown_tables(res)}\n")
    paths += plot(summary, out, note=title.split("|")[0].strip())
    return paths


MAIN_COLUMNS = ["policy", "K", "EM", "F1", "runtime_s", "red_means_%", "red_per_task_%",
                "of_oracle_%", "admit_%", "read_%", "cross_%", "entries", "wrong_%", "tokens",
                "ctrl_%"]


def markdown_tables(res: BenchResult, markdown: bool = True) -> str:
    from .report import format_table

    s = sort_policies(res.summary)
    rows = [{**r, "K": str(r["K"])} for r in s.to_dict("records")]
    main = format_table(rows, MAIN_COLUMNS, markdown=markdown)
    cols = ["K", "oracle_s", "oracle_s_std", "runtime_s"]
    oracle = (s[s.policy == "none"][cols] if "oracle_s" in s else s.iloc[:0].reindex(columns=cols))
    orow = [{"K": str(r.K), "none_runtime_s": r.runtime_s, "oracle_s": r.oracle_s,
             "oracle_s_std": r.oracle_s_std, "seeds": int(s.seeds.max()),
             "oracle_red_%": 100 * (1 - r.oracle_s / r.runtime_s)} for r in oracle.itertuples()]
    lv = sort_policies(res.levels)
    lrows = [{"policy": r["policy"], "K": str(r["K"]), "level": r["level"], "tasks": str(int(r["tasks"])),
              "EM": r["EM"], "EM_std": r["EM_std"], "F1": r["F1"], "F1_std": r["F1_std"],
              "seeds": r["seeds"]} for r in lv.to_dict("records")]
    return (main + "\n\nOracle bound (sim only: policy `oracle` admits exactly the true, useful entries "
            "and its teams fetch exactly what serves them, with no summary calls):\n\n"
            + format_table(orow, ["K", "none_runtime_s", "oracle_s", "oracle_red_%"], markdown=markdown)
            + "\n\nAccuracy per task level:\n\n"
            + format_table(lrows, ["policy", "K", "level", "tasks", "EM", "F1"], markdown=markdown))


def plot(summary: pd.DataFrame, out: Path, note: str = "") -> list[Path]:
    """accuracy_vs_runtime.png and runtime_vs_k.png (matplotlib, no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    markers = "osD^vP*X"
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (policy, g) in enumerate(summary.groupby("policy", sort=False)):
        ax.errorbar(g.runtime_s, g.EM, xerr=g.runtime_s_std, yerr=g.EM_std, fmt=markers[i % 8],
                    label=policy, capsize=3)
        for r in g.itertuples():
            ax.annotate(f"K={r.K}", (r.runtime_s, r.EM), textcoords="offset points", xytext=(4, 4),
                        fontsize=7)
    first = _save(plt, fig, ax, out / "accuracy_vs_runtime.png", "mean runtime per task (s, modelled)",
                  "EM (%)", f"Accuracy against runtime (mean ± std over seeds)\n{note}")
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for i, (policy, g) in enumerate(summary.groupby("policy", sort=False)):
        g = g.sort_values("K")
        ax.errorbar(g.K, g.runtime_s, yerr=g.runtime_s_std, marker=markers[i % 8], label=policy,
                    capsize=3)
    none = summary[summary.policy == "none"].sort_values("K")
    if "oracle_s" in none:
        ax.plot(none.K, none.oracle_s, "k--", label="oracle bound")
    second = _save(plt, fig, ax, out / "runtime_vs_k.png", "teams K",
                   "mean runtime per task (s, modelled)", f"Runtime against the number of teams\n{note}")
    return [first, second]


def _save(plt, fig, ax, path: Path, xlabel: str, ylabel: str, title: str) -> Path:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def combine(dirs: list[Path], out: Path, title: str) -> tuple[str, list[Path]]:
    """Join the outputs of several ``lts bench`` runs (e.g. one per K, run in parallel) into one
    report and one set of plots; rows are independent per (policy, K, seed), so nothing is recomputed."""
    summary = pd.concat([pd.read_csv(d / "summary.csv") for d in dirs], ignore_index=True)
    levels = pd.concat([pd.read_csv(d / "levels.csv") for d in dirs], ignore_index=True)
    runs = pd.concat([pd.read_csv(d / "runs.csv") for d in dirs], ignore_index=True)
    if summary.duplicated(["policy", "K"]).any():
        raise ValueError("the benches to combine overlap in (policy, K)")
    res = BenchResult("+".join(d.name for d in dirs), runs, summary, levels, 0.0)
    text = markdown_tables(res)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.csv", out / "report.md"]
    sort_policies(summary).to_csv(paths[0], index=False)
    paths[1].write_text(f"{title}\n\n{text}\n")
    return text, paths + plot(sort_policies(summary), out, note=title.split("|")[0].strip())
