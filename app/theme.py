"""Colours and labels shared by every page, so a team or a decision looks the same everywhere.

Three palettes, chosen not to collide:
- teams: saturated qualitative hues (no pure green or red: those mean a decision);
- decisions: green = admitted to the bank, red = rejected, grey = no decision (memory off, or a
  memory read, which is never an admission candidate);
- actions: pale fills for the swimlane bars, so the team-coloured read arrows stand out on top.

>>> len({team_color(i) for i in range(32)})
32
"""

from __future__ import annotations

TEAM_COLORS = [
    "#4E79A7",  # blue
    "#F28E2B",  # orange
    "#B07AA1",  # mauve
    "#76B7B2",  # teal
    "#EDC948",  # yellow
    "#9C755F",  # brown
    "#FF9DA7",  # pink
    "#1F3B73",  # navy
    "#8C8C2E",  # olive
    "#6B6ECF",  # indigo
]

DECISION_COLORS = {
    "admitted": "#1A9850",
    "rejected": "#D73027",
    "none": "#9AA5B1",
}
DECISION_LABELS = {"admitted": "admitted", "rejected": "rejected", "none": "no decision"}

ACTION_COLORS = {
    "plan": "#D5DBE3",
    "search": "#A9C8F0",
    "open": "#C9B8EC",
    "memory_read": "#F7D488",
    "answer": "#3D4A5C",
}
ACTION_ORDER = ["plan", "search", "open", "memory_read", "answer"]
ACTION_LABELS = {"plan": "plan", "search": "web search", "open": "open page",
                 "memory_read": "memory read", "answer": "answer"}

POLICY_COLORS = {
    "none": "#8A8F98",
    "all": "#E15759",
    "dedup": "#4E79A7",
    "learned": "#59A14F",
    "llm-judge": "#B07AA1",
}

STATUS_ICONS = {
    "running": ":material/progress_activity:",
    "finished": ":material/check_circle:",
    "failed": ":material/error:",
    "cancelled": ":material/cancel:",
    "interrupted": ":material/pause_circle:",
    "queued": ":material/schedule:",
}
STATUS_COLORS = {"running": "blue", "finished": "green", "failed": "red", "cancelled": "gray",
                 "interrupted": "orange", "queued": "violet"}

PAPER_BG = "rgba(0,0,0,0)"
GRID = "#E6E9EF"
FONT = "Inter, 'Source Sans Pro', sans-serif"
SIMULATED_NOTE = ("simulated: agents are the offline simulator (real paragraphs, real search, "
                  "modelled reasoning and timings), not an LLM")


PLANTED_COLOR = "#111827"  # entries planted by a poisoning experiment (team -1)
WRONG_COLOR = "#C2185B"  # an entry whose content is wrong, and the reads of it


def _hsl_hex(h: float, s: float, light: float) -> str:
    import colorsys

    r, g, b = colorsys.hls_to_rgb(h / 360, light, s)
    return f"#{int(r * 255):02X}{int(g * 255):02X}{int(b * 255):02X}"


# teams 10..31: golden-angle hues away from pure green and red, two lightness levels
_MORE = [_hsl_hex(h, 0.55, 0.38 + 0.16 * (i % 2)) for i, h in enumerate(
    h for h in ((25 + k * 137.508) % 360 for k in range(60)) if not (100 <= h <= 150 or h <= 12
                                                                     or h >= 345))][:22]


def team_color(idx: int) -> str:
    """Colour of team ``idx``: distinct up to 32 teams, then cycling; the planted team is black."""
    i = int(idx)
    if i < 0:
        return PLANTED_COLOR
    palette = TEAM_COLORS + _MORE
    return palette[i % len(palette)]


def policy_color(name: str, i: int = 0) -> str:
    """Colour of a policy; unknown names fall back to the team palette by position."""
    return POLICY_COLORS.get(str(name), TEAM_COLORS[(i + 3) % len(TEAM_COLORS)])


def team_label(idx: int) -> str:
    return "Planted" if int(idx) < 0 else f"Team {int(idx)}"


def team_short(idx: int) -> str:
    """"T3", or "planted" for entries of a poisoning experiment."""
    return "planted" if int(idx) < 0 else f"T{int(idx)}"


def base_layout(**over: object) -> dict:
    """Plotly layout defaults used by every figure (transparent, light grid, compact margins)."""
    lay: dict = dict(
        paper_bgcolor=PAPER_BG, plot_bgcolor="#FFFFFF", font=dict(family=FONT, size=12),
        margin=dict(l=10, r=10, t=36, b=10), hoverlabel=dict(font_size=12),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0, font=dict(size=11)),
    )
    lay.update(over)
    return lay
