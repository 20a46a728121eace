"""``RunConfig``: every setting of one run, checked before anything starts.

``validate()`` checks names against the registry (``lts_core.registry``), numbers, options
(``lts_core.runtime.checks``), the stop rule and the poisoning experiment; errors are ``ConfigError``
naming the setting and what is allowed. The admission threshold is not a run setting of its own: it
is a policy option (``policy_options={"threshold": ...}`` for learned and llm-judge,
``{"similarity": ...}`` for dedup) and every decision records the threshold it was compared with.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import Any

from lts_core.registry import ConfigError

STOP_RULES = ("aggregate", "first")


@dataclass
class RunConfig:
    teams: int = 3
    policy: str = "dedup"
    policy_options: dict[str, Any] = field(default_factory=dict)
    backend: str = "sim"
    backend_options: dict[str, Any] = field(default_factory=dict)
    executor: str = "virtual"
    stop: str = "aggregate"
    max_steps: int = 30
    seed: int = 0
    web_latency: bool = True
    web_failure: float | None = None  # P(a web call fails); None keeps WebLatency's default
    speed: float = 20.0  # threads executor: run-clock seconds per real second
    max_fetch_chars: int = 4000
    use_pool: bool = True
    top_k: int = 5
    embedder: str = "minilm"
    poison: int = 0  # wrong entries planted in the bank (lts_core.runtime.poison); 0 = none
    poison_at_s: float = 20.0  # clock time at which they appear

    def validate(self) -> None:
        """Raise ConfigError on the first wrong setting (names, numbers, options, stop, poison)."""
        from lts_core.runtime.checks import check_config
        from lts_core.runtime.poison import MAX_POISON

        check_config(self)  # types first, then every name, number and option
        if self.stop not in STOP_RULES:
            raise ConfigError(f"stop must be one of {', '.join(STOP_RULES)}, got {self.stop!r}")
        if not 0 <= self.poison <= MAX_POISON or self.poison_at_s < 0:
            raise ConfigError(f"poison must be 0..{MAX_POISON} entries at a time >= 0 s, got "
                              f"{self.poison} at {self.poison_at_s}")

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)

    @classmethod
    def of_recorded(cls, config_json: str | None) -> RunConfig:
        """The settings a recorded run was played with (``runs.config_json``'s ``run`` part; secrets
        there are masked). Fields this version does not know are dropped; a missing or unreadable
        record gives the defaults."""
        try:
            raw = json.loads(config_json or "{}").get("run", {})
        except (ValueError, AttributeError):
            raw = {}
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})


__all__ = ["STOP_RULES", "ConfigError", "RunConfig"]
