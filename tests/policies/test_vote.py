"""Answers shared once they decide the vote: the rule, and the policies that take it."""

from __future__ import annotations

import random

import pytest

from lts_core.policies import AdmissionContext, make_policy
from lts_core.policies.vote import check_rule, vote_decision, vote_of
from lts_core.world.embeddings import get_embedder

EMB = get_embedder("hash")


def _ctx(arg: str, answers: dict[int, str], teams: int = 3, team: int = 0,
         action: str = "answer") -> AdmissionContext:
    s = f"Answered: {arg}"
    return AdmissionContext("Which river?", [], "Give the final answer.", s, arg, action, team, 9,
                            EMB, EMB.one(s), random.Random(0), teams=teams, arg=arg,
                            answers=answers)


def test_an_answer_decides_the_vote_only_with_a_strict_majority_of_k():
    assert not vote_of(_ctx("Paris", {})).decided  # the first answer of three
    v = vote_of(_ctx("Paris", {1: "paris.", 2: "Lyon"}))
    assert (v.agree, v.teams, v.decided) == (2, 3, True)  # normalised like the vote
    assert not vote_of(_ctx("Paris", {1: "Lyon"})).decided
    assert not vote_of(_ctx("Paris", {1: "Paris"}, teams=5)).decided  # 2 of 5
    assert vote_of(_ctx("Paris", {1: "Paris", 3: "the Paris"}, teams=5)).decided  # 3 of 5
    assert not vote_of(_ctx("Paris", {1: "Paris"}, teams=4)).decided  # 2 of 4 can still tie
    # the team's own earlier answer is not counted twice; other steps and unknown K have no vote
    assert vote_of(_ctx("Paris", {0: "Paris"})).agree == 1
    assert vote_of(_ctx("Paris", {1: "Paris"}, action="search")) is None
    assert vote_of(_ctx("Paris", {1: "Paris"}, teams=0)) is None


def test_the_vote_decision_says_why_and_is_no_threshold_on_a_score():
    d = vote_decision(_ctx("Paris", {1: "Paris"}), {"p_yes": 0.2})
    assert d.admit and d.score == 1.0 and d.threshold is None
    assert d.features["p_yes"] == 0.2 and d.features["rule"] == "vote"
    assert "2 of 3 teams answered 'Paris'" in d.features["in_words"]
    d = vote_decision(_ctx("Paris", {1: "Lyon"}))
    assert not d.admit and "still open" in d.features["reason"]
    assert vote_decision(_ctx("Paris", {}, action="open")) is None
    with pytest.raises(ValueError, match="answers must be one of policy, decided"):
        check_rule("always")


def test_dedup_with_the_vote_rule_decides_answers_by_it_and_other_steps_as_before():
    plain, ruled = make_policy("dedup"), make_policy("dedup", answers="decided")
    first = _ctx("Paris", {})
    assert plain.decide(first).admit and not ruled.decide(first).admit  # an empty bank: novel
    assert ruled.decide(_ctx("Paris", {1: "Paris"})).admit
    search = _ctx("Paris", {}, action="search")
    assert ruled.decide(search).admit == plain.decide(search).admit
    assert ruled.describe()["answers"] == "decided"
    with pytest.raises(ValueError, match="answers must be one of"):
        make_policy("dedup", answers="sometimes")
