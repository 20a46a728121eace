"""One litellm client for everything that calls a real model: orchestrator, summarizer, judge, aggregator.

``LLMClient(model, api_base=..., temperature=..., ...)`` wraps ``litellm.completion`` and turns every
call into a ``CallResult`` carrying the reply text and an ``LLMUsage`` (purpose, tokens, measured
seconds, cost from ``litellm.completion_cost``, 0 where the price is unknown).

What it adds to a bare ``litellm.completion``:

- **Retries with backoff** on rate limits (429), timeouts, connection errors and server errors (5xx):
  ``num_retries`` more attempts, waiting ``backoff_s * 2**attempt`` (jittered, capped at
  ``max_backoff_s``, or the server's ``Retry-After``). Other errors (401, 404, context window, ...)
  fail at once. When retries are exhausted ``LLMError`` is raised with a clear message. Failed
  attempts are returned as ``LLMUsage(ok=False)``; a failed attempt's ``seconds`` includes the
  backoff wait after it, so the seconds of a step's usages add up to the real time its calls took.
  litellm's and the OpenAI SDK's own retries are switched off so that this is the only retry loop.
- **Structured output**: ``complete(..., schema=S)`` asks for JSON that follows the JSON schema ``S``
  with the best ``response_format`` the provider accepts, trying in order ``json_schema`` (OpenAI
  style; litellm translates it for Anthropic, Ollama, ...), ``json_object`` plus a ``schema`` field
  (llama.cpp's server), plain ``json_object``, and nothing. A mode the provider rejects (HTTP 400/422)
  is dropped for that model and server for the rest of the process. ``structured`` pins one mode
  instead of ``auto``.
- **A hard timeout**: every attempt runs in a helper thread and is given up after ``timeout``
  seconds (default ``DEFAULT_TIMEOUT_S`` = 60), whatever the HTTP stack does (httpx's timeout bounds
  each read, so a server trickling a reply could hold a call for ever). It counts as a timeout:
  retried, then ``LLMError``.
- **Cancellation**: with a ``stop_event`` (the run's) the caller stops waiting as soon as the event
  is set (``LLMCancelled``); backoff waits are cut short too. An abandoned request is not aborted on
  the wire: a server may finish generating it, and its tokens are then not recorded (litellm's
  synchronous API offers no way to abort a request).
- **Faults are attempts**: an exception, a timeout, or a reply without choices (``EmptyReply``) is a
  failed attempt (``LLMUsage(ok=False)``, a one-line error, its seconds); ``mark_unusable`` marks a
  call whose reply the caller could not use.
- **Secrets** (``lts_core.secrets``): an ``api_key`` option is used for the calls and nothing else.
  The secrets of the settings (key, URL userinfo and query tokens of ``api_base``, header values in
  ``extra``) are registered at construction, so every error message, log record and recorded text
  of the process has them masked; ``describe()`` shows ``api_base`` and ``extra`` masked.

Thread-safety: one client may be used from several threads (the format downgrade is locked).

Size: one retry loop with its format negotiation, hard timeout and cancellation, each a behaviour
callers rely on (the contract above is most of the length); what can fail is in ``llm_errors``.
"""

from __future__ import annotations

import os
import random
import threading
import time
from typing import Any

from lts_core import config as _config  # noqa: F401  (sets LITELLM_LOCAL_MODEL_COST_MAP before litellm)
from lts_core.backends.base import LLMUsage
from lts_core.backends.llm_errors import (
    CallResult,
    CallTimeout,
    EmptyReply,
    LLMCancelled,
    LLMError,
    classify,
    extract_json,
    mark_unusable,
    retry_after,
)
from lts_core.faults import one_line
from lts_core.secrets import (
    install_log_redaction,
    is_secret_name,
    public_options,
    redact_config,
    redact_text,
    redact_url,
    register_config,
)

__all__ = ["CallResult", "CallTimeout", "EmptyReply", "LLMCancelled", "LLMClient", "LLMError",
           "classify", "extract_json", "mark_unusable", "public_options", "redact"]

