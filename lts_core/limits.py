"""Limits on the sizes of untrusted input: task files, model output, option JSON.

Task files, tool output and model replies come from outside. Each limit below is far above what the
bundled and HotpotQA data need (longest line 14 KB, question 300 characters, paragraph 7.8 K, 10
paragraphs a task) and far below what makes a run slow or a database huge. A task file over a limit
is refused whole, with the file, line and field named (``lts_core.world.tasks``); model text over a limit
is cut with a marker (``lts_core.world.memory``, ``lts_core.runtime.team``). Documented in docs/architecture.md.
"""

from __future__ import annotations

import json
from typing import Any

# ---- task files (refused when over)
MAX_LINE_BYTES = 1_000_000  # one JSON line (one task, or one pool paragraph)
MAX_JSON_DEPTH = 16  # nesting of arrays/objects in a line, or in an option JSON (a task needs 3)
MAX_ID_CHARS = 200  # task id
MAX_QUESTION_CHARS = 2_000
MAX_ANSWER_CHARS = 1_000  # the answer and each alias
MAX_DOCS_PER_TASK = 100
MAX_TITLE_CHARS = 500  # a paragraph's title
MAX_DOC_TEXT_CHARS = 50_000  # a paragraph's text

# ---- model and tool output (cut when over)
MAX_SUMMARY_CHARS = 500  # a step summary, i.e. a memory key
MAX_VALUE_CHARS = 20_000  # a memory entry's value as stored in the bank
# (what one memory read injects, keys and values together, is RunConfig.max_fetch_chars: 4000)

# ---- settings
MAX_OPTION_JSON_CHARS = 100_000  # --policy-options / --backend-options text

CUT_MARKER = " [...cut]"


def cut(text: str, limit: int) -> str:
    """``text`` if it fits in ``limit`` characters, else its head and the cut marker (``limit`` long)."""
    if len(text) <= limit:
        return text
    if limit <= len(CUT_MARKER):
        return text[: max(0, limit)]
    return text[: limit - len(CUT_MARKER)] + CUT_MARKER


def json_depth(obj: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0, ``[]`` is 1); iterative, so never a RecursionError."""
    depth, stack = 0, [(obj, 0)]
    while stack:
        o, d = stack.pop()
        if isinstance(o, dict | list):
            depth = max(depth, d + 1)
            stack.extend((v, d + 1) for v in (o.values() if isinstance(o, dict) else o))
    return depth


class JSONProblem(ValueError):
    """Why a text is not acceptable JSON; ``syntax`` False: it nests deeper than the limit."""

    def __init__(self, message: str, syntax: bool) -> None:
        super().__init__(message)
        self.syntax = syntax


def load_json(text: str) -> Any:
    """``json.loads`` bounded to ``MAX_JSON_DEPTH`` levels; JSONProblem says what is wrong (the
    caller names where: a flag, a file and line)."""
    too_deep = f"JSON nested deeper than the limit of {MAX_JSON_DEPTH} levels"
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        raise JSONProblem(f"not valid JSON ({e.msg}, column {e.colno})", True) from e
    except RecursionError:
        raise JSONProblem(too_deep, False) from None
    if json_depth(obj) > MAX_JSON_DEPTH:
        raise JSONProblem(too_deep, False)
    return obj
