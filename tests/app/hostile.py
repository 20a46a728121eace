"""Hostile data for the injection tests: a recorded run whose every untrusted field carries markup.

``write_suite(folder)`` writes the demo's first task with a hostile id, question, answer and
paragraph texts, as ``hotpotqa_dev.jsonl`` (the Launch page's ``hotpotqa-dev`` suite when
``LTS_DATA_DIR`` is ``folder``) and as a suite file whose name is hostile too.
``record(db, folder)`` runs it once with a scripted LLM (``tests/llm_fakes.py``) whose search
argument, instructions, summaries (memory keys), aggregation reason and answers carry markup, adds
training epochs under a hostile train id, and closes the database.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: llm_fakes
import app_helpers  # noqa: E402, F401  (puts the repository root on sys.path)
from llm_fakes import SmartState, classify_call, register_provider, smart_reply  # noqa: E402

from lts_core import Engine, RunConfig, Store  # noqa: E402
from lts_core.record.records import TrainEpochRecord  # noqa: E402
from lts_core.world.tasks import load_suite  # noqa: E402

PLANTED = "http://127.0.0.1:1/x.png"  # nothing listens there: a request to it is a failure
SCRIPT = "<script>document.title='PWNED'</script>"
IFRAME = "<iframe srcdoc=\"<script>parent.document.title='PWNED'</script>\"></iframe>"
IMG = "<img src=x onerror=\"document.title='PWNED'\">"
MD_IMAGE = f"![x]({PLANTED})"
MD_LINK = "[click me](http://127.0.0.1:1/go)"
HOSTILE = f"{SCRIPT} {IFRAME} {IMG} {MD_IMAGE} {MD_LINK}"

TASK_ID = f"x{IFRAME}{IMG}{MD_IMAGE}"
QUESTION = f"Which river does Garrick's bridge cross? {HOSTILE}"
ANSWER = f"Marrow River {IMG} {MD_IMAGE}"
SUITE_STEM = "s<img src=x onerror=document.title=1>"
TRAIN_ID = f"t{IMG}{MD_IMAGE}"
BATCH_ID = f"b{IMG}"


def hostile_task() -> dict[str, Any]:
    t = load_suite("demo").tasks[0]
    return {"id": TASK_ID, "question": QUESTION, "answer": ANSWER, "answer_aliases": [],
            "type": t.type, "level": t.level, "dataset": "hostile", "split": "dev",
            "supporting_facts": [list(f) for f in t.supporting_facts],
            "docs": [{"title": d.title, "text": f"{d.text} {HOSTILE}", "is_supporting": d.is_supporting}
                     for d in t.docs]}


def write_suite(folder: Path) -> Path:
    """The hostile task as ``folder/hotpotqa_dev.jsonl`` and ``folder/<hostile name>.jsonl``."""
    folder.mkdir(parents=True, exist_ok=True)
    line = json.dumps(hostile_task()) + "\n"
    (folder / "hotpotqa_dev.jsonl").write_text(line)
    path = folder / f"{SUITE_STEM}.jsonl"
    path.write_text(line)
    return path


def hostile_reply() -> Any:
    """A script item for ``FakeProvider``: the fake's cooperative replies, with markup planted."""
    state = SmartState()

    def reply(messages: list[dict], params: dict) -> str:
        kind = classify_call(messages)
        if kind == "summarize":
            return f"Found the bridge page. {HOSTILE}"
        if kind == "aggregate":
            return json.dumps({"answer": ANSWER, "reason": HOSTILE})
        text = smart_reply(messages, state)
        try:
            obj = json.loads(text)
        except ValueError:
            return text
        act = obj.get("next_action") if isinstance(obj, dict) else None
        if isinstance(act, dict):
            if act.get("tool") == "search":
                act["argument"] = f"Anselm Garrick bridge {IMG} {MD_IMAGE}"
            elif act.get("tool") == "answer":
                act["argument"] = ANSWER
            obj["instruction"] = f"do {act.get('tool')} {HOSTILE}"
        elif isinstance(obj, dict) and "answer" in obj:
            obj["answer"] = ANSWER
        return json.dumps(obj)

    return reply


def record(db: Path, folder: Path) -> str:
    """Record one hostile LLM run (K=2, policy all) and two training epochs; returns the run id."""
    suite_path = write_suite(folder)
    store = Store(db)
    try:
        engine = Engine(store)
        suite = engine.suite(str(suite_path))
        reply = hostile_reply()
        with register_provider("ltshostile") as fake:
            fake.script = [reply] * 2000
            cfg = RunConfig(teams=2, policy="all", backend="ltshostile/model", embedder="hash",
                            max_steps=8, executor="virtual", backend_options={"backoff_s": 0.01})
            summary = engine.run_task(suite.tasks[0], suite, cfg, batch_id=BATCH_ID)
        for ep in range(2):
            store.write(TrainEpochRecord(TRAIN_ID, ep, 0.5, 0.6, 0.5, 0.2, 1.0, 5, 12.0,
                                         time.time()))
        store.flush()
        return summary.record.run_id
    finally:
        store.close()
