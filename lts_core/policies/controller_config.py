"""The controller's shape (``ControllerConfig``): sizes, inputs and the untrained prior.

Apart from the model (``controller.py``) so that settings, the CLI and the trainer's config read it
without importing torch. Plain data: thread-safe.
"""

from __future__ import annotations

from dataclasses import dataclass

from lts_core.world.embeddings import DIM


@dataclass
class ControllerConfig:
    embed_dim: int = DIM  # width of the frozen text embeddings
    width: int = 64
    layers: int = 2
    heads: int = 4
    ff: int = 128
    dropout: float = 0.0
    max_keys: int = 256  # keys beyond this (the newest kept) are dropped from the input
    init_p_yes: float = 0.8  # P(YES) of the untrained controller: it starts by admitting most steps
    support_input: bool = False  # also read grounding.support(s, o) (our addition; off = the paper)

    @property
    def inputs(self) -> tuple[str, ...]:
        """The inputs an attribution can leave out, in the order of ``Batch.drop``'s columns."""
        return ("query", "u", "s", "o", "support") if self.support_input else ("query", "u", "s", "o")

    def validate(self) -> None:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be a multiple of heads {self.heads}")
        if min(self.width, self.layers, self.heads, self.ff, self.max_keys) < 1:
            raise ValueError(f"controller sizes must be positive: {self}")
        if not 0.0 < self.init_p_yes < 1.0:
            raise ValueError(f"init_p_yes must be in (0, 1), got {self.init_p_yes}")
