"""``lts calibrate``: choose a trained controller's P(YES) threshold again, on a held-out slice.

The checkpoint's own training config says which suite, K and back-end it was trained with and on
which tasks; the slice given here must not overlap those tasks. The rule is ``calibrate.py``'s; the
weights never change (``--out`` writes a calibrated copy, checkpoint, sidecar and training memory).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lts_core.cli.learn import StoreOpener, _floats, _ints, _scale_fields
from lts_core.policies.vote import ANSWER_RULES
from lts_core.scale.pool import add_scale_args


def cmd_calibrate(args: argparse.Namespace, open_store: StoreOpener) -> int:
    """Choose a checkpoint's threshold again, on a validation slice given here; weights unchanged."""
    import shutil

    from lts_core.learning.calibrate import calibrate_checkpoint
    from lts_core.learning.train_config import TrainConfig
    from lts_core.policies.controller import load_checkpoint
    from lts_core.runtime.engine import Engine

    src = Path(args.checkpoint)
    try:
        _, blob = load_checkpoint(src)
        cfg = TrainConfig.from_dict(blob.get("meta", {}).get("train_config", {}))
        trained_on = TrainConfig.from_dict(cfg.to_dict())
        cfg.val_tasks = args.val_tasks
        if args.val_seeds:
            cfg.val_seeds = args.val_seeds
        if args.thresholds:
            cfg.thresholds = args.thresholds
        if args.suite:
            cfg.suite = args.suite
        for k, v in _scale_fields(args).items():  # this command's workers, not the training's
            setattr(cfg, k, v)
        cfg.validate()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    known = bool(blob.get("meta", {}).get("train_config"))  # older files may not say what they saw
    if known and cfg.suite == trained_on.suite and not trained_on.episodes_from_db:
        idx = list(range(10_000))  # task positions stand in for the tasks
        overlap = sorted(set(idx[cfg.val_slice()]) & set(trained_on.training_tasks(idx)))
        if overlap:
            print(f"error: validation tasks {cfg.val_tasks} overlap the checkpoint's training tasks "
                  f"of {cfg.suite} (e.g. task {overlap[0]}); choose a held-out slice",
                  file=sys.stderr)
            return 2
    engine = Engine(open_store(args))
    if not engine.suite(cfg.suite).tasks[cfg.val_slice()]:  # before anything is written
        print(f"error: val_tasks {cfg.val_tasks} selects no task of suite {cfg.suite}",
              file=sys.stderr)
        return 2
    dst = Path(args.out) if args.out else src
    if dst != src:  # the checkpoint, its sidecar and its training memory travel together
        from lts_core.policies.explain import TrainingMemory

        for a, b in ((src, dst), (src.with_suffix(".json"), dst.with_suffix(".json")),
                     (TrainingMemory.path_for(src), TrainingMemory.path_for(dst))):
            if a.is_file():
                shutil.copyfile(a, b)
    answers = args.answers or blob.get("meta", {}).get("answers") or "policy"
    cal = calibrate_checkpoint(engine, dst, cfg, progress=not args.quiet, answers=answers)
    none = cal.none
    print(f"SIMULATED | {cfg.suite} tasks {cal.tasks} x seeds {cal.seeds} | K={cal.teams} | "
          f"none: EM {100 * none['em']:.1f}, {none['runtime_s']:.1f} s")
    print(f"{'threshold':>9} {'EM':>6} {'runtime_s':>9} {'x none':>6} {'admit%':>6}")
    for r in cal.curve:
        mark = "  <- chosen" if r["threshold"] == cal.threshold else ""
        print(f"{r['threshold']:>9g} {100 * r['em']:>6.1f} {r['runtime_s']:>9.1f} "
              f"{r['runtime_s'] / none['runtime_s']:>6.2f} {100 * r['admit']:>6.1f}{mark}")
    print(f"\nthreshold {cal.threshold} ({cal.rule}; answers: {cal.answers}) stored in {dst} and "
          "its sidecar")
    return 0


def add_calibrate_parser(sub, open_store: StoreOpener) -> None:
    ca = sub.add_parser("calibrate", help="choose a trained controller's P(YES) threshold on a "
                        "validation slice (docs/controller.md)",
                        description="Plays none and learned at each threshold on the slice "
                        "(virtual executor, the checkpoint's suite, K and back-end) and stores the "
                        "threshold the calibration rule picks; the weights do not change.")
    a = ca.add_argument
    a("checkpoint", help="a checkpoint written by lts train")
    a("--val-tasks", required=True, help="START:END slice of the suite, outside the training tasks")
    a("--val-seeds", type=_ints, help="seeds (default: the checkpoint's)")
    a("--thresholds", type=_floats, help="candidates (default: the checkpoint's)")
    a("--suite", help="another suite to calibrate on (default: the checkpoint's training suite)")
    a("--out", help="write a calibrated copy here instead of changing the checkpoint")
    a("--answers", choices=ANSWER_RULES, help="who decides final answers: the controller (policy) "
      "or the vote rule (decided: only an answer that decides the majority vote is shared); "
      "stored with the threshold (default: the checkpoint's, else policy)")
    a("--quiet", "-q", action="store_true")
    add_scale_args(ca)
    ca.set_defaults(fn=lambda args: cmd_calibrate(args, open_store))
