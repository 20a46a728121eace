"""The ``lts`` command line: run, runs, show, export, data. (``lts --help`` for all of it.)"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from pathlib import Path

from lts_core import config as _config  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP first)
from lts_core import interrupts
from lts_core.cli.arg_checks import count as _count
from lts_core.cli.data import cmd_data, cmd_export
from lts_core.config import Settings
from lts_core.registry import EXECUTORS, POLICIES, backend_help
from lts_core.runtime.run_config import STOP_RULES
from lts_core.runtime.run_config import RunConfig as R
from lts_core.scale.pool import add_scale_args


def _csv(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def _ints(s: str) -> list[int]:
    try:
        return [int(x) for x in _csv(s)]
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {s!r}") from e


_OPEN_STORES: list = []  # closed by main() however a command ends (error exits included)


def _open_store(args: argparse.Namespace, read_only: bool = False):
    from lts_core.record.store import Store

    path = Path(args.db) if args.db else Settings.from_env().db_path
    store = Store(path, read_only=read_only)
    _OPEN_STORES.append(store)
    if store.interrupted_on_open:
        print(f"note: {store.interrupted_on_open} run(s) left running by a stopped process were "
              "marked interrupted", file=sys.stderr)
    return store


# ------------------------------------------------------------------------------------------ run
def cmd_run(args: argparse.Namespace) -> int:
    from lts_core.cli.run import cmd_run as run

    return run(args, _open_store)


# ------------------------------------------------------------------------------------ runs/show
def cmd_runs(args: argparse.Namespace) -> int:
    import pandas as pd

    from lts_core.record import queries

    store = _open_store(args)
    filters = {"status": args.status, "batch": args.batch}
    df = queries.list_runs(store, **filters, limit=args.limit, offset=args.offset)
    total = queries.count_runs(store, **filters)
    if df.empty:
        print(f"no runs at offset {args.offset} ({total} match)" if total else
              "no runs match those filters" if any(filters.values()) else
              "no runs recorded yet: try `lts run --suite demo`")
    else:
        df = df.assign(runtime_s=df.runtime_s.round(1), f1=df.f1.round(2),
                       created=pd.to_datetime(df.created_at, unit="s").dt.strftime("%Y-%m-%d %H:%M:%S"))
        cols = ["run_id", "batch_id", "suite", "task_id", "policy", "backend", "teams", "seed",
                "status", "runtime_s", "em", "f1", "created"]
        print(df[cols].to_string(index=False))
        print(f"\n{len(df)} of {total} runs (newest first; --limit/--offset to page)")
    store.close()
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from lts_core.record import queries
    from lts_core.secrets import redact_text

    store = _open_store(args)
    r = queries.get_run(store, args.run_id, error_detail=True)
    if r is None:
        print(f"error: no run {args.run_id!r}; list them with `lts runs`", file=sys.stderr)
        return 2
    for col in ("error", "error_detail"):  # masked on write; again here for files from older builds
        if isinstance(r.get(col), str):
            r[col] = redact_text(r[col])
    sim = " [SIMULATED]" if r["simulated"] else ""
    print(f"run {r['run_id']}{sim}: {r['suite']}/{r['task_id']}  policy={r['policy']} "
          f"backend={r['backend']} K={r['teams']} seed={r['seed']} executor={r['executor']} "
          f"stop={r['stop']}")
    print(f"Q: {r['question']}\ngold: {r['gold']}\nanswer: {r['answer']}  EM={r['em']} "
          f"F1={r['f1']}  status={r['status']}  runtime={r['runtime_s']} s")
    if r["error"]:
        print(f"error: {_first_line(r['error'])}")
    if args.full:
        for col in ("error", "error_detail"):  # error_detail: the traceback, where recorded
            if isinstance(r.get(col), str) and r[col].strip():
                print(f"--- {col}\n{r[col]}")
    elif _first_line(r["error"]) != (r["error"] or "").strip() or isinstance(r["error_detail"], str):
        print("(the full error text: `lts show RUN_ID --full`)")
    teams = queries.teams(store, args.run_id)
    steps = queries.steps(store, args.run_id)
    reads = queries.reads(store, args.run_id)
    for _, t in teams.iterrows():
        print(f"\n== team {t.team_idx}: {t.status}, {t.steps} steps, answer={t.answer!r}"
              + (f", error={_first_line(redact_text(t.error))}" if t.error else ""))
        mine = steps[steps.team_idx == t.team_idx].sort_values("step_idx")
        for _, s in mine.iterrows():
            adm = ""
            if s.decision != "none":
                adm = f"  [{'ADMIT' if s.decision == 'admitted' else 'skip '} {s.score:.2f}]"
            print(f"  {s.step_idx:>2} {s.t_start:7.1f}-{s.t_end:7.1f}s {s.action:<11} {s.s[:90]}{adm}")
    if not reads.empty:
        cross = int(reads.cross_team.sum())
        print(f"\nmemory: {len(reads)} reads ({cross} cross-team) of "
              f"{reads.entry_id.nunique()} entries")
    store.close()
    return 0


def _first_line(text: str | None) -> str:
    lines = (text or "").strip().splitlines()
    return lines[0][:300] if lines else ""


# ---------------------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lts", description="Learning to Share: parallel agent teams "
                                "with a selectively shared memory (engine CLI).")
    p.add_argument("--db", help="DuckDB file (default: $LTS_DB or ~/.local/share/lts/lts.duckdb)")
    sub = p.add_subparsers(dest="cmd", required=True)

    r = sub.add_parser("run", help="run K parallel teams on a suite's tasks and print figures",
                       description="Every setting is checked before the first run starts.",
                       epilog="exit status: 0 every run finished, 1 a run failed (each named on "
                       "stderr), 2 a bad setting or task file, 130 Ctrl-C or SIGTERM (the run in "
                       "progress is recorded as interrupted)")
    r.add_argument("--suite", default="demo", help="demo | hotpotqa-dev | hotpotqa-train | FILE.jsonl")
    r.add_argument("--tasks", help="comma-separated task ids (default: all)")
    r.add_argument("--limit", type=_count(1), help="only the first N tasks")
    r.add_argument("--teams", "-k", type=int, default=R.teams)
    r.add_argument("--policy", default=R.policy, help=" | ".join(POLICIES.names())
                   + " (comma-separated to compare several)")
    r.add_argument("--backend", default=R.backend, help=backend_help())
    r.add_argument("--backend-options", help="JSON object of back-end settings")
    r.add_argument("--api-base", help="API base URL for an LLM back-end")
    r.add_argument("--policy-options", help="JSON object of policy settings, e.g. "
                   "'{\"model\": \"openai/gpt-4o-mini\"}' for llm-judge; with several policies "
                   "key it by policy name: '{\"llm-judge\": {...}}'")
    r.add_argument("--executor", default=R.executor, help=" | ".join(EXECUTORS.names()))
    r.add_argument("--seed", type=int, default=R.seed)
    r.add_argument("--seeds", type=_ints, help="comma-separated seeds (overrides --seed)")
    r.add_argument("--max-steps", type=int, default=R.max_steps)
    r.add_argument("--stop", default=R.stop, help=" | ".join(STOP_RULES))
    r.add_argument("--speed", type=float, default=R.speed, help="threads: clock seconds per real second")
    r.add_argument("--no-latency", action="store_true", help="tools take no modelled time")
    r.add_argument("--no-pool", action="store_true", help="search only the task's own paragraphs")
    r.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    add_scale_args(r)  # --workers, --ray-address, --runs-per-worker (docs/scale.md)
    r.set_defaults(fn=cmd_run)

    rs = sub.add_parser("runs", help="list recorded runs, newest first")
    rs.add_argument("--limit", type=_count(1), default=20)
    rs.add_argument("--offset", type=_count(0), default=0)
    rs.add_argument("--status")
    rs.add_argument("--batch")
    rs.set_defaults(fn=cmd_runs)

    sh = sub.add_parser("show", help="print one run team by team")
    sh.add_argument("run_id")
    sh.add_argument("--full", action="store_true", help="print the whole error text (traceback)")
    sh.set_defaults(fn=cmd_show)

    ex = sub.add_parser("export", help="write one run's rows to Parquet or JSONL")
    ex.add_argument("run_id")
    ex.add_argument("--format", choices=["parquet", "jsonl"], default="parquet")
    ex.add_argument("--out", default="exports")
    ex.set_defaults(fn=lambda a: cmd_export(a, _open_store))

    from lts_core.cli.bench import add_bench_parser
    from lts_core.cli.calibrate import add_calibrate_parser
    from lts_core.cli.learn import add_train_parser

    add_train_parser(sub, _open_store)
    add_calibrate_parser(sub, _open_store)
    add_bench_parser(sub, _open_store)

    d = sub.add_parser("data", help="fetch or convert the HotpotQA dev set")
    d.add_argument("action", choices=["fetch", "convert"])
    d.add_argument("dataset", choices=["hotpotqa"])
    d.add_argument("source", nargs="?", help="convert: the official hotpot_dev_distractor JSON file")
    d.add_argument("--out", help="folder to write to (default: the data folder)")
    d.add_argument("--url", help="override the download URL")
    d.add_argument("--limit", type=_count(1), help="keep the first N questions")
    d.set_defaults(fn=cmd_data)
    return p


def _interrupted() -> int:
    print(f"\ninterrupted ({interrupts.name()})", file=sys.stderr)
    return interrupts.exit_code()


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit status: 0 done, 1 a run failed or an internal error, 2 a bad setting,
    file or database, 130 Ctrl-C or SIGTERM; every error is one line on stderr, no traceback
    (``LTS_DEBUG=1`` shows it for internal errors)."""
    interrupts.install()  # also where the parent started us with SIGINT ignored
    try:
        code = _command(argv)
    finally:
        while _OPEN_STORES:  # an error exit must not leave the file open (and locked)
            _OPEN_STORES.pop().close()
        if argv is not None:  # called in-process (tests): give the caller its handlers back; the
            interrupts.restore()  # `lts` command keeps them to the end (no traceback on exit)
    if argv is None and interrupts.requested():
        # Everything is committed and closed: skip the interpreter's teardown of torch & co.
        # (seconds), so that an interrupt ends the command at once.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code


def _command(argv: list[str] | None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.fn(args) or 0)
    except KeyboardInterrupt:
        return _interrupted()
    except Exception as e:
        if interrupts.requested():  # a library turned the signal into an ordinary error
            return _interrupted()
        store = sys.modules.get("lts_core.record.store")  # a StoreError comes only once it is loaded
        # ConfigError and TaskFileError are ValueErrors
        if isinstance(e, ValueError | OSError) or (store and isinstance(e, store.StoreError)):
            print(f"error: {e}", file=sys.stderr)
            return 2
        print(f"error: internal error {type(e).__name__}: {e} (LTS_DEBUG=1 shows the traceback)",
              file=sys.stderr)
        if os.environ.get("LTS_DEBUG"):
            traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
