"""Fixtures for the dashboard's AppTests: three databases (empty, one finished run, a run in progress).

Each database gets the app's own shared services (``app.state._services_for(path)``, the same
``st.cache_resource`` object the pages use), so the run in progress really runs inside the
process the pages read from. Runs use the ``hash`` embedder: no model load, fast tests.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # app_helpers, whatever the rootdir
import app_helpers  # noqa: E402, F401  (puts the repository root on sys.path)

from app import state  # noqa: E402
from lts_core import RunConfig  # noqa: E402
from lts_core.record.records import TrainEpochRecord  # noqa: E402


@pytest.fixture(autouse=True, scope="session")
def _loopback_address():
    """AppTests run as a dashboard on 127.0.0.1 whatever the working directory (``app.main``
    refuses an unset ``server.address``: Streamlit would listen on every interface)."""
    from streamlit import config

    if not config.get_option("server.address"):
        config.set_option("server.address", "127.0.0.1")


@pytest.fixture(scope="session")
def empty_db(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("empty") / "lts.duckdb"


@pytest.fixture(scope="session")
def finished_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("finished") / "lts.duckdb"
    svc = state._services_for(str(path))
    suite = svc.engine.suite("demo")
    svc.engine.run_task(suite.tasks[0], suite, RunConfig(policy="dedup", embedder="hash"),
                        batch_id="b1")
    for ep in range(3):
        svc.store.write(TrainEpochRecord("tr-1", ep, 0.5 + 0.1 * ep, 0.6, 0.9 - 0.1 * ep, 0.2, 1.0 / (ep + 1),
                                         5, 12.0, time.time()))
    svc.store.flush()
    return path


@pytest.fixture(scope="session")
def running_db(tmp_path_factory):
    """A threads run, slowed down, with some steps already recorded; cancelled afterwards."""
    path = tmp_path_factory.mktemp("running") / "lts.duckdb"
    svc = state._services_for(str(path))
    cfg = RunConfig(policy="dedup", embedder="hash", executor="threads", speed=1.5, teams=3)
    job = svc.queue.submit("demo", "demo:01", cfg)
    end = time.monotonic() + 60
    while time.monotonic() < end:
        n = svc.store.query("SELECT count(*) AS n FROM steps").n.iloc[0]
        if job.run_id and n >= 3:
            break
        time.sleep(0.2)
    svc.store.flush()
    assert job.status == "running", (job.status, job.error)
    yield path
    svc.queue.cancel_all()
    assert svc.queue.wait_idle(30)
