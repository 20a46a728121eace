"""Tasks and suites: loading JSON Lines task files with validation.

A task file holds one JSON object per line, in the format of ``shared/data/qa/README.md``::

    {id, question, answer, answer_aliases[], docs[{doc_id?, title, text, is_supporting}],
     type?, level?, supporting_facts?, decomposition?, dataset?, split?}

``load_tasks(path)`` validates the whole file first and raises ``TaskFileError`` naming the file, the
line and the field of the first problem; nothing is half-loaded. Suites are looked up by name in
``SUITES`` (``demo``, ``hotpotqa-dev``, ``hotpotqa-train``) or given as a path to a ``.jsonl`` file.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from .config import ASSETS_DIR, default_data_dir


class TaskFileError(ValueError):
    """A task or corpus file is malformed; the message names the file, line and field."""


@dataclass(frozen=True)
class Doc:
    doc_id: str
    title: str
    text: str
    is_supporting: bool = False


@dataclass(frozen=True)
class Task:
    id: str
    question: str
    answer: str
    answer_aliases: tuple[str, ...]
    docs: tuple[Doc, ...]
    type: str = ""
    level: str = ""
    supporting_facts: tuple[tuple[str, int], ...] = ()
    decomposition: tuple[str, ...] = ()
    dataset: str = ""
    split: str = ""

    @property
    def golds(self) -> tuple[str, ...]:
        return (self.answer, *self.answer_aliases)

    @property
    def hop_titles(self) -> list[str]:
        """Titles of the supporting paragraphs, in the order the supporting facts name them."""
        seen: list[str] = []
        for title, _ in self.supporting_facts:
            if title not in seen:
                seen.append(title)
        for d in self.docs:
            if d.is_supporting and d.title not in seen:
                seen.append(d.title)
        return seen


@dataclass
class Suite:
    name: str
    tasks: list[Task]
    pool: list[Doc] = field(default_factory=list)  # extra paragraphs searched with every task
    source: str = ""

    def get(self, task_id: str) -> Task:
        for t in self.tasks:
            if t.id == task_id:
                return t
        raise KeyError(f"task {task_id!r} is not in suite {self.name!r}")


def doc_id_for(title: str, text: str) -> str:
    """``sha1(title + "\\n" + text)[:16]``, the id scheme of the shared data."""
    return hashlib.sha1(f"{title}\n{text}".encode()).hexdigest()[:16]


def _read_lines(path: Path) -> list[tuple[int, dict]]:
    if not path.is_file():
        raise TaskFileError(f"{path}: no such file")
    raw = path.read_bytes()
    out: list[tuple[int, dict]] = []
    for no, line in enumerate(raw.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as e:
            raise TaskFileError(f"{path}:{no}: not valid UTF-8 ({e.reason} at byte {e.start})") from e
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as e:
            raise TaskFileError(f"{path}:{no}: not valid JSON ({e.msg}, column {e.colno})") from e
        if not isinstance(obj, dict):
            raise TaskFileError(f"{path}:{no}: expected a JSON object, got {type(obj).__name__}")
        out.append((no, obj))
    return out


def _need(obj: dict, key: str, typ: type | tuple[type, ...], where: str, optional: bool = False):
    if key not in obj or obj[key] is None:
        if optional:
            return None
        raise TaskFileError(f"{where}: missing field {key!r}")
    val = obj[key]
    if not isinstance(val, typ) or (typ is str and not val.strip() and not optional):
        want = typ.__name__ if isinstance(typ, type) else "/".join(t.__name__ for t in typ)
        raise TaskFileError(f"{where}: field {key!r} must be a non-empty {want}, got {val!r:.60}")
    return val


def parse_task(obj: dict, where: str) -> Task:
    """Validate one task object; ``where`` ("file:line") prefixes every error message."""
    tid = _need(obj, "id", str, where)
    question = _need(obj, "question", str, where)
    answer = _need(obj, "answer", str, where)
    aliases = _need(obj, "answer_aliases", list, where, optional=True) or []
    if not all(isinstance(a, str) for a in aliases):
        raise TaskFileError(f"{where}: field 'answer_aliases' must be a list of strings")
    docs_raw = _need(obj, "docs", list, where)
    if not docs_raw:
        raise TaskFileError(f"{where}: field 'docs' is empty; a task needs its paragraphs")
    docs = []
    for i, d in enumerate(docs_raw):
        dw = f"{where}: docs[{i}]"
        if not isinstance(d, dict):
            raise TaskFileError(f"{dw}: expected an object")
        title = _need(d, "title", str, dw)
        text = _need(d, "text", str, dw)
        sup = d.get("is_supporting", False)
        if not isinstance(sup, bool):
            raise TaskFileError(f"{dw}: field 'is_supporting' must be true or false")
        did = d.get("doc_id") or doc_id_for(title, text)
        docs.append(Doc(str(did), title, text, sup))
    facts_raw = _need(obj, "supporting_facts", list, where, optional=True) or []
    facts = []
    for i, f in enumerate(facts_raw):
        if not (isinstance(f, list | tuple) and len(f) == 2 and isinstance(f[0], str)
                and isinstance(f[1], int)):
            raise TaskFileError(f"{where}: supporting_facts[{i}] must be [title, sentence_index]")
        facts.append((f[0], f[1]))
    decomp = obj.get("decomposition") or []
    if not isinstance(decomp, list):
        raise TaskFileError(f"{where}: field 'decomposition' must be a list")
    return Task(
        id=tid, question=question, answer=answer, answer_aliases=tuple(aliases), docs=tuple(docs),
        type=str(obj.get("type") or ""), level=str(obj.get("level") or ""),
        supporting_facts=tuple(facts), decomposition=tuple(str(x) for x in decomp),
        dataset=str(obj.get("dataset") or ""), split=str(obj.get("split") or ""),
    )


def load_tasks(path: str | Path) -> list[Task]:
    """Load and validate a task file; all or nothing."""
    path = Path(path)
    tasks, seen = [], {}
    for no, obj in _read_lines(path):
        t = parse_task(obj, f"{path}:{no}")
        if t.id in seen:
            raise TaskFileError(f"{path}:{no}: field 'id': {t.id!r} repeats line {seen[t.id]}")
        seen[t.id] = no
        tasks.append(t)
    if not tasks:
        raise TaskFileError(f"{path}: the file holds no tasks")
    return tasks


def load_corpus(path: str | Path) -> list[Doc]:
    """Load a distractor pool file ({doc_id?, title, text} per line)."""
    path = Path(path)
    docs = []
    for no, obj in _read_lines(path):
        where = f"{path}:{no}"
        title, text = _need(obj, "title", str, where), _need(obj, "text", str, where)
        docs.append(Doc(str(obj.get("doc_id") or doc_id_for(title, text)), title, text, False))
    return docs


def _data_file(name: str, data_dir: Path | None) -> Path:
    d = Path(data_dir) if data_dir else default_data_dir()
    p = d / name
    if not p.is_file():
        raise TaskFileError(
            f"{p}: not found. Set LTS_DATA_DIR to the folder holding the HotpotQA files, or run "
            "`lts data fetch hotpotqa` on a machine with internet."
        )
    return p


def load_suite(name: str, data_dir: Path | None = None, *, with_pool: bool = True) -> Suite:
    """A suite by name (``demo``, ``hotpotqa-dev``, ``hotpotqa-train``) or by ``.jsonl`` path."""
    if name == "demo":
        folder = ASSETS_DIR / "demo"
        pool = load_corpus(folder / "corpus_distractors.jsonl") if with_pool else []
        return Suite("demo", load_tasks(folder / "tasks.jsonl"), pool, str(folder))
    if name in ("hotpotqa-dev", "hotpotqa-train"):
        split = name.split("-")[1]
        tasks = load_tasks(_data_file(f"hotpotqa_{split}.jsonl", data_dir))
        pool: list[Doc] = []
        if with_pool:
            try:
                pool = load_corpus(_data_file("corpus_distractors.jsonl", data_dir))
            except TaskFileError:
                pool = []
        return Suite(name, tasks, pool, str(_data_file(f"hotpotqa_{split}.jsonl", data_dir)))
    p = Path(name)
    if p.suffix == ".jsonl" or p.exists():
        return Suite(p.stem, load_tasks(p), [], str(p))
    raise TaskFileError(
        f"unknown suite {name!r}: use one of {', '.join(SUITE_NAMES)} or a path to a .jsonl file"
    )


SUITE_NAMES = ("demo", "hotpotqa-dev", "hotpotqa-train")
