"""The controller: shapes, key masking (0 or many keys), checkpoints, and the learned policy."""

from __future__ import annotations

import dataclasses
import random

import numpy as np
import pytest
import torch

from lts_core.policies import AdmissionContext, make_policy
from lts_core.policies.controller import (
    AdmissionController,
    ControllerConfig,
    DecisionInput,
    collate,
    load_checkpoint,
    save_checkpoint,
)
from lts_core.world.embeddings import get_embedder
from lts_core.world.memory import MemoryBank

D = 384


def vec(rng: np.random.Generator, n: int | None = None) -> np.ndarray:
    v = rng.standard_normal((n, D) if n is not None else D).astype(np.float32)
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def decision(rng: np.random.Generator, n_keys: int) -> DecisionInput:
    return DecisionInput(vec(rng), vec(rng, n_keys), vec(rng), vec(rng), vec(rng))


@pytest.fixture
def model() -> AdmissionController:
    torch.manual_seed(0)
    return AdmissionController(ControllerConfig())


def test_logits_shape_and_untrained_prior(model):
    rng = np.random.default_rng(0)
    b = collate([decision(rng, n) for n in (0, 1, 7, 100)], model.config.max_keys)
    assert b.keys.shape == (4, 100, D) and b.key_mask.sum(1).tolist() == [0, 1, 7, 100]
    with torch.no_grad():
        logits = model(b)
        p = model.p_yes(b)
    assert logits.shape == (4, 2)
    assert torch.all((p > 0) & (p < 1))
    # the untrained controller admits most steps, and its output depends on the input
    assert 0.5 < float(p.mean()) < 0.95 and float(p.std()) > 0.01


def test_padding_keys_do_not_change_a_decision(model):
    rng = np.random.default_rng(1)
    x_empty, x_three = decision(rng, 0), decision(rng, 3)
    alone = [model.score(x_empty), model.score(x_three)]
    big = decision(rng, 150)  # forces 150 padding slots on the other rows
    b = collate([x_empty, x_three, big], model.config.max_keys)
    with torch.no_grad():
        batched = model.p_yes(b)[:2].tolist()
    assert batched == pytest.approx(alone, abs=1e-5)


def test_keys_change_the_decision(model):
    rng = np.random.default_rng(2)
    x = decision(rng, 0)
    x2 = DecisionInput(x.query, vec(rng, 20), x.u, x.s, x.o)
    assert model.score(x) != pytest.approx(model.score(x2), abs=1e-6)


def test_max_keys_keeps_the_newest(model):
    rng = np.random.default_rng(3)
    x = decision(rng, 300)
    b = collate([x], 256)
    assert b.keys.shape[1] == 256
    assert np.allclose(b.keys[0, -1].numpy(), x.keys[-1])


def test_temperature_flattens(model):
    rng = np.random.default_rng(4)
    x = decision(rng, 5)
    p1, p12 = model.score(x, 1.0), model.score(x, 1.2)
    assert abs(p12 - 0.5) < abs(p1 - 0.5)


def test_checkpoint_roundtrip_decides_identically(tmp_path, model):
    rng = np.random.default_rng(5)
    xs = [decision(rng, n) for n in (0, 4, 60)]
    model.eval()  # as the policy uses it (eval and train mode take different kernels)
    path = save_checkpoint(tmp_path / "c.pt", model, meta={"epoch": 3})
    loaded, blob = load_checkpoint(path)
    assert blob["meta"]["epoch"] == 3
    assert [loaded.score(x) for x in xs] == [model.score(x) for x in xs]


def test_bad_checkpoints_are_named(tmp_path):
    with pytest.raises(ValueError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="junk.pt is not a readable controller checkpoint"):
        load_checkpoint(junk)
    other = tmp_path / "other.pt"
    torch.save({"format": "something-else"}, other)
    with pytest.raises(ValueError, match="not an LTS controller checkpoint"):
        load_checkpoint(other)
    with pytest.raises(ValueError, match="does not exist"):
        make_policy("learned", checkpoint=str(tmp_path / "missing.pt"))


