"""Build ``lts_core/assets/demo/embeddings-minilm.npz``: MiniLM vectors of the one-click demo's texts.

    .venv/bin/python scripts/build_demo_embeddings.py

Plays, with an empty embedding cache, what a new user's first minutes play on the demo task: the
one-click demo (its exact settings, ``app.views.launch.DEMO``), the no-memory counterfactual the
dashboard plays beside it, and the Launch form's default settings on the virtual executor for seeds
0-2 with ``none``, ``all``, ``dedup`` and ``learned``. Every vector is the model's own output for that
text; the dashboard's embedder imports them into the disk cache once, so a machine's very first demo
does not wait for the model to load. Texts the file lacks are embedded as usual.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    out = ROOT / "lts_core" / "assets" / "demo" / "embeddings-minilm.npz"
    with tempfile.TemporaryDirectory() as d:
        os.environ["LTS_CACHE_DIR"] = str(Path(d) / "cache")
        if out.exists():
            out.unlink()  # rebuild from nothing: only what these runs embed
        from app.views.launch import DEMO
        from lts_core import Engine, RunConfig, Store
        from lts_core.world.embeddings import get_embedder

        engine = Engine(Store(Path(d) / "demo.duckdb"))
        suite = engine.suite(DEMO["suite"])
        task = suite.tasks[0]
        demo = RunConfig(teams=DEMO["teams"], policy=DEMO["policy"], executor=DEMO["executor"],
                         speed=DEMO["speed"], embedder=DEMO["embedder"])
        engine.run_task(task, suite, demo)
        for policy in ("none", "all", "dedup", "learned"):
            for seed in (0, 1, 2):
                engine.run_task(task, suite, RunConfig(teams=3, policy=policy, seed=seed,
                                                       executor="virtual", embedder="minilm"))
        engine.store.close()
        n = get_embedder("minilm").disk.export(out)
    print(f"wrote {out.relative_to(ROOT)}: {n} vectors, {out.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
