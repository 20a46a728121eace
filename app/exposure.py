"""Who can reach the dashboard, and where an LLM run started from it may send its requests.

An LLM run sends the provider key of the dashboard's process (``OPENAI_API_KEY``, ...) to the run's
API base. On a loopback address only this machine can start runs; on any other address anyone who
reaches the page could name their own server and receive the key. So there the dashboard refuses
to start unless one of these settings says which API bases the Launch form may use:

- ``LTS_ALLOWED_API_BASES=http://gpu1:8000/v1,http://127.0.0.1:11434``: only these;
- ``LTS_ALLOW_CUSTOM_API_BASE=0``: none (runs go to the provider's own endpoint).

Both are honoured on loopback too. ``python -m app.exposure --address HOST`` runs the start-up
check (``make run`` calls it before Streamlit); the app repeats it on its first page. No Streamlit.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

ALLOWED_ENV = "LTS_ALLOWED_API_BASES"
CUSTOM_ENV = "LTS_ALLOW_CUSTOM_API_BASE"
_NO = ("0", "false", "no", "off")
_YES = ("1", "true", "yes", "on")


class SettingError(ValueError):
    """An exposure setting has a value that means nothing; the message names it."""


def url_problem(url: str) -> str | None:
    """Why ``url`` is not an http(s) server address, or None (``lts_core.backends.llm_checks``, the
    one definition, imported here on first use: it loads the engine)."""
    from lts_core.backends.llm_checks import url_problem as problem

    return problem(url)


def normalise(url: str) -> str:
    """A URL in the form API bases are compared in: no trailing slash, lower-case scheme and host."""
    p = urlsplit(url.strip())
    user, at, host = p.netloc.rpartition("@")
    return p._replace(scheme=p.scheme.lower(), netloc=user + at + host.lower()).geturl().rstrip("/")


def shown(url: str) -> str:
    """``url`` without its user and password, for messages."""
    p = urlsplit(url)
    return p._replace(netloc=p.netloc.rpartition("@")[2]).geturl()


@dataclass(frozen=True)
class ApiBasePolicy:
    """``allowed`` None: any API base; ``()``: none; else exactly these (normalised)."""

    allowed: tuple[str, ...] | None = None
    source: str = ""  # the setting that decided, for messages

    @property
    def restricted(self) -> bool:
        return self.allowed is not None

    def problem(self, api_base: str | None) -> str | None:
        """Why the form may not use ``api_base`` (empty = the provider's endpoint: always fine)."""
        if not api_base or not api_base.strip() or self.allowed is None:
            return None
        if not self.allowed:
            return (f"custom API bases are turned off on this dashboard ({self.source}); leave "
                    "the API base empty to use the provider's own endpoint")
        if normalise(api_base) not in self.allowed:
            return (f"the API base {shown(api_base.strip())} is not one this dashboard allows "
                    f"({self.source}): use one of {', '.join(map(shown, self.allowed))}")
        return None


def api_base_policy(env: Mapping[str, str] | None = None) -> ApiBasePolicy:
    """The policy the settings describe. Raises ``SettingError`` on a meaningless value."""
    env = os.environ if env is None else env
    custom = env.get(CUSTOM_ENV, "").strip().lower()
    if custom and custom not in _NO + _YES:
        raise SettingError(f"{CUSTOM_ENV}={env[CUSTOM_ENV]!r} means nothing: use 0 (no custom API "
                           "bases) or 1")
    if custom in _NO:
        return ApiBasePolicy((), f"{CUSTOM_ENV}={env[CUSTOM_ENV].strip()}")
    raw = env.get(ALLOWED_ENV, "").strip()
    if not raw:
        return ApiBasePolicy(None, "")
    urls = [u.strip() for u in raw.split(",") if u.strip()]
    for u in urls:
        if (why := url_problem(u)) is not None:
            raise SettingError(f"{ALLOWED_ENV}: {why}")
    return ApiBasePolicy(tuple(dict.fromkeys(normalise(u) for u in urls)), ALLOWED_ENV)


def is_loopback(address: str | None) -> bool:
    """True when ``address`` only accepts connections from this machine (unset: all interfaces)."""
    host = (address or "").strip().strip("[]")
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0].split("%")[0]).is_loopback
                               for i in infos)


def startup_refusal(address: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """Why the dashboard must not start on ``address`` with these settings, or None."""
    try:
        policy = api_base_policy(env)
    except SettingError as e:
        return f"The dashboard does not start: {e}."
    if is_loopback(address) or policy.restricted:
        return None
    where = f"address {address}" if address else "every network interface (no server.address set)"
    return (f"The dashboard does not start on {where}: other machines could reach it, and an LLM "
            "run started from its Launch page sends this server's provider keys (OPENAI_API_KEY, "
            "...) to whatever API base the form names. Bind it to 127.0.0.1, or say which API "
            f"bases runs may use: {ALLOWED_ENV}=http://host:8000/v1,... (comma-separated), or "
            f"{CUSTOM_ENV}=0 to allow none (runs then use the provider's own endpoint).")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m app.exposure", description=__doc__.split("\n")[0])
    ap.add_argument("--address", default="", help="the address the dashboard will listen on")
    refusal = startup_refusal(ap.parse_args(argv).address)
    if refusal:
        print(refusal, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
