"""Launch page: empty database (one-click demo), a finished run (form, queue), a run in progress."""

from __future__ import annotations

import functools

from app_helpers import no_exception, open_page, texts

from app import state
from app.views import launch
from lts_core import RunConfig


def test_parse_seeds():
    assert launch.parse_seeds("0") == [0]
    assert launch.parse_seeds("3, 1,3") == [3, 1]
    assert launch.parse_seeds("0-3") == [0, 1, 2, 3]
    assert launch.parse_seeds("") == [0]


def test_empty_db_leads_to_a_demo_run(tmp_path, monkeypatch):
    empty_db = tmp_path / "fresh.duckdb"  # this test records a run: not the shared empty one
    at = open_page("launch", empty_db, monkeypatch)
    no_exception(at)
    assert "Nothing recorded yet" in texts(at)
    monkeypatch.setitem(launch.DEMO, "embedder", "hash")
    at.button(key="demo").click().run()
    no_exception(at)
    assert at.title[0].value == "Live run"  # the demo button switches to the live view
    q = state._services_for(str(empty_db)).queue
    assert [j.task_id for j in q.jobs()] == ["demo:01"]
    q.cancel_all()
    assert q.wait_idle(60)


def test_form_queues_one_run_per_policy(tmp_path, monkeypatch):
    monkeypatch.setattr(launch, "RunConfig", functools.partial(RunConfig, embedder="hash"))
    db = tmp_path / "form.duckdb"
    at = open_page("launch", db, monkeypatch)
    no_exception(at)
    assert len(at.selectbox(key="l_task").options) == 16
    at.text_input(key="l_query").input("Garrick").run()
    assert len(at.selectbox(key="l_task").options) == 1
    at.multiselect(key="l_policy").select("none").run()
    at.radio(key="l_exec").set_value("virtual").run()
    assert at.button(key="l_go").label == "Queue 2 runs"
    at.button(key="l_go").click().run()
    no_exception(at)
    svc = state._services_for(str(db))
    assert svc.queue.wait_idle(60)
    jobs = svc.queue.jobs()[-2:]
    assert [j.status for j in jobs] == ["finished", "finished"], [j.error for j in jobs]
    assert len({j.batch_id for j in jobs}) == 1
    at.run()
    assert "finished" in texts(at) and "Nothing recorded yet" not in texts(at)


def test_bad_seed_is_explained(finished_db, monkeypatch):
    at = open_page("launch", finished_db, monkeypatch)
    at.text_input(key="l_seeds").input("5-1").run()
    no_exception(at)
    assert "Seed(s):" in texts(at)


