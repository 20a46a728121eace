"""Test doubles for the LLM back-end: an in-process litellm provider and a fake OpenAI HTTP server.

- ``FakeProvider``: a ``litellm.CustomLLM`` registered under a provider name (``ltsfake/<model>``).
  It replays a script (strings, exceptions, callables, ``NO_CHOICES``) and then answers like a cooperative model
  (``smart_reply``): ledger, progress (memory_read when a key is offered, else search, open,
  answer), summary, judge, aggregate. Every call's messages and parameters are kept.
- ``FakeOpenAIServer``: a real HTTP server on 127.0.0.1 speaking the chat-completions protocol, with
  scripted statuses and delays, to test retries and timeouts through the real network stack.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# before litellm's first import, or it fetches its price map from the network (lts_core.config
# does the same; test modules import litellm from here so the order cannot go wrong)
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
import litellm  # noqa: E402
from litellm import CustomLLM  # noqa: E402

ANSWERS = ["Marrow River", "Greywater"]
NO_CHOICES = "<<a reply without choices>>"  # a script item: the provider answers choices=[]


def _user(messages: list[dict]) -> str:
    return next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")


def _system(messages: list[dict]) -> str:
    return next((m["content"] for m in messages if m["role"] == "system"), "")


class SmartState:
    def __init__(self) -> None:
        self.answers = 0
        self.lock = threading.Lock()

    def next_answer(self) -> str:
        with self.lock:
            a = ANSWERS[self.answers % len(ANSWERS)]
            self.answers += 1
            return a


def smart_reply(messages: list[dict], state: SmartState) -> str:
    sys_, user = _system(messages), _user(messages)
    if "memory key of one agent step" in sys_:
        m = re.search(r"Action: (\w+) '([^']*)'", user)
        kind, arg = (m.group(1), m.group(2)) if m else ("step", "")
        return (f"The team ran {kind} for '{arg[:40]}' and found pages naming the bridge, its "
                "engineer and the river it crosses.")
    if "decide whether one step" in sys_:
        return "YES"
    if "aggregate the answers" in sys_:
        return json.dumps({"answer": "Marrow River", "reason": "most evidence"})
    if "task ledger" in user and "progress ledger" not in user:
        return json.dumps({"facts": ["Anselm Garrick built a bridge"],
                           "plan": ["search Anselm Garrick", "open the bridge page", "answer"]})
    if "Give the final answer now" in user:
        return json.dumps({"answer": state.next_answer()})
    if "progress ledger" in user:
        ids = re.findall(r"^#(\d+) \(team", user, re.M)
        read = re.search(r"already read: ([^)]*)\)", user)
        done = set(re.findall(r"\d+", read.group(1))) if read else set()
        fresh = [i for i in ids if i not in done]
        hist = user.split("Steps so far")[1].split("\n\n")[0] if "Steps so far" in user else ""
        base = {"is_request_satisfied": False, "is_in_loop": False, "is_progress_being_made": True}
        if "one of memory_read" in user and fresh:
            act = {"tool": "memory_read", "argument": "", "entry_ids": [int(fresh[0])]}
        elif "] search" not in hist:
            act = {"tool": "search", "argument": "Anselm Garrick bridge"}
        elif "] open" not in hist:
            act = {"tool": "open", "argument": "Anselm Garrick"}
        else:
            act = {"tool": "answer", "argument": state.next_answer()}
        return json.dumps({**base, "next_action": act, "instruction": f"do {act['tool']}"})
    return "I do not know."


def smart_replies() -> Any:
    """A callable(messages) -> text answering like ``smart_reply`` (for ``FakeOpenAIServer``)."""
    state = SmartState()
    return lambda messages: smart_reply(messages, state)


class FakeProvider(CustomLLM):
    """Scripted in-process provider; ``script`` items: str | Exception | callable(messages, params)."""

    def __init__(self) -> None:
        super().__init__()
        self.script: list[Any] = []
        self.calls: list[dict[str, Any]] = []
        self.state = SmartState()
        self.delay_s = 0.0
        self.logprobs: list[dict] | None = None  # returned on every reply when set
        self.lock = threading.Lock()

    def completion(self, model, messages, api_base, custom_prompt_dict, model_response,
                   print_verbose, encoding, api_key, logging_obj, optional_params, *args, **kw):
        with self.lock:
            self.calls.append({"model": model, "messages": messages, "params": dict(optional_params),
                               "api_key": api_key, "api_base": api_base})
            item = self.script.pop(0) if self.script else None
        if self.delay_s:
            time.sleep(self.delay_s)
        if callable(item) and not isinstance(item, Exception):
            item = item(messages, optional_params)
        if isinstance(item, Exception):
            raise item
        text = item if item is not None else smart_reply(messages, self.state)
        if text == NO_CHOICES:
            return litellm.ModelResponse(id="fake", object="chat.completion", created=0,
                                         model=model, choices=[],
                                         usage={"prompt_tokens": 3, "completion_tokens": 0,
                                                "total_tokens": 3})
        resp = {"id": "fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": sum(len(m["content"]) for m in messages) // 4,
                          "completion_tokens": max(1, len(text) // 4),
                          "total_tokens": 0}}
        if self.logprobs is not None:
            resp["choices"][0]["logprobs"] = {"content": self.logprobs}
        return litellm.ModelResponse(**resp)

    def purposes(self) -> list[str]:
        return [classify_call(c["messages"]) for c in self.calls]


def classify_call(messages: list[dict]) -> str:
    sys_ = _system(messages)
    if "memory key" in sys_:
        return "summarize"
    if "decide whether" in sys_:
        return "judge"
    if "aggregate" in sys_:
        return "aggregate"
    return "orchestrate"


class register_provider:  # noqa: N801 - used as a context manager
    """``with register_provider("ltsfake") as fake:`` registers a FakeProvider for the block."""

    def __init__(self, name: str = "ltsfake", provider: CustomLLM | None = None) -> None:
        self.name = name
        self.provider = provider or FakeProvider()

    def __enter__(self) -> Any:
        self._saved = list(litellm.custom_provider_map or [])
        litellm.custom_provider_map = [*self._saved, {"provider": self.name,
                                                      "custom_handler": self.provider}]
        from litellm.utils import custom_llm_setup

        custom_llm_setup()
        return self.provider

    def __exit__(self, *exc: object) -> None:
        litellm.custom_provider_map = self._saved


# ----------------------------------------------------------------------------- HTTP server
class FakeOpenAIServer:
    """``script``: list of (status, body_text_or_None, delay_s); then 200 with ``default`` (a
    string, or a callable(messages) -> reply text, e.g. ``smart_replies()``)."""

    def __init__(self, default: str | Any = '{"answer": "ok"}') -> None:
        self.script: list[tuple[int, str | None, float]] = []
        self.default = default
        self.requests: list[dict[str, Any]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                n = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(n) or b"{}")
                outer.requests.append({"path": self.path, "body": body,
                                       "auth": self.headers.get("authorization")})
                status, text, delay = (outer.script.pop(0) if outer.script
                                       else (200, None, 0.0))
                if delay:
                    time.sleep(delay)
                if status != 200:
                    payload = json.dumps({"error": {"message": f"scripted {status}",
                                                    "type": "server_error", "code": status}})
                    self._send(status, payload, {"retry-after": "0"} if status == 429 else {})
                    return
                content = text if text is not None else (
                    outer.default(body.get("messages") or []) if callable(outer.default)
                    else outer.default)
                payload = json.dumps({
                    "id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": content}}],
                    "usage": {"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}})
                self._send(200, payload, {})

            def _send(self, status: int, payload: str, headers: dict[str, str]) -> None:
                data = payload.encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in headers.items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._t = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeOpenAIServer:
        self._t.start()
        return self

    def warm_up(self) -> None:
        """One call through litellm, forgotten: litellm's first call in a process spends seconds
        importing, which a test's sub-second ``timeout`` (a hard limit) would count."""
        litellm.completion(model="openai/warm-up", api_base=self.url, api_key="x",
                           messages=[{"role": "user", "content": "hi"}])
        self.requests.clear()

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
