"""``lts export`` (one run's rows to Parquet or JSONL) and ``lts data`` (fetch or convert HotpotQA)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lts_core.config import Settings


def cmd_export(args: argparse.Namespace, open_store: Callable[[argparse.Namespace], Any]) -> int:
    from lts_core.record.export import export_run

    out = Path(args.out)
    if out.exists() and not out.is_dir():
        print(f"error: --out {out} is a file; give a folder (one is made per run inside it)",
              file=sys.stderr)
        return 2
    store = open_store(args)
    try:
        paths = export_run(store, args.run_id, out, args.format)
    except KeyError as e:
        print(f"error: {e.args[0]}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"error: cannot write the export to {out}: {e.strerror or e}"
              + (f" ({e.filename})" if e.filename else ""), file=sys.stderr)
        return 2
    finally:
        store.close()
    for p in paths:
        print(p)
    return 0


def cmd_data(args: argparse.Namespace) -> int:
    from lts_core.world.data_fetch import convert_hotpotqa, fetch_hotpotqa

    out = Path(args.out) if args.out else Settings.from_env().data_dir
    if args.action == "fetch":
        path = fetch_hotpotqa(out, url=args.url, limit=args.limit)
    else:
        if not args.source:
            print("error: convert needs the official hotpot_dev_distractor JSON file as SOURCE",
                  file=sys.stderr)
            return 2
        path = convert_hotpotqa(Path(args.source), out / "hotpotqa_dev.jsonl", limit=args.limit)
    print(f"wrote {path}")
    return 0
