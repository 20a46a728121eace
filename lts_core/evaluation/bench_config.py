"""What a bench compares (``BenchConfig``): policies, K, seeds, suite, back-end and scale-out.

Apart from the bench itself so that the CLI reads its defaults without importing the engine.
Plain data; ``check_components`` builds each setting's parts once. Thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lts_core.registry import baseline_policy, bound_policies, is_simulated
from lts_core.runtime.run_config import RunConfig


@dataclass
class BenchConfig:
    suite: str = "hotpotqa-dev"
    policies: list[str] = field(default_factory=lambda: ["none", "all", "dedup", "learned"])
    ks: list[int] = field(default_factory=lambda: [2, 3, 5, 10])
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    limit: int = 0
    backend: str = "sim"
    backend_options: dict[str, Any] = field(default_factory=dict)
    policy_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    executor: str = "virtual"
    embedder: str = "minilm"
    thresholds: list[float] = field(default_factory=list)  # extra learned@T rows (the learned curve)
    poison: int = 0  # planted wrong entries per run (lts_core.runtime.poison; poison_bench runs 0 and N)
    poison_at_s: float = 20.0
    oracle: bool = True  # with sim, also run the oracle bound (False: exactly the given policies)
    workers: int = 1  # Ray workers playing runs in parallel (lts_core.scale.pool); 1: here, no Ray
    ray_address: str | None = None  # join this Ray cluster instead of starting a local one
    runs_per_worker: int = 1  # runs one worker plays at once (threads; LLM back-ends)

    def runs(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(label, policy, options) per compared setting: each policy, then learned@T per threshold."""
        out = [(p, p, dict(self.policy_options.get(p, {}))) for p in self.policies]
        base = dict(self.policy_options.get("learned", {}))
        out += [(f"learned@{t:g}", "learned", {**base, "threshold": t}) for t in self.thresholds]
        if self.oracle and is_simulated(self.backend):  # the bounds, on the same tasks and seeds
            out += [(b, b, {}) for b in bound_policies() if b not in self.policies]
        return out

    def run_configs(self, k: int, seed: int) -> list[tuple[str, RunConfig]]:
        """(label, RunConfig) of every compared setting at ``k`` teams and ``seed``."""
        return [(label, RunConfig(teams=k, policy=policy, policy_options=dict(opts),
                                  backend=self.backend, backend_options=dict(self.backend_options),
                                  executor=self.executor, seed=seed, embedder=self.embedder,
                                  poison=self.poison, poison_at_s=self.poison_at_s))
                for label, policy, opts in self.runs()]

    def check_components(self) -> None:
        """Build every setting's policy and back-end once (``checks.check_components``): a wrong
        option is a ConfigError naming it, before the first run (and before the database opens).
        With Ray workers, a setting that holds a secret is refused here too (``refuse_secrets``)."""
        from lts_core.runtime.checks import check_components

        configs = self.run_configs(self.ks[0], self.seeds[0])
        for _, rc in configs:
            rc.validate()
            check_components(rc)
        from lts_core.scale.pool import ScaleOptions, refuse_secrets

        if ScaleOptions.of(self).enabled:
            refuse_secrets(rc for _, rc in configs)

    def validate(self) -> None:
        if baseline_policy() not in self.policies:
            raise ValueError(f"bench needs the {baseline_policy()!r} policy (no memory): reductions "
                             f"and the oracle are against it")
        if not self.seeds or not self.ks:
            raise ValueError("bench needs at least one seed and one K")
        if any(not 0.0 <= t <= 1.0 for t in self.thresholds):
            raise ValueError(f"thresholds must be in [0, 1], got {self.thresholds}")
        if self.workers < 1 or self.runs_per_worker < 1:
            raise ValueError(f"workers and runs_per_worker must be at least 1, got {self.workers} "
                             f"and {self.runs_per_worker}")
