"""``app.safe``: untrusted text shows as the same characters, never as markup."""

from __future__ import annotations

import html
import re

import pytest
from app_helpers import TIMEOUT, texts

from app.safe import JOINER, clip, esc, md

HOSTILE = [
    "<script>document.title='PWNED'</script>",
    "x<iframe srcdoc=\"<script>parent.document.title='PWNED'</script>\"></iframe>",
    "<img src=x onerror=\"document.title='PWNED'\">",
    "![x](http://127.0.0.1:1/x.png) [link](http://127.0.0.1:1/) <http://127.0.0.1:1/>",
    "www.example.com and http://127.0.0.1:1/x and a@b.example",
    "**bold** _it_ `code` ~~s~~ $x^2$ :red[red] :material/home: \\*escaped\\* &amp; &#60;b&#62;",
    "# heading\n- item\n> quote\n\n    code\n[ref]: http://127.0.0.1:1/\n---",
    "| a | b |\n|---|---|\n| 1 | 2 |",
]
TAGS = re.compile(r"<(?!/?p>|br ?/?>)")  # any tag but the paragraphs and breaks markdown adds
# what Streamlit links in decoded text (remark-gfm's find-and-replace, after parsing)
AUTOLINK = re.compile(r"(https?://|www(?=\.))|[-.\w+]+@[-\w]+(\.[-\w]+)+", re.I)


def shown(s: str) -> str:
    """What a reader sees: references decoded, word joiners invisible."""
    return html.unescape(s).replace(JOINER, "")


def test_clip_cuts_cleans_and_accepts_anything():
    assert clip(None) == "" and clip(3) == "3"
    assert clip("a\x00b\u202ec\x1b") == "abc"
    assert clip("a\n\n  b\r\nc") == "a b c" and clip("a\n\n b", lines=True) == "a\nb"
    assert clip("x" * 50, 10) == "x" * 9 + "…" and len(clip("y" * 10_000)) == 300
    assert clip("short", None) == "short"


@pytest.mark.parametrize("text", HOSTILE)
def test_esc_and_md_keep_the_characters(text):
    assert html.unescape(esc(text, None)) == clip(text, None)
    assert shown(md(text, None)) == clip(text, None)
    assert shown(md(text, None, lines=True)).replace("  \n", "\n") == clip(text, None, lines=True)
    assert not AUTOLINK.search(html.unescape(md(text, None)))
    for raw in ("<", ">", '"', "'"):
        assert raw not in esc(text, None)
    for raw in ("<", ">", "[", "]", "(", ")", "!", "*", "_", "`", "$", ":", "~", "\\", "#", "|"):
        assert raw not in md(text, None).replace("&#", "")


@pytest.mark.parametrize("text", HOSTILE)
def test_md_renders_as_plain_text_in_commonmark(text):
    """A CommonMark renderer with raw HTML on (as Streamlit's unsafe_allow_html) makes no markup."""
    markdown_it = pytest.importorskip("markdown_it")
    render = markdown_it.MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    for lines in (False, True):
        out = render.render(md(text, None, lines=lines))
        assert not TAGS.search(out), out
        plain = html.unescape(re.sub(r"<[^>]+>", "", out)).replace("\n", "")
        assert not AUTOLINK.search(plain), plain
        assert plain.replace(JOINER, "") == clip(text, None, lines=lines).replace("\n", "")
        inside = render.render(f"<div class='x'><b>{md(text, None, lines=lines)}</b></div>")
        assert set(re.findall(r"<(/?\w+)", inside)) <= {"div", "/div", "b", "/b"}, inside


def test_streamlit_shows_escaped_text_everywhere():
    """AppTest: markdown, unsafe HTML, captions, alerts, badges and expander labels get ``md``."""
    from streamlit.testing.v1 import AppTest

    def page(payload: str) -> None:
        import streamlit as st

        from app.safe import md

        st.markdown(md(payload))
        st.markdown(f"<span class='x'>{md(payload)}</span>", unsafe_allow_html=True)
        st.caption(md(payload))
        st.info(md(payload, lines=True))
        st.badge(md(payload))
        with st.expander(md(payload)):
            st.write("inside")

    payload = " ".join(HOSTILE[:4])
    at = AppTest.from_function(page, args=(payload,), default_timeout=TIMEOUT).run()
    assert not at.exception
    bodies = [m.value for m in at.markdown] + [c.value for c in at.caption] + [at.info[0].value]
    bodies.append(at.expander[0].label)
    for body in bodies:
        assert not re.search(r"<(script|iframe|img)|!\[|\]\(", body), body
    assert texts(at).replace(JOINER, "").count(clip(payload)) >= 3  # the very characters
