"""The Training page's background job: ``lts_core.learning.training_jobs`` (one training per process).

``start_training(engine, **options)`` starts ``lts_core.learning.train.train`` through it; the handle's
``epochs_done`` is the progress, ``stop()`` the Stop button. No Streamlit here.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from lts_core.learning.training_jobs import TrainingHandle, current_training
from lts_core.learning.training_jobs import start_training as _start


def trainer_available() -> bool:
    try:
        return importlib.util.find_spec("lts_core.learning.train") is not None
    except (ImportError, ValueError):
        return False


def entry_point():
    """The trainer: ``lts_core.learning.train.train``."""
    from lts_core.learning.train import train

    return train


def start_training(engine: Any, **options: Any) -> TrainingHandle:
    return _start(engine, train_fn=entry_point(), **options)


__all__ = ["TrainingHandle", "current_training", "entry_point", "start_training", "trainer_available"]
