"""The background training job: progress through on_epoch, Stop through stop_event."""

from __future__ import annotations

import threading
from types import SimpleNamespace

from app import training_job


def test_stop_and_progress(monkeypatch):
    started = threading.Event()

    def fake_train(engine, *, epochs, stop_event, on_epoch, **kw):
        for e in range(epochs):
            started.set()
            on_epoch(SimpleNamespace(train_id="t1", epoch=e + 1, reward=0.5, admission_rate=0.4))
            if stop_event.wait(0.2):
                break
        return SimpleNamespace(checkpoint="x.pt", weights_sha="abc")

    monkeypatch.setattr(training_job, "entry_point", lambda: fake_train)
    job = training_job.start_training(SimpleNamespace(store=None), epochs=50, tasks=2, episodes=3)
    assert job.can_stop and started.wait(5)
    assert job.expected_episodes() == 50 * 2 * 3
    job.stop()
    assert job.status == "stopping"
    job.thread.join(5)
    assert job.status == "stopped" and job.train_id == "t1" and len(job.epochs_done) < 50
    assert job.result.checkpoint == "x.pt"


def test_finished_without_stop(monkeypatch):
    monkeypatch.setattr(training_job, "entry_point", lambda: lambda engine, epochs: "done")
    job = training_job.start_training(SimpleNamespace(store=None), epochs=1)
    job.thread.join(5)
    assert job.status == "finished" and not job.can_stop and job.result == "done"
