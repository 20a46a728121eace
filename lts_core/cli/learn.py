"""``lts train``: the controller's trainer, and the flag parsers the learning commands share.

``add_train_parser`` registers the sub-command on the main parser (``cli/main.py``); ``open_store``
is the CLI's (it prints the recovery note and registers the store for a clean exit). Training flags
left unset take the chosen recipe's value (``recipes.py``); the others default to ``TrainConfig``'s
and ``ControllerConfig``'s values. ``lts bench`` is ``cli/bench.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from lts_core.cli.arg_checks import check_checkpoint_out
from lts_core.learning.recipes import DESCRIPTIONS, RECIPES
from lts_core.registry import backend_help, is_simulated
from lts_core.scale.pool import add_scale_args

StoreOpener = Callable[[argparse.Namespace], object]


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def _ints(s: str) -> list[int]:
    try:
        return [int(x) for x in _csv(s)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated whole numbers, got {s!r}") from None


def _floats(s: str) -> list[float]:
    try:
        return [float(x) for x in _csv(s)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {s!r}") from None


def _scale_fields(args: argparse.Namespace) -> dict:
    """``workers``, ``ray_address``, ``runs_per_worker`` from the flags (lts_core.scale.pool)."""
    return {"workers": args.workers, "ray_address": args.ray_address,
            "runs_per_worker": args.runs_per_worker}


def backend_options(args: argparse.Namespace) -> dict:
    from lts_core.runtime.checks import backend_options_of

    return backend_options_of(args.backend_options, args.api_base)


# ---------------------------------------------------------------------------------------- train
def cmd_train(args: argparse.Namespace, open_store: StoreOpener) -> int:
    from lts_core.learning.train import train
    from lts_core.learning.train_config import train_config_from_args
    from lts_core.policies.controller import ControllerConfig
    from lts_core.runtime.engine import ConfigError, Engine
    from lts_core.scale.pool import ScaleError

    try:
        check_checkpoint_out(args.out)  # before any training
        ctrl = ControllerConfig(width=args.width, layers=args.layers, heads=args.heads, ff=args.ff,
                                init_p_yes=args.init_p_yes, support_input=args.support_input)
        cfg = train_config_from_args(vars(args), backend_options=backend_options(args),
                                     controller=ctrl, **_scale_fields(args))
        cfg.validate()
        from lts_core.scale.pool import ScaleOptions, refuse_secrets

        if ScaleOptions.of(cfg).enabled:
            refuse_secrets([cfg])  # before the database opens (the episode source checks it again)
        if not args.from_db and not args.resume:
            from lts_core.config import Settings
            from lts_core.runtime.checks import check_backend
            from lts_core.world.tasks import load_suite

            check_backend(cfg.backend, cfg.backend_options)  # option types; model, API base, key
            load_suite(cfg.suite, Settings.from_env().data_dir, with_pool=False)  # fail before the DB
    except (ValueError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    store = open_store(args)
    engine = Engine(store)
    overrides = {"epochs": args.epochs} if args.resume and args.epochs else {}
    if args.resume:  # the workers are this command's, not the checkpoint's
        overrides.update(_scale_fields(args))
    try:
        res = train(engine, None if args.resume else cfg, out=args.out, resume=args.resume,
                    progress=not args.quiet, **overrides)
    except KeyboardInterrupt:
        from lts_core import interrupts

        print(f"\ninterrupted ({interrupts.name()}): the last finished epoch's checkpoint can be "
              "resumed (--resume)", file=sys.stderr)
        return interrupts.exit_code()
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except ScaleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    src = "recorded runs" if args.from_db else f"SIMULATED episodes ({args.backend} back-end)" \
        if is_simulated(args.backend) else f"episodes with back-end {args.backend}"
    print(f"\ntraining {res.train_id} on {src} | suite {cfg.suite if not args.resume else '(resumed)'}"
          f" | recipe {cfg.recipe if not args.resume else '(resumed)'}")
    print(f"{'epoch':>5} {'reward':>7} {'EM':>6} {'admit%':>7} {'usage%':>7} {'loss':>8} "
          f"{'episodes':>8} {'runtime_s':>9} {'wall_s':>7}")
    for r in res.epochs:
        ex = json.loads(r.extra_json)
        print(f"{r.epoch:>5} {r.reward:>7.3f} {100 * r.accuracy:>6.1f} {100 * r.admission_rate:>7.1f} "
              f"{100 * r.usage:>7.1f} {r.loss:>8.4f} {r.episodes:>8} {ex.get('runtime_s', 0):>9.1f} "
              f"{r.wall_s:>7.1f}")
    if res.threshold is not None:
        print(f"\nthreshold {res.threshold} chosen on validation tasks {cfg.val_tasks} "
              f"(seeds {cfg.val_seeds}); the curve is in {res.checkpoint.with_suffix('.json')}")
    print(f"\ncheckpoint {res.checkpoint} (weights sha {res.weights_sha}); {res.wall_s:.1f} s wall. "
          f"Use it with --policy learned --policy-options '{{\"checkpoint\": \"{res.checkpoint}\"}}'")
    return 0


def add_train_parser(sub, open_store: StoreOpener) -> None:
    tr = sub.add_parser("train", help="train the learned admission controller (stepwise RL)",
                        description="Unset flags take the recipe's value; docs/controller.md says "
                        "what each does and where each constant comes from.")
    from lts_core.learning.train_config import TrainConfig as T  # light: no torch
    from lts_core.policies.controller_config import ControllerConfig as C

    a = tr.add_argument
    a("--recipe", default="lts", choices=sorted(RECIPES),
      help="named defaults (lts_core/learning/recipes.py; default lts): " + "; ".join(
          f"{n} = {DESCRIPTIONS.get(n, '')}" for n in sorted(RECIPES)).replace("%", "%%"))
    a("--suite", default=T.suite)
    a("--tasks", type=int, default=0, help="first N training tasks (default all)")
    a("--val-tasks", default="", help="START:END slice of the suite held out to calibrate the "
      "P(YES) threshold after training (e.g. 70:100)")
    a("--val-seeds", type=_ints, help="seeds of the calibration runs (default 0,1)")
    a("--thresholds", type=_floats, help="calibration candidates (default 0.05,0.1,0.2,0.3,0.5,0.7)")
    a("--epochs", type=int, help="recipe: v1 4, official 5")
    a("--episodes", "-G", type=int, help="episodes per task G (v1 5, official 4)")
    a("--batch-tasks", type=int, help="tasks per play group (on-line: per gradient step)")
    a("--reuse-passes", type=int, help="passes over the traces after each epoch (0 = on-line "
      "steps; official 10)")
    a("--batch-episodes", type=int, help="with reuse: episodes per gradient step (16)")
    a("--no-accumulate", action="store_true", help="with reuse: this epoch's traces only")
    a("--teams", "-k", type=int, default=T.teams)
    a("--backend", default=T.backend, help=backend_help())
    a("--backend-options", help="JSON object of back-end settings")
    a("--api-base", help="API base URL for an LLM back-end")
    a("--max-steps", type=int, default=T.max_steps)
    a("--embedder", default=T.embedder, help=argparse.SUPPRESS)
    a("--lr", type=float, help="AdamW learning rate (v1 1e-3, official 1e-4)")
    a("--weight-decay", type=float, default=T.weight_decay)
    a("--grad-clip", type=float, default=T.grad_clip)
    a("--temperature", type=float, help="sampling temperature (1.2)")
    a("--epsilon", type=float, help="exploration mixed into sampling (official 0.1)")
    a("--lambda-first", type=float, help="weight of R_first (1)")
    a("--beta", type=float, help="usage bonus (v1 1.0, official 0.5)")
    a("--bonus-when", choices=["reward", "advantage"],
      help="usage bonus when R > 0 (v1, the paper's wording) or A > 0 (official)")
    a("--lambda-sparse", type=float, help="weight of the sparsity term P(YES) (v1 0.3, official 0.1)")
    a("--skip-zero", choices=["yes", "no"],
      help="skip decisions with A_t ~ 0 entirely (official yes, v1 no)")
    a("--usage-penalty", type=float, help="ours: negative usage credit for a fetched entry of an "
      "episode with A < 0 (0 = off)")
    a("--wrong-penalty", type=float, help="ours: penalty for an admitted entry whose content was "
      "wrong and that another team fetched (0 = off; live and Ray episodes, not --from-db)")
    a("--objective", choices=["rl", "oracle"],
      help="rl: stepwise RL with the credit above (every recipe but imitate); oracle (ours, sim "
      "only): cross-entropy against the oracle's label, whether the step's entry can serve a team "
      "(the credit flags above then have no effect; --temperature and --epsilon still shape the "
      "sampled episodes)")
    a("--cost-alpha", type=float, help="ours: reward -= alpha * runtime / runtime of none on the "
      "same task and seed (0 = off)")
    a("--reward-metric", choices=["f1", "em"], default=T.reward_metric)
    a("--no-usage-bonus", action="store_true", help="ablation: beta = 0")
    a("--no-sparsity", action="store_true", help="ablation: lambda_sparse = 0")
    a("--no-group-norm", action="store_true",
      help="ablation: batch-mean baseline instead of per-task group normalisation")
    a("--width", type=int, default=C.width)
    a("--layers", type=int, default=C.layers)
    a("--heads", type=int, default=C.heads)
    a("--ff", type=int, default=C.ff)
    a("--init-p-yes", type=float, default=C.init_p_yes)
    a("--support-input", action="store_true",
      help="ours: the controller also reads the share of the names s quotes that o contains")
    a("--seed", type=int, default=T.seed)
    a("--out", help="checkpoint file (default: checkpoints/<train id>.pt beside the DB)")
    a("--resume", help="continue from a checkpoint (its settings; --epochs may grow)")
    a("--from-db", help="train off-line on the runs recorded in this DuckDB file")
    a("--source-filter", help="with --from-db: SQL condition on runs, e.g. \"backend LIKE '%%/%%'\"")
    a("--quiet", "-q", action="store_true")
    add_scale_args(tr)
    tr.set_defaults(fn=lambda args: cmd_train(args, open_store))
