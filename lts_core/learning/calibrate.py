"""Choose the learned policy's P(YES) threshold on a validation split of the training suite.

``calibrate_checkpoint`` plays ``none`` and ``learned`` at each candidate threshold on the held-out
slice (``TrainConfig.val_tasks`` x ``val_seeds``, K = ``teams``, virtual executor) and applies the
rule written here before any result was seen (our choice, not the paper's): **the lowest mean
runtime among the thresholds whose EM is at least ``none``'s EM minus 1 point; if none qualifies, the
highest EM (ties: lower runtime)**. The threshold and the whole curve are stored in the checkpoint's
meta and its sidecar JSON, and ``learned`` uses that threshold by default (and the answer rule it
was calibrated with, ``answers``). Dev is never used here.

With ``workers`` > 1 (and no ``ray_address``: the workers read the checkpoint from this disk) the
runs are played on local Ray workers (``scale.play_runs``), with the same figures as in sequence.

Thread-safety: one calibration per engine at a time.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from lts_core.registry import baseline_policy
from lts_core.runtime.engine import Engine, RunConfig
from lts_core.scale.pool import ScaleOptions, play_runs

if TYPE_CHECKING:
    from lts_core.learning.train_config import TrainConfig

EM_SLACK = 0.01  # "EM at least none's minus 1 point"


@dataclass
class Calibration:
    threshold: float
    rule: str
    tasks: str
    seeds: list[int]
    teams: int
    none: dict[str, float]
    curve: list[dict[str, float]] = field(default_factory=list)  # threshold, em, runtime_s, admit
    answers: str = "policy"  # who decided answer steps on the curve (policies/vote.py), stored too


def choose(none_em: float, curve: list[dict[str, float]]) -> float:
    """The rule above, on ``curve`` rows {threshold, em, runtime_s}.

    >>> choose(0.80, [{"threshold": 0.1, "em": 0.70, "runtime_s": 200.0},
    ...               {"threshold": 0.5, "em": 0.795, "runtime_s": 260.0}])
    0.5
    """
    ok = [r for r in curve if r["em"] >= none_em - EM_SLACK - 1e-9]
    if ok:
        return min(ok, key=lambda r: (r["runtime_s"], -r["threshold"]))["threshold"]
    return max(curve, key=lambda r: (r["em"], -r["runtime_s"]))["threshold"]


def calibrate_checkpoint(engine: Engine, checkpoint: Path, cfg: TrainConfig,
                         progress: bool = False, answers: str = "policy") -> Calibration:
    """Play the validation slice, choose the threshold, store it with the checkpoint; ``learned``
    plays with the answer rule ``answers`` (``policies/vote.py``), stored beside the threshold."""
    suite = engine.suite(cfg.suite)
    tasks = suite.tasks[cfg.val_slice()]
    if not tasks:
        raise ValueError(f"val_tasks {cfg.val_tasks} selects no task of suite {cfg.suite}")
    batch = "calib-" + uuid.uuid4().hex[:8]
    settings = [(t, seed, task) for t in (None, *cfg.thresholds) for seed in cfg.val_seeds
                for task in tasks]  # `none` first, then each threshold: the sequential order
    jobs = [(task, RunConfig(teams=cfg.teams, policy=baseline_policy() if t is None else "learned",
                             policy_options={} if t is None else {
                                 "checkpoint": str(checkpoint), "threshold": t, "explain": False,
                                 "answers": answers},
                             backend=cfg.backend, backend_options=dict(cfg.backend_options),
                             executor="virtual", max_steps=cfg.max_steps, seed=seed,
                             embedder=cfg.embedder)) for t, seed, task in settings]
    bar = None
    if progress:
        import sys

        from tqdm import tqdm

        bar = tqdm(total=len(jobs), desc="calibrate", unit="run", file=sys.stderr)
    opts = ScaleOptions.of(cfg)
    if opts.enabled and not opts.ray_address:  # local workers read the checkpoint from this disk
        done = play_runs(engine, jobs, cfg.suite, batch, opts,
                         progress=(lambda n, total: bar.update(1)) if bar else None)
    else:
        done = []
        for task, rc in jobs:
            done.append(engine.run_task(task, suite, rc, batch_id=batch))
            if bar:
                bar.update(1)
    if bar:
        bar.close()
    rows: dict[float | None, list[tuple[float, float, float]]] = {}
    for (t, _, _), s in zip(settings, done, strict=True):
        r = s.record
        admit = s.admitted / s.decisions if s.decisions else 0.0
        rows.setdefault(t, []).append((float(r.em or 0.0), float(r.runtime_s or 0.0), admit))

    def mean(t: float | None) -> dict[str, float]:
        a = np.array(rows[t])
        return {"em": round(float(a[:, 0].mean()), 4), "runtime_s": round(float(a[:, 1].mean()), 2),
                "admit": round(float(a[:, 2].mean()), 4)}

    none = mean(None)
    curve = [{"threshold": t, **mean(t)} for t in cfg.thresholds]
    cal = Calibration(choose(none["em"], curve), "lowest runtime with EM >= none - 1 point",
                      cfg.val_tasks, list(cfg.val_seeds), cfg.teams, none, curve, answers)
    store_threshold(checkpoint, cal)
    return cal


def store_threshold(checkpoint: Path, cal: Calibration) -> None:
    """Write the calibration into the checkpoint's meta (weights unchanged) and its sidecar."""
    import torch

    from lts_core.policies.controller import write_sidecar

    blob = torch.load(checkpoint, map_location="cpu", weights_only=True)
    blob.setdefault("meta", {})["threshold"] = cal.threshold
    blob["meta"]["answers"] = cal.answers
    blob["meta"]["calibration"] = _plain(asdict(cal))
    tmp = checkpoint.with_suffix(checkpoint.suffix + ".tmp")
    torch.save(blob, tmp)
    tmp.replace(checkpoint)
    write_sidecar(checkpoint, {"threshold": cal.threshold, "answers": cal.answers,
                               "calibration": _plain(asdict(cal))})


def _plain(d: Any) -> Any:
    return json.loads(json.dumps(d))
