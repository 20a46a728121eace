"""``lts data fetch hotpotqa``: download the official HotpotQA dev distractor set and convert it.

The official file is one JSON array of questions with ``_id, question, answer, type, level,
supporting_facts [[title, sent_idx]], context [[title, [sentences]]]``. ``convert_hotpotqa`` turns it
into this project's task format (``shared/data/qa/README.md``): paragraphs are the joined sentences,
``doc_id = sha1(title + "\\n" + text)[:16]``, ``is_supporting`` marks titles named by a supporting
fact. HotpotQA is CC BY-SA 4.0 (Yang et al. 2018): keep that attribution with any copy.
"""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from lts_core.world.tasks import TaskFileError, doc_id_for, parse_task

HOTPOTQA_DEV_URL = "http://curtis.ml.cmu.edu/datasets/hotpot/hotpot_dev_distractor_v1.json"


def convert_record(q: dict, where: str) -> dict:
    if not isinstance(q, dict):
        raise TaskFileError(f"{where}: expected a question object, got {type(q).__name__}")
    for key in ("_id", "question", "answer", "supporting_facts", "context"):
        if key not in q:
            raise TaskFileError(f"{where}: missing field {key!r}")
    facts = q["supporting_facts"]
    if not isinstance(facts, list) or not all(
            isinstance(f, list) and len(f) == 2 and isinstance(f[0], str) and isinstance(f[1], int)
            for f in facts):
        raise TaskFileError(f"{where}: supporting_facts must be a list of [title, sentence_index]")
    if not isinstance(q["context"], list):
        raise TaskFileError(f"{where}: context must be a list of [title, [sentences]]")
    sup_titles = {t for t, _ in facts}
    docs = []
    for i, item in enumerate(q["context"]):
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
                and isinstance(item[1], list) and all(isinstance(x, str) for x in item[1])):
            raise TaskFileError(f"{where}: context[{i}] must be [title, [sentences]]")
        title, sents = item
        text = "".join(sents).strip()
        docs.append({"doc_id": doc_id_for(title, text), "title": title, "text": text,
                     "is_supporting": title in sup_titles})
    rec = {
        "id": f"hotpotqa:{q['_id']}", "dataset": "hotpotqa", "split": "dev",
        "question": q["question"], "answer": q["answer"], "answer_aliases": [],
        "type": q.get("type", ""), "level": q.get("level", ""),
        "supporting_facts": [[t, int(i)] for t, i in q["supporting_facts"]], "docs": docs,
    }
    parse_task(rec, where)  # the converted record must pass the loader's validation
    return rec


def convert_hotpotqa(source: Path, dest: Path, *, limit: int | None = None) -> Path:
    """Convert the official JSON file at ``source`` into JSON Lines at ``dest`` (atomically)."""
    try:
        data = json.loads(Path(source).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TaskFileError(f"{source}: cannot read the HotpotQA file ({e})") from e
    if not isinstance(data, list):
        raise TaskFileError(f"{source}: expected a JSON array of questions")
    rows = [convert_record(q, f"{source}[{i}]") for i, q in enumerate(data[:limit] if limit else data)]
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_suffix(".part")
    with tmp.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    tmp.replace(dest)
    return dest


def fetch_hotpotqa(out_dir: Path, *, url: str | None = None, limit: int | None = None) -> Path:
    """Download the dev distractor set and convert it to ``out_dir/hotpotqa_dev.jsonl``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    raw = out_dir / "hotpot_dev_distractor_v1.json"
    try:
        urllib.request.urlretrieve(url or HOTPOTQA_DEV_URL, raw)  # noqa: S310 (fixed public URL)
    except OSError as e:
        raise TaskFileError(f"cannot download {url or HOTPOTQA_DEV_URL}: {e} (no internet?)") from e
    return convert_hotpotqa(raw, out_dir / "hotpotqa_dev.jsonl", limit=limit)
