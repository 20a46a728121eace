"""Admission policies (none, all, dedup) on hand-made contexts, and the policy registry."""

from __future__ import annotations

import random

import numpy as np
import pytest

from lts_core.policies import (
    POLICIES,
    AdmissionContext,
    available_policies,
    make_policy,
    nearest_keys,
    register_policy,
)
from lts_core.policies.base import AdmissionDecision, AdmissionPolicy
from lts_core.world.embeddings import get_embedder
from lts_core.world.memory import MemoryBank

EMB = get_embedder("hash")
KEYS = ["Searched 'Anselm Garrick'; top results: Anselm Garrick, Greywater Bridge.",
        "Read 'Greywater Bridge': the bridge crosses the Marrow River near Welvane.",
        "Planned how to answer: which river is crossed by the bridge."]


def _ctx(summary: str, keys: list[str] = KEYS, action: str = "search") -> AdmissionContext:
    bank = MemoryBank("r")
    for i, k in enumerate(keys):
        bank.add(team_idx=i % 2, step_idx=i, action="search", key=k, value=k, t_added=float(i),
                 key_vec=EMB.one(k))
    return AdmissionContext("Which river?", bank.keys_at(None), "u", summary, "raw output", action,
                            2, 5, EMB, EMB.one(summary), random.Random(0))


def test_none_has_no_bank() -> None:
    p = make_policy("none")
    assert p.uses_memory is False and p.name == "none"
    d = p.decide(_ctx(KEYS[0]))
    assert d.admit is False and d.score == 0.0


def test_all_admits_everything() -> None:
    p = make_policy("all")
    assert p.uses_memory
    for s in [*KEYS, "something new entirely", ""]:
        d = p.decide(_ctx(s))
        assert d.admit and d.score == 1.0
    assert p.decide(_ctx(KEYS[1])).features["nearest"][0] == (1, 1.0)


def test_dedup_rejects_an_exact_duplicate_key() -> None:
    p = make_policy("dedup")
    d = p.decide(_ctx(KEYS[1]))
    assert d.admit is False
    assert d.features["max_cosine"] == pytest.approx(1.0, abs=1e-4)
    assert d.features["nearest"][0][0] == 1
    assert d.score == pytest.approx(0.0, abs=1e-4)
    assert "nearest key #1" in d.features["reason"]


def test_dedup_admits_a_novel_key() -> None:
    p = make_policy("dedup")
    d = p.decide(_ctx("Opened 'Hedda Brisk': an engineer born in Welvane on Mirrowen island."))
    assert d.admit is True and d.features["max_cosine"] < 0.9
    assert d.score == pytest.approx(1 - d.features["max_cosine"], abs=1e-4)


def test_dedup_on_an_empty_bank_admits() -> None:
    d = make_policy("dedup").decide(_ctx("anything", keys=[]))
    assert d.admit and d.score == 1.0 and d.features["reason"] == "bank is empty"


def test_dedup_threshold_moves_the_decision() -> None:
    near = "Searched 'Anselm Garrick'; top results: Anselm Garrick, Greywater Bridge, Welvane."
    cos = float(EMB.one(near) @ EMB.one(KEYS[0]))
    assert 0.5 < cos < 0.999
    assert make_policy("dedup", similarity=cos - 0.01).decide(_ctx(near)).admit is False
    assert make_policy("dedup", similarity=min(1.0, cos + 0.01)).decide(_ctx(near)).admit is True
    # one rule for every policy (#13): admitted at and above the threshold (novelty >= 1 -
    # similarity), so a key exactly at the similarity limit is admitted, an exact duplicate only
    # when similarity is 1.0
    at = make_policy("dedup", similarity=round(cos, 4)).decide(_ctx(near))  # cosines keep 4 digits
    assert at.admit and at.threshold == pytest.approx(1 - cos, abs=1e-4)
    one = make_policy("dedup", similarity=1.0)
    assert one.decide(_ctx(KEYS[0])).admit
    assert not make_policy("dedup", similarity=0.999).decide(_ctx(KEYS[0])).admit


@pytest.mark.parametrize("bad", [0.0, -0.2, 1.01, 5])
def test_dedup_threshold_validation(bad: float) -> None:
    with pytest.raises(ValueError, match=r"dedup similarity must be in \(0, 1\], got"):
        make_policy("dedup", similarity=bad)


def test_dedup_describe_records_its_settings() -> None:
    d = make_policy("dedup", similarity=0.75).describe()
    assert d == {"name": "dedup", "similarity": 0.75, "threshold": pytest.approx(0.25),
                 "answers": "policy"}


def test_nearest_keys_orders_by_cosine() -> None:
    near = nearest_keys(_ctx(KEYS[2]), k=2)
    assert len(near) == 2 and near[0] == (2, pytest.approx(1.0, abs=1e-4))
    assert near[0][1] >= near[1][1]
    assert nearest_keys(_ctx("x", keys=[])) == []


def test_unknown_policy_names_the_choices() -> None:
    with pytest.raises(ValueError) as ei:
        make_policy("psychic")
    msg = str(ei.value)
    assert "unknown policy 'psychic'" in msg
    assert all(n in msg for n in ("none", "all", "dedup"))


def test_registered_policy_without_module(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(POLICIES, "ghost", "lts_core.policies.no_such_module:Ghost")
    with pytest.raises(ValueError, match="policy 'ghost' is not available in this build"):
        make_policy("ghost")
    assert "ghost" not in available_policies()


class Coin(AdmissionPolicy):
    name = "coin"

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        x = ctx.rng.random()
        return AdmissionDecision(x, x >= 0.5, {"draw": x})


def test_register_policy_and_use_it_in_a_run(monkeypatch, run_demo, store) -> None:
    monkeypatch.setitem(POLICIES, "coin", "")  # restored after the test
    register_policy("coin", f"{__name__}:Coin")
    assert isinstance(make_policy("coin"), Coin) and "coin" in available_policies()
    s = run_demo(0, teams=2, policy="coin")
    adm = store.query("SELECT * FROM admissions WHERE run_id = ?", [s.record.run_id])
    assert set(adm.policy) == {"coin"} and len(adm) == s.decisions > 0
    assert (adm.admitted == (adm.score >= 0.5)).all()
    # the decision's random stream is seeded per (seed, task, team, step): the same run decides alike
    again = run_demo(0, teams=2, policy="coin")
    adm2 = store.query("SELECT * FROM admissions WHERE run_id = ?", [again.record.run_id])
    assert np.array_equal(adm.sort_values(["team_idx", "step_idx"]).score.to_numpy(),
                          adm2.sort_values(["team_idx", "step_idx"]).score.to_numpy())


def test_builtin_policies_are_available() -> None:
    assert {"none", "all", "dedup"} <= set(available_policies())
