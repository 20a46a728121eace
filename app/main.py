"""LTS workbench dashboard: ``streamlit run app/main.py`` (or ``make run``).

Navigation only: every page lives in ``app/views``. The engine, store and run queue are one shared
object per process (``app.state.services``); pages read DuckDB through ``app.data``. On an address
other machines can reach, no page runs unless the API-base settings are made (``app.exposure``).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts app/ on the path, not the root
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import exposure, nav, ui  # noqa: E402
from app.safe import md  # noqa: E402

st.set_page_config(page_title="LTS workbench", page_icon=str(ROOT / "assets" / "logo-icon.svg"),
                   layout="wide", initial_sidebar_state="expanded")
st.logo(str(ROOT / "assets" / "logo.svg"), size="large", icon_image=str(ROOT / "assets" / "logo-icon.svg"))
ui.global_css()
refusal = exposure.startup_refusal(st.get_option("server.address"))
if refusal:
    print(refusal, file=sys.stderr)
    st.error(md(refusal, None), icon=":material/lock:")
    st.stop()
pg = nav.navigation()
ui.sidebar_status()
pg.run()
