"""``lts bench``: the figures, the oracle bound and the files (demo suite, hash embedder)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from lts_core.evaluation.bench import BenchConfig, markdown_tables, run_bench, write_outputs

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from engine_helpers import REPO, lts_command  # noqa: E402


@pytest.fixture
def result(engine):
    cfg = BenchConfig(suite="demo", policies=["none", "all", "dedup"], ks=[2, 3], seeds=[0, 1],
                      limit=3, embedder="hash")
    return run_bench(engine, cfg)


def test_one_row_per_run_and_per_policy_and_k(result):
    assert len(result.runs) == 3 * 2 * 2 * 4  # none, all, dedup, and the sim oracle bound
    s = result.summary.set_index(["policy", "K"])
    assert sorted(s.index) == sorted((p, k) for p in ("none", "all", "dedup", "oracle")
                                     for k in (2, 3))
    assert (s.seeds == 2).all() and (s.tasks == 3).all()
    assert s.loc[("all", 3), "admit_%"] == 100.0
    assert s.loc[("none", 3), "red_means_%"] == 0.0


def test_reductions_follow_from_the_runs(result):
    r = result.runs
    for seed in (0, 1):
        none = r[(r.policy == "none") & (r.K == 3) & (r.seed == seed)].set_index("task_id")
        dd = r[(r.policy == "dedup") & (r.K == 3) & (r.seed == seed)].set_index("task_id")
        by_means = 100 * (1 - dd.runtime_s.mean() / none.runtime_s.mean())
        per_task = 100 * (1 - dd.runtime_s / none.runtime_s.reindex(dd.index)).mean()
        if seed == 0:
            first = (by_means, per_task)
    s = result.summary.set_index(["policy", "K"]).loc[("dedup", 3)]
    # the summary is the mean over seeds of each seed's figure; check it against seed 0 and 1
    assert s["red_means_%"] == pytest.approx((first[0] + by_means) / 2)
    assert s["red_per_task_%"] == pytest.approx((first[1] + per_task) / 2)


def test_no_policy_beats_the_oracle(engine):
    cfg = BenchConfig(suite="demo", policies=["none", "all", "dedup"], ks=[3], seeds=[0, 1, 2],
                      limit=8, embedder="hash")
    res = run_bench(engine, cfg)
    s = res.summary.set_index("policy")
    oracle = s.loc["oracle", "runtime_s"]
    for p in ("none", "all", "dedup"):
        assert s.loc[p, "runtime_s"] > oracle, p  # mean runtime over 8 tasks x 3 seeds
        assert s.loc[p, "of_oracle_%"] < 100.0
        assert s.loc[p, "oracle_s"] == pytest.approx(oracle)
    assert s.loc["oracle", "of_oracle_%"] == pytest.approx(100.0)
    assert s.loc["oracle", "wrong_%"] == 0.0  # it admits only true facts and right answers
    assert (res.runs.wrong_entries >= 0).all()


def test_tables_and_files(result, tmp_path):
    text = markdown_tables(result)
    assert "| policy | K | EM |" in text and "Oracle bound" in text and "per task level" in text
    paths = write_outputs(result, tmp_path / "out", "title")
    names = {p.name for p in paths}
    assert {"runs.csv", "summary.csv", "levels.csv", "report.md", "accuracy_vs_runtime.png",
            "runtime_vs_k.png"} <= names
    assert all(p.stat().st_size > 0 for p in paths)


def test_bench_needs_none(engine):
    with pytest.raises(ValueError, match="needs the 'none' policy"):
        run_bench(engine, BenchConfig(suite="demo", policies=["all"], limit=1))


def test_cli_bench(tmp_path):
    p = subprocess.run([*lts_command(), "--db", str(tmp_path / "b.duckdb"), "bench", "--suite", "demo",
                        "--limit", "2", "--teams", "2", "--seeds", "0", "--policies", "none,dedup",
                        "--embedder", "hash", "--out", str(tmp_path / "o"), "-q"],
                       cwd=REPO, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "SIMULATED" in p.stdout and "| dedup | 2 |" in p.stdout
    assert (tmp_path / "o" / "summary.csv").is_file()


def test_combine_joins_benches(engine, tmp_path):
    dirs = []
    for k in (2, 3):
        cfg = BenchConfig(suite="demo", policies=["none", "dedup"], ks=[k], seeds=[0, 1], limit=2,
                          embedder="hash")
        d = tmp_path / f"k{k}"
        write_outputs(run_bench(engine, cfg), d, f"SIMULATED | K={k}")
        dirs.append(d)
    from lts_core.evaluation.bench import combine

    text, paths = combine(dirs, tmp_path / "all", "SIMULATED | both")
    assert "| dedup | 2 |" in text and "| dedup | 3 |" in text
    assert (tmp_path / "all" / "runtime_vs_k.png").is_file()
    with pytest.raises(ValueError, match="overlap"):
        combine([dirs[0], dirs[0]], tmp_path / "dup", "x")


def test_cli_bench_checks_every_policy_option_before_running(tmp_path, capsys):
    """--policy-options means what it means for `lts run` (one object for all, or keyed by
    policy), and a policy that refuses an option stops the bench before its first run."""
    from lts_core.cli.main import main

    db = tmp_path / "checked.duckdb"
    rc = main(["--db", str(db), "bench", "--suite", "demo", "--limit", "1", "--teams", "2",
               "--policies", "none,dedup", "--policy-options", '{"similarity": 0.5}', "-q"])
    assert rc == 2
    assert "unknown option(s) for policy 'none': similarity" in capsys.readouterr().err
    assert not db.exists()  # nothing ran, nothing was recorded
