"""Recipes carry the released code's constants; flags override them; reuse passes and the
threshold calibration work end to end (demo suite, hash embedder, tiny model)."""

from __future__ import annotations

import json

import pytest
import torch

from lts_core.learning.calibrate import choose
from lts_core.learning.recipes import recipe
from lts_core.learning.train import TrainConfig, train, train_config_from_args
from lts_core.policies.controller import ControllerConfig, load_checkpoint
from lts_core.policies.learned import LearnedPolicy

TINY = ControllerConfig(width=32, heads=2, ff=32, layers=1)


def test_official_recipe_has_the_released_constants():
    c = TrainConfig.from_recipe("official")
    assert (c.lr, c.episodes, c.reuse_passes, c.batch_episodes, c.accumulate) == (1e-4, 4, 10, 16, True)
    k = c.credit
    assert (k.beta, k.lambda_sparse, k.bonus_when, k.skip_zero, k.epsilon, k.temperature) == \
        (0.5, 0.1, "advantage", True, 0.1, 1.2)
    assert (k.usage_penalty, k.cost_alpha) == (0.0, 0.0)  # our additions are off
    v1 = TrainConfig.from_recipe("v1")
    assert (v1.lr, v1.episodes, v1.reuse_passes, v1.credit.beta, v1.credit.lambda_sparse) == \
        (1e-3, 5, 0, 1.0, 0.3)
    with pytest.raises(ValueError, match="unknown recipe 'bogus'; known: v1, official"):
        recipe("bogus")


def test_imitate_recipe_is_lts_schedule_learning_the_oracle_label():
    c, lts = TrainConfig.from_recipe("imitate"), TrainConfig.from_recipe("lts")
    assert (c.epochs, c.episodes, c.lr, c.reuse_passes) == (lts.epochs, lts.episodes, lts.lr, 0)
    assert (c.credit.objective, c.credit.beta, c.credit.lambda_sparse) == ("oracle", 0.0, 0.0)
    assert lts.credit.objective == "rl" and TrainConfig.from_recipe("official").credit.objective == "rl"
    from lts_core.learning.recipes import DESCRIPTIONS, RECIPES

    assert set(DESCRIPTIONS) == set(RECIPES)  # every recipe says what it is (CLI help, dashboard)


def test_flags_override_the_recipe():
    args = {"recipe": "official", "suite": "demo", "teams": 3, "backend": "sim", "max_steps": 30,
            "embedder": "hash", "weight_decay": 0.01, "grad_clip": 1.0, "reward_metric": "f1",
            "seed": 0, "lr": 3e-4, "usage_penalty": 0.5, "skip_zero": "no", "epochs": None}
    c = train_config_from_args(args)
    assert c.recipe == "official" and c.lr == 3e-4 and c.epochs == 5
    assert c.credit.usage_penalty == 0.5 and c.credit.skip_zero is False and c.credit.beta == 0.5


def test_reuse_passes_train_over_all_epochs_traces(engine, tmp_path):
    c = TrainConfig.from_recipe("official", suite="demo", tasks=2, epochs=2, episodes=2, teams=2,
                                embedder="hash", controller=TINY, reuse_passes=3, batch_episodes=3,
                                lr=1e-3)
    res = train(engine, c, out=tmp_path / "r.pt")
    steps = [json.loads(r.extra_json)["steps"] for r in res.epochs]
    # 4 episodes in epoch 1 (2 batches of <= 3), 8 accumulated in epoch 2 (3 batches), x 3 passes;
    # a batch whose decisions all have A ~ 0 is skipped, so at most that many
    assert 0 < steps[0] <= 6 and steps[0] < steps[1] <= 9
    side = json.loads(res.checkpoint.with_suffix(".json").read_text())
    assert side["recipe"] == "official" and side["train_config"]["credit"]["bonus_when"] == "advantage"


def test_choose_threshold_rule():
    curve = [{"threshold": 0.1, "em": 0.70, "runtime_s": 200.0},
             {"threshold": 0.3, "em": 0.80, "runtime_s": 240.0},
             {"threshold": 0.5, "em": 0.81, "runtime_s": 300.0}]
    assert choose(0.80, curve) == 0.3  # fastest within 1 point of none
    assert choose(0.95, curve) == 0.5  # none qualifies: the most accurate


