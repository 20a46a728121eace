"""The learned policy's trace of one decision (``Decision``) and its exploration (``mix_epsilon``).

The learned policy fills a ``Decision`` per step while it plays a training episode; the trainer
(``learning.credit``) gives each its advantage. Plain data and a pure function: thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lts_core.policies.controller import DecisionInput


@dataclass
class Decision:
    """One traced admission decision: the controller's input, the action and what became of it."""

    team_idx: int
    step_idx: int
    x: DecisionInput
    admit: bool
    p_yes: float  # the probability the action was drawn with (after epsilon mixing)
    entry_id: int | None = None  # the bank entry this step became, when admitted
    used: bool = False  # that entry was fetched by some team in this episode
    misled: bool = False  # that entry's content was wrong and another team fetched it
    serves: bool = False  # the oracle would admit this step (sim payloads only; recipe imitate)
    advantage: float = 0.0  # A_t, filled by ``learning.credit.assign_credit``
    action: str = ""  # the step's kind (search, open, answer, ...), for the record only
    summary: str = ""  # the step's summary s, for the record only


def mix_epsilon(p_yes: float, epsilon: float) -> float:
    """The rollout's P(YES): (1 - epsilon) * p + epsilon * 1/2 (uniform over YES/NO).

    >>> mix_epsilon(0.0, 0.1)
    0.05
    """
    return (1.0 - epsilon) * p_yes + epsilon * 0.5
