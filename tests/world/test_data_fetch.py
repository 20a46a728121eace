"""The HotpotQA converter on a tiny file in the official dev format (our own text)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import FIXTURES

from lts_core.cli.main import main
from lts_core.world.data_fetch import convert_hotpotqa, fetch_hotpotqa
from lts_core.world.tasks import TaskFileError, doc_id_for, load_tasks

TINY = FIXTURES / "hotpot_dev_tiny.json"


def test_convert_then_load(tmp_path: Path) -> None:
    out = convert_hotpotqa(TINY, tmp_path / "data" / "hotpotqa_dev.jsonl")
    assert out == tmp_path / "data" / "hotpotqa_dev.jsonl"
    assert not list(out.parent.glob("*.part"))  # written atomically
    tasks = load_tasks(out)
    assert [t.id for t in tasks] == ["hotpotqa:q0001bridge", "hotpotqa:q0002compare"]
    bridge, comp = tasks
    assert (bridge.answer, bridge.type, bridge.level) == ("Lake Ambry", "bridge", "easy")
    assert (bridge.dataset, bridge.split) == ("hotpotqa", "dev")
    assert bridge.supporting_facts == (("Corvale Mill", 0), ("River Tenn", 1))
    assert [(d.title, d.is_supporting) for d in bridge.docs] == [
        ("Corvale Mill", True), ("River Tenn", True), ("Ambry Castle", False)]
    d = bridge.docs[1]
    assert d.text == "The River Tenn is a short river. It is fed by Lake Ambry in the north."
    assert d.doc_id == doc_id_for("River Tenn", d.text)
    assert comp.answer == "yes" and comp.hop_titles == ["Dunmere Bell", "Hollin Bell"]
    assert [d.is_supporting for d in comp.docs] == [True, True, False]


def test_convert_limit(tmp_path: Path) -> None:
    out = convert_hotpotqa(TINY, tmp_path / "one.jsonl", limit=1)
    assert [t.id for t in load_tasks(out)] == ["hotpotqa:q0001bridge"]


def _q(**over) -> dict:
    q = json.loads(TINY.read_text())[0]
    q.update(over)
    return {k: v for k, v in q.items() if v is not None}


@pytest.mark.parametrize(("data", "needle"), [
    ({"not": "a list"}, "expected a JSON array of questions"),
    ([_q(), "just a string"], "[1]: expected a question object"),
    ([_q(), _q(_id="x2", context=None)], "[1]: missing field 'context'"),
    ([_q(context=[["Corvale Mill", "not a list"]])], "[0]: context[0] must be [title, [sentences]]"),
    ([_q(context=[["Corvale Mill", ["ok", 3]]])], "context[0] must be [title, [sentences]]"),
    ([_q(context="Corvale Mill")], "context must be a list"),
    ([_q(supporting_facts=[["Corvale Mill"]])], "supporting_facts must be a list of [title, "),
    ([_q(supporting_facts="Corvale Mill")], "supporting_facts must be a list"),
    ([_q(answer="")], "field 'answer' must be a non-empty str"),
    ([_q(context=[])], "field 'docs' is empty"),
])
def test_malformed_source_gives_a_clear_error(tmp_path: Path, data, needle: str) -> None:
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(data))
    dest = tmp_path / "out" / "hotpotqa_dev.jsonl"
    with pytest.raises(TaskFileError) as ei:
        convert_hotpotqa(src, dest)
    assert needle in str(ei.value) and str(src) in str(ei.value)
    assert not dest.exists()  # nothing half-written


def test_unreadable_source(tmp_path: Path) -> None:
    src = tmp_path / "trunc.json"
    src.write_text(TINY.read_text()[:200])
    with pytest.raises(TaskFileError, match="cannot read the HotpotQA file"):
        convert_hotpotqa(src, tmp_path / "x.jsonl")
    with pytest.raises(TaskFileError, match="cannot read"):
        convert_hotpotqa(tmp_path / "absent.json", tmp_path / "x.jsonl")


def test_fetch_from_a_url(tmp_path: Path) -> None:
    """``fetch`` downloads then converts; a file:// URL stands in for the official one."""
    out = fetch_hotpotqa(tmp_path / "d", url=TINY.resolve().as_uri())
    assert len(load_tasks(out)) == 2
    with pytest.raises(TaskFileError, match="cannot download"):
        fetch_hotpotqa(tmp_path / "e", url=(tmp_path / "missing.json").as_uri())


def test_cli_convert(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["data", "convert", "hotpotqa", str(TINY), "--out", str(tmp_path), "--limit", "2"]) == 0
    assert f"wrote {tmp_path / 'hotpotqa_dev.jsonl'}" in capsys.readouterr().out
    assert len(load_tasks(tmp_path / "hotpotqa_dev.jsonl")) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["data", "convert", "hotpotqa", str(bad), "--out", str(tmp_path / "b")]) == 2
    assert "expected a JSON array" in capsys.readouterr().err
    assert main(["data", "convert", "hotpotqa", "--out", str(tmp_path / "c")]) == 2
    assert "convert needs the official" in capsys.readouterr().err
