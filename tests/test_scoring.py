"""HotpotQA's answer metrics: normalisation, exact match and token F1."""

from __future__ import annotations

import pytest

from lts_core.scoring import exact_match, f1_score, normalize_answer


@pytest.mark.parametrize(("raw", "norm"), [
    ("The Eiffel Tower!", "eiffel tower"),
    ("  an  Apple,  a day ", "apple day"),
    ("Theatre of the Absurd", "theatre of absurd"),  # "the" only as a word
    ("Bath, Maine.", "bath maine"),
    ("U.S.A.", "usa"),
    ("Ann's \"café\"", "anns café"),
    ("", ""),
])
def test_normalize_answer(raw: str, norm: str) -> None:
    assert normalize_answer(raw) == norm


@pytest.mark.parametrize(("pred", "golds", "em"), [
    ("The Marrow River", ["Marrow River"], 1.0),
    ("marrow river.", ["Marrow River"], 1.0),
    ("the Marrow", ["Marrow River", "the Marrow"], 1.0),  # any alias
    ("Marrow", ["Marrow River"], 0.0),
    ("yes", ["yes"], 1.0),
    ("Yes.", ["yes"], 1.0),
    ("no", ["yes"], 0.0),
    ("", ["x"], 0.0),
    (None, ["x"], 0.0),
    ("x", [], 0.0),
])
def test_exact_match(pred, golds, em) -> None:
    assert exact_match(pred, golds) == em


@pytest.mark.parametrize(("pred", "golds", "f1"), [
    ("Bath, Maine", ["Bath"], 2 / 3),  # precision 1/2, recall 1
    ("Bath", ["Bath, Maine"], 2 / 3),
    ("the Marrow River", ["Marrow River"], 1.0),
    ("Marrow Creek", ["Marrow River"], 0.5),
    ("Paris", ["Lyon"], 0.0),
    ("river river river", ["river"], 0.5),  # repeated tokens count once each side
    ("Greywater Bridge", ["Greywater", "Greywater Bridge"], 1.0),  # the best alias
    # yes / no / noanswer only match exactly, never partially
    ("yes it is", ["yes"], 0.0),
    ("yes", ["yes"], 1.0),
    ("no", ["no answer"], 0.0),
    ("noanswer", ["noanswer"], 1.0),
    (None, ["x"], 0.0),
    ("x", [], 0.0),
])
def test_f1(pred, golds, f1) -> None:
    assert f1_score(pred, golds) == pytest.approx(f1)


def test_f1_never_below_em() -> None:
    for pred, gold in [("The Who", "the who"), ("1964", "1964"), ("a b c", "a b")]:
        assert f1_score(pred, [gold]) >= exact_match(pred, [gold])
