"""A bench's figures and outputs: per-seed figures, mean and std over seeds, tables, CSV, plots.

``summarize_bench(runs)`` turns ``run_bench``'s rows (one per run) into one row per (policy, K)
and one per (policy, K, level); ``write_outputs`` / ``markdown_tables`` / ``plot`` / ``combine``
write them. The definitions of every column are in ``bench``'s module docstring.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from lts_core.evaluation.report import mean_or_nan
from lts_core.registry import POLICIES, baseline_policy, bound_policies


@dataclass
class BenchResult:
    batch_id: str
    runs: pd.DataFrame  # one row per run
    summary: pd.DataFrame  # one row per (policy, K): mean and _std columns
    levels: pd.DataFrame  # EM per (policy, K, level)
    wall_s: float


def summarize_bench(runs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(summary per policy and K, EM/F1 per policy, K and level); mean and std over seeds."""
    base = runs[runs.policy == baseline_policy()].set_index(["K", "seed", "task_id"])
    orc = runs[runs.policy.isin(bound_policies())].set_index(["K", "seed", "task_id"]).runtime_s
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
            fig["red_per_task_%"] = 100 * mean_or_nan(1 - g.runtime_s.to_numpy() / rt_none)
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
    return over_seeds(pd.DataFrame(per_seed), ["policy", "K"]), \
        over_seeds(pd.DataFrame(per_level), ["policy", "K", "level"])


def over_seeds(df: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    cols = [c for c in df.columns if c not in keys + ["seed", "tasks"]]
    g = df.groupby(keys, sort=False)
    mean = g[cols].mean()
    std = g[cols].std(ddof=0).add_suffix("_std")
    n = g.seed.nunique().rename("seeds")
    tasks = g.tasks.first()
    return pd.concat([n, tasks, mean, std], axis=1).reset_index()


ORDER = list(POLICIES)  # the registry's order: the baseline first, the bounds last


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
    from lts_core.evaluation.report import format_table

    s = sort_policies(res.summary)
    rows = [{**r, "K": str(r["K"])} for r in s.to_dict("records")]
    main = format_table(rows, MAIN_COLUMNS, markdown=markdown)
    cols = ["K", "oracle_s", "oracle_s_std", "runtime_s"]
    oracle = (s[s.policy == baseline_policy()][cols] if "oracle_s" in s else s.iloc[:0].reindex(columns=cols))
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
    none = summary[summary.policy == baseline_policy()].sort_values("K")
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