def test_calibration_stores_the_threshold_the_policy_then_uses(engine, tmp_path):
    c = TrainConfig(suite="demo", tasks=2, epochs=1, episodes=2, teams=2, embedder="hash",
                    controller=TINY, val_tasks="10:12", val_seeds=[0], thresholds=[0.2, 0.9])
    res = train(engine, c, out=tmp_path / "c.pt")
    assert res.threshold in (0.2, 0.9)
    _, blob = load_checkpoint(res.checkpoint)
    assert blob["meta"]["threshold"] == res.threshold
    cal = json.loads(res.checkpoint.with_suffix(".json").read_text())["calibration"]
    assert [r["threshold"] for r in cal["curve"]] == [0.2, 0.9] and cal["tasks"] == "10:12"
    pol = LearnedPolicy(checkpoint=str(res.checkpoint))
    assert pol.threshold == res.threshold and pol.threshold_source == "calibrated (checkpoint)"
    assert LearnedPolicy(checkpoint=str(res.checkpoint), threshold=0.7).threshold == 0.7
    with pytest.raises(ValueError, match="val_tasks must be START:END"):
        TrainConfig(val_tasks="abc").validate()


def test_lts_calibrate_chooses_again_on_a_new_slice_and_keeps_the_weights(engine, tmp_path, capsys):
    from lts_core.cli import main as cli

    c = TrainConfig(suite="demo", tasks=2, epochs=1, episodes=2, teams=2, embedder="hash",
                    controller=TINY, val_tasks="10:12", val_seeds=[0], thresholds=[0.2, 0.9])
    res = train(engine, c, out=tmp_path / "c.pt")
    db = str(tmp_path / "cal.duckdb")
    # a slice that overlaps the training tasks is refused, and nothing is written
    assert cli.main(["--db", db, "calibrate", str(res.checkpoint), "--val-tasks", "1:3"]) == 2
    assert "overlap the checkpoint's training tasks" in capsys.readouterr().err
    out = tmp_path / "recal.pt"
    assert cli.main(["--db", db, "calibrate", str(res.checkpoint), "--val-tasks", "12:14",
                     "--val-seeds", "1", "--thresholds", "0.1,0.5,0.95", "--out", str(out),
                     "--answers", "decided", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "<- chosen" in printed and "stored in" in printed and "answers: decided" in printed
    side = json.loads(out.with_suffix(".json").read_text())
    # the answer rule it was calibrated with is stored beside the threshold and used by default
    assert side["answers"] == side["calibration"]["answers"] == "decided"
    assert LearnedPolicy(checkpoint=str(out)).answers == "decided"
    assert LearnedPolicy(checkpoint=str(res.checkpoint)).answers == "policy"
    cal = side["calibration"]
    assert (cal["tasks"], cal["seeds"]) == ("12:14", [1])
    assert [r["threshold"] for r in cal["curve"]] == [0.1, 0.5, 0.95]
    assert side["threshold"] == cal["threshold"] == LearnedPolicy(checkpoint=str(out)).threshold
    before, after = load_checkpoint(res.checkpoint), load_checkpoint(out)
    assert before[1]["meta"]["calibration"]["tasks"] == "10:12"  # the source is left as it was
    for k, v in before[0].state_dict().items():
        assert torch.equal(v, after[0].state_dict()[k])


def test_cli_bad_settings_fail_before_the_database(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from engine_helpers import REPO, lts_command

    db = tmp_path / "x.duckdb"
    for argv, msg in ((["bench", "--policy-options", "[1,2]"], "must be a JSON object"),
                      (["train", "--suite", str(tmp_path / "nosuch.jsonl")], "no such file"),
                      (["train", "--val-tasks", "9"], "val_tasks must be START:END"),
                      (["train", "--recipe", "bogus"], "invalid choice: 'bogus'"),
                      (["train", "--recipe", "imitate", "--backend", "openai/gpt-4o-mini"],
                       "needs live episodes on the simulator"),
                      (["train", "--recipe", "imitate", "--from-db", str(tmp_path / "r.duckdb")],
                       "needs live episodes on the simulator"),
                      (["train", "--recipe", "imitate", "--cost-alpha", "0.5"],
                       "has no reward in its loss")):
        p = subprocess.run([*lts_command(), "--db", str(db), *argv], cwd=REPO,
                           capture_output=True, text=True, timeout=120)
        assert p.returncode == 2 and msg in p.stderr, (argv, p.stderr)
        assert not db.exists()
