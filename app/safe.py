"""Untrusted text on its way to the page: escaped here, once, and nowhere else.

Task files, model output and tool output are data, never markup. Two helpers, one per kind of sink:

- ``md(text)``: anything Streamlit renders as markdown: ``st.markdown`` (with or without
  ``unsafe_allow_html``), ``st.caption``, alerts, ``st.toast``, ``st.badge``, widget and expander
  labels, ``help=``. Every markup character becomes a numeric character reference (``[`` ->
  ``&#91;``): markdown decodes those to plain text after it has parsed the structure, and so does
  HTML, so images, links, bare URLs, emphasis, code, ``:color[...]``/``:material/...:`` directives,
  ``$`` maths and tags all stay text, inside app-built HTML as well as in plain markdown. Bare
  URLs and e-mail addresses get an invisible word joiner (U+2060) before ``://``, ``www.``'s dot
  and ``@``: Streamlit links them in the decoded text, after markdown parsing.
- ``esc(text)``: plain HTML and plotly text (hover text, trace names, tick labels, titles).
  Plotly decodes ``&lt; &gt; &amp;`` and numeric references only, hence ``&#34;``/``&#39;``.

Both first cut the text to ``limit`` characters (``…`` marks the cut), drop control and
bidirectional-override characters and fold line breaks into spaces (``md(lines=True)`` keeps them as
markdown line breaks); ``None`` becomes ``""``. Sinks that show plain text (dataframes, ``st.code``,
select options) need no escaping, only ``clip``.
"""

from __future__ import annotations

import re
import string

LIMIT = 300  # default cap on the characters shown from one untrusted value

_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")
_NEWLINES = re.compile(r"[ \t]*(?:\r\n|\r|\n)\s*")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&#34;", "'": "&#39;"}
_PLAIN = set(",;?%/")  # punctuation that starts no markup, wherever it stands
_MD = {c: f"&#{ord(c)};" for c in string.punctuation if c not in _PLAIN} | _HTML
_AUTOLINK = re.compile(r"(?i)(?<=https)(?=://)|(?<=http)(?=://)|(?<=www)(?=\.)|(?=@)")
JOINER = "\u2060"  # word joiner: invisible, breaks the autolink patterns


def clip(text: object, limit: int | None = LIMIT, *, lines: bool = False) -> str:
    """``text`` as one clean string of at most ``limit`` characters (line breaks kept if ``lines``)."""
    s = _CONTROL.sub("", "" if text is None else str(text)).replace("\t", " ").strip()
    s = _NEWLINES.sub("\n" if lines else " ", s)
    if limit is not None and len(s) > limit:
        s = s[: max(limit - 1, 0)].rstrip() + "…"
    return s


def esc(text: object, limit: int | None = LIMIT) -> str:
    """``text`` escaped for HTML element content, quoted attributes and plotly text."""
    return "".join(_HTML.get(c, c) for c in clip(text, limit))


def md(text: object, limit: int | None = LIMIT, *, lines: bool = False) -> str:
    """``text`` that every markdown renderer of Streamlit shows as the same plain characters."""
    plain = _AUTOLINK.sub(JOINER, clip(text, limit, lines=lines))
    body = "".join(_MD.get(c, c) for c in plain)
    return body.replace("\n", "  \n")
