"""The page registry: one ``st.Page`` per page, built the same way wherever it is needed.

``st.switch_page`` finds a page by its ``url_path``, so pages link to each other with
``st.switch_page(nav.page("live"))``.
"""

from __future__ import annotations

import streamlit as st

from app.views import compare, explorer, graph, launch, live, training

_SPEC = {
    # name: (render, title, icon)
    "launch": (launch.render, "Launch", ":material/rocket_launch:"),
    "live": (live.render, "Live run", ":material/monitoring:"),
    "explorer": (explorer.render, "Run explorer", ":material/manage_search:"),
    "graph": (graph.render, "Memory reuse", ":material/hub:"),
    "compare": (compare.render, "Compare", ":material/compare_arrows:"),
    "training": (training.render, "Training", ":material/model_training:"),
}


def page(name: str, default: str = "launch") -> st.Page:
    """The page ``name``; ``default`` is the one served at the root URL (Streamlit reserves the
    default page's own path, so it gets ``<name>-home`` and a hidden twin serves ``/<name>``)."""
    fn, title, icon = _SPEC[name]
    if name == default:
        return st.Page(fn, title=title, icon=icon, url_path=f"{name}-home", default=True)
    return st.Page(fn, title=title, icon=icon, url_path=name)


def all_pages(default: str = "launch") -> dict[str, list[st.Page]]:
    """The sections of the sidebar; every page can also be opened by ``/<name>``."""
    sections = {"Run": ["launch", "live"], "Inspect": ["explorer", "graph"],
                "Evaluate": ["compare", "training"]}
    out = {sec: [page(n, default) for n in names] for sec, names in sections.items()}
    fn, title, icon = _SPEC[default]
    out["Run"].append(st.Page(fn, title=title, icon=icon, url_path=default, visibility="hidden"))
    return out


def navigation(default: str = "launch") -> st.Page:
    """Register the pages (sidebar, in three sections) and return the one to run.

    ``default`` picks the root page (tests open any page first this way).
    """
    return st.navigation(all_pages(default), position="sidebar", expanded=True)
