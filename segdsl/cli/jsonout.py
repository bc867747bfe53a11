"""The machine contract of `--format json`: one versioned document on standard output.

Every JSON document a command prints carries `"version": JSON_VERSION` first; times are
ISO 8601 with their offset. The shape of each command's document is a JSON Schema in
docs/schemas/. Raise JSON_VERSION when a key changes meaning or disappears (adding a key
does not).
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Mapping
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from segdsl.timeline import AsOf

JSON_VERSION = 1


def iso_time(moment: AsOf) -> str:
    """The as-of moment in ISO 8601 with the offset of its time zone."""
    return moment.wall.replace(tzinfo=moment.zone).isoformat()


def to_json_value(value: object) -> object:
    """`json.dumps` default: times in ISO 8601, decimals as numbers, the rest as text."""
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return str(value)


def dumps(payload: Mapping[str, object], *, indent: int | None = 2) -> str:
    return json.dumps(payload, indent=indent, default=to_json_value, ensure_ascii=False)


def emit(payload: Mapping[str, object]) -> None:
    """Print one JSON document, `version` first."""
    typer.echo(dumps({"version": JSON_VERSION, **payload}))


def emit_line(row: Mapping[str, object]) -> None:
    """One JSON Lines record (member rows: a stream of data, no envelope)."""
    typer.echo(dumps(row, indent=None))
