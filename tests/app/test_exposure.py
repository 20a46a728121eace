"""A dashboard other machines can reach does not start unless the API bases runs may use are set."""

from __future__ import annotations

import html
import os
import subprocess
import sys

import pytest
from app_helpers import ROOT, TIMEOUT, no_exception

from app import exposure, state
from app.exposure import ALLOWED_ENV, CUSTOM_ENV, ApiBasePolicy, SettingError, api_base_policy
from lts_core import RunConfig

OPEN = "0.0.0.0"


@pytest.mark.parametrize("address", ["127.0.0.1", "127.0.1.1", "::1", "[::1]", "localhost"])
def test_loopback_addresses(address):
    assert exposure.is_loopback(address)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "", None, "192.168.1.7", "10.0.0.1",
                                     "no-such-host.invalid"])
def test_other_addresses(address):
    assert not exposure.is_loopback(address)


def test_refusal_names_the_settings():
    why = exposure.startup_refusal(OPEN, {})
    assert why and ALLOWED_ENV in why and f"{CUSTOM_ENV}=0" in why and "0.0.0.0" in why
    assert "every network interface" in exposure.startup_refusal(None, {})
    assert exposure.startup_refusal("127.0.0.1", {}) is None
    assert exposure.startup_refusal(OPEN, {CUSTOM_ENV: "0"}) is None
    assert exposure.startup_refusal(OPEN, {ALLOWED_ENV: "http://gpu1:8000/v1"}) is None
    assert exposure.startup_refusal(OPEN, {CUSTOM_ENV: "1"})  # "allowed" is not a restriction
    assert "not an http(s) URL" in exposure.startup_refusal(OPEN, {ALLOWED_ENV: "gpu1:8000"})
    assert "means nothing" in exposure.startup_refusal("127.0.0.1", {CUSTOM_ENV: "maybe"})


def test_policy_problems():
    assert api_base_policy({}).problem("http://anything/v1") is None
    assert not ApiBasePolicy().restricted and ApiBasePolicy(()).restricted
    off = api_base_policy({CUSTOM_ENV: "no"})
    assert off.problem("") is None and "turned off" in off.problem("http://evil:1/v1")
    listed = api_base_policy({ALLOWED_ENV: "http://GPU1:8000/v1/, http://u:SECRET@gpu2/v1"})
    assert listed.problem("http://gpu1:8000/v1") is None
    assert listed.problem("http://u:SECRET@gpu2/v1/") is None
    why = listed.problem("http://evil:1/v1")
    assert "not one this dashboard allows" in why and "SECRET" not in why
    with pytest.raises(SettingError):
        api_base_policy({ALLOWED_ENV: "ftp://x"})


def test_check_command_refuses_with_exit_code_2():
    env = {k: v for k, v in os.environ.items() if k not in (ALLOWED_ENV, CUSTOM_ENV)}
    cmd = [sys.executable, "-m", "app.exposure", "--address", OPEN]
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and ALLOWED_ENV in p.stderr
    p = subprocess.run(cmd, cwd=ROOT, env={**env, CUSTOM_ENV: "0"}, capture_output=True, text=True,
                       timeout=60)
    assert p.returncode == 0, p.stderr


def test_make_run_checks_before_streamlit():
    text = (ROOT / "Makefile").read_text()
    run = text[text.index("\nrun:"):text.index("\n\n", text.index("\nrun:"))]
    assert run.index("-m app.exposure --address $(HOST)") < run.index("streamlit run")


@pytest.fixture
def bound_to(monkeypatch):
    """``bound_to(address)``: Streamlit's server.address for this test."""
    from streamlit import config

    saved = config.get_option("server.address")
    monkeypatch.delenv(ALLOWED_ENV, raising=False)
    monkeypatch.delenv(CUSTOM_ENV, raising=False)
    yield lambda address: config.set_option("server.address", address)
    config.set_option("server.address", saved)


def test_app_refuses_on_an_open_address(bound_to, empty_db, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("LTS_DB", str(empty_db))
    bound_to(OPEN)
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert not at.title and ALLOWED_ENV in html.unescape(at.error[0].value)
    monkeypatch.setenv(CUSTOM_ENV, "0")
    at = AppTest.from_file(str(ROOT / "app" / "main.py"), default_timeout=TIMEOUT).run()
    no_exception(at)
    assert at.title[0].value == "Launch"


def test_queue_refuses_a_forbidden_api_base(monkeypatch):
    monkeypatch.setenv(CUSTOM_ENV, "0")
    cfg = RunConfig(backend="openai/gpt-4o-mini", backend_options={"api_base": "http://evil:1/v1"})
    with pytest.raises(SettingError, match="turned off"):
        state.allowed_api_bases(cfg)
    cfg = RunConfig(backend="openai/gpt-4o-mini", policy="llm-judge",
                    policy_options={"api_base": "http://evil:1/v1"})
    with pytest.raises(SettingError, match="judge"):
        state.allowed_api_bases(cfg)
    state.allowed_api_bases(RunConfig(backend="openai/gpt-4o-mini"))  # the provider's endpoint
