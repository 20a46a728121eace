"""What an installed wheel carries: every shipped asset is package data (no source-tree paths)."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import lts_core
from lts_core.config import ASSETS_DIR
from lts_core.policies.controller import default_checkpoint

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(lts_core.__file__).resolve().parent


def test_every_asset_is_declared_package_data() -> None:
    globs = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["lts_core"]
    files = [p.relative_to(PACKAGE).as_posix() for p in ASSETS_DIR.rglob("*") if p.is_file()]
    assert files, "no assets found"
    missing = [f for f in files if not any(fnmatch.fnmatch(f, g) for g in globs)]
    assert not missing, f"not shipped in a wheel: {missing} (add them to package-data)"


def test_assets_are_found_inside_the_package() -> None:
    assert ASSETS_DIR.is_relative_to(PACKAGE)
    assert default_checkpoint().is_file() and default_checkpoint().is_relative_to(PACKAGE)
    assert (ASSETS_DIR / "demo" / "tasks.jsonl").is_file()
