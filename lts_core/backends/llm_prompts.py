"""Prompts, JSON schemas and reply parsers of the LLM back-end (orchestrator, summarizer,
aggregator) and of the ``llm-judge`` admission policy. Pure functions: no litellm here.

The orchestrator follows Magentic-One: a *task ledger* (facts and plan) written at step 0 and
rewritten when the team stalls, and a *progress ledger* every step (is_request_satisfied, is_in_loop,
is_progress_being_made, the next action and the instruction for it). The next action is one of the
engine's tools: ``search`` (a query), ``open`` (a page title), ``answer`` (the final answer) or,
when another team's memory keys are visible, ``memory_read`` (entry ids to fetch).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

SYSTEM = (
    "You are the orchestrator of an agent team that answers a question by researching a document "
    "collection. You act one step at a time with these tools:\n"
    "- search: argument = a search query; returns page titles with snippets.\n"
    "- open: argument = the exact title of a page; returns the page's text.\n"
    "- answer: argument = the final answer (a short phrase: a name, a number, yes/no).\n"
    "{memory_tool}"
    "Reply with JSON only."
)
MEMORY_TOOL = (
    "- memory_read: entry_ids = ids of shared memory entries; returns what other teams working on "
    "the same question found (read an entry when its key looks useful: it saves a search).\n"
)


def system_prompt(memory_on: bool) -> str:
    return SYSTEM.format(memory_tool=MEMORY_TOOL if memory_on else "")


# ----------------------------------------------------------------------------- task ledger
TASK_LEDGER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "facts": {"type": "array", "items": {"type": "string"}, "maxItems": 6},
        "plan": {"type": "array", "items": {"type": "string"}, "maxItems": 6},
    },
    "required": ["facts", "plan"],
}


def task_ledger_messages(question: str, memory_on: bool, *, previous: str = "",
                         history: str = "", extra: str = "") -> list[dict[str, str]]:
    if previous:
        ask = (f"Question: {question}\n\nThe team is stuck. Current ledger:\n{previous}\n\n"
               f"Steps so far:\n{history or '(none)'}\n\n"
               "Rewrite the task ledger: update the facts with what the steps found, and write a "
               "new plan that avoids what did not work.")
    else:
        ask = (f"Question: {question}\n\nWrite the task ledger: the facts given in the question or "
               "that must be looked up, and a short plan (which searches and pages).")
    ask += ('\nReply with JSON: {"facts": ["..."], "plan": ["..."]}' + (f"\n{extra}" if extra else ""))
    return [{"role": "system", "content": system_prompt(memory_on)},
            {"role": "user", "content": ask}]


def ledger_text(obj: dict[str, Any]) -> str:
    def items(v: Any) -> list[str]:
        if isinstance(v, str):
            return [v] if v.strip() else []
        if isinstance(v, list):
            return [str(x).strip() for x in v if str(x).strip()]
        return []

    facts, plan = items(obj.get("facts")), items(obj.get("plan"))
    if not facts and not plan:
        raise ValueError('the ledger needs "facts" and "plan" lists of strings')
    return ("Facts:\n" + "\n".join(f"- {f}" for f in facts or ["(none yet)"])
            + "\nPlan:\n" + "\n".join(f"- {p}" for p in plan or ["search, read, answer"]))


# ----------------------------------------------------------------------------- progress ledger
def progress_schema(tools: list[str], entry_ids: list[int]) -> dict[str, Any]:
    action: dict[str, Any] = {
        "type": "object",
        "properties": {"tool": {"type": "string", "enum": tools},
                       "argument": {"type": "string"}},
        "required": ["tool", "argument"],
    }
    if "memory_read" in tools and entry_ids:
        action["properties"]["entry_ids"] = {
            "type": "array", "items": {"type": "integer", "enum": entry_ids}, "maxItems": 3}
    return {
        "type": "object",
        "properties": {
            "is_request_satisfied": {"type": "boolean"},
            "is_in_loop": {"type": "boolean"},
            "is_progress_being_made": {"type": "boolean"},
            "next_action": action,
            "instruction": {"type": "string"},
        },
        "required": ["is_request_satisfied", "is_in_loop", "is_progress_being_made",
                     "next_action", "instruction"],
    }


@dataclass
class Progress:
    is_request_satisfied: bool
    is_in_loop: bool
    is_progress_being_made: bool
    tool: str
    argument: str
    entry_ids: tuple[int, ...]
    instruction: str


def _as_bool(v: Any, name: str) -> bool:
    if isinstance(v, dict):  # Magentic-One style {"reason": ..., "answer": true}
        v = v.get("answer")
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("true", "yes", "false", "no"):
        return v.strip().lower() in ("true", "yes")
    raise ValueError(f'"{name}" must be true or false, got {v!r}')


def parse_progress(obj: dict[str, Any], tools: list[str], entry_ids: list[int]) -> Progress:
    """Validate a progress ledger; the ValueError's message is sent back for the repair retry."""
    act = obj.get("next_action")
    if not isinstance(act, dict):  # tolerate a flat reply
        act = {k: obj[k] for k in ("tool", "argument", "entry_ids") if k in obj}
    tool = str(act.get("tool") or "").strip().lower().replace("-", "_")
    if tool not in tools:
        raise ValueError(f'next_action.tool must be one of {tools}, got {tool!r}')
    arg = act.get("argument")
    arg = "" if arg is None else str(arg).strip()
    ids: tuple[int, ...] = ()
    if tool == "memory_read":
        raw = act.get("entry_ids")
        if raw is None or raw == []:
            raw = re.findall(r"\d+", arg)
        if isinstance(raw, int | str):
            raw = [raw]
        try:
            ids = tuple(dict.fromkeys(int(x) for x in raw))
        except (TypeError, ValueError):
            raise ValueError(f"entry_ids must be a list of integers, got {raw!r}") from None
        ids = tuple(i for i in ids if i in entry_ids)[:3]
        if not ids:
            raise ValueError(f"memory_read needs entry_ids from the listed keys {entry_ids}, "
                             f"got {raw!r}")
        arg = ",".join(map(str, ids))
    elif not arg:
        raise ValueError(f"next_action.argument must not be empty for tool {tool!r}")
    return Progress(
        _as_bool(obj.get("is_request_satisfied", False), "is_request_satisfied"),
        _as_bool(obj.get("is_in_loop", False), "is_in_loop"),
        _as_bool(obj.get("is_progress_being_made", True), "is_progress_being_made"),
        tool, arg[:300], ids, str(obj.get("instruction") or "").strip()[:500])


