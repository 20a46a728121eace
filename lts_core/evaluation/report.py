"""Figures over many runs, and plain-text / Markdown tables for the CLI and benchmarks."""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence

from lts_core.runtime.engine import RunSummary

COLUMNS = ["policy", "runs", "EM", "F1", "runtime_s", "steps", "tool_calls", "admit_%", "entries",
           "reads", "cross_reads", "tokens", "llm_calls", "cost_usd"]


def mean_or_nan(xs: Iterable[float]) -> float:
    """The mean, NaN for no values (a figure with nothing to average is not 0)."""
    xs = list(xs)
    return statistics.fmean(xs) if xs else float("nan")


def per_seed_figures(runs: Sequence[RunSummary]) -> dict[str, float]:
    """Means over the runs of one (policy, seed) group."""
    recs = [r.record for r in runs]
    dec = sum(r.decisions for r in runs)
    return {
        "runs": len(runs),
        "EM": 100 * mean_or_nan([r.em or 0.0 for r in recs]),
        "F1": 100 * mean_or_nan([r.f1 or 0.0 for r in recs]),
        "runtime_s": mean_or_nan([r.runtime_s or 0.0 for r in recs]),
        "steps": mean_or_nan([r.steps for r in runs]),
        "tool_calls": mean_or_nan([r.tool_calls for r in runs]),
        "admit_%": 100 * sum(r.admitted for r in runs) / dec if dec else 0.0,
        "entries": mean_or_nan([r.entries for r in runs]),
        "reads": mean_or_nan([r.reads for r in runs]),
        "cross_reads": mean_or_nan([r.cross_reads for r in runs]),
        "tokens": mean_or_nan([r.prompt_tokens + r.completion_tokens for r in recs]),
        "llm_calls": mean_or_nan([float(getattr(r, "llm_calls", 0)) for r in runs]),
        "cost_usd": mean_or_nan([r.cost_usd or 0.0 for r in recs]),
    }


def summarize(runs: Iterable[RunSummary], by: str = "policy") -> list[dict[str, object]]:
    """One row per ``by`` value: mean over seeds of each seed's mean, with the std over seeds."""
    groups: dict[str, dict[int, list[RunSummary]]] = defaultdict(lambda: defaultdict(list))
    for r in runs:
        groups[str(getattr(r.record, by))][r.record.seed].append(r)
    rows = []
    for key, seeds in groups.items():
        per = [per_seed_figures(v) for v in seeds.values()]
        row: dict[str, object] = {by: key, "seeds": len(per)}
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
