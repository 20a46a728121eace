"""Task files: the good fixture loads exactly; every kind of bad file is refused whole, with the
file, line and field named in the error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import fast_config

from lts_core import Engine, Store
from lts_core import limits as L
from lts_core.world.tasks import (
    SUITE_NAMES,
    TaskFileError,
    doc_id_for,
    load_corpus,
    load_suite,
    load_tasks,
)

GOOD = {"id": "t1", "question": "Who built the mill?", "answer": "Ada", "answer_aliases": ["A."],
        "docs": [{"title": "Mill", "text": "The mill was built by Ada.", "is_supporting": True}]}


_DROP = object()


def _line(**over) -> str:
    obj = {**GOOD, **over}
    return json.dumps({k: v for k, v in obj.items() if v is not _DROP})


def _write(tmp_path: Path, content: str | bytes, name: str = "bad.jsonl") -> Path:
    p = tmp_path / name
    p.write_bytes(content if isinstance(content, bytes) else content.encode())
    return p


# ------------------------------------------------------------------------------ the good fixture
def test_small_fixture_loads_every_field(small_tasks_path: Path) -> None:
    tasks = load_tasks(small_tasks_path)
    assert [t.id for t in tasks] == ["small:bridge", "small:compare", "small:yesno"]
    bridge, compare, yesno = tasks
    assert bridge.golds == ("Brindlecombe", "Brindlecombe, Wessmoor")
    assert bridge.type == "bridge" and bridge.level == "easy" and bridge.dataset == "small"
    assert bridge.supporting_facts == (("Tallow Lane Library", 0), ("Odile Fenwright", 1))
    assert bridge.hop_titles == ["Tallow Lane Library", "Odile Fenwright"]
    assert [d.is_supporting for d in bridge.docs] == [True, True, False, False]
    # a doc without doc_id gets sha1(title + "\n" + text)[:16]; a given one is kept
    d0 = bridge.docs[0]
    assert d0.doc_id == doc_id_for(d0.title, d0.text) and len(d0.doc_id) == 16
    assert [d.doc_id for d in compare.docs] == ["small-pellow", "small-marsh", "small-hill"]
    assert yesno.answer == "no" and yesno.answer_aliases == ()


def test_path_suite_and_engine_run_on_fixture(small_tasks_path: Path, tmp_path: Path) -> None:
    suite = load_suite(str(small_tasks_path))
    assert suite.name == "tasks_small" and len(suite.tasks) == 3 and suite.pool == []
    assert suite.get("small:compare").answer == "Marsh Gate Theatre"
    with pytest.raises(KeyError, match="not in suite"):
        suite.get("nope")
    with Store(tmp_path / "s.duckdb") as store:
        s = Engine(store).run_task(suite.tasks[0], suite, fast_config(teams=2))
        assert s.record.status == "finished" and s.record.suite == "tasks_small"
        assert s.steps >= 2 * 2  # at least plan + answer per team


def test_demo_suite_shape(demo_suite) -> None:
    assert len(demo_suite.tasks) == 16 and len(demo_suite.pool) == 30
    for t in demo_suite.tasks:
        assert sum(d.is_supporting for d in t.docs) >= 2, t.id
        assert len({d.doc_id for d in t.docs}) == len(t.docs)


# ------------------------------------------------------------------------------ bad files
BAD_CASES = {
    "malformed JSON": ([_line(), '{"id": "t2", "question": ', _line(id="t3")], 2,
                       "not valid JSON (Expecting value, column 26)"),
    "not an object": ([_line(), "[1, 2]"], 2, "expected a JSON object"),
    "missing field": ([_line(), _line(id="t2", question=_DROP)], 2, "missing field 'question'"),
    "null field": ([_line(answer=None)], 1, "missing field 'answer'"),
    "wrong type": ([_line(), _line(id="t2"), _line(id="t3", answer=42)], 3, "field 'answer'"),
    "blank string": ([_line(question="   ")], 1, "field 'question' must be a non-empty str"),
    "aliases not strings": ([_line(answer_aliases=["ok", 3])], 1, "'answer_aliases'"),
    "docs empty": ([_line(docs=[])], 1, "field 'docs' is empty"),
    "doc not object": ([_line(docs=["text"])], 1, "docs[0]: expected an object"),
    "doc missing text": ([_line(docs=[{"title": "x"}])], 1, "docs[0]: missing field 'text'"),
    "is_supporting type": ([_line(docs=[{"title": "x", "text": "y", "is_supporting": "yes"}])], 1,
                           "docs[0]: field 'is_supporting'"),
    "bad supporting fact": ([_line(supporting_facts=[["Mill", "zero"]])], 1, "supporting_facts[0]"),
    "decomposition type": ([_line(decomposition="a then b")], 1, "'decomposition'"),
    "duplicate id": ([_line(), _line(id="t2"), _line()], 3, "field 'id': 't1' repeats line 1"),
    # untrusted sizes and types (issue 9, section 5): each names the field
    "duplicate doc_id": ([_line(docs=[{"doc_id": "d1", "title": "A", "text": "a"},
                                      {"doc_id": "d1", "title": "B", "text": "b"}])], 1,
                         "docs[1]: doc_id 'd1' repeats docs[0]"),
    "duplicate paragraph": ([_line(docs=[GOOD["docs"][0], GOOD["docs"][0]])], 1,
                            "docs[1]: doc_id"),
    "doc_id not a string": ([_line(docs=[{"doc_id": {"a": 1}, "title": "A", "text": "a"}])], 1,
                            "docs[0]: field 'doc_id' must be a non-empty str"),
    "level a dict": ([_line(level={"x": 1})], 1, "field 'level' must be a non-empty str"),
    "type a list": ([_line(type=["bridge"])], 1, "field 'type' must be a non-empty str"),
    "boolean sentence index": ([_line(supporting_facts=[["Mill", True]])], 1, "supporting_facts[0]"),
    "negative sentence index": ([_line(supporting_facts=[["Mill", -1]])], 1, "supporting_facts[0]"),
    "decomposition of dicts": ([_line(decomposition=[{"q": "a"}])], 1,
                               "field 'decomposition' must be a list of strings; item 0 is dict"),
    "question too long": ([_line(), _line(id="t2", question="why " * (L.MAX_QUESTION_CHARS // 4 + 1))],
                          2, f"field 'question' is 2,004 characters long; the limit is "
                             f"{L.MAX_QUESTION_CHARS:,}"),
    "answer too long": ([_line(answer="a" * (L.MAX_ANSWER_CHARS + 1))], 1, "field 'answer' is"),
    "alias too long": ([_line(answer_aliases=["ok", "a" * (L.MAX_ANSWER_CHARS + 1)])], 1,
                       "field 'answer_aliases' item 1 is"),
    "id too long": ([_line(id="t" * (L.MAX_ID_CHARS + 1))], 1, "field 'id' is"),
    "doc text too long": ([_line(docs=[{"title": "A", "text": "x" * (L.MAX_DOC_TEXT_CHARS + 1)}])],
                          1, "docs[0]: field 'text' is 50,001 characters long; the limit is 50,000"),
    "title too long": ([_line(docs=[{"title": "T" * (L.MAX_TITLE_CHARS + 1), "text": "x"}])], 1,
                       "docs[0]: field 'title' is"),
    "too many docs": ([_line(docs=[{"title": f"T{i}", "text": "x"} for i in range(101)])], 1,
                      "field 'docs' holds 101 paragraphs; the limit is 100"),
    "nested too deep": ([_line(), '{"id": "t2", "x": ' + "[" * 17 + "]" * 17 + "}"], 2,
                        "JSON nested deeper than the limit of 16 levels"),
    "nested past the parser": ([_line(), '{"id": "t2", "x": ' + "[" * 100_000 + "]" * 100_000 + "}"],
                               2, "JSON nested deeper than the limit of 16 levels"),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
def test_bad_task_file_names_file_line_field(tmp_path: Path, case: str) -> None:
    lines, line_no, needle = BAD_CASES[case]
    p = _write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(TaskFileError) as ei:
        load_tasks(p)
    msg = str(ei.value)
    assert msg.startswith(f"{p}:{line_no}:"), msg
    assert needle in msg, msg


def test_bad_utf8_names_the_line(tmp_path: Path) -> None:
    good = _line().encode()
    p = _write(tmp_path, good + b"\n" + _line(id="t2").encode() + b"\n"
               + b'{"id": "t3", "question": "caf\xe9?"}\n')
    with pytest.raises(TaskFileError, match=r":3: not valid UTF-8") as ei:
        load_tasks(p)
    assert str(p) in str(ei.value)


@pytest.mark.parametrize("content", ["", "\n\n   \n"])
def test_empty_file_is_an_error(tmp_path: Path, content: str) -> None:
    p = _write(tmp_path, content)
    with pytest.raises(TaskFileError, match="holds no tasks") as ei:
        load_tasks(p)
    assert str(p) in str(ei.value)


def test_blank_lines_keep_line_numbers(tmp_path: Path) -> None:
    p = _write(tmp_path, "\n" + _line() + "\n\n" + _line(id="t2", answer=1) + "\n")
    with pytest.raises(TaskFileError, match=r"bad\.jsonl:4: field 'answer'"):
        load_tasks(p)


def test_a_huge_line_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    """A 50 MB line took 8 min and 1.7 GB with --limit 1; now it is refused at the limit."""
    import time
    import tracemalloc

    p = _write(tmp_path, _line() + "\n" + _line(id="t2", question="q" * (L.MAX_LINE_BYTES * 20))
               + "\n")
    tracemalloc.start()
    t0 = time.monotonic()
    with pytest.raises(TaskFileError) as ei:
        load_tasks(p)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert str(ei.value) == f"{p}:2: the line is longer than the limit of 1,000,000 bytes"
    assert time.monotonic() - t0 < 5 and peak < 10 * L.MAX_LINE_BYTES
    # a line of exactly the limit is read (and then judged on its fields)
    obj = json.loads(_line())
    obj["pad"] = ""
    obj["pad"] = "p" * (L.MAX_LINE_BYTES - len(json.dumps(obj)))
    p.write_text(json.dumps(obj) + "\n")
    assert len(p.read_bytes()) == L.MAX_LINE_BYTES + 1 and len(load_tasks(p)) == 1


def test_a_folder_is_not_a_task_file(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="is a folder, not a task file"):
        load_tasks(tmp_path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="no such file"):
        load_tasks(tmp_path / "absent.jsonl")


def test_nothing_half_loaded(tmp_path: Path, store: Store) -> None:
    """A file that goes bad on its last line yields no tasks at all, and an Engine does not keep a
    partial suite: once the file is fixed, every task is there."""
    p = _write(tmp_path, "\n".join([_line(), _line(id="t2"), "{oops"]) + "\n", "suite.jsonl")
    eng = Engine(store)
    with pytest.raises(TaskFileError, match=":3:"):
        eng.suite(str(p))
    with pytest.raises(TaskFileError):
        load_suite(str(p))
    p.write_text("\n".join([_line(), _line(id="t2"), _line(id="t3")]) + "\n")
    assert [t.id for t in eng.suite(str(p)).tasks] == ["t1", "t2", "t3"]


def test_unknown_suite_lists_the_names() -> None:
    with pytest.raises(TaskFileError) as ei:
        load_suite("nope")
    assert "unknown suite 'nope'" in str(ei.value)
    assert all(n in str(ei.value) for n in SUITE_NAMES)


def test_hotpotqa_suite_without_data_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TaskFileError, match="LTS_DATA_DIR") as ei:
        load_suite("hotpotqa-dev", data_dir=tmp_path)
    assert "hotpotqa_dev.jsonl" in str(ei.value)


def test_hotpotqa_suite_loads_with_pool(qa_dir: Path) -> None:
    s = load_suite("hotpotqa-dev", data_dir=qa_dir)
    assert len(s.tasks) >= 10 and len(s.pool) > 1000
    assert all(t.id.startswith("hotpotqa") and len(t.hop_titles) >= 2 for t in s.tasks[:10])


def test_corpus_file_errors(tmp_path: Path) -> None:
    p = _write(tmp_path, '{"title": "A", "text": "a"}\n{"title": "B"}\n', "pool.jsonl")
    with pytest.raises(TaskFileError, match=r"pool\.jsonl:2: missing field 'text'"):
        load_corpus(p)
    p.write_text('{"title": "A", "text": "a"}\n')
    (doc,) = load_corpus(p)
    assert doc.doc_id == doc_id_for("A", "a") and not doc.is_supporting
