"""lts_core: the Learning-to-Share engine (runs without Streamlit).

Public API::

    from lts_core import Engine, RunConfig, Store
    engine = Engine(Store("~/lts.duckdb"))
    summary = engine.run_task(engine.suite("demo").tasks[0], "demo", RunConfig(policy="dedup"))
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
                         "tasks")}

if TYPE_CHECKING:
    from .engine import ConfigError, Engine, Run, RunConfig, RunHandle, RunSummary
    from .store import Store, StoreError
    from .tasks import Doc, Suite, Task, TaskFileError, load_suite, load_tasks


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'lts_core' has no attribute {name!r}")


__all__ = ["ConfigError", "Doc", "Engine", "Run", "RunConfig", "RunHandle", "RunSummary", "Store",
           "StoreError", "Suite", "Task", "TaskFileError", "load_suite", "load_tasks"]
__version__ = "0.1.0"
