"""Docstring examples are run: a usage example that stops working fails here."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WITH_EXAMPLES = sorted(
    ".".join(p.relative_to(ROOT).with_suffix("").parts)
    for pkg in ("lts_core", "app") for p in (ROOT / pkg).rglob("*.py")
    if ">>>" in p.read_text() and p.name != "__init__.py")


def test_examples_were_found() -> None:
    assert "lts_core.registry" in WITH_EXAMPLES and len(WITH_EXAMPLES) >= 8


@pytest.mark.parametrize("module", WITH_EXAMPLES)
def test_docstring_examples(module: str) -> None:
    mod = importlib.import_module(module)
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert res.attempted > 0, f"{module}: no example ran"
    assert res.failed == 0, f"{module}: {res.failed} of {res.attempted} examples failed"