def progress_messages(question: str, ledger: str, history: str, last: str, keys: str,
                      fetched: list[int], tools: list[str], *, extra: str = "",
                      memory_on: bool = False) -> list[dict[str, str]]:
    parts = [f"Question: {question}", f"Task ledger:\n{ledger}",
             f"Steps so far (oldest first):\n{history or '(none)'}"]
    if last:
        parts.append(f"Result of the last step:\n{last}")
    if keys:
        parts.append("Shared memory from other teams (key = summary of one of their steps; "
                     "use memory_read with the entry id to get its full content):\n" + keys
                     + (f"\n(already read: {', '.join(f'#{i}' for i in fetched)})" if fetched else ""))
    ids = ', "entry_ids": [ids of memory entries to read]' if "memory_read" in tools else ""
    parts.append(
        "Update the progress ledger. Reply with one JSON object with the keys "
        "is_request_satisfied (true when the answer is known with evidence), is_in_loop (true when "
        "steps repeat), is_progress_being_made (true when the last steps found something new), "
        f'next_action ({{"tool": one of {" | ".join(tools)}, "argument": the search query, page '
        f'title or final answer{ids}}}) and instruction (what this step must achieve).'
        + (f"\n{extra}" if extra else ""))
    return [{"role": "system", "content": system_prompt(memory_on)},
            {"role": "user", "content": "\n\n".join(parts)}]


def fill_extra(extra: str, unread_ids: list[int]) -> str:
    r"""``extra`` with ``{unread_id}`` replaced by the newest unread entry id of another team; lines
    holding the placeholder are dropped when there is none.

    >>> fill_extra("Be brief.\nRead #{unread_id} first.", [3, 5])
    'Be brief.\nRead #5 first.'
    >>> fill_extra("Be brief.\nRead #{unread_id} first.", [])
    'Be brief.'
    """
    if "{unread_id}" not in extra:
        return extra
    if not unread_ids:
        return "\n".join(ln for ln in extra.splitlines() if "{unread_id}" not in ln)
    return extra.replace("{unread_id}", str(max(unread_ids)))


def repair_messages(messages: list[dict[str, str]], reply: str, error: str) -> list[dict[str, str]]:
    """The conversation plus the bad reply and what was wrong with it (one repair retry)."""
    return [*messages, {"role": "assistant", "content": reply[:2000]},
            {"role": "user", "content": f"Your reply could not be used: {error}. Reply again with "
                                        "only the corrected JSON object."}]


