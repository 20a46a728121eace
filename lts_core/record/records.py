"""Typed records: one dataclass per kind of row, and the DuckDB schema follows from them.

Every record is a plain dataclass whose fields map 1:1 to a column of the table named in
``TABLES``. ``schema.schema_sql()`` derives the ``CREATE TABLE`` statements from the field types, so adding
a field to a record adds the column (``Store`` adds missing columns to an older file on open).

Times: ``t_*`` fields are seconds on the run's clock, measured from the run's start (virtual or real,
see ``executors``); ``*_at`` fields are wall-clock Unix epochs.
"""

from __future__ import annotations

from dataclasses import dataclass

# run statuses whose record carries the reason in ``error`` (``retried``: lost with a Ray worker
# and played again under a new run id)
RUN_ERROR_STATUSES = ("failed", "interrupted", "retried")


@dataclass
class RunRecord:
    """One parallel run of K teams on one task."""

    run_id: str
    task_id: str
    suite: str
    question: str
    gold: str
    backend: str
    policy: str
    executor: str
    stop: str
    teams: int
    max_steps: int
    seed: int
    simulated: bool
    config_json: str
    batch_id: str = ""
    status: str = "running"  # running | finished | failed | interrupted | cancelled | retried
    created_at: float = 0.0
    finished_at: float | None = None
    runtime_s: float | None = None  # clock seconds from task start to the final answer
    wall_s: float | None = None  # real seconds the engine spent
    answer: str | None = None
    em: float | None = None
    f1: float | None = None
    error: str | None = None  # one line for users (secrets masked)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    error_detail: str | None = None  # the traceback behind ``error``, for developers
    memory_on: bool | None = None  # teams had a shared bank (None: recorded before this column)
    speed: float | None = None  # threads executor: run-clock seconds per real second


@dataclass
class TeamRecord:
    """One team of a run; upserted when it starts and when it ends."""

    run_id: str
    team_idx: int
    status: str = "running"  # running | answered | budget | error | cancelled
    answer: str | None = None
    steps: int = 0
    t_start: float = 0.0
    t_end: float | None = None
    em: float | None = None
    f1: float | None = None
    error: str | None = None  # one line for users (secrets masked)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    error_detail: str | None = None  # the traceback behind ``error``, for developers


@dataclass
class StepRecord:
    """One agent step: the triplet (u, o, s) plus what produced it and what it cost."""

    run_id: str
    team_idx: int
    step_idx: int
    action: str  # plan | search | open | memory_read | answer
    arg: str
    u: str  # the orchestrator's instruction
    o: str  # the raw output
    s: str  # the 15-20 word summary, the memory key if admitted
    t_start: float
    t_end: float
    llm_s: float
    tool_s: float
    prompt_tokens: int
    completion_tokens: int
    keys_visible: int
    entry_id: int | None = None
    detail_json: str = "{}"


@dataclass
class AdmissionRecord:
    """The admission policy's decision on one step, with the features that explain it."""

    run_id: str
    team_idx: int
    step_idx: int
    policy: str
    score: float
    admitted: bool
    t: float
    features_json: str = "{}"
    decide_ms: float = 0.0
    entry_id: int | None = None
    # what the score was compared with: admitted at and above it (None: not a threshold decision,
    # e.g. a training draw, or recorded before this column)
    threshold: float | None = None


@dataclass
class ExplanationRecord:
    """What explains one admission decision, computed after it off the decision path (the learned
    controller's input attributions, its sentence in words, similar training decisions). The read
    model merges ``features_json`` into the decision's own features."""

    run_id: str
    team_idx: int
    step_idx: int
    features_json: str = "{}"
    explain_ms: float = 0.0  # real time the explanation took (not part of decide_ms)


@dataclass
class MemoryEntryRecord:
    """An entry of the shared bank: key = summary, value = raw output."""

    run_id: str
    entry_id: int
    team_idx: int
    step_idx: int
    action: str
    key: str
    value: str
    t_added: float
    planted: bool = False  # put there by a poisoning experiment (lts_core.runtime.poison), not by a team


@dataclass
class MemoryReadRecord:
    """One fetch of an entry's value by a team."""

    run_id: str
    entry_id: int
    producer_team: int
    reader_team: int
    reader_step: int
    t: float
    chars: int
    similarity: float
    cross_team: bool


@dataclass
class ToolCallRecord:
    """One tool call, with its modelled latency and the real compute time it took."""

    run_id: str
    team_idx: int
    step_idx: int
    tool: str
    arg: str
    ok: bool
    latency_s: float  # modelled ("the web"), on the run's clock
    compute_ms: float  # real time spent computing the result (BM25 query, ...)
    result_chars: int
    error: str | None = None


@dataclass
class LLMCallRecord:
    """One model call (modelled for the simulator, real for LLM back-ends)."""

    run_id: str
    team_idx: int
    step_idx: int
    purpose: str  # orchestrate | summarize | judge | aggregate
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    cost_usd: float = 0.0
    real: bool = False
    ok: bool = True  # False: the attempt failed (HTTP error, timeout, empty or unusable reply)
    error: str | None = None  # why, on one line, secrets masked


@dataclass
class TrainEpochRecord:
    """Per-epoch metrics of an ``lts train`` job."""

    train_id: str
    epoch: int
    reward: float
    accuracy: float
    admission_rate: float
    usage: float
    loss: float
    episodes: int
    wall_s: float
    created_at: float = 0.0
    extra_json: str = "{}"


@dataclass
class TrainDecisionRecord:
    """One controller decision seen by the trainer: probability, decision and credit."""

    train_id: str
    epoch: int
    episode: int
    run_id: str
    team_idx: int
    step_idx: int
    p_yes: float
    admitted: bool
    used: bool
    reward: float
    advantage: float


TABLES: dict[str, type] = {
    "runs": RunRecord,
    "teams": TeamRecord,
    "steps": StepRecord,
    "admissions": AdmissionRecord,
    "explanations": ExplanationRecord,
    "memory_entries": MemoryEntryRecord,
    "memory_reads": MemoryReadRecord,
    "tool_calls": ToolCallRecord,
    "llm_calls": LLMCallRecord,
    "train_epochs": TrainEpochRecord,
    "train_decisions": TrainDecisionRecord,
}
TABLE_OF: dict[type, str] = {cls: name for name, cls in TABLES.items()}
# Columns that identify a row for updates (runs and teams are upserted as they progress).
KEYS: dict[str, tuple[str, ...]] = {"runs": ("run_id",), "teams": ("run_id", "team_idx")}

__all__ = [
    "AdmissionRecord",
    "LLMCallRecord",
    "MemoryEntryRecord",
    "MemoryReadRecord",
    "RunRecord",
    "StepRecord",
    "TeamRecord",
    "ToolCallRecord",
    "TrainDecisionRecord",
    "TrainEpochRecord",
    "TABLES",
]
