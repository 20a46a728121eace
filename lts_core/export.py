"""Export one run's rows (every table) to Parquet or JSON Lines files."""

from __future__ import annotations

from pathlib import Path

from .records import TABLES
from .store import Store

RUN_TABLES = ["runs", "teams", "steps", "admissions", "memory_entries", "memory_reads", "tool_calls",
              "llm_calls"]


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
        df = store.query(f"SELECT * FROM {table} WHERE run_id = ?", [run_id])
        p = folder / f"{table}.{fmt}"
        if fmt == "parquet":
            df.to_parquet(p, index=False)
        else:
            df.to_json(p, orient="records", lines=True, force_ascii=False)
        paths.append(p)
    return paths
