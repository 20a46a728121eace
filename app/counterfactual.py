"""The no-sharing counterfactual of a run: the same task and seed with memory off.

``find_or_play(svc, run)`` returns the recorded counterfactual (``data.counterfactual``) or, for a
simulated run without one, starts it in a background thread on the virtual executor (cheap: no
waiting on a clock) as batch ``cf-<run id>`` and returns None until it is recorded. LLM runs are
never replayed (that would spend money): the page says there is none. ``compare(run, cf)`` gives
the figures the pages show. No Streamlit here.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass
from typing import Any

from app import data
from lts_core.registry import baseline_policy
from lts_core.runtime.engine import RunConfig

_lock = threading.Lock()
_playing: dict[str, threading.Thread] = {}
_unplayable: set[str] = set()  # runs whose task cannot be replayed here (suite not available)


@dataclass
class Counterfactual:
    run_id: str
    runtime_s: float | None  # with sharing
    runtime_off: float | None  # without
    saved_pct: float | None  # 100 * (1 - with / without)
    same_answer: bool | None
    em: float | None
    em_off: float | None
    played: bool  # played by the dashboard (batch cf-...), not recorded by a user


def config_of(run: dict[str, Any]) -> RunConfig:
    """The run's RunConfig with memory off (the registry's baseline), on the virtual executor."""
    return dataclasses.replace(RunConfig.of_recorded(run.get("config_json")),
                               policy=baseline_policy(), policy_options={}, executor="virtual")


def playing(run_id: str) -> bool:
    with _lock:
        th = _playing.get(run_id)
        return th is not None and th.is_alive()


def find_or_play(svc: Any, run: dict[str, Any]) -> dict[str, Any] | None:
    """The recorded counterfactual run, or None (after starting one for a finished sim run)."""
    cf = data.counterfactual(svc.store, run)
    if cf is not None and cf["status"] == "finished":
        return cf
    if not run.get("simulated") or run["status"] != "finished" or not data.memory_on(run):
        return None
    with _lock:
        if run["run_id"] in _playing or run["run_id"] in _unplayable:
            return None
        try:
            suite = svc.engine.suite(run["suite"])
            task = suite.get(run["task_id"])
            cfg = config_of(run)
        except Exception:  # suite or task not available here, or settings no longer valid
            _unplayable.add(run["run_id"])
            return None

        def target() -> None:
            try:
                svc.engine.run_task(task, suite, cfg, batch_id=f"cf-{run['run_id']}")
                svc.engine.store.flush()  # "done playing" means its rows can be read
            except Exception:  # shown as "not available"; the run's own error row says why
                pass

        th = threading.Thread(target=target, name=f"lts-cf-{run['run_id']}", daemon=True)
        _playing[run["run_id"]] = th
        th.start()
    return None


def compare(run: dict[str, Any], cf: dict[str, Any]) -> Counterfactual:
    a, b = run.get("runtime_s"), cf.get("runtime_s")
    pct = 100 * (1 - a / b) if a is not None and b else None
    same = None
    if run.get("answer") is not None and cf.get("answer") is not None:
        same = str(run["answer"]).strip().lower() == str(cf["answer"]).strip().lower()
    return Counterfactual(cf["run_id"], a, b, pct, same, run.get("em"), cf.get("em"),
                          data.is_internal_batch(cf.get("batch_id")))
