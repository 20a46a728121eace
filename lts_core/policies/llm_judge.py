"""``llm-judge``: a prompted LLM says YES or NO for every step (the paper's LTS-LLM ablation).

Options (``RunConfig.policy_options``, ``lts run --policy-options '{...}'``): ``model`` (a litellm
model string), ``api_base``, ``api_key_env``, ``threshold`` (0.5), ``temperature`` (0.0),
``timeout`` (60 s), ``num_retries`` (2), ``logprobs`` (True), ``max_keys`` (30 newest keys shown),
``output_chars`` (1500 characters of the step's output shown). Without ``model`` the policy borrows
the run's LLM back-end's model, server and key (``bind_backend``, called by the engine); with the
``sim`` back-end and no model the run is refused.

Score = P(YES) from the first token's top logprobs when the provider returns them (renormalised
over the YES-like and NO-like tokens), else 1.0 / 0.0 from the reply's text. A failing or
unusable judge call never crashes the run: the step is not admitted and the error is kept in the
decision's features. Every call is returned in ``AdmissionDecision.usages`` (purpose ``judge``)
so the engine records it with the run's LLM calls; its time is not added to the run's clock (the
engine admits at commit, off the teams' critical path), but ``decide_ms`` and ``llm_calls`` keep it.
An unusable reply's call is recorded with ``ok = false``. ``describe()`` masks the secrets of the
judge's settings (``api_base`` userinfo and query tokens, header values in ``extra``).
"""

from __future__ import annotations

import math
from typing import Any

from lts_core.backends.llm_client import LLMClient, LLMError, mark_unusable
from lts_core.backends.llm_prompts import judge_messages
from lts_core.faults import one_line
from lts_core.policies.base import AdmissionContext, AdmissionDecision, AdmissionPolicy
from lts_core.secrets import public_options, redact_config, register_config

_CLIENT_KEYS = ("model", "api_base", "api_key", "api_key_env", "temperature", "timeout",
                "num_retries", "backoff_s", "max_backoff_s", "extra")


def _yes_no(token: str) -> str | None:
    t = token.strip().strip("\"'*.:").upper()
    if not t:
        return None
    if "YES".startswith(t):
        return "yes"
    if "NO".startswith(t):
        return "no"
    return None


def p_yes_from_logprobs(content: list[Any] | None) -> float | None:
    """P(YES) / (P(YES) + P(NO)) over the first token's top alternatives, or None."""
    if not content:
        return None
    first = content[0]
    top = getattr(first, "top_logprobs", None)
    if top is None and isinstance(first, dict):
        top = first.get("top_logprobs")
    alts = list(top or [])
    tok = getattr(first, "token", None) if not isinstance(first, dict) else first.get("token")
    lp = getattr(first, "logprob", None) if not isinstance(first, dict) else first.get("logprob")
    if tok is not None and lp is not None:
        alts.append({"token": tok, "logprob": lp})
    mass = {"yes": 0.0, "no": 0.0}
    seen: set[str] = set()
    for a in alts:
        t = a.get("token") if isinstance(a, dict) else getattr(a, "token", None)
        v = a.get("logprob") if isinstance(a, dict) else getattr(a, "logprob", None)
        if t is None or v is None or t in seen:
            continue
        seen.add(t)
        side = _yes_no(t)
        if side:
            mass[side] += math.exp(float(v))
    total = mass["yes"] + mass["no"]
    return mass["yes"] / total if total > 0 else None


class LLMJudgePolicy(AdmissionPolicy):
    name = "llm-judge"
    score_label = "P(YES), the judge's probability of YES"
    option_sources = (LLMClient,)  # where **client_options go (their types are checked)

    def __init__(self, model: str | None = None, *, threshold: float = 0.5, logprobs: bool = True,
                 max_keys: int = 30, output_chars: int = 1500, **client_options: Any) -> None:
        unknown = set(client_options) - set(_CLIENT_KEYS)
        if unknown:
            raise ValueError(f"unknown llm-judge option(s): {', '.join(sorted(unknown))}; known: "
                             f"model, threshold, logprobs, max_keys, output_chars, "
                             f"{', '.join(_CLIENT_KEYS[1:])}")
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"llm-judge threshold must be in [0, 1], got {threshold}")
        self.threshold = threshold
        self.logprobs = logprobs
        self.max_keys = max_keys
        self.output_chars = output_chars
        self._opts = {"temperature": 0.0, "timeout": 60.0, "num_retries": 2, **client_options}
        register_config(self._opts)  # masked in every text and log of the process from now on
        self.client: LLMClient | None = None
        if model:
            self.client = LLMClient(model, max_tokens=3, structured="none", **self._opts)

    def bind_backend(self, backend: Any) -> None:
        """Borrow the run's back-end model/server/key when no model was given."""
        if self.client is not None:
            return
        settings = getattr(backend, "judge_settings", None)
        if settings is None:
            raise ValueError("the llm-judge policy needs a model: pass policy option "
                             "model='openai/gpt-4o-mini' (and api_base if needed), or run it with "
                             "an LLM back-end")
        s = {k: v for k, v in settings().items() if v is not None}
        s.update({k: v for k, v in self._opts.items() if k != "model"})
        self.client = LLMClient(s.pop("model"), max_tokens=3, structured="none", **s)

    def decide(self, ctx: AdmissionContext) -> AdmissionDecision:
        if self.client is None:
            return AdmissionDecision(0.0, False, {"reason": "no judge model configured",
                                                  "error": "no model"})
        keys = [e.key for e in ctx.keys][-self.max_keys:]
        msgs = judge_messages(ctx.query, keys, ctx.u, ctx.s, ctx.o, output_chars=self.output_chars)
        try:
            r = self.client.complete(msgs, purpose="judge", max_tokens=3,
                                     logprobs=5 if self.logprobs else None)
        except LLMError as e:
            return AdmissionDecision(0.0, False, {"reason": "judge call failed: default NO",
                                                  "error": one_line(str(e), 500)}, usages=e.usages)
        reply = r.text.strip()
        side = _yes_no(reply.split()[0]) if reply.split() else None
        p = p_yes_from_logprobs(r.logprobs)
        feats: dict[str, Any] = {"reply": reply[:40], "logprobs": p is not None,
                                 "model": self.client.model}
        if p is None:
            if side is None:
                feats.update(reason="the judge's reply is neither YES nor NO: default NO",
                             error=f"unusable reply {reply[:40]!r}")
                mark_unusable(r.usage, f"neither YES nor NO: {reply[:40]!r}")
                return AdmissionDecision(0.0, False, feats, usages=r.usages)
            p = 1.0 if side == "yes" else 0.0
        d = self.decision(p, feats, r.usages, digits=4)
        feats.update(p_yes=round(p, 4), reason=f"judge says {'YES' if d.admit else 'NO'} "
                     f"(P(YES)={p:.2f})")
        return d

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name, "threshold": self.threshold,
                             "logprobs": self.logprobs, "max_keys": self.max_keys,
                             "output_chars": self.output_chars}
        if self.client is not None:
            d.update(self.client.describe())
        else:
            d.update(public_options(self._opts))
        return redact_config(public_options(d))
