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

from . import config as _config  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm)

# Imported on first use: ``import lts_core.cli`` stays light, so the ``lts`` command installs its
# Ctrl-C handling before the heavy imports (DuckDB, pandas, torch) and no key press gives a traceback.
_LAZY = {**dict.fromkeys(["ConfigError", "Engine", "Run", "RunConfig", "RunHandle", "RunSummary"],
                         "engine"),
         **dict.fromkeys(["Store", "StoreError"], "store"),
         **dict.fromkeys(["Doc", "Suite", "Task", "TaskFileError", "load_suite", "load_tasks"],
                         "tasks"),
         **dict.fromkeys(["BACKENDS", "EMBEDDERS", "EXECUTORS", "POLICIES"], "registry"),
         **dict.fromkeys(["BenchConfig", "run_bench"], "bench"),
         **dict.fromkeys(["TrainConfig", "train"], "train"),
         **dict.fromkeys(["TrainingHandle", "start_training"], "training_jobs")}

if TYPE_CHECKING:
    from .bench import BenchConfig, run_bench
    from .engine import ConfigError, Engine, Run, RunConfig, RunHandle, RunSummary
    from .registry import BACKENDS, EMBEDDERS, EXECUTORS, POLICIES
    from .store import Store, StoreError
    from .tasks import Doc, Suite, Task, TaskFileError, load_suite, load_tasks
    from .train import TrainConfig, train
    from .training_jobs import TrainingHandle, start_training


def __getattr__(name: str) -> Any:
    if name == "queries":
        return importlib.import_module(".queries", __name__)
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'lts_core' has no attribute {name!r}")


__all__ = ["BACKENDS", "EMBEDDERS", "EXECUTORS", "POLICIES", "BenchConfig", "ConfigError", "Doc",
           "Engine", "Run", "RunConfig", "RunHandle", "RunSummary", "Store", "StoreError", "Suite",
           "Task", "TaskFileError", "TrainConfig", "TrainingHandle", "load_suite", "load_tasks",
           "queries", "run_bench", "start_training", "train"]
__version__ = "0.1.0"
