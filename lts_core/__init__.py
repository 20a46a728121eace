"""lts_core: the Learning-to-Share engine (runs without Streamlit).

Public API::

    from lts_core import Engine, RunConfig, Store
    engine = Engine(Store("~/lts.duckdb"))
    summary = engine.run_task(engine.suite("demo").tasks[0], "demo", RunConfig(policy="dedup"))
"""

from . import config as _config  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm)
from .engine import ConfigError, Engine, Run, RunConfig, RunHandle, RunSummary
from .store import Store, StoreError
from .tasks import Doc, Suite, Task, TaskFileError, load_suite, load_tasks

__all__ = ["ConfigError", "Doc", "Engine", "Run", "RunConfig", "RunHandle", "RunSummary", "Store",
           "StoreError", "Suite", "Task", "TaskFileError", "load_suite", "load_tasks"]
__version__ = "0.1.0"
