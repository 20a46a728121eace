"""``lts bench``: policies compared over a suite, K and seeds; tables, CSV and plots
(``lts_core.evaluation.bench``), and ``--poison N`` (``lts_core.evaluation.poison_bench``).

The flags' defaults are ``BenchConfig``'s. Runs in the ``lts`` process, one command at a time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from lts_core.cli.arg_checks import check_folder_out, count
from lts_core.cli.learn import StoreOpener, _csv, _floats, _ints, _scale_fields, backend_options
from lts_core.registry import EXECUTORS, POLICIES, backend_help, bound_policies, is_simulated
from lts_core.scale.pool import add_scale_args


def cmd_bench(args: argparse.Namespace, open_store: StoreOpener) -> int:
    from tqdm import tqdm

    from lts_core.evaluation.bench import (
        BenchConfig,
        combine,
        markdown_tables,
        run_bench,
        write_outputs,
    )
    from lts_core.runtime.engine import Engine

    check_folder_out(args.out)  # before any run, as `lts export` does (a ValueError: exit 2)
    if args.combine:
        dirs = [Path(d) for d in _csv(args.combine)]
        missing = [str(d) for d in dirs if not (d / "summary.csv").is_file()]
        if missing:
            print(f"error: no summary.csv in {', '.join(missing)} (an `lts bench --out` folder)",
                  file=sys.stderr)
            return 2
        report = dirs[0] / "report.md"
        title = report.read_text().splitlines()[0] if report.is_file() else ""
        text, paths = combine(dirs, Path(args.out), title)
        print(text + "\n\nWrote: " + ", ".join(str(p) for p in paths))
        return 0
    policies = _csv(args.policies)
    llm = not is_simulated(args.backend)
    if llm and "llm-judge" not in policies and not args.no_judge:
        policies.append("llm-judge")
    from lts_core.runtime.checks import options_per_policy, parse_json_object
    from lts_core.runtime.engine import ConfigError

    try:
        popts = options_per_policy(parse_json_object(args.policy_options, "--policy-options"),
                                   policies)  # as in `lts run`: one object for all, or keyed
        cfg = BenchConfig(suite=args.suite, policies=policies, ks=args.teams, seeds=args.seeds,
                          limit=args.limit or 0, backend=args.backend,
                          backend_options=backend_options(args), policy_options=popts,
                          executor=args.executor, embedder=args.embedder,
                          thresholds=args.thresholds or [], poison=args.poison or 0,
                          poison_at_s=args.poison_at, **_scale_fields(args))
        cfg.validate()
        cfg.check_components()  # every policy and back-end built once: a bad option exits 2 here
        from lts_core.config import Settings
        from lts_core.world.tasks import load_suite

        suite = load_suite(args.suite, Settings.from_env().data_dir, with_pool=False)
        n_tasks = len(suite.tasks[: args.limit or None])
    except (ValueError, ConfigError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    store = open_store(args)
    engine = Engine(store)
    total = len(cfg.ks) * len(cfg.runs()) * len(cfg.seeds) * n_tasks
    if cfg.poison:  # runs every setting without and with the poison (lts_core.evaluation.poison_bench)
        from lts_core.evaluation.poison_bench import cmd_poison

        return cmd_poison(engine, cfg, args, total, n_tasks)
    from lts_core.scale.pool import ScaleError

    try:
        with tqdm(total=total, desc="bench", unit="run", disable=args.quiet,
                  file=sys.stderr) as bar:
            res = run_bench(engine, cfg, progress=lambda i, n: bar.update(1))
    except ScaleError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    label = "SIMULATED agents (sim back-end)" if not llm else f"back-end {args.backend}"
    title = (f"{label} | suite {args.suite} | {n_tasks} tasks x seeds {cfg.seeds} | "
             f"K in {cfg.ks} | executor {cfg.executor} | stop aggregate | batch {res.batch_id}")
    print(f"\n{title}\n")
    print(markdown_tables(res, markdown=not args.plain))
    paths = write_outputs(res, Path(args.out), title)
    print(f"\n{len(res.runs)} runs in {res.wall_s:.1f} s wall. Runtimes are mean clock seconds per "
          f"task{' (modelled)' if not llm else ''}; ± is the std over seeds. Wrote: "
          + ", ".join(str(p) for p in paths))
    bad = res.runs[res.runs.status != "finished"]
    if len(bad):
        print(f"{len(bad)} run(s) did not finish; see `lts runs --batch {res.batch_id}`",
              file=sys.stderr)
        return 1
    return 0


def add_bench_parser(sub, open_store: StoreOpener) -> None:
    from lts_core.evaluation.bench_config import BenchConfig  # light: no engine

    B = BenchConfig()
    b = sub.add_parser("bench", help="compare policies over a suite, K and seeds; tables and plots")
    a = b.add_argument
    a("--suite", default=B.suite)
    a("--policies", default=",".join(B.policies),
      help="comma-separated, of " + " | ".join(POLICIES.names()) + "; llm-judge is added when "
      "--backend is an LLM; with a simulated back-end the bounds (" + ", ".join(bound_policies())
      + ") are always added")
    a("--teams", "-k", type=_ints, default=B.ks, help="comma-separated K")
    a("--seeds", type=_ints, default=B.seeds)
    a("--limit", type=count(1), help="only the first N tasks")
    a("--thresholds", type=_floats, help="also run learned at each P(YES) threshold (rows "
      "learned@T): the learned policy's accuracy/runtime curve")
    a("--poison", type=int, help="plant N wrong entries in every run's bank and run each setting "
      "with and without them: runs that read one, EM lost (lts_core.runtime.poison)")
    a("--poison-at", type=float, default=B.poison_at_s,
      help="clock second at which planted entries appear")
    a("--backend", default=B.backend, help=backend_help())
    a("--backend-options", help="JSON object of back-end settings")
    a("--api-base")
    a("--policy-options", help="JSON object of policy settings, as for `lts run`: one object for "
      "every policy, or keyed by policy name, e.g. '{\"learned\": {\"checkpoint\": \"my.pt\"}}'")
    a("--no-judge", action="store_true", help="do not add llm-judge for an LLM back-end")
    a("--executor", default=B.executor, help=" | ".join(EXECUTORS.names()))
    a("--embedder", default=B.embedder, help=argparse.SUPPRESS)
    a("--out", default="bench-out", help="folder for CSV, report.md and plots")
    a("--plain", action="store_true", help="fixed-width tables instead of Markdown")
    a("--combine", help="comma-separated --out folders of earlier benches: join their tables and "
      "plots into --out without running anything")
    a("--quiet", "-q", action="store_true")
    add_scale_args(b)
    b.set_defaults(fn=lambda args: cmd_bench(args, open_store))
