"""``oracle`` (simulator only): the runtime bound that no admission policy can beat in the simulator.

It reads what the simulator knows and no real policy can: the step's structured payload. It admits
exactly the entries that can serve a team (a page read that yielded a *true* fact for a hop, a
search whose hits contain the hop's target, a *right* final answer) and tells the sim's teams to
read as an oracle would (``oracle_reader``): fetch exactly the entry that serves the current
sub-goal, with no similarity threshold, and adopt it without re-reading (a right answer first).
Its steps also cost no summary call (``free_summaries``): the oracle needs no key to know a step.
Every other part of the simulation (skills, latencies, tangents, failures) is unchanged. Reported
by ``lts bench`` as the oracle bound; ``of_oracle_%`` is the share of its saving a policy reaches.
"""

from __future__ import annotations

from typing import Any

from lts_core.policies.base import AdmissionContext, AdmissionDecision, AdmissionPolicy


def serves(payload: dict[str, Any]) -> str | None:
    """Why an entry with this sim payload can serve some team, or None (it cannot)."""
    kind = payload.get("kind")
    if kind == "open" and payload.get("as_target") and payload.get("true"):
        return "a true fact for a hop"
    if kind == "search" and payload.get("target") and payload.get("target") in payload.get("hits", []):
        return "search hits that contain the hop's page"
    if kind == "answer" and payload.get("right"):
        return "the right final answer"
    return None


class OraclePolicy(AdmissionPolicy):
    name = "oracle"
    is_bound = True
    threshold = 0.5
    oracle_reader = True
    free_summaries = True

    def bind_backend(self, backend: Any) -> None:
        if not getattr(backend, "simulated", False):
            raise ValueError("the oracle policy needs the simulator (--backend sim): it reads what "
                             "only the simulator knows")

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        why = serves(ctx.payload)
        return self.decision(1.0 if why else 0.0, {
            "reason": f"oracle: {why}" if why else "oracle: cannot serve any team",
            "payload_kind": ctx.payload.get("kind")})
