"""Figures over many runs, read from the record (``queries.run_metrics``), and plain-text /
Markdown tables for the CLI and benchmarks."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence

import pandas as pd

COLUMNS = ["policy", "runs", "EM", "F1", "runtime_s", "steps", "tool_calls", "admit_%", "entries",
           "reads", "cross_reads", "tokens", "llm_calls", "cost_usd"]


def mean_or_nan(xs: Iterable[float]) -> float:
    """The mean, NaN for no values (a figure with nothing to average is not 0)."""
    xs = list(xs)
    return statistics.fmean(xs) if xs else float("nan")


def per_seed_figures(runs: pd.DataFrame) -> dict[str, float]:
    """Means over the runs of one (policy, seed) group; ``runs`` are ``queries.run_metrics`` rows."""
    def mean(col: str) -> float:
        return mean_or_nan(runs[col].fillna(0.0).astype(float))

    dec = int(runs.decisions.sum())
    return {"runs": len(runs), "EM": 100 * mean("em"), "F1": 100 * mean("f1"),
            "runtime_s": mean("runtime_s"), "steps": mean("steps"), "tool_calls": mean("tool_calls"),
            "admit_%": 100 * int(runs.admitted.sum()) / dec if dec else 0.0,
            "entries": mean("entries"), "reads": mean("reads"), "cross_reads": mean("cross_reads"),
            "tokens": mean("tokens"), "llm_calls": mean("llm_calls"), "cost_usd": mean("cost_usd")}


def summarize(runs: pd.DataFrame, by: str = "policy") -> list[dict[str, object]]:
    """One row per ``by`` value: mean over seeds of each seed's mean, with the std over seeds.
    ``runs``: one row per run from the read model (``queries.run_metrics``)."""
    rows = []
    for key, group in runs.groupby(by, sort=False):
        per = [per_seed_figures(g) for _, g in group.groupby("seed", sort=False)]
        row: dict[str, object] = {by: str(key), "seeds": len(per)}
        for col in COLUMNS[1:]:
            vals = [p[col] for p in per]
            row[col] = statistics.fmean(vals) if col != "runs" else sum(vals)
            if col != "runs":
                row[col + "_std"] = statistics.pstdev(vals) if len(vals) > 1 else 0.0
        rows.append(row)
    return rows


def format_table(rows: list[dict[str, object]], columns: Sequence[str] = COLUMNS, *,
                 markdown: bool = False, std: bool = True) -> str:
    """Fixed-width text (or Markdown) table; a column with a ``_std`` twin prints as mean±std."""
    def cell(row: dict[str, object], c: str) -> str:
        v = row.get(c, "")
        if isinstance(v, float) and v != v:  # NaN: the figure does not apply (no entries, ...)
            return "–"
        if isinstance(v, float):
            fmt = ".4f" if c == "cost_usd" else ".1f"  # dollars per run are small
            s = f"{v:{fmt}}"
            sd = row.get(c + "_std")
            if std and isinstance(sd, float) and row.get("seeds", 1) not in (1, None):
                s += f"±{sd:{fmt}}"
            return s
        return str(v)

    body = [[cell(r, c) for c in columns] for r in rows]
    if markdown:
        lines = ["| " + " | ".join(columns) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(b) + " |" for b in body]
        return "\n".join(lines)
    widths = [max(len(c), *(len(b[i]) for b in body)) if body else len(c) for i, c in enumerate(columns)]
    out = ["  ".join(c.rjust(w) for c, w in zip(columns, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(v.rjust(w) for v, w in zip(b, widths, strict=True)) for b in body]
    return "\n".join(out)
