"""``lts train`` end to end on the demo suite (hash embedder, tiny model): records, checkpoints,
determinism, resume, off-line episodes from recorded runs, and the CLI."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from lts_core.learning.credit import CreditConfig
from lts_core.learning.train import TrainConfig, train
from lts_core.policies.controller import ControllerConfig, load_checkpoint
from lts_core.runtime.engine import RunConfig

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import REPO, lts_command  # noqa: E402

TINY = ControllerConfig(width=32, heads=2, ff=32, layers=1)


def cfg(**kw) -> TrainConfig:
    base = dict(suite="demo", tasks=3, epochs=2, episodes=2, batch_tasks=2, teams=2,
                embedder="hash", controller=TINY)
    base.update(kw)
    return TrainConfig(**base)


def test_train_records_epochs_decisions_and_a_checkpoint(engine, tmp_path):
    res = train(engine, cfg(), out=tmp_path / "c.pt")
    engine.store.flush()
    assert [r.epoch for r in res.epochs] == [1, 2]
    for r in res.epochs:
        assert r.episodes == 6 and 0.0 <= r.admission_rate <= 1.0 and 0.0 <= r.usage <= 1.0
        assert 0.0 <= r.accuracy <= 1.0 and r.reward >= 0.0
    n_dec = engine.store.scalar("SELECT count(*) FROM train_decisions WHERE train_id = ?", [res.train_id])
    n_adm = engine.store.scalar("SELECT count(*) FROM admissions a JOIN runs r USING (run_id) "
                                "WHERE r.batch_id = ?", [f"train-{res.train_id}"])
    assert n_dec == n_adm > 0  # one training row per admission decision of the episodes
    used_ok = engine.store.scalar(
        "SELECT count(*) FROM train_decisions d WHERE train_id = ? AND used AND NOT admitted",
        [res.train_id])
    assert used_ok == 0  # only admitted steps can have been used
    model, blob = load_checkpoint(res.checkpoint)
    assert blob["meta"]["epoch"] == 2 and blob["meta"]["weights_sha"] == res.weights_sha
    assert "optimizer" in blob


def test_imitating_the_oracle_trains_toward_its_label(engine, tmp_path):
    """Recipe imitate end to end: every epoch records the oracle's label rate, and the trained
    controller's P(YES) is higher on the steps the oracle would admit than on the others."""
    c = TrainConfig.from_recipe("imitate", suite="demo", tasks=3, epochs=3, episodes=2, teams=2,
                                embedder="hash", controller=TINY, lr=3e-3)
    res = train(engine, c, out=tmp_path / "i.pt")
    import json

    rates = [json.loads(r.extra_json)["oracle_label_rate"] for r in res.epochs]
    assert all(0.0 < r < 1.0 for r in rates)
    losses = [r.loss for r in res.epochs]
    assert losses[-1] < losses[0]  # the cross-entropy falls
    model, blob = load_checkpoint(res.checkpoint)
    assert blob["meta"]["recipe"] == "imitate"
    from lts_core.learning.episodes import play_episode
    from lts_core.policies.controller import AdmissionController

    suite = engine.suite("demo")
    decs = [d for s in range(3) for d in play_episode(engine, model, suite.tasks[0], c, seed=50 + s,
                                                      batch_id="imitate-check").decisions]
    assert any(d.serves for d in decs) and not all(d.serves for d in decs)

    def gap(m) -> float:  # mean P(YES) on the steps the oracle admits minus on the others
        p = {v: [m.score(d.x) for d in decs if d.serves == v] for v in (True, False)}
        return sum(p[True]) / len(p[True]) - sum(p[False]) / len(p[False])

    torch.manual_seed(c.seed)  # the weights training started from
    assert gap(model) > gap(AdmissionController(c.controller)) + 0.05
    assert blob["meta"]["train_config"]["credit"]["objective"] == "oracle"


def test_training_is_deterministic_and_resume_continues_exactly(engine, tmp_path):
    full = train(engine, cfg(), out=tmp_path / "full.pt")
    again = train(engine, cfg(), out=tmp_path / "again.pt")
    assert full.weights_sha == again.weights_sha
    half = train(engine, cfg(epochs=1), out=tmp_path / "half.pt")
    assert half.weights_sha != full.weights_sha
    resumed = train(engine, resume=tmp_path / "half.pt", out=tmp_path / "half.pt", epochs=2)
    assert [r.epoch for r in resumed.epochs] == [2]
    assert resumed.train_id == half.train_id
    assert resumed.weights_sha == full.weights_sha


def test_bad_settings_are_named(engine):
    with pytest.raises(ValueError, match="reward_metric"):
        train(engine, cfg(reward_metric="bleu"))
    with pytest.raises(ValueError, match="at least 2 episodes"):
        train(engine, cfg(episodes=1))


def test_offline_episodes_from_recorded_runs(engine, demo_suite, tmp_path):
    for seed in (0, 1):
        for t in demo_suite.tasks[:2]:
            engine.run_task(t, demo_suite, RunConfig(teams=2, policy="all", seed=seed,
                                                     embedder="hash"), batch_id="rec")
    engine.store.flush()
    n_adm = engine.store.scalar("SELECT count(*) FROM admissions")
    c = cfg(episodes_from_db=str(engine.store.path), source_filter="batch_id = 'rec'", epochs=1,
            credit=CreditConfig(beta=1.0))
    res = train(engine, c, out=tmp_path / "off.pt")
    engine.store.flush()
    assert res.epochs[0].episodes == 4
    assert res.epochs[0].admission_rate == 1.0  # the logged actions of policy 'all'
    assert engine.store.scalar("SELECT count(*) FROM train_decisions WHERE train_id = ?",
                               [res.train_id]) == n_adm
    with pytest.raises(ValueError, match="no usable recorded runs"):
        train(engine, cfg(episodes_from_db=str(engine.store.path), source_filter="batch_id = 'x'"))


def test_cli_train_prints_the_epochs_and_reproduces_across_processes(tmp_path):
    shas = []
    for i in range(2):
        out = tmp_path / f"cli{i}.pt"
        p = subprocess.run([*lts_command(), "--db", str(tmp_path / f"cli{i}.duckdb"), "train",
                            "--suite", "demo", "--tasks", "2", "--epochs", "1", "--episodes", "2",
                            "--teams", "2", "--embedder", "hash", "--width", "32", "--heads", "2",
                            "--out", str(out), "-q"],
                           cwd=REPO, capture_output=True, text=True, timeout=300)
        assert p.returncode == 0, p.stderr
        assert "SIMULATED" in p.stdout and "admit%" in p.stdout and str(out) in p.stdout
        assert out.is_file() and out.with_suffix(".json").is_file()  # checkpoint + its config
        shas.append(re.search(r"weights sha (\w+)", p.stdout).group(1))
    assert shas[0] == shas[1]  # a fresh process (new hash salt, new DB) trains the same weights
