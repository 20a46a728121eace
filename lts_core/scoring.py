"""HotpotQA's official answer metrics: normalized exact match and token F1.

>>> exact_match("The Eiffel Tower!", ["eiffel tower"])
1.0
>>> round(f1_score("Bath, Maine", ["Bath"]), 3)
0.667
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Iterable

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = set(string.punctuation)


def normalize_answer(s: str) -> str:
    """Lower-case, drop punctuation and articles, squeeze white space (as HotpotQA's script)."""
    s = s.lower()
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def _f1(pred: str, gold: str) -> float:
    p, g = normalize_answer(pred), normalize_answer(gold)
    # HotpotQA: yes/no/noanswer only match exactly.
    if p in ("yes", "no", "noanswer") or g in ("yes", "no", "noanswer"):
        return float(p == g)
    pt, gt = p.split(), g.split()
    common = Counter(pt) & Counter(gt)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pt), same / len(gt)
    return 2 * precision * recall / (precision + recall)


def exact_match(pred: str | None, golds: Iterable[str]) -> float:
    if not pred:
        return 0.0
    p = normalize_answer(pred)
    return float(any(p == normalize_answer(g) for g in golds))


def f1_score(pred: str | None, golds: Iterable[str]) -> float:
    if not pred:
        return 0.0
    return max((_f1(pred, g) for g in golds), default=0.0)


def score_answer(answer: str | None, golds: list[str], metric: str) -> float:
    """The reward's score of one answer: F1 or EM against the gold answers (0 for no answer)."""
    if not answer:
        return 0.0
    if metric == "em":
        return float(exact_match(answer, golds))
    return float(f1_score(answer, golds))
