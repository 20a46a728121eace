"""Tasks and suites: loading JSON Lines task files with validation.

A task file holds one JSON object per line, in the format of ``shared/data/qa/README.md``::

    {id, question, answer, answer_aliases[], docs[{doc_id?, title, text, is_supporting}],
     type?, level?, supporting_facts?, decomposition?, dataset?, split?}

``load_tasks(path)`` validates the whole file first and raises ``TaskFileError`` naming the file, the
line and the field of the first problem; nothing is half-loaded. Task files are untrusted: sizes are
bounded by ``lts_core.limits`` (line bytes, JSON nesting, question, answer, doc text, docs per task),
and a task may not repeat a ``doc_id``. Suites are looked up by name in
``SUITES`` (``demo``, ``hotpotqa-dev``, ``hotpotqa-train``) or given as a path to a ``.jsonl`` file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from lts_core import limits as L
from lts_core.config import ASSETS_DIR, default_data_dir


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
    if path.is_dir():
        raise TaskFileError(f"{path}: is a folder, not a task file")
    if not path.is_file():
        raise TaskFileError(f"{path}: no such file")
    out: list[tuple[int, dict]] = []
    with path.open("rb") as f:  # line by line: a huge line is refused before it is read whole
        for no, line in enumerate(iter(lambda: f.readline(L.MAX_LINE_BYTES + 1), b""), start=1):
            line = line.rstrip(b"\r\n")
            if len(line) > L.MAX_LINE_BYTES:
                raise TaskFileError(f"{path}:{no}: the line is longer than the limit of "
                                    f"{L.MAX_LINE_BYTES:,} bytes")
            if line.strip():
                out.append((no, _parse_line(line, f"{path}:{no}")))
    return out


def _parse_line(line: bytes, where: str) -> dict:
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TaskFileError(f"{where}: not valid UTF-8 ({e.reason} at byte {e.start})") from e
    try:
        obj = L.load_json(text)
    except L.JSONProblem as e:
        raise TaskFileError(f"{where}: {e}") from e
    if not isinstance(obj, dict):
        raise TaskFileError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    return obj


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


def _text(obj: dict, key: str, where: str, limit: int, optional: bool = False) -> str:
    """A string field of at most ``limit`` characters ('' when optional and absent)."""
    val = _need(obj, key, str, where, optional)
    if val is None:
        return ""
    if len(val) > limit:
        raise TaskFileError(f"{where}: field {key!r} is {len(val):,} characters long; the limit is "
                            f"{limit:,}")
    return val


def _strings(obj: dict, key: str, where: str, limit: int) -> list[str]:
    vals = _need(obj, key, list, where, optional=True) or []
    for i, v in enumerate(vals):
        if not isinstance(v, str):
            raise TaskFileError(f"{where}: field {key!r} must be a list of strings; item {i} is "
                                f"{type(v).__name__}")
        if len(v) > limit:
            raise TaskFileError(f"{where}: field {key!r} item {i} is {len(v):,} characters long; "
                                f"the limit is {limit:,}")
    return vals


def _doc(d: object, dw: str) -> Doc:
    if not isinstance(d, dict):
        raise TaskFileError(f"{dw}: expected an object")
    title = _text(d, "title", dw, L.MAX_TITLE_CHARS)
    text = _text(d, "text", dw, L.MAX_DOC_TEXT_CHARS)
    sup = d.get("is_supporting", False)
    if not isinstance(sup, bool):
        raise TaskFileError(f"{dw}: field 'is_supporting' must be true or false")
    return Doc(_text(d, "doc_id", dw, L.MAX_ID_CHARS, optional=True) or doc_id_for(title, text),
               title, text, sup)


def parse_task(obj: dict, where: str) -> Task:
    """Validate one task object; ``where`` ("file:line") prefixes every error message."""
    tid = _text(obj, "id", where, L.MAX_ID_CHARS)
    question = _text(obj, "question", where, L.MAX_QUESTION_CHARS)
    answer = _text(obj, "answer", where, L.MAX_ANSWER_CHARS)
    aliases = _strings(obj, "answer_aliases", where, L.MAX_ANSWER_CHARS)
    docs_raw = _need(obj, "docs", list, where)
    if not docs_raw:
        raise TaskFileError(f"{where}: field 'docs' is empty; a task needs its paragraphs")
    if len(docs_raw) > L.MAX_DOCS_PER_TASK:
        raise TaskFileError(f"{where}: field 'docs' holds {len(docs_raw)} paragraphs; the limit is "
                            f"{L.MAX_DOCS_PER_TASK}")
    docs: list[Doc] = []
    first: dict[str, int] = {}
    for i, d in enumerate(docs_raw):
        doc = _doc(d, f"{where}: docs[{i}]")
        if doc.doc_id in first:  # the search index keeps one paragraph per id: the other is lost
            raise TaskFileError(f"{where}: docs[{i}]: doc_id {doc.doc_id!r} repeats "
                                f"docs[{first[doc.doc_id]}]")
        first[doc.doc_id] = i
        docs.append(doc)
    facts_raw = _need(obj, "supporting_facts", list, where, optional=True) or []
    facts = []
    for i, f in enumerate(facts_raw):
        if not (isinstance(f, list) and len(f) == 2 and isinstance(f[0], str)
                and isinstance(f[1], int) and not isinstance(f[1], bool) and f[1] >= 0):
            raise TaskFileError(f"{where}: supporting_facts[{i}] must be [title, sentence_index] "
                                f"with a whole number index >= 0, got {f!r:.60}")
        facts.append((f[0], f[1]))
    return Task(
        id=tid, question=question, answer=answer, answer_aliases=tuple(aliases), docs=tuple(docs),
        type=_text(obj, "type", where, L.MAX_ID_CHARS, optional=True),
        level=_text(obj, "level", where, L.MAX_ID_CHARS, optional=True),
        supporting_facts=tuple(facts),
        decomposition=tuple(_strings(obj, "decomposition", where, L.MAX_QUESTION_CHARS)),
        dataset=_text(obj, "dataset", where, L.MAX_ID_CHARS, optional=True),
        split=_text(obj, "split", where, L.MAX_ID_CHARS, optional=True),
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
        doc = _doc(obj, where)
        docs.append(Doc(doc.doc_id, doc.title, doc.text, False))
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
