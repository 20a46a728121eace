"""Checks of ``lts`` arguments made before any work: argparse types and ``--out`` paths.

- ``count(lo)``: an argparse type, a whole number >= ``lo`` (a bad number is a usage error, exit 2;
  ``lts bench --limit -1`` used to slice off the last task).
- ``--out``: ``lts bench`` writes a folder, ``lts train`` a checkpoint file. Each check names the
  path and what is wrong (``folder_problem`` / ``checkpoint_problem``; ``check_*_out`` raise it as a
  ValueError, which ``lts`` prints and exits 2), before the database is opened, as ``lts export``
  does, instead of failing after the whole bench or training (and leaving ``OUT.tmp`` behind).
  Writability is tried, not guessed from permission bits (root passes those, a read-only file
  system does not): a temporary file is made and removed in the folder, or in the nearest existing
  folder above it when it does not exist yet.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

CHECKPOINT_SUFFIX = ".pt"


def count(lo: int) -> Callable[[str], int]:
    """An argparse type: a whole number >= ``lo`` (``--limit -1`` used to slice off the last task)."""

    def parse(s: str) -> int:
        try:
            v = int(s)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number, got {s!r}") from None
        if v < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}, got {v}")
        return v

    return parse


def _unwritable(folder: Path) -> str | None:
    """Why no file can be made in ``folder`` (created if missing), or None."""
    p = folder
    while not p.exists() and p.parent != p:
        p = p.parent
    if not p.is_dir():
        return f"{p} is a file, so no folder can be made inside it"
    try:
        with tempfile.TemporaryFile(dir=p):
            pass
    except OSError as e:
        return f"cannot write in {p}: {e.strerror or e}"
    return None


def folder_problem(out: str | os.PathLike[str], flag: str = "--out") -> str | None:
    """What is wrong with ``out`` as a folder to write into (made if missing), or None."""
    path = Path(out).expanduser()
    if path.exists() and not path.is_dir():
        return f"{flag} {path} is a file; give a folder (it is made if missing)"
    why = _unwritable(path)
    return f"{flag} {path}: {why}" if why else None


def checkpoint_problem(out: str | os.PathLike[str], flag: str = "--out") -> str | None:
    """What is wrong with ``out`` as a checkpoint file (its sidecar is ``out`` with ``.json``)."""
    path = Path(out).expanduser()
    if path.is_dir():
        return (f"{flag} {path} is a folder; give a checkpoint file such as "
                f"{path / ('controller' + CHECKPOINT_SUFFIX)}")
    if path.suffix == ".json":
        return (f"{flag} {path} ends in .json, the name of the checkpoint's sidecar; give a "
                f"{CHECKPOINT_SUFFIX} file")
    if path.exists() and path.suffix != CHECKPOINT_SUFFIX:
        return (f"{flag} {path} exists and is not a checkpoint ({CHECKPOINT_SUFFIX}); not "
                "overwriting it: give another file")
    why = _unwritable(path.parent)
    return f"{flag} {path}: {why}" if why else None


def check_folder_out(out: str | os.PathLike[str] | None, flag: str = "--out") -> None:
    """``folder_problem`` as a ValueError (``lts`` prints it and exits 2); None: nothing to check."""
    if out is not None and (why := folder_problem(out, flag)) is not None:
        raise ValueError(why)


def check_checkpoint_out(out: str | os.PathLike[str] | None, flag: str = "--out") -> None:
    """``checkpoint_problem`` as a ValueError; None (the default path beside the DB): nothing."""
    if out is not None and (why := checkpoint_problem(out, flag)) is not None:
        raise ValueError(why)
