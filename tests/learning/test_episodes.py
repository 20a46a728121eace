"""Training episodes: their run settings, and what a played episode says about each decision."""

from __future__ import annotations

import torch

from lts_core.learning.episodes import episode_config, play_episode
from lts_core.learning.train_config import TrainConfig
from lts_core.policies.controller import AdmissionController, ControllerConfig
from lts_core.registry import baseline_policy

TINY = ControllerConfig(width=32, heads=2, ff=32, layers=1)


def _cfg() -> TrainConfig:
    return TrainConfig(suite="demo", teams=3, embedder="hash", controller=TINY)


def test_an_episode_samples_the_learned_policy_and_its_reference_has_no_options() -> None:
    c = _cfg()
    ep = episode_config(c, seed=4)
    assert ep.policy == "learned" and ep.seed == 4 and ep.teams == 3 and ep.executor == "virtual"
    assert ep.policy_options == {"sample": True, "temperature": c.credit.temperature,
                                 "epsilon": c.credit.epsilon}
    ref = episode_config(c, seed=4, policy=baseline_policy())
    assert ref.policy == "none" and ref.policy_options == {}


def test_a_played_episode_traces_every_decision_and_what_became_of_it(engine, demo_suite) -> None:
    torch.manual_seed(0)
    model = AdmissionController(TINY)
    task = demo_suite.tasks[0]
    e = play_episode(engine, model, task, _cfg(), seed=0, batch_id="train-test")
    engine.store.flush()
    adm = engine.store.query("SELECT team_idx, step_idx, admitted, entry_id FROM admissions "
                             "WHERE run_id = ?", [e.run_id])
    assert len(e.decisions) == len(adm) > 0  # one traced decision per recorded one
    recorded = {(r.team_idx, r.step_idx): r for r in adm.itertuples()}
    read = set(engine.store.query("SELECT entry_id FROM memory_reads WHERE run_id = ?",
                                  [e.run_id]).entry_id)
    for d in e.decisions:
        r = recorded[d.team_idx, d.step_idx]
        assert d.admit == bool(r.admitted) and 0.0 <= d.p_yes <= 1.0
        assert d.entry_id == (None if not r.admitted else int(r.entry_id))
        assert not d.used or d.entry_id is not None  # only an admitted step can have been used
        if d.entry_id in read:
            assert d.used
    assert 0.0 <= e.r_agg <= 1.0 and 0.0 <= e.r_first <= 1.0 and e.runtime_s > 0


def test_each_traced_decision_carries_the_oracle_label_of_its_recorded_step(engine, demo_suite) -> None:
    """``Decision.serves`` (the ``imitate`` recipe's label) is the oracle's verdict on the payload the
    step recorded; a demo episode has steps that serve and steps that do not."""
    import json

    from lts_core.policies.oracle import serves

    torch.manual_seed(0)
    e = play_episode(engine, AdmissionController(TINY), demo_suite.tasks[0], _cfg(), seed=1,
                     batch_id="train-test")
    engine.store.flush()
    steps = engine.store.query("SELECT team_idx, step_idx, action, detail_json FROM steps "
                               "WHERE run_id = ?", [e.run_id])
    payload = {(r.team_idx, r.step_idx): (r.action, json.loads(r.detail_json)["payload"])
               for r in steps.itertuples()}
    for d in e.decisions:
        _, p = payload[d.team_idx, d.step_idx]
        assert d.serves == (serves(p) is not None)
    assert any(d.serves for d in e.decisions) and not all(d.serves for d in e.decisions)
