"""lts_core: the Learning-to-Share engine (runs without Streamlit).

Public API::

    from lts_core import Engine, RunConfig, Store
    engine = Engine(Store("~/lts.duckdb"))
    summary = engine.run_task(engine.suite("demo").tasks[0], "demo", RunConfig(policy="dedup"))

Also: ``POLICIES`` / ``BACKENDS`` / ``EXECUTORS`` / ``EMBEDDERS`` (the registry), ``queries`` (the
read model over the record), ``BenchConfig`` / ``run_bench``, ``TrainConfig`` / ``train`` and
``start_training`` (a training in the background). docs/architecture.md shows the layers.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from lts_core import config as _config  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm)

# Imported on first use: ``import lts_core.cli.main`` stays light, so the ``lts`` command installs its
# Ctrl-C handling before the heavy imports (DuckDB, pandas, torch) and no key press gives a traceback.
_LAZY = {**dict.fromkeys(["ConfigError", "Engine", "Run", "RunConfig", "RunHandle", "RunSummary"],
                         "runtime.engine"),
         **dict.fromkeys(["Store", "StoreError"], "record.store"),
         **dict.fromkeys(["Doc", "Suite", "Task", "TaskFileError", "load_suite", "load_tasks"],
                         "world.tasks"),
         **dict.fromkeys(["BACKENDS", "EMBEDDERS", "EXECUTORS", "POLICIES"], "registry"),
         **dict.fromkeys(["BenchConfig", "run_bench"], "evaluation.bench"),
         **dict.fromkeys(["TrainConfig", "train"], "learning.train"),
         **dict.fromkeys(["TrainingHandle", "start_training"], "learning.training_jobs")}

if TYPE_CHECKING:
    from lts_core.evaluation.bench import BenchConfig, run_bench
    from lts_core.learning.train import TrainConfig, train
    from lts_core.learning.training_jobs import TrainingHandle, start_training
    from lts_core.record.store import Store, StoreError
    from lts_core.registry import BACKENDS, EMBEDDERS, EXECUTORS, POLICIES
    from lts_core.runtime.engine import ConfigError, Engine, Run, RunConfig, RunHandle, RunSummary
    from lts_core.world.tasks import Doc, Suite, Task, TaskFileError, load_suite, load_tasks


def __getattr__(name: str) -> Any:
    if name == "queries":
        return importlib.import_module(".record.queries", __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'lts_core' has no attribute {name!r}")


__all__ = ["BACKENDS", "EMBEDDERS", "EXECUTORS", "POLICIES", "BenchConfig", "ConfigError", "Doc",
           "Engine", "Run", "RunConfig", "RunHandle", "RunSummary", "Store", "StoreError", "Suite",
           "Task", "TaskFileError", "TrainConfig", "TrainingHandle", "load_suite", "load_tasks",
           "queries", "run_bench", "start_training", "train"]
__version__ = "0.1.0"
