"""The lexical support check of a summary by its output (lts_core.world.grounding)."""

from __future__ import annotations

import pytest

from lts_core.backends.sim_text import summary_open
from lts_core.world.grounding import quoted_names, support


def test_quoted_names_skip_apostrophes_inside_words():
    s = "Read 'O'Brien Hall': John's band played there. It leads to \"Dublin\"."
    assert quoted_names(s) == ["O'Brien Hall", "Dublin"]


@pytest.mark.parametrize(("s", "o", "want"), [
    ("Read 'Alpha': a page.", "Alpha\nA page about alpha and beta.", 1.0),
    ("Read 'Alpha': a page. It leads to 'Beta'.", "Alpha\nA page about alpha and beta.", 1.0),
    ("Read 'Alpha': a page. It leads to 'Gamma'.", "Alpha\nA page about alpha and beta.", 0.5),
    ("No names at all.", "", 1.0),
    ("'Gamma' and 'Delta'", "nothing", 0.0),
])
def test_support_is_the_share_of_quoted_names_the_output_contains(s, o, want):
    assert support(s, o) == want


def test_a_simulated_misread_bridge_fact_is_unsupported():
    page = "Alpha\nAlpha is a band from Beta City, founded in 1990."
    assert support(summary_open("Alpha", page.split("\n", 1)[1], "Beta City"), page) == 1.0
    assert support(summary_open("Alpha", page.split("\n", 1)[1], "Zeta Town"), page) == 0.5
