"""The documented defaults of the LLM back-end's options are the code's (issue 9: the docstring said
``timeout`` 120 "seconds per HTTP request" while the client's default is 60 s, a hard limit)."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import pytest

from lts_core.backends import llm
from lts_core.backends.llm_client import LLMClient

DOCS = Path(__file__).resolve().parents[2] / "docs" / "llm.md"


def _defaults() -> dict[str, object]:
    out = {p.name: p.default for p in inspect.signature(LLMClient.__init__).parameters.values()
           if p.default is not p.empty}
    out.update({f.name: f.default for f in dataclasses.fields(llm.AgentParams)})
    return out


def _rows(text: str) -> dict[str, str]:
    """option -> default column of a Markdown table (first two columns)."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*`?([a-z_]+)`?\s*\|\s*([^|]+?)\s*\|", line)
        if m:
            rows[m.group(1)] = m.group(2)
    return rows


@pytest.mark.parametrize("where", ["docstring", "docs/llm.md"])
def test_documented_numeric_defaults_are_the_code_s(where: str) -> None:
    rows = _rows(llm.__doc__ if where == "docstring" else DOCS.read_text())
    code = _defaults()
    checked = 0
    for name, default in code.items():
        if name in rows and isinstance(default, int | float) and not isinstance(default, bool):
            assert float(rows[name]) == float(default), f"{where}: {name} {rows[name]} != {default}"
            checked += 1
    assert checked >= 5 and "timeout" in rows
