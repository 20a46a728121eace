"""The DuckDB schema derived from the records: column types, CREATE statements, rows and checks.

Pure functions over the record classes of ``records``; thread-safe.
"""

from __future__ import annotations

import dataclasses
import functools
import numbers
import types
import typing

from lts_core.record.records import TABLES

_SQL_TYPES = {str: "VARCHAR", int: "BIGINT", float: "DOUBLE", bool: "BOOLEAN"}


def column_types(cls: type) -> dict[str, str]:
    """Map each field of a record class to its DuckDB type (``str | None`` -> VARCHAR, nullable)."""
    hints = typing.get_type_hints(cls)
    out: dict[str, str] = {}
    for f in dataclasses.fields(cls):
        t = hints[f.name]
        if isinstance(t, types.UnionType) or typing.get_origin(t) is typing.Union:
            t = next(a for a in typing.get_args(t) if a is not type(None))
        out[f.name] = _SQL_TYPES[t]
    return out


def schema_sql() -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` statements for every record table."""
    stmts = []
    for name, cls in TABLES.items():
        cols = ", ".join(f"{c} {t}" for c, t in column_types(cls).items())
        stmts.append(f"CREATE TABLE IF NOT EXISTS {name} ({cols})")
    return stmts


def as_row(rec: object) -> tuple:
    """The record's values in column order."""
    return tuple(getattr(rec, f.name) for f in dataclasses.fields(rec))  # type: ignore[arg-type]


def field_names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


_ACCEPTS = {"VARCHAR": (str,), "BIGINT": (numbers.Integral,), "DOUBLE": (numbers.Real,),
            "BOOLEAN": (bool, numbers.Integral)}


@functools.cache
def _accepted(cls: type) -> tuple[tuple[str, str, tuple[type, ...]], ...]:
    return tuple((name, sql, _ACCEPTS[sql]) for name, sql in column_types(cls).items())


def check_row(cls: type, row: tuple) -> None:
    """TypeError naming the field when a value cannot go into its column (None always can).

    >>> from lts_core.record.records import TeamRecord
    >>> check_row(TeamRecord, as_row(TeamRecord("r1", "zero")))  # type: ignore[arg-type]
    Traceback (most recent call last):
    ...
    TypeError: TeamRecord.team_idx is a BIGINT column; got str 'zero'
    """
    for (name, sql, accepted), v in zip(_accepted(cls), row, strict=True):
        if v is not None and not isinstance(v, accepted) and not (sql == "BOOLEAN" and hasattr(v, "dtype")):
            raise TypeError(f"{cls.__name__}.{name} is a {sql} column; got "
                            f"{type(v).__name__} {str(v)[:40]!r}")