FORMAT_MODES = ("json_schema", "json_object_schema", "json_object", "none")
STRUCTURED_CHOICES = ("auto", *FORMAT_MODES)
DEFAULT_TIMEOUT_S = 60.0
# Response formats a (model, api_base) refused, remembered for the life of the process so that
# every new run does not pay the refused attempt again.
_REFUSED: dict[tuple[str, str | None], set[str]] = {}
_REFUSED_LOCK = threading.Lock()
# kept for callers of the old names; lts_core.secrets is where secrets are defined
redact = redact_text
is_secret_option = is_secret_name


class LLMClient:
    """Calls one model through litellm (see the module docstring)."""

    def __init__(self, model: str, *, api_base: str | None = None, api_key: str | None = None,
                 api_key_env: str | None = None, temperature: float | None = 0.0,
                 max_tokens: int | None = 512, timeout: float = DEFAULT_TIMEOUT_S,
                 num_retries: int = 3,
                 backoff_s: float = 1.0, max_backoff_s: float = 30.0, structured: str = "auto",
                 seed: int | None = None, extra: dict[str, Any] | None = None) -> None:
        if not model or not isinstance(model, str):
            raise ValueError("an LLM back-end needs a litellm model string, e.g. 'openai/gpt-4o-mini'")
        if structured not in STRUCTURED_CHOICES:
            raise ValueError(f"structured must be one of {', '.join(STRUCTURED_CHOICES)}, "
                             f"got {structured!r}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        if num_retries < 0:
            raise ValueError(f"num_retries must be >= 0, got {num_retries}")
        if api_key_env and not api_key:
            api_key = os.environ.get(api_key_env)
            if not api_key:
                raise ValueError(f"api_key_env names {api_key_env!r} but that variable is not set")
        self._placeholder_key = False
        if (not api_key and api_base and model.split("/", 1)[0] in ("openai", "hosted_vllm")
                and not os.environ.get("OPENAI_API_KEY")):
            # a local OpenAI-compatible server (llama.cpp, vLLM) needs no key, but the OpenAI SDK
            # refuses to send a request without one
            api_key, self._placeholder_key = "sk-no-key-local-server", True
        # every secret of the settings is masked from here on, in any text and log of the process
        register_config({"api_base": api_base, "api_key": api_key, "extra": extra})
        install_log_redaction()
        self.model = model
        self.api_base = api_base
        self._api_key = api_key  # never described, never recorded
        self.api_key_env = api_key_env
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.timeout = float(timeout)
        self.num_retries = int(num_retries)
        self.backoff_s = float(backoff_s)
        self.max_backoff_s = float(max_backoff_s)
        self.structured = structured
        self.seed = seed
        self.extra = dict(extra or {})  # used for the calls; described with secrets masked
        with _REFUSED_LOCK:
            refused = set(_REFUSED.get((model, api_base), ()))
        self._modes = ([m for m in FORMAT_MODES if m not in refused] if structured == "auto"
                       else [structured])
        self._logprobs_ok = True
        self._lock = threading.Lock()
        self._rng = random.Random(0)

    # ------------------------------------------------------------------ settings
    def describe(self) -> dict[str, Any]:
        """Model and settings, safe to record (no key; only the name of its env var)."""
        try:
            import litellm

            known = bool(litellm.supports_response_schema(self.model))
        except Exception:  # noqa: BLE001 - informative only
            known = False
        return {"model": self.model, "provider_supports_response_schema": known,
                "api_base": redact_url(self.api_base) if self.api_base else None,
                "temperature": self.temperature,
                "max_tokens": self.max_tokens, "timeout": self.timeout,
                "num_retries": self.num_retries, "backoff_s": self.backoff_s,
                "max_backoff_s": self.max_backoff_s, "structured": self.structured,
                "format_mode": self.format_mode, "seed": self.seed,
                "api_key_env": self.api_key_env,
                "api_key_given": self._api_key is not None and not self._placeholder_key,
                **({"extra": redact_config(public_options(self.extra))} if self.extra else {})}

    def settings(self) -> dict[str, Any]:
        """Constructor arguments to build a sibling client (the judge), secret included."""
        return {"model": self.model, "api_base": self.api_base, "api_key": self._api_key,
                "timeout": self.timeout, "num_retries": self.num_retries,
                "backoff_s": self.backoff_s, "max_backoff_s": self.max_backoff_s}

    @property
    def format_mode(self) -> str:
        with self._lock:
            return self._modes[0]

    def redact(self, text: str) -> str:
        """``text`` with this client's key and every registered or environment secret masked."""
        return redact_text(text, [self._api_key])

    # ------------------------------------------------------------------ calls
    def _response_format(self, mode: str, schema: dict[str, Any] | None,
                         name: str) -> dict[str, Any] | None:
        if schema is None or mode == "none":
            return None
        if mode == "json_schema":
            return {"type": "json_schema",
                    "json_schema": {"name": name, "schema": schema, "strict": False}}
        if mode == "json_object_schema":
            return {"type": "json_object", "schema": schema}
        return {"type": "json_object"}

    def _drop_mode(self, mode: str) -> bool:
        """Forget ``mode`` (the provider refused it); False when there is nothing left to try.
        Calls run concurrently (one per team): when another call dropped ``mode`` meanwhile,
        the next mode is already current, so this call tries it too."""
        with self._lock:
            if mode not in self._modes:
                return bool(self._modes)
            if len(self._modes) > 1:
                self._modes.remove(mode)
                with _REFUSED_LOCK:
                    _REFUSED.setdefault((self.model, self.api_base), set()).add(mode)
                return True
            return False

    def _invoke(self, kwargs: dict[str, Any], stop_event: threading.Event | None) -> Any:
        """``litellm.completion`` in a helper thread, waited for at most ``timeout`` seconds (a
        hard limit: httpx's own timeout bounds each read, not the whole reply) and no longer than
        the stop event allows. A call given up on is abandoned, not aborted on the wire."""
        import litellm

        litellm.suppress_debug_info = True  # no "Provider List: ..." banners on stdout
        if stop_event is not None and stop_event.is_set():
            raise LLMCancelled("the run was stopped before the call")
        box: dict[str, Any] = {}
        done = threading.Event()

        def target() -> None:
            try:
                box["r"] = litellm.completion(**kwargs)
            except BaseException as e:  # noqa: BLE001 - handed back to the caller
                box["e"] = e
            finally:
                done.set()

        threading.Thread(target=target, name="lts-llm-call", daemon=True).start()
        deadline = time.monotonic() + self.timeout
        while not done.wait(max(0.0, min(0.05, deadline - time.monotonic()))):
            if stop_event is not None and stop_event.is_set():
                raise LLMCancelled("the run was stopped while a call was in flight "
                                   "(the request was abandoned)")
            if time.monotonic() >= deadline:
                raise CallTimeout(f"no reply within the {self.timeout:g} s timeout "
                                  "(the request was abandoned)")
        if "e" in box:
            raise box["e"]
        resp = box["r"]
        if not getattr(resp, "choices", None):
            raise EmptyReply("the provider's reply held no choices (nothing to read)")
        return resp

    def complete(self, messages: list[dict[str, str]], *, purpose: str,
                 schema: dict[str, Any] | None = None, schema_name: str = "reply",
                 max_tokens: int | None = None, logprobs: int | None = None,
                 stop_event: threading.Event | None = None) -> CallResult:
        """One logical call (retried as needed). Raises ``LLMError``/``LLMCancelled``."""
        failed: list[LLMUsage] = []
        attempt = 0
        want_logprobs = logprobs is not None
        while True:
            mode = self.format_mode if schema is not None else "none"
            kwargs: dict[str, Any] = {"model": self.model, "messages": messages,
                                      "timeout": self.timeout, "num_retries": 0,
                                      "max_retries": 0, **self.extra}
            if self.api_base:
                kwargs["api_base"] = self.api_base
            if self._api_key:
                kwargs["api_key"] = self._api_key
            if self.temperature is not None:
                kwargs["temperature"] = self.temperature
            mt = max_tokens if max_tokens is not None else self.max_tokens
            if mt is not None:
                kwargs["max_tokens"] = mt
            if self.seed is not None:
                kwargs["seed"] = self.seed
            rf = self._response_format(mode, schema, schema_name)
            if rf is not None:
                kwargs["response_format"] = rf
            use_lp = want_logprobs and self._logprobs_ok
            if use_lp:
                kwargs["logprobs"] = True
                kwargs["top_logprobs"] = logprobs
            t0 = time.perf_counter()
            try:
                resp = self._invoke(kwargs, stop_event)
            except LLMCancelled as e:
                failed.append(self._failed_usage(purpose, time.perf_counter() - t0, str(e)))
                raise LLMCancelled(str(e), failed) from None
            except Exception as e:  # noqa: BLE001 - classified below
                secs = time.perf_counter() - t0
                msg = one_line(self.redact(f"{type(e).__name__}: {e}"), 600)
                kind = classify(e)
                text = str(e).lower()
                # some servers answer an unsupported parameter with a 500 (llama.cpp's validation)
                if rf is not None and "response_format" in text or use_lp and "logprobs" in text:
                    kind = "format"
                if kind == "format" and use_lp and (rf is None or "response_format" not in text):
                    self._logprobs_ok = False  # the provider refuses logprobs: score from the text
                    failed.append(self._failed_usage(purpose, secs, msg))
                    continue
                if kind == "format" and rf is not None and self._drop_mode(mode):
                    failed.append(self._failed_usage(purpose, secs, msg))
                    continue
                if kind == "retry" and attempt < self.num_retries:
                    wait = self._backoff(attempt, e)
                    attempt += 1
                    cancelled = stop_event.wait(wait) if stop_event is not None else (
                        time.sleep(wait) or False)
                    failed.append(self._failed_usage(purpose, secs + wait, msg))
                    if cancelled:
                        raise LLMCancelled("the run was stopped during a retry backoff",
                                           failed) from None
                    continue
                failed.append(self._failed_usage(purpose, secs, msg))
                what = f"after {attempt + 1} attempts" if kind == "retry" else "(not retryable)"
                raise LLMError(f"{purpose} call to {self.model} failed {what}: {msg}",
                               failed) from None
            secs = time.perf_counter() - t0
            return self._result(resp, purpose, secs, failed, mode, use_lp)

    def _backoff(self, attempt: int, e: BaseException) -> float:
        ra = retry_after(e)
        if ra is not None:
            return min(self.max_backoff_s, ra)
        base = min(self.max_backoff_s, self.backoff_s * (2 ** attempt))
        return base * (0.5 + 0.5 * self._rng.random())

    def _failed_usage(self, purpose: str, secs: float, msg: str) -> LLMUsage:
        return LLMUsage(purpose, 0, 0, secs, real=True, model=self.model, ok=False,
                        error=one_line(self.redact(msg), 600))

    def _result(self, resp: Any, purpose: str, secs: float, failed: list[LLMUsage], mode: str,
                use_lp: bool) -> CallResult:
        import litellm

        choice = resp.choices[0]
        text = getattr(choice.message, "content", None) or ""
        usage = getattr(resp, "usage", None)
        pt = int(getattr(usage, "prompt_tokens", 0) or 0)
        ct = int(getattr(usage, "completion_tokens", 0) or 0)
        try:
            cost = float(litellm.completion_cost(completion_response=resp) or 0.0)
        except Exception:  # noqa: BLE001 - unknown price: 0
            cost = 0.0
        lp = None
        if use_lp:
            content = getattr(getattr(choice, "logprobs", None), "content", None)
            if content is None and isinstance(getattr(choice, "logprobs", None), dict):
                content = choice.logprobs.get("content")
            lp = list(content) if content else None
        u = LLMUsage(purpose, pt, ct, secs, real=True, model=self.model, cost_usd=cost)
        return CallResult(text, u, failed, lp, mode)