def _ctx(bank: MemoryBank, emb, s: str, seed: int = 0) -> AdmissionContext:
    return AdmissionContext("Who wrote the novel?", bank.keys_at(), "Search for: the novel",
                            s, "results: a, b, c", "search", 0, 1, emb, emb.one(s),
                            random.Random(seed))


def test_learned_policy_with_the_vote_rule_leaves_answers_to_the_vote(tmp_path, model):
    emb = get_embedder("hash")
    path = save_checkpoint(tmp_path / "c.pt", model)
    pol = make_policy("learned", checkpoint=str(path), answers="decided")
    assert pol.describe()["answers"] == "decided"
    bank = MemoryBank()

    def answer(others: dict[int, str]) -> AdmissionContext:
        return AdmissionContext("Who wrote the novel?", [], "Give the final answer.", "Answered: Ann",
                                "Ann", "answer", 0, 9, emb, emb.one("Answered: Ann"),
                                random.Random(0), teams=3, arg="Ann", answers=others)

    open_vote, decided = pol.decide(answer({})), pol.decide(answer({2: "ann"}))
    assert (open_vote.admit, decided.admit) == (False, True)
    assert decided.threshold is None and 0.0 <= decided.features["p_yes"] <= 1.0  # recorded beside
    assert decided.features["vote"]["agree"] == 2 and decided.explain_later is None
    search = _ctx(bank, emb, "Searched the novel; top results: a, b.")
    plain = make_policy("learned", checkpoint=str(path))
    assert pol.decide(search).score == plain.decide(search).score  # other steps: P(YES) as before
    # the trainer's decisions are all the controller's
    trace: list = []
    train = make_policy("learned", model=model, trace=trace, answers="decided")
    assert "P(YES)" in train.decide(answer({2: "ann"})).features["reason"] and len(trace) == 1


def test_learned_policy_from_a_checkpoint(tmp_path, model):
    emb = get_embedder("hash")
    path = save_checkpoint(tmp_path / "c.pt", model)
    pol = make_policy("learned", checkpoint=str(path))
    bank = MemoryBank()
    for i in range(3):
        k = f"Read page {i} about the novel."
        bank.add(team_idx=1, step_idx=i, action="open", key=k, value="...", t_added=0.0,
                 key_vec=emb.one(k))
    d = pol.decide(_ctx(bank, emb, "Searched the novel; top results: a, b."))
    assert 0.0 <= d.score <= 1.0 and d.admit == (d.score >= 0.5)
    assert d.features["keys_seen"] == 3 and "P(YES)" in d.features["reason"]
    assert pol.describe()["checkpoint"] == str(path)
    # sampling uses the decision's own rng: the same seed draws the same decision
    samp = make_policy("learned", checkpoint=str(path), sample=True)
    draws = [samp.decide(_ctx(bank, emb, "x", seed=7)).admit for _ in range(3)]
    assert len(set(draws)) == 1


def test_shipped_checkpoint_is_the_default():
    pol = make_policy("learned")
    assert pol.describe()["checkpoint"].endswith("assets/controller/lts-controller.pt")
    assert pol.describe()["trained_on"] == "hotpotqa-train"


def test_the_support_input_starts_as_the_plain_model_and_is_read_once_trained(tmp_path):
    x = decision(np.random.default_rng(0), 3)
    lo, hi = dataclasses.replace(x, support=0.0), dataclasses.replace(x, support=1.0)
    torch.manual_seed(0)
    plain = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1)).eval()
    assert plain.score(lo) == plain.score(hi)  # the paper's inputs only
    torch.manual_seed(0)
    model = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1,
                                                 support_input=True)).eval()
    assert model.score(lo) == pytest.approx(plain.score(lo), abs=1e-7)  # same untrained prior
    with torch.no_grad():
        model.w_f.weight.normal_(0.0, 1.0)  # as training would move it
    assert abs(model.score(lo) - model.score(hi)) > 1e-4
    loaded, _ = load_checkpoint(save_checkpoint(tmp_path / "s.pt", model))
    assert loaded.config.support_input and loaded.score(lo) == pytest.approx(model.score(lo), abs=1e-6)