# ----------------------------------------------------------------------------- final answer
FINAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}},
    "required": ["answer"],
}


def final_answer_messages(question: str, ledger: str, history: str, last: str,
                          memory_on: bool) -> list[dict[str, str]]:
    body = (f"Question: {question}\n\nTask ledger:\n{ledger}\n\nSteps so far:\n{history or '(none)'}"
            + (f"\n\nResult of the last step:\n{last}" if last else "")
            + '\n\nGive the final answer now, as short as possible (a name, a number, yes/no). '
              'Reply with JSON: {"answer": "..."}')
    return [{"role": "system", "content": system_prompt(memory_on)},
            {"role": "user", "content": body}]


def parse_answer(text: str) -> str:
    """The answer from a {"answer": ...} reply, or the reply's first line as a fallback."""
    from lts_core.backends.llm_client import extract_json

    try:
        obj = extract_json(text)
        a = obj.get("answer")
        if isinstance(a, str | int | float) and str(a).strip():
            return str(a).strip()[:300]
    except ValueError:
        pass
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    line = re.sub(r"^(final answer|answer)\s*:\s*", "", line, flags=re.I).strip().strip('"')
    return line[:300]


# ----------------------------------------------------------------------------- step summaries
SUMMARY_SYSTEM = ("You write the memory key of one agent step: one sentence of 15 to 20 words "
                  "stating the step's purpose and its result, with the concrete names, numbers and "
                  "page titles it found. Reply with the sentence only.")


def summary_messages(instruction: str, kind: str, arg: str, output: str,
                     max_chars: int = 2000) -> list[dict[str, str]]:
    o = output if len(output) <= max_chars else output[:max_chars] + " [...]"
    user = (f"Instruction: {instruction or '(none)'}\nAction: {kind} {arg!r}\n"
            f"Output:\n{o}\n\nOne sentence (15-20 words):")
    return [{"role": "system", "content": SUMMARY_SYSTEM}, {"role": "user", "content": user}]


def clean_summary(text: str, max_words: int = 30) -> str:
    """First non-empty line, without a 'Summary:' label or quotes, cut to ``max_words`` words."""
    line = next((ln.strip() for ln in (text or "").splitlines() if ln.strip()), "")
    line = re.sub(r"^(summary|sentence|memory key)\s*:\s*", "", line, flags=re.I).strip().strip('"')
    words = line.split()
    return " ".join(words[:max_words])


# ----------------------------------------------------------------------------- aggregation
AGGREGATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string"}, "reason": {"type": "string"}},
    "required": ["answer"],
}


def aggregate_messages(question: str, transcripts: list[tuple[int, str, str]]) -> list[dict[str, str]]:
    """``transcripts``: [(team_idx, end of its transcript, its answer)]."""
    blocks = [f"Team {i}:\n{t}\nTeam {i}'s answer: {a}" for i, t, a in transcripts]
    user = (f"Question: {question}\n\nSeveral teams worked on this question independently. Here is "
            "the end of each team's work and its answer.\n\n" + "\n\n".join(blocks)
            + "\n\nWeigh the evidence and give the single best final answer, as short as possible. "
              'Reply with JSON: {"answer": "...", "reason": "..."}')
    return [{"role": "system", "content": "You aggregate the answers of parallel agent teams."},
            {"role": "user", "content": user}]


# ----------------------------------------------------------------------------- admission judge
JUDGE_SYSTEM = (
    "Several agent teams work in parallel on the same question and share a memory. You decide "
    "whether one step of one team should be stored in the shared memory. Store a step when its "
    "result would help another team (a new fact, a relevant page, useful search results, a final "
    "answer with evidence). Do not store a step that repeats what the memory already has, failed, "
    "or is irrelevant. Reply with one word: YES or NO."
)


def judge_messages(query: str, keys: list[str], u: str, s: str, o: str, *,
                   output_chars: int = 1500) -> list[dict[str, str]]:
    mem = "\n".join(f"- {k}" for k in keys) if keys else "(empty)"
    o = o if len(o) <= output_chars else o[:output_chars] + " [...]"
    user = (f"Question: {query}\n\nShared memory keys already stored:\n{mem}\n\nThe step:\n"
            f"Instruction: {u or '(none)'}\nSummary: {s}\nOutput:\n{o}\n\n"
            "Store this step in the shared memory? Answer YES or NO.")
    return [{"role": "system", "content": JUDGE_SYSTEM}, {"role": "user", "content": user}]
