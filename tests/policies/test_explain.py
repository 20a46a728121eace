"""Explaining a learned decision: attributions are the recorded change in P(YES); the training
memory names similar decisions; the words name the input that mattered."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lts_core.learning.train import TrainConfig, train
from lts_core.policies.controller import (
    AdmissionController,
    ControllerConfig,
    DecisionInput,
    collate,
)
from lts_core.policies.explain import TrainingMemory, attributions, cls_states, in_words
from lts_core.runtime.engine import RunConfig

TINY = ControllerConfig(width=32, heads=2, ff=32, layers=1)


def _x(seed: int, n_keys: int = 3) -> DecisionInput:
    r = np.random.default_rng(seed)
    v = lambda n=None: r.standard_normal((n, 384) if n else 384).astype(np.float32)  # noqa: E731
    return DecisionInput(v(), v(n_keys), v(), v(), v())


def _p(model, x: DecisionInput, drop=None, key_mask=None) -> float:
    b = collate([x], model.config.max_keys)
    if drop is not None:
        b.drop = torch.tensor([drop])
    if key_mask is not None:
        b.key_mask = torch.tensor([key_mask])
    with torch.no_grad():
        return float(torch.softmax(model(b), -1)[0, 1])


def test_each_attribution_is_the_change_in_p_yes_without_that_input():
    torch.manual_seed(0)
    model = AdmissionController(TINY).eval()
    x = _x(1)
    p, attr = attributions(model, x, key_ids=[10, 11, 12])
    assert p == pytest.approx(_p(model, x), abs=1e-6)
    by = {(a["input"], a.get("entry_id")): a for a in attr}
    assert by[("o", None)]["p_without"] == pytest.approx(_p(model, x, drop=[False, False, False, True]), abs=1e-6)
    assert by[("query", None)]["p_without"] == pytest.approx(_p(model, x, drop=[True, False, False, False]), abs=1e-6)
    assert by[("keys", None)]["p_without"] == pytest.approx(_p(model, x, key_mask=[False] * 3), abs=1e-6)
    k11 = by[("key", 11)]
    assert k11["p_without"] == pytest.approx(_p(model, x, key_mask=[True, False, True]), abs=1e-6)
    for a in attr:
        assert a["delta"] == pytest.approx(p - a["p_without"], abs=1e-6)
    assert {a["input"] for a in attr} >= {"query", "u", "s", "o", "keys", "key"}


def test_the_support_input_is_attributed_like_the_others():
    torch.manual_seed(0)
    model = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1,
                                                 support_input=True)).eval()
    with torch.no_grad():
        model.w_f.weight.normal_(0.0, 1.0)  # as training would move it
    x = _x(1)
    x.support = 0.0
    p, attr = attributions(model, x, key_ids=[10, 11, 12])
    by = {a["input"]: a for a in attr if a["input"] != "key"}
    assert set(by) == {"query", "u", "s", "o", "support", "keys"}
    assert by["support"]["p_without"] == pytest.approx(
        _p(model, x, drop=[False, False, False, False, True]), abs=1e-6)
    assert by["support"]["delta"] == pytest.approx(p - by["support"]["p_without"], abs=1e-6)
    assert abs(by["support"]["delta"]) > 1e-4  # the token is read


def test_in_words_names_the_input_that_pushed_the_decision():
    attr = [{"input": "o", "p_without": 0.6, "delta": -0.55}, {"input": "u", "p_without": 0.1,
                                                              "delta": -0.05}]
    w = in_words(False, 0.05, 0.5, attr, {"o": "error: the search failed"})
    assert w.startswith("rejected mostly because of o (the step's output)")
    assert "search failed" in w and "flip" in w
    assert "admitted" in in_words(True, 0.9, 0.5, [{"input": "s", "p_without": 0.2, "delta": 0.7}])
    keys = in_words(True, 0.9, 0.5, [{"input": "keys", "p_without": 0.2, "delta": 0.7}])
    assert "because of the bank's keys: without them P(YES)" in keys


def test_in_words_does_not_name_an_input_whose_effect_it_cannot_show():
    # a saturated score: leaving u out moves P(YES) by 5.6e-4, which 3 decimals do not show
    attr = [{"input": "u", "p_without": 0.01546, "delta": -0.00056},
            {"input": "query", "p_without": 0.01462, "delta": 0.00028}]
    w = in_words(False, 0.01490, 0.1, attr, {"u": "Write the task ledger"})
    assert "mostly because" not in w and "no single input moves it by 0.001" in w


def test_training_memory_round_trip_and_nearest(tmp_path):
    torch.manual_seed(0)
    model = AdmissionController(TINY).eval()
    xs = [_x(i) for i in range(5)]
    vecs = cls_states(model, xs)
    mem = TrainingMemory(vecs, [{"action": f"a{i}", "admitted": bool(i % 2)} for i in range(5)])
    mem.save(tmp_path / "c.pt")
    back = TrainingMemory.load(tmp_path / "c.pt")
    assert back is not None and len(back.meta) == 5
    top = back.nearest(vecs[3], 3)
    assert top[0]["action"] == "a3" and top[0]["similarity"] == pytest.approx(1.0, abs=1e-2)


def test_nearest_tells_near_from_far_when_all_states_point_one_way():
    rng = np.random.default_rng(0)
    common = rng.normal(size=16)
    vecs = common + 0.05 * rng.normal(size=(40, 16))  # raw cosines all above ~0.99
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    assert (vecs @ vecs.T).min() > 0.98
    mem = TrainingMemory(vecs.astype(np.float32), [{"action": f"a{i}"} for i in range(40)])
    top = mem.nearest(vecs[7], 40)
    assert top[0]["action"] == "a7" and top[0]["similarity"] == pytest.approx(1.0, abs=1e-4)
    assert float(np.median([t["similarity"] for t in top[1:]])) < 0.5


def test_a_recorded_learned_decision_carries_its_explanation(engine, demo_suite, tmp_path):
    cfg = TrainConfig(suite="demo", tasks=2, epochs=1, episodes=2, teams=2, embedder="hash",
                      controller=TINY)
    res = train(engine, cfg, out=tmp_path / "c.pt")
    assert TrainingMemory.path_for(res.checkpoint).is_file()
    s = engine.run_task(demo_suite.tasks[3], demo_suite,
                        RunConfig(teams=2, policy="learned", embedder="hash", seed=1,
                                  policy_options={"checkpoint": str(res.checkpoint)}))
    engine.store.flush()
    from lts_core.record import queries

    rows = engine.store.query("SELECT team_idx, step_idx, score, admitted, features_json "
                              "FROM admissions WHERE run_id = ?", [s.record.run_id])
    assert len(rows)
    # every decision's explanation was recorded (off the decision path) before the run ended
    n = engine.store.scalar("SELECT count(*) FROM explanations WHERE run_id = ?", [s.record.run_id])
    assert n == len(rows)
    for r in rows.itertuples():
        assert "attribution" not in json.loads(r.features_json)  # not computed while deciding
        a = queries.step_detail(engine.store, s.record.run_id, r.team_idx, r.step_idx)["admission"]
        f = a["features"]
        assert f["threshold"] == 0.5 and f["in_words"] in a["reason"]
        assert {x["input"] for x in f["attribution"]} >= {"query", "u", "s", "o"}
        for x in f["attribution"]:  # the attribution is against the P(YES) the decision recorded
            assert x["p_without"] + x["delta"] == pytest.approx(r.score, abs=1e-5)
        assert len(f["similar_training"]) == 3
        assert {"action", "admitted", "advantage", "used"} <= set(f["similar_training"][0])


def test_a_failing_explanation_is_recorded_not_raised(tmp_path):
    from lts_core.record.store import Store
    from lts_core.runtime.explainer import RunExplanations

    store = Store(tmp_path / "e.duckdb")
    ex = RunExplanations(store, "r1")
    ex.submit(0, 1, lambda: {"in_words": "fine"})
    ex.submit(0, 2, lambda: 1 / 0)
    assert ex.wait(10)
    store.flush()
    got = store.query("SELECT step_idx, features_json FROM explanations ORDER BY step_idx")
    assert json.loads(got.features_json[0]) == {"in_words": "fine"}
    assert "ZeroDivisionError" in json.loads(got.features_json[1])["explain_error"]
    store.close()
