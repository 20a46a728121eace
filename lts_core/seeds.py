"""Stable seeds: every random choice in a run derives from ``RunConfig.seed`` through here.

Python's ``hash()`` is salted per process, so seeds are derived from a SHA-256 of their parts; the
same parts give the same seed in every process (and on every Ray worker).

    >>> derive_seed(0, "task-1", 2) == derive_seed(0, "task-1", 2)
    True
"""

from __future__ import annotations

import hashlib


def derive_seed(*parts: object) -> int:
    """A stable 63-bit seed from any parts."""
    return int.from_bytes(hashlib.sha256("|".join(map(str, parts)).encode()).digest()[:8], "big") >> 1
