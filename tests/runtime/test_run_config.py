"""RunConfig: the settings of a run, and the settings a recorded run was played with."""

from __future__ import annotations

import json

from lts_core.runtime.run_config import RunConfig


def test_a_recorded_config_gives_back_the_settings_it_was_played_with(run_demo, store) -> None:
    s = run_demo(2, policy="all", teams=4, seed=7, stop="first", max_steps=12)
    cj = store.scalar("SELECT config_json FROM runs WHERE run_id = ?", [s.record.run_id])
    cfg = RunConfig.of_recorded(cj)
    assert (cfg.policy, cfg.teams, cfg.seed, cfg.stop, cfg.max_steps, cfg.embedder) == (
        "all", 4, 7, "first", 12, "hash")


def test_unknown_fields_and_unreadable_records_fall_back_to_defaults() -> None:
    newer = json.dumps({"run": {"teams": 5, "a_field_from_the_future": 1}})
    assert RunConfig.of_recorded(newer).teams == 5
    assert RunConfig.of_recorded(None) == RunConfig()
    assert RunConfig.of_recorded("not json") == RunConfig()
    assert RunConfig.of_recorded("[1, 2]") == RunConfig()
