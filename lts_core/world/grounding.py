"""Is a step's summary grounded in its output? A lexical check any policy can run on s and o.

A summary that quotes a name (``'Title'`` or ``"Title"``) the step's output never mentions claims
something the step did not see: a misread, or a model's invention. ``support(s, o)`` is the share of
the names s quotes that o contains (case-insensitive); 1.0 when s quotes nothing. The learned
controller can take it as an input (``ControllerConfig.support_input``, docs/controller.md).

Thread-safety: pure functions.
"""

from __future__ import annotations

import re

# A quote opens after the start or a space/bracket and closes before a space, punctuation or the
# end, so an apostrophe inside a word ("John's") neither opens nor closes a name.
_QUOTED = re.compile(r"""(?:(?<=^)|(?<=[\s(\[]))(['"])(.{2,120}?)\1(?=[\s.,;:!?)\]]|$)""")


def quoted_names(s: str) -> list[str]:
    """The names ``s`` quotes, in order."""
    return [m.group(2) for m in _QUOTED.finditer(s or "")]


def support(s: str, o: str) -> float:
    """Share of the names ``s`` quotes that ``o`` contains (case-insensitive); 1.0 if none."""
    names = quoted_names(s)
    if not names:
        return 1.0
    text = (o or "").lower()
    return sum(n.lower() in text for n in names) / len(names)
