"""The read model: every question asked of the DuckDB record, as SQL returning DataFrames.

The command line (``lts runs`` / ``lts show`` / ``lts run``'s table), the dashboard (``app``),
the benches (their per-run counts, ``run_metrics``) and off-line training (``recorded_runs``) read
through these functions, so a figure has one definition.

Each function takes ``db``, anything with ``query(sql, params) -> DataFrame`` (a ``lts_core.Store``;
its reads run on a fresh cursor and are safe from any thread, also while a run is writing).
No Streamlit here: the dashboard's pages call these, its components draw what they return.

Definitions used on several pages (the UI help repeats them):
- *cross-team read*: a team fetched an entry another team produced.
- *web calls avoided*: distinct (reader team, entry) pairs of cross-team reads of an entry produced
  by a web step (search / open) where the reader team never runs that same call itself (same
  action and argument, before or after the read). Each counts as one tool call avoided, worth the
  producer's modelled tool latency. Argument matching is exact (case and spaces aside), so a
  search redone with other words still counts as avoided: read it as an upper bound.
- *net steps saved*: web calls avoided minus memory-read steps taken (a read is a step too).
"""

from lts_core.record.queries._base import (
    DB,
    INTERNAL_BATCH_PREFIXES,
    RUN_COLS,
    decision_label,
    is_internal_batch,
)
from lts_core.record.queries.compare import batches, count_batches, run_ids_of_batches, run_metrics
from lts_core.record.queries.runs import (
    count_runs,
    counterfactual,
    db_summary,
    distinct,
    get_run,
    latest_run_id,
    list_runs,
    memory_on,
    policy_threshold,
    score_label,
    teams,
)
from lts_core.record.queries.steps import (
    EQUIVALENT_COSINE,
    admissions,
    entries,
    harm_entries,
    harm_reads,
    live_counters,
    near_misses,
    reads,
    redone_later,
    step_detail,
    steps,
    web_calls_avoided,
)
from lts_core.record.queries.training import (
    recorded_runs,
    train_decisions_summary,
    train_epochs,
    train_runs,
    training_progress,
)

__all__ = [
    "DB", "EQUIVALENT_COSINE", "INTERNAL_BATCH_PREFIXES", "RUN_COLS", "admissions", "batches",
    "count_batches", "count_runs", "counterfactual", "db_summary", "decision_label", "distinct",
    "entries", "get_run", "harm_entries", "harm_reads", "is_internal_batch", "latest_run_id",
    "list_runs", "live_counters", "recorded_runs", "memory_on", "near_misses", "policy_threshold", "reads",
    "redone_later", "run_ids_of_batches", "run_metrics", "score_label", "step_detail", "steps",
    "teams", "train_decisions_summary", "train_epochs", "train_runs", "training_progress",
    "web_calls_avoided",
]
