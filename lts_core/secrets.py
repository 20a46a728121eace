"""What counts as a secret, and how it is masked before anything is recorded, logged or exported.

A secret is:

- the value of an option or dict key whose *name* looks secret (``api_key``, ``x-api-key``,
  ``access_token``, ``client_secret``, ``password``, ``Authorization``, ``cookie``, ...), at any
  depth of a config, when the value is a string (numbers and flags such as ``max_tokens`` or
  ``api_key_given`` are not; names ending in ``_env`` hold a variable's *name* and are kept);
- every value of a headers dict (any key whose name contains ``header``: ``extra_headers``, ...);
- the userinfo of a URL (``http://user:TOKEN@host/v1``) and the value of a secret-looking query
  parameter (``?api_key=``, ``&key=``, ``token=``, ``sig=``, ...);
- a ``Bearer``/``Basic`` credential in free text;
- any value passed to ``register`` (the LLM client registers the secrets of its settings), and the
  values of environment variables named ``*KEY*``, ``*TOKEN*``, ``*SECRET*``, ``*PASSWORD*``.

Masking replaces the secret with ``***`` and keeps everything else (the host, the header's name,
the option's name). ``redact_config`` masks a config (nested dicts/lists), ``redact_text`` free
text (exception messages, log lines, exported cells), ``redact_json_text`` a JSON document.
``install_log_redaction`` scrubs every log record of the process (litellm's, httpx's request lines).

Thread-safety: every function may be called from any thread (the registry is locked).
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from typing import Any
from urllib.parse import quote, unquote

MASK = "***"
# Option names that hold a secret even though they match no pattern below.
SECRET_OPTIONS = ("api_key",)
_SECRET_NAME = re.compile(
    r"key|token|secret|passw|pwd|authoriz|auth(?!or)|credential|cookie|signature|^sig$|session_id", re.I)
_SECRET_ENV_HINTS = ("KEY", "TOKEN", "SECRET", "PASSWORD")
_MIN_REGISTERED = 6  # shorter values are not scrubbed from free text (too many false hits)

_URL_USERINFO = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.\-]*://)(?P<userinfo>[^/\s@?#'\"<>]+)@")
_QUERY_PARAM = re.compile(r"(?P<sep>[?&;])(?P<name>[A-Za-z0-9_.\-]+)=(?P<value>[^&#\s'\"<>]*)")
_AUTH_SCHEME = re.compile(r"\b(?P<scheme>Bearer)\s+(?P<cred>[A-Za-z0-9._~+/=\-]{6,})"
                          r"|\b(?P<scheme2>Basic)\s+(?P<cred2>(?=[A-Za-z0-9+/]*[0-9+/=])[A-Za-z0-9+/]{8,}=*)")
_QUOTED_PAIR = re.compile(
    r"(?P<q>['\"])(?P<name>[A-Za-z0-9_.\-]+)(?P=q)(?P<sep>\s*:\s*)(?P<q2>['\"])(?P<value>[^'\"]*)(?P=q2)")
_KWARG_PAIR = re.compile(r"\b(?P<name>[A-Za-z0-9_]+)=(?P<q>['\"])(?P<value>[^'\"]*)(?P=q)")

_registered: set[str] = set()
_lock = threading.Lock()
_log_installed = False


# ----------------------------------------------------------------------------- names and values
def is_secret_name(name: str) -> bool:
    """True when an option/key/header/query parameter of this name holds a secret (if a string)."""
    n = str(name).lower()
    if n.endswith("_env"):  # the *name* of the variable holding the key
        return False
    return n in SECRET_OPTIONS or bool(_SECRET_NAME.search(n))


def is_header_name(name: str) -> bool:
    """True for a dict of HTTP headers (``extra_headers``, ``headers``): every value is masked."""
    return "header" in str(name).lower()


def _holds_secret(value: Any) -> bool:
    return isinstance(value, str | bytes) and bool(value) or isinstance(value, dict | list | tuple) \
        and bool(value)


def public_options(options: dict[str, Any]) -> dict[str, Any]:
    """``options`` without the entries that hold a secret (safe to describe and record)."""
    return {k: v for k, v in options.items() if not (is_secret_name(k) and _holds_secret(v))}


# ----------------------------------------------------------------------------- the registry
def register(*values: str | None) -> None:
    """Remember secret values for the life of the process: ``redact_text`` masks them anywhere."""
    with _lock:
        for v in values:
            if isinstance(v, str) and len(v.strip()) >= _MIN_REGISTERED:
                v = v.strip()
                _registered.update({v, unquote(v), quote(v, safe="")})


def register_config(obj: Any) -> None:
    """Register every secret found in a config (see ``secrets_in``)."""
    register(*secrets_in(obj))


def secrets_in(obj: Any, *, all_values: bool = False) -> list[str]:
    """The secret strings of a config: secret-named values, header values, URL userinfo, secret
    query values and Bearer credentials inside its strings."""
    out: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += secrets_in(v, all_values=all_values or is_header_name(k) or is_secret_name(k))
    elif isinstance(obj, list | tuple):
        for x in obj:
            out += secrets_in(x, all_values=all_values)
    elif isinstance(obj, str):
        if all_values:
            out.append(obj)
            out += [_auth(m)[1] for m in _AUTH_SCHEME.finditer(obj)]
        out += _secrets_in_text(obj)
    return out


def _secrets_in_text(text: str) -> list[str]:
    out = []
    for m in _URL_USERINFO.finditer(text):
        info = m.group("userinfo")
        out += [info, *info.split(":", 1)]
    out += [m.group("value") for m in _QUERY_PARAM.finditer(text) if is_secret_name(m.group("name"))]
    out += [_auth(m)[1] for m in _AUTH_SCHEME.finditer(text)]
    return [s for s in out if s]


def _auth(m: re.Match[str]) -> tuple[str, str]:
    """(scheme, credential) of an ``_AUTH_SCHEME`` match."""
    return m.group("scheme") or m.group("scheme2"), m.group("cred") or m.group("cred2")


def _known_values(extra: list[str | None] | tuple[str | None, ...] = ()) -> list[str]:
    vals = {v for v in extra if v and len(v) >= 4}
    with _lock:
        vals |= _registered
    for k, v in os.environ.items():
        if v and len(v) >= 8 and any(h in k.upper() for h in _SECRET_ENV_HINTS):
            vals.add(v)
    return sorted(vals, key=len, reverse=True)


# ----------------------------------------------------------------------------- masking
def redact_url(url: str) -> str:
    """``url`` with its userinfo and secret-looking query values masked.

    >>> redact_url("http://bob:s3cr3t@host:8000/v1?api_key=abc&model=x")
    'http://***@host:8000/v1?api_key=***&model=x'
    """
    url = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", url)
    return _QUERY_PARAM.sub(_mask_param, url)


def _mask_param(m: re.Match[str]) -> str:
    if is_secret_name(m.group("name")) and m.group("value"):
        return f"{m.group('sep')}{m.group('name')}={MASK}"
    return m.group(0)


def _mask_pair(m: re.Match[str]) -> str:
    if not (is_secret_name(m.group("name")) and m.group("value")):
        return m.group(0)
    g = m.groupdict()
    if "sep" in g and g.get("q2"):  # "name": "value"
        return f"{g['q']}{g['name']}{g['q']}{g['sep']}{g['q2']}{MASK}{g['q2']}"
    return f"{g['name']}={g['q']}{MASK}{g['q']}"  # name='value'


def redact_text(text: str, extra: list[str | None] | tuple[str | None, ...] = ()) -> str:
    """``text`` with every secret masked: registered and environment secrets, ``extra`` values,
    URL userinfo and secret query values, Bearer/Basic credentials, ``"api_key": "..."`` pairs.

    >>> redact_text("POST https://u:pw123456@h/v1?key=zz (Authorization: Bearer abcdef123)")
    'POST https://***@h/v1?key=*** (Authorization: Bearer ***)'
    """
    if not text:
        return text
    for v in _known_values(extra):
        if v in text:
            text = text.replace(v, MASK)
    if "://" in text:
        text = _URL_USERINFO.sub(lambda m: f"{m.group('scheme')}{MASK}@", text)
    if "=" in text:
        text = _QUERY_PARAM.sub(_mask_param, text)
        text = _KWARG_PAIR.sub(_mask_pair, text)
    text = _AUTH_SCHEME.sub(lambda m: f"{_auth(m)[0]} {MASK}", text)
    if ":" in text:
        text = _QUOTED_PAIR.sub(_mask_pair, text)
    return text


def redact_config(obj: Any, *, mask_strings: bool = False) -> Any:
    """A copy of a config (nested dicts/lists) with every secret masked (see the module docstring)."""
    if isinstance(obj, dict):
        return {k: redact_config(v, mask_strings=mask_strings or is_header_name(k)
                                 or is_secret_name(k)) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [redact_config(x, mask_strings=mask_strings) for x in obj]
    if isinstance(obj, str | bytes):
        if mask_strings and obj:
            return MASK
        return redact_text(obj) if isinstance(obj, str) else obj
    return obj


def redact_json_text(text: str | None) -> str | None:
    """A JSON document with ``redact_config`` applied (unchanged text when nothing was masked);
    text that is not JSON gets ``redact_text``."""
    if not text:
        return text
    try:
        obj = json.loads(text)
    except ValueError:
        return redact_text(text)
    red = redact_config(obj)
    return text if red == obj else json.dumps(red, default=str)


# ----------------------------------------------------------------------------- logging
def install_log_redaction() -> None:
    """Scrub every log record created from now on in this process (message, arguments and the
    exception's traceback text) with ``redact_text``. Idempotent."""
    global _log_installed
    with _lock:
        if _log_installed:
            return
        _log_installed = True
        previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        rec = previous(*args, **kwargs)
        try:
            msg = rec.getMessage()
        except Exception:  # noqa: BLE001 - a broken record is the logger's problem, not ours
            return rec
        clean = redact_text(msg)
        if clean != msg:
            rec.msg, rec.args = clean, None
        if rec.exc_info and rec.exc_info[1] is not None:
            tb = logging.Formatter().formatException(rec.exc_info)
            rec.exc_text = redact_text(tb)
        return rec

    logging.setLogRecordFactory(factory)
