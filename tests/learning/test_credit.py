"""Credit assignment and the loss: the usage bonus lands exactly where it should; sparsity works."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lts_core.learning.credit import CreditConfig, Episode, assign_credit, policy_loss, trained_on
from lts_core.policies.controller import AdmissionController, ControllerConfig, DecisionInput
from lts_core.policies.trace import Decision, mix_epsilon

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


# ------------------------------------------------------------ the released code's rules (official)
OFFICIAL = dict(beta=0.5, lambda_sparse=0.1, bonus_when="advantage", skip_zero=True)


def test_official_bonus_only_on_used_entries_with_positive_advantage():
    good_used, good_unused, bad_used = dec(True, True, 0), dec(True, False, 1), dec(True, True, 2)
    g = [ep(1.0, 0.0, [good_used, good_unused]), ep(0.5, 0.0, [bad_used])]
    assign_credit([g], CreditConfig(**OFFICIAL))
    assert good_used.advantage == pytest.approx(1.0 + 0.5, abs=1e-4)
    assert good_unused.advantage == pytest.approx(1.0, abs=1e-4)
    # R = 0.5 > 0 but A < 0: the paper's wording would pay the bonus, the released code does not
    assert bad_used.advantage == pytest.approx(-1.0, abs=1e-4)
    assign_credit([g], CreditConfig(**{**OFFICIAL, "bonus_when": "reward"}))
    assert bad_used.advantage == pytest.approx(-1.0 + 0.5, abs=1e-4)


def test_official_skips_zero_advantage_decisions_entirely():
    torch.manual_seed(0)
    model = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1))
    flat = [dec(True, False, 0), dec(False, False)]  # a group whose episodes scored the same
    assign_credit([[ep(1.0, 1.0, [flat[0]]), ep(1.0, 1.0, [flat[1]])]], CreditConfig(**OFFICIAL))
    assert [d.advantage for d in flat] == [0.0, 0.0]
    with pytest.raises(ValueError, match="no decisions"):  # nothing left: no sparsity term either
        policy_loss(model, flat, CreditConfig(**OFFICIAL))
    loss_v1, stats = policy_loss(model, flat, CreditConfig(lambda_sparse=0.1))
    assert stats["trained_on"] == 2 and loss_v1.item() > 0  # v1: sparsity on every decision
    signal = [dec(True, False, 0), dec(False, False)]
    assign_credit([[ep(1.0, 0.0, [signal[0]]), ep(0.0, 0.0, [signal[1]])]], CreditConfig(**OFFICIAL))
    _, stats = policy_loss(model, flat + signal, CreditConfig(**OFFICIAL))
    assert stats["trained_on"] == 2  # only the two decisions with A != 0


def test_epsilon_mixing_of_the_rollout_probability():
    assert mix_epsilon(0.0, 0.1) == pytest.approx(0.05)
    assert mix_epsilon(1.0, 0.1) == pytest.approx(0.95)
    assert mix_epsilon(0.3, 0.0) == pytest.approx(0.3)
    # the learned policy samples with the mixed probability and records it
    import random

    from lts_core.policies.learned import LearnedPolicy

    class Zero(torch.nn.Module):  # P(YES) = 0 at any temperature
        config = ControllerConfig(width=32, heads=2, ff=32, layers=1)

        def scores(self, x, temps):
            return [0.0 for _ in temps]

    trace: list = []
    pol = LearnedPolicy(model=Zero(), sample=True, epsilon=0.2, trace=trace)
    from lts_core.policies.base import AdmissionContext
    from lts_core.world.embeddings import HashEmbedder

    emb = HashEmbedder()
    admits = 0
    for i in range(2000):
        ctx = AdmissionContext("q", [], "u", "s", "o", "search", 0, i, emb, emb.one("s"),
                               rng=random.Random(i))
        admits += pol.decide(ctx).admit
    assert trace[0].p_yes == pytest.approx(0.1)
    assert 0.08 < admits / 2000 < 0.12  # epsilon / 2 of YES although the model says never


def test_usage_penalty_on_fetched_entries_of_worse_episodes():
    good_used, bad_used, bad_unused = dec(True, True, 0), dec(True, True, 1), dec(True, False, 2)
    g = [ep(1.0, 0.0, [good_used]), ep(0.0, 0.0, [bad_used, bad_unused])]
    assign_credit([g], CreditConfig(**OFFICIAL, usage_penalty=0.7))
    assert good_used.advantage == pytest.approx(1.0 + 0.5, abs=1e-4)
    assert bad_used.advantage == pytest.approx(-1.0 - 0.7, abs=1e-4)
    assert bad_unused.advantage == pytest.approx(-1.0, abs=1e-4)


def test_cost_term_prefers_the_faster_episode_at_equal_score():
    fast, slow = ep(1.0, 1.0, [dec(True, False, 0)]), ep(1.0, 1.0, [dec(True, False, 1)])
    fast.runtime_s, slow.runtime_s = 200.0, 400.0
    fast.runtime_ref_s = slow.runtime_ref_s = 400.0
    assign_credit([[fast, slow]], CreditConfig(cost_alpha=0.5, beta=0.0))
    assert fast.reward == pytest.approx(2.0 - 0.25) and slow.reward == pytest.approx(2.0 - 0.5)
    assert fast.decisions[0].advantage > 0 > slow.decisions[0].advantage
    with pytest.raises(ValueError, match="runtime of `none`"):
        assign_credit([[ep(1.0, 1.0, [])]], CreditConfig(cost_alpha=0.5))


def test_wrong_penalty_lands_on_the_step_that_spread_a_wrong_entry():
    spread, right_used = dec(True, True, 0), dec(True, True, 1)
    spread.misled = True
    rejected = Decision(0, 2, x(0), False, 0.5, None, False, misled=True)  # never admitted: no entry
    g = [ep(1.0, 0.0, [spread, right_used, rejected]), ep(0.0, 0.0, [])]
    assign_credit([g], CreditConfig(**OFFICIAL, wrong_penalty=2.0))
    # a good episode still penalises the one step whose wrong entry another team fetched
    assert spread.advantage == pytest.approx(1.0 + 0.5 - 2.0, abs=1e-4)
    assert right_used.advantage == pytest.approx(1.0 + 0.5, abs=1e-4)
    assert rejected.advantage == pytest.approx(1.0, abs=1e-4)


def test_misleading_entries_are_wrong_and_fetched_by_another_team():
    from lts_core.learning.episodes import misleading_entries
    from lts_core.world.memory import MemoryBank
    from lts_core.world.tasks import Task

    task = Task(id="t", question="q?", answer="Paris", answer_aliases=(), docs=())
    bank = MemoryBank("r")
    v = np.zeros(D, dtype=np.float32)
    add = lambda team, action, payload: bank.add(  # noqa: E731
        team_idx=team, step_idx=0, action=action, key="k", value="v", t_added=0.0, key_vec=v,
        payload=payload)
    wrong_answer = add(0, "answer", {})  # judged on team 0's final answer: "Lyon"
    false_fact = add(1, "open", {"kind": "open", "as_target": "A", "true": False})
    true_fact = add(1, "open", {"kind": "open", "as_target": "A", "true": True})
    own_read = add(2, "open", {"kind": "open", "as_target": "B", "true": False})
    for e in (wrong_answer, false_fact, true_fact):
        bank.fetch([e.entry_id], reader_team=2, reader_step=1, t=1.0)
    bank.fetch([own_read.entry_id], reader_team=2, reader_step=2, t=2.0)  # its own team: no harm
    got = misleading_entries(bank.keys_at(), bank.reads, task, {0: "Lyon", 1: "Paris", 2: None})
    assert got == {wrong_answer.entry_id, false_fact.entry_id}
    got = misleading_entries(bank.keys_at(), bank.reads, task, {0: "paris"})
    assert got == {false_fact.entry_id}


def test_the_loss_by_bank_size_chunks_equals_the_loss_in_one_batch():
    """Chunks ordered by bank size pad less; loss and gradient are those of one padded batch."""
    r = np.random.default_rng(7)
    unit = lambda *s: r.standard_normal(s).astype(np.float32)  # noqa: E731
    decisions = []
    for i in range(90):
        d = Decision(0, i, DecisionInput(unit(D), unit(int(r.integers(0, 40)), D), unit(D),
                                         unit(D), unit(D)), bool(i % 3), 0.5)
        d.advantage = float(r.standard_normal())
        decisions.append(d)
    torch.manual_seed(0)
    model = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1))
    cfg = CreditConfig(lambda_sparse=0.1)
    grads = []
    for chunk in (len(decisions), 16):
        model.zero_grad()
        loss, _ = policy_loss(model, decisions, cfg, chunk=chunk)
        loss.backward()
        grads.append((loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()
                                             if p.grad is not None])))
    assert grads[0][0] == pytest.approx(grads[1][0], abs=1e-6)
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-6)


# --------------------------------------------------- imitating the oracle (recipe imitate, ours)
def test_imitation_learns_the_oracle_label_and_ignores_the_advantage():
    """objective=oracle: every decision is trained on (skip_zero does not drop any), the loss does not
    depend on advantages or on what was sampled, and descending it moves P(YES) toward the label."""
    decisions = [Decision(0, i, x(i), i % 2 == 0, 0.5, serves=i % 3 == 0) for i in range(24)]
    cfg = CreditConfig(objective="oracle", skip_zero=True)
    assert trained_on(decisions, cfg) == decisions
    torch.manual_seed(0)
    m = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1))
    before = [m.score(d.x) for d in decisions]
    l0, stats = policy_loss(m, decisions, cfg)
    for i, d in enumerate(decisions):
        d.advantage, d.admit = float(i) - 10.0, not d.admit
    l1, _ = policy_loss(m, decisions, cfg)
    assert abs(l0.item() - l1.item()) < 1e-6 and stats["label_rate"] == pytest.approx(8 / 24)
    opt = torch.optim.AdamW(m.parameters(), lr=1e-2)
    for _ in range(40):
        loss, _ = policy_loss(m, decisions, cfg)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after = [m.score(d.x) for d in decisions]
    pos = [a - b for a, b, d in zip(after, before, decisions, strict=True) if d.serves]
    neg = [a - b for a, b, d in zip(after, before, decisions, strict=True) if not d.serves]
    assert loss.item() < l0.item() / 2
    assert min(pos) > 0 > max(neg)  # every labelled step rose, every other one fell


def test_imitation_loss_is_the_cross_entropy_of_p_yes_at_temperature_one():
    """The label is learned on the P(YES) decisions are made with (T = 1), whatever the sampling
    temperature: the loss equals -mean log P(label) computed by hand from ``model.score``."""
    torch.manual_seed(1)
    m = AdmissionController(ControllerConfig(width=32, heads=2, ff=32, layers=1))
    decisions = [Decision(0, i, x(i), False, 0.5, serves=i % 2 == 0) for i in range(6)]
    by_hand = -np.mean([np.log(m.score(d.x) if d.serves else 1.0 - m.score(d.x)) for d in decisions])
    for t in (1.2, 3.0):
        loss, _ = policy_loss(m, decisions, CreditConfig(objective="oracle", temperature=t))
        assert loss.item() == pytest.approx(by_hand, rel=1e-4)


def test_objective_must_be_known():
    with pytest.raises(ValueError, match="objective"):
        CreditConfig(objective="supervised").validate()