def test_llm_backend_reads_keys_from_environment(finished_db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-shown")
    at = open_page("launch", finished_db, monkeypatch)
    at.radio(key="l_backend").set_value("LLM (litellm)").run()
    no_exception(at)
    body = texts(at)
    assert "sk-test-not-shown" not in body
    if "not available in this build" not in body:
        assert "OPENAI_API_KEY" in body
        assert not [t for t in at.text_input if "key" in (t.label or "").lower()]


def test_run_in_progress_shows_in_queue_and_cancels(running_db, monkeypatch):
    at = open_page("launch", running_db, monkeypatch)
    no_exception(at)
    assert "running" in texts(at)
    cancel = [b for b in at.button if b.key and b.key.startswith("q_cancel_") and b.key != "q_cancel_all"]
    assert cancel


def test_learned_takes_a_checkpoint(tmp_path, monkeypatch):
    """Choosing `learned` offers a checkpoint field; a missing file is named, the shipped one runs."""
    monkeypatch.setattr(launch, "RunConfig", functools.partial(RunConfig, embedder="hash"))
    db = tmp_path / "learned.duckdb"
    at = open_page("launch", db, monkeypatch)
    at.multiselect(key="l_policy").set_value(["learned"]).run()
    at.text_input(key="l_ckpt").input(str(tmp_path / "nope.pt")).run()
    no_exception(at)
    assert "nope.pt does not exist" in texts(at)
    assert at.button(key="l_go").disabled
    at.text_input(key="l_ckpt").input("").run()
    at.radio(key="l_exec").set_value("virtual").run()
    at.button(key="l_go").click().run()
    no_exception(at)
    svc = state._services_for(str(db))
    assert svc.queue.wait_idle(60)
    job = svc.queue.jobs()[-1]
    assert job.status == "finished", job.error


def _launch_one(db, monkeypatch, setting):
    """One dedup run of a demo task from the form on the virtual executor, with ``setting(at)``
    applied to the form first; returns (services, the finished job)."""
    monkeypatch.setattr(launch, "RunConfig", functools.partial(RunConfig, embedder="hash"))
    at = open_page("launch", db, monkeypatch)
    at.text_input(key="l_query").input("Garrick").run()
    at.radio(key="l_exec").set_value("virtual").run()
    setting(at).run()
    at.button(key="l_go").click().run()
    no_exception(at)
    svc = state._services_for(str(db))
    assert svc.queue.wait_idle(60)
    job = svc.queue.jobs()[-1]
    assert job.status == "finished", job.error
    return svc, job


def test_the_threshold_on_the_form_is_the_one_every_decision_records(tmp_path, monkeypatch):
    """docs/architecture.md follows this parameter: Launch form -> RunConfig.policy_options ->
    the policy -> AdmissionDecision -> admissions.threshold -> the read model (dedup: novelty
    >= 0.25)."""
    svc, job = _launch_one(tmp_path / "threshold.duckdb", monkeypatch,
                           lambda at: at.number_input(key="l_threshold").set_value(0.25))
    from lts_core.record import queries

    adm = queries.admissions(svc.store, job.run_id)
    assert len(adm) > 0 and set(adm.threshold) == {0.25}
    assert list(adm.decision) == ["admitted" if s >= 0.25 else "rejected" for s in adm.score]
    assert queries.policy_threshold(svc.store, queries.get_run(svc.store, job.run_id)) == 0.25


def test_the_form_can_leave_final_answers_to_the_vote_rule(tmp_path, monkeypatch):
    svc, job = _launch_one(tmp_path / "answers.duckdb", monkeypatch,
                           lambda at: at.selectbox(key="l_answers").set_value("decided"))
    from lts_core.record import queries

    adm = queries.admissions(svc.store, job.run_id)
    assert (adm[adm.action == "answer"].rule == "vote").all() and (adm.action == "answer").any()
    assert adm[adm.action != "answer"].rule.isna().all()


def test_the_form_plants_wrong_entries_in_runs_with_memory(tmp_path, monkeypatch):
    """The poisoning experiment from the form: a dedup run gets the planted entries, none none."""
    monkeypatch.setattr(launch, "RunConfig", functools.partial(RunConfig, embedder="hash"))
    db = tmp_path / "poison.duckdb"
    at = open_page("launch", db, monkeypatch)
    at.text_input(key="l_query").input("Garrick").run()
    at.multiselect(key="l_policy").select("none").run()
    at.radio(key="l_exec").set_value("virtual").run()
    at.number_input(key="l_poison").set_value(2).run()
    at.number_input(key="l_poison_at").set_value(0.0).run()
    at.button(key="l_go").click().run()
    no_exception(at)
    svc = state._services_for(str(db))
    assert svc.queue.wait_idle(60)
    jobs = {j.config.policy: j for j in svc.queue.jobs()}
    assert {j.status for j in jobs.values()} == {"finished"}, [j.error for j in jobs.values()]
    planted = {p: svc.store.scalar("SELECT count(*) FILTER (WHERE planted) FROM memory_entries "
                                   "WHERE run_id = ?", [j.run_id]) for p, j in jobs.items()}
    assert planted == {"dedup": 2, "none": 0}


def test_the_queue_shows_the_run_in_progress_before_a_long_queued_tail():
    from types import SimpleNamespace

    jobs = ([SimpleNamespace(status="finished", n=0), SimpleNamespace(status="running", n=1)]
            + [SimpleNamespace(status="queued", n=i) for i in range(2, 54)])
    line, shown = launch.queue_view(jobs)
    assert line == "1 running · 52 queued · 1 finished — 54 in all"
    assert shown[0].status == "running" and shown[1].n == 53  # then the newest
