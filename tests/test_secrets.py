"""What ``lts_core.secrets`` counts as a secret and how it masks it (the end-to-end probe is
``test_secrets_probe.py``)."""

from __future__ import annotations

import logging

from lts_core.secrets import (
    install_log_redaction,
    is_secret_name,
    public_options,
    redact_config,
    redact_text,
    redact_url,
    register,
)


# ----------------------------------------------------------------------------- the rules
def test_names_and_values_that_count_as_secrets():
    for name in ("api_key", "x-api-key", "access_token", "client_secret", "password",
                 "Authorization", "Proxy-Authorization", "cookie", "key", "sig"):
        assert is_secret_name(name), name
    for name in ("api_key_env", "model", "api_base", "author", "timeout"):
        assert not is_secret_name(name), name
    opts = {"api_key": "sk-1", "max_tokens": 512, "max_keys": 30, "api_key_given": True,
            "api_key_env": "OPENAI_API_KEY", "model": "m"}
    assert public_options(opts) == {"max_tokens": 512, "max_keys": 30, "api_key_given": True,
                                    "api_key_env": "OPENAI_API_KEY", "model": "m"}


def test_urls_headers_and_nested_configs_are_masked():
    assert redact_url("https://bob:pw@h:8/v1?api_key=a&model=m&token=t&key=k") == \
        "https://***@h:8/v1?api_key=***&model=m&token=***&key=***"
    assert redact_url("http://h/v1?author=me") == "http://h/v1?author=me"
    cfg = {"run": {"backend_options": {
        "api_base": "http://u:p4ss@h/v1", "api_key": "sk-x", "timeout": 5,
        "extra": {"extra_headers": {"Authorization": "Bearer abc", "X-Org": "acme"},
                  "vertex_credentials": "{...}", "top_p": 0.9}}},
        "policy": {"api_base": "http://h/v1?key=k1", "threshold": 0.5}}
    red = redact_config(cfg)
    bo = red["run"]["backend_options"]
    assert bo["api_base"] == "http://***@h/v1" and bo["api_key"] == "***" and bo["timeout"] == 5
    assert bo["extra"] == {"extra_headers": {"Authorization": "***", "X-Org": "***"},
                           "vertex_credentials": "***", "top_p": 0.9}
    assert red["policy"] == {"api_base": "http://h/v1?key=***", "threshold": 0.5}


def test_free_text_is_scrubbed():
    text = ("litellm.APIConnectionError: cannot reach http://u:hunter2@h/v1?api_key=abc "
            "headers={'Authorization': 'Bearer sk-live-123456'} api_key='sk-zzz'")
    out = redact_text(text)
    for s in ("hunter2", "api_key=abc", "sk-live-123456", "sk-zzz"):
        assert s not in out
    assert "http://***@h/v1?api_key=***" in out
    register("registered-value-0099")
    assert redact_text("x registered-value-0099 y") == "x *** y"


def test_log_records_are_scrubbed(caplog):
    install_log_redaction()
    caplog.set_level(logging.DEBUG, logger="httpx")
    log = logging.getLogger("httpx")
    log.info("HTTP Request: %s %s", "POST", "http://user:pw-in-url-1@h/v1?token=t0k3n-q")
    try:
        raise RuntimeError("failed: http://user:pw-in-url-2@h/v1")
    except RuntimeError:
        log.exception("boom")
    text = caplog.text
    assert "pw-in-url-1" not in text and "t0k3n-q" not in text and "pw-in-url-2" not in text
    assert "http://***@h/v1" in text
