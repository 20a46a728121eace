"""Export one run's rows (every table) to Parquet or JSON Lines files.

Secrets never leave: the cells that can quote a config or an error are masked on the way out with
``lts_core.secrets`` (JSON configs with ``redact_json_text``, the other ``REDACTED_TEXT`` columns
with ``redact_text``), so a database written before masking existed exports clean too.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from lts_core.record.records import TABLES
from lts_core.record.store import Store
from lts_core.secrets import redact_json_text, redact_text

RUN_TABLES = ["runs", "teams", "steps", "admissions", "explanations", "memory_entries",
              "memory_reads", "tool_calls", "llm_calls"]
REDACTED_JSON = ("config_json", "extra_json")
REDACTED_TEXT = ("error", "error_detail", "features_json", "detail_json")


def redact_frame(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its config and error columns masked (a copy when anything is masked)."""
    cols = [c for c in (*REDACTED_JSON, *REDACTED_TEXT) if c in df.columns]
    if not cols or df.empty:
        return df
    df = df.copy()
    for c in cols:
        fn = redact_json_text if c in REDACTED_JSON else redact_text
        df[c] = df[c].map(lambda v, fn=fn: fn(v) if isinstance(v, str) and v else v)
    return df


def export_run(store: Store, run_id: str, out_dir: Path, fmt: str = "parquet") -> list[Path]:
    """Write ``<out_dir>/<run_id>/<table>.<fmt>`` for each table; returns the paths written."""
    if fmt not in ("parquet", "jsonl"):
        raise ValueError(f"format must be parquet or jsonl, got {fmt!r}")
    if not store.scalar("SELECT count(*) FROM runs WHERE run_id = ?", [run_id]):
        raise KeyError(f"no run {run_id!r} in {store.path}")
    folder = Path(out_dir) / run_id
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for table in RUN_TABLES:
        assert table in TABLES
        df = redact_frame(store.query(f"SELECT * FROM {table} WHERE run_id = ?", [run_id]))
        p = folder / f"{table}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(p, index=False)
        else:
            df.to_json(p, orient="records", lines=True, force_ascii=False)
        paths.append(p)
    return paths
