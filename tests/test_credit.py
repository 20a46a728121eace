"""Credit assignment and the loss: the usage bonus lands exactly where it should; sparsity works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lts_core.controller import AdmissionController, ControllerConfig, DecisionInput
from lts_core.credit import CreditConfig, Decision, Episode, assign_credit, policy_loss

D = 384


def x(seed: int) -> DecisionInput:
    r = np.random.default_rng(seed)
    v = lambda n=None: r.standard_normal((n, D) if n else D).astype(np.float32)  # noqa: E731
    return DecisionInput(v(), v(2), v(), v(), v())


def ep(r_agg: float, r_first: float, decisions: list[Decision]) -> Episode:
    return Episode("t", "run", r_agg, r_first, decisions)


def dec(admit: bool, used: bool, eid: int | None = None) -> Decision:
    return Decision(0, 0, x(0), admit, 0.5, eid if admit else None, used)


def test_group_advantage_is_normalised():
    g = [ep(1.0, 1.0, [dec(True, False, 0)]), ep(0.0, 0.0, [dec(True, False, 0)]),
         ep(1.0, 0.0, [dec(False, False)])]
    assign_credit([g], CreditConfig(beta=0.0))
    rs = [e.reward for e in g]
    assert rs == [2.0, 0.0, 1.0]
    adv = np.array([e.decisions[0].advantage for e in g])
    assert adv.mean() == pytest.approx(0.0, abs=1e-6) and adv.std() == pytest.approx(1.0, abs=1e-4)


def test_usage_bonus_exactly_to_used_entries_in_rewarded_episodes():
    used_rewarded = dec(True, True, 0)
    unused_rewarded = dec(True, False, 1)
    skipped_rewarded = dec(False, False)
    used_unrewarded = dec(True, True, 0)
    g = [ep(1.0, 0.0, [used_rewarded, unused_rewarded, skipped_rewarded]),
         ep(0.0, 0.0, [used_unrewarded])]
    cfg = CreditConfig(beta=0.7)
    assign_credit([g], cfg)
    base_good, base_bad = 1.0, -1.0  # two episodes, rewards 1 and 0, normalised
    assert used_rewarded.advantage == pytest.approx(base_good + 0.7, abs=1e-4)
    assert unused_rewarded.advantage == pytest.approx(base_good, abs=1e-4)
    assert skipped_rewarded.advantage == pytest.approx(base_good, abs=1e-4)
    assert used_unrewarded.advantage == pytest.approx(base_bad, abs=1e-4)  # R = 0: no bonus
    assign_credit([g], CreditConfig(beta=0.7, usage_bonus=False))
    assert used_rewarded.advantage == pytest.approx(base_good, abs=1e-4)


def test_equal_rewards_leave_only_the_bonus():
    a, b = dec(True, True, 0), dec(True, False, 1)
    assign_credit([[ep(1.0, 1.0, [a]), ep(1.0, 1.0, [b])]], CreditConfig(beta=0.5))
    assert a.advantage == pytest.approx(0.5) and b.advantage == pytest.approx(0.0)


def test_lambda_first_and_no_group_norm():
    g1 = [ep(1.0, 0.0, []), ep(1.0, 1.0, [dec(True, False, 0)])]
    g2 = [ep(0.0, 0.0, [dec(False, False)]), ep(0.0, 0.0, [])]
    assign_credit([g1, g2], CreditConfig(lambda_first=0.0))
    assert [e.reward for e in g1] == [1.0, 1.0]
    assert g1[1].decisions[0].advantage == 0.0  # equal rewards within the group
    assign_credit([g1, g2], CreditConfig(lambda_first=0.0, group_norm=False, beta=0.0))
    # batch-mean baseline: 0.5; the good group's decision gets +0.5, the bad group's -0.5
    assert g1[1].decisions[0].advantage == pytest.approx(0.5)
    assert g2[0].decisions[0].advantage == pytest.approx(-0.5)


def test_loss_sign_follows_the_advantage():
    torch.manual_seed(0)
    m = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1))
    d = Decision(0, 0, x(1), True, 0.5)
    d.advantage = 1.0
    cfg = CreditConfig(sparsity=False)
    loss, _ = policy_loss(m, [d], cfg)
    loss.backward()
    g_yes = m.head.bias.grad.clone()
    assert g_yes[1] < 0  # descending raises the YES logit for a positively credited YES


def test_sparsity_lowers_the_admission_rate_on_a_small_problem():
    """Same data, same advantages (all zero): only the sparsity term acts, and P(YES) falls."""
    torch.manual_seed(0)
    decisions = [Decision(0, i, x(i), i % 2 == 0, 0.5) for i in range(32)]

    def trained_p_yes(sparsity: bool) -> float:
        torch.manual_seed(0)
        m = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1))
        opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
        cfg = CreditConfig(lambda_sparse=0.5, sparsity=sparsity)
        for _ in range(30):
            loss, stats = policy_loss(m, decisions, cfg)
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            return float(np.mean([m.score(d.x) for d in decisions]))

    with_sparsity, without = trained_p_yes(True), trained_p_yes(False)
    assert with_sparsity < 0.5 < without + 0.3  # it admits less than half ...
    assert with_sparsity < without - 0.2  # ... and far less than without the term
