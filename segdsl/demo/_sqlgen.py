"""Building blocks for deterministic pseudo-random SQL: Python values → DuckDB SQL text.

The generator never calls ``random()`` or ``hash()``: every draw is an integer hash
(``mix32``, the "lowbias32" finalizer) of row keys and a salt, so the same keys give the
same value on every DuckDB version and machine. Only integer arithmetic is used (money is
exact DECIMAL), never floating point.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import date

# Temporary macros installed on the generating connection. ``mix32`` keeps 32 bits; the
# products stay below 2**64 so UBIGINT never overflows.
MACROS: tuple[str, ...] = (
    "CREATE OR REPLACE TEMP MACRO xs(x, k) AS xor(x, x >> k)",
    "CREATE OR REPLACE TEMP MACRO mix32(x) AS "
    "xs((xs((xs((x)::UBIGINT & 4294967295, 16) * 2146121005) & 4294967295, 15)"
    " * 2221713035) & 4294967295, 16)",
)


# Odd 32-bit multipliers (golden ratio and murmur3 constants) folding up to 4 keys.
_KEY_MULTIPLIERS: tuple[int, ...] = (0x9E3779B1, 0x85EBCA77, 0xC2B2AE3D, 0x27D4EB2F)


def salt(name: str) -> int:
    """A stable 32-bit salt for a named draw."""
    return zlib.crc32(name.encode("utf-8"))


def rnd(name: str, *keys: str) -> str:
    """SQL for a uniform BIGINT in [0, 2**32) keyed by the non-negative integer SQL ``keys``.

    The keys are folded into 32 bits with odd multipliers plus the salt, then mixed once:
    nesting ``mix32`` would make DuckDB's macro expansion grow exponentially.
    """
    if not keys:
        raise ValueError("rnd() needs at least one key")
    if len(keys) > len(_KEY_MULTIPLIERS):
        raise ValueError(f"rnd() takes at most {len(_KEY_MULTIPLIERS)} keys")
    terms = [
        f"((({key})::UBIGINT * {mult}) & 4294967295)"
        for key, mult in zip(keys, _KEY_MULTIPLIERS, strict=False)
    ]
    return f"mix32({' + '.join(terms)} + {salt(name)})::BIGINT"


def below(n: int | str, name: str, *keys: str) -> str:
    """SQL for a uniform integer in [0, n); ``n`` may be an SQL expression (>= 1)."""
    return f"({rnd(name, *keys)} % ({n}))"


def weighted(draw: str, choices: Sequence[tuple[str, int]]) -> str:
    """SQL CASE choosing a value (an SQL literal/expression) by integer weights.

    ``draw`` must be an SQL expression uniform over [0, sum(weights)).
    """
    total = sum(w for _, w in choices)
    if total <= 0:
        raise ValueError("weights must add up to a positive number")
    arms: list[str] = []
    acc = 0
    for value, weight in choices[:-1]:
        acc += weight
        arms.append(f"WHEN {draw} < {acc} THEN {value}")
    return f"CASE {' '.join(arms)} ELSE {choices[-1][0]} END"


def total_weight(choices: Sequence[tuple[str, int]]) -> int:
    """The sum of the weights of ``choices``."""
    return sum(w for _, w in choices)


def lit(value: str) -> str:
    """An SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def str_list(values: Sequence[str]) -> str:
    """An SQL list literal of strings."""
    return "[" + ", ".join(lit(v) for v in values) + "]"


def day_number(day: date, as_of: date) -> int:
    """Days from ``as_of`` to ``day`` (negative in the past)."""
    return (day - as_of).days
