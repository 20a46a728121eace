"""Settings: where data, the database and caches live. Every path has an environment variable.

| setting    | env var        | default                                                            |
|------------|----------------|--------------------------------------------------------------------|
| data_dir   | LTS_DATA_DIR   | ``../shared/data/qa`` beside the checkout when it exists, else      |
|            |                | ``~/.local/share/lts/data`` (filled by ``lts data fetch hotpotqa``)  |
| db_path    | LTS_DB         | ``$XDG_DATA_HOME/lts/lts.duckdb`` (``~/.local/share/lts/lts.duckdb``) |
| cache_dir  | LTS_CACHE_DIR  | ``$XDG_CACHE_HOME/lts`` (``~/.cache/lts``)                          |
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
ASSETS_DIR = Path(__file__).resolve().parent / "assets"  # package data: works from a wheel too

# litellm reads its price map from the network on import unless told otherwise; set it before
# anything can import litellm (CLI, app and tests all import lts_core first).
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def _xdg(var: str, fallback: str) -> Path:
    return Path(os.environ.get(var) or Path.home() / fallback)


def default_data_dir() -> Path:
    env = os.environ.get("LTS_DATA_DIR")
    if env:
        return Path(env).expanduser()
    shared = REPO_ROOT.parent / "shared" / "data" / "qa"
    if shared.is_dir():
        return shared
    return _xdg("XDG_DATA_HOME", ".local/share") / "lts" / "data"


def default_db_path() -> Path:
    env = os.environ.get("LTS_DB")
    if env:
        return Path(env).expanduser()
    return _xdg("XDG_DATA_HOME", ".local/share") / "lts" / "lts.duckdb"


def default_cache_dir() -> Path:
    env = os.environ.get("LTS_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return _xdg("XDG_CACHE_HOME", ".cache") / "lts"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    db_path: Path
    cache_dir: Path

    @classmethod
    def from_env(cls) -> Settings:
        return cls(default_data_dir(), default_db_path(), default_cache_dir())
