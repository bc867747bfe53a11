"""The language's words for the editor: one line of the reference per keyword and unit."""

from __future__ import annotations

from segdsl.semantic.check import FUNCTIONS
from segdsl.semantic.windows import CALENDAR_UNITS
from segdsl.syntax.printer import keywords
from segdsl.types import COLUMN_TYPES, PARAM_TYPES

KEYWORDS: dict[str, str] = {
    "segdsl": "`segdsl 1` — the language version of this file (first line, optional).",
    "entity": "`entity NAME from SOURCE { key … }` — the population: one row per member.",
    "table": "`table NAME from SOURCE { link … }` — rows related to the entity; "
    "`table NAME = BASE where CONDITION` — a filtered table.",
    "from": "`from SOURCE` — the warehouse table; in a column, its physical name; "
    "`from P to P` — a window between two points.",
    "key": "`key COLUMN [: TYPE] [rely]` — the column that identifies each member of the entity.",
    "link": "`link COLUMN to PARENT[.COLUMN] [rely]` — how a table's rows reach the entity.",
    "to": "`link COLUMN to PARENT` — the parent a table links to; `from P to P` — a window.",
    "rely": "`link … rely` — every row has its parent and is not older than it "
    "(queries may skip the join); `key … rely` — one row per key (no DISTINCT).",
    "time": "`time COLUMN` — a table's event time; `time since X` — the time elapsed since X.",
    "partition": "`partition by COLUMN` — the column the warehouse partitions a table by "
    "(its time, or the time's date): windows also filter it.",
    "by": "`partition by COLUMN` — see `partition`.",
    "param": '`param NAME: TYPE [= DEFAULT] ["description"]` — a value set per run '
    "(`--param NAME=VALUE`).",
    "measure": '`measure NAME ["description"] = EXPRESSION` — a value per member.',
    "segment": '`segment NAME ["description"] = CONDITION` — the members for whom it holds.',
    "classifier": "`classifier NAME { LABEL when CONDITION … else LABEL }` — the first "
    "label whose condition holds.",
    "when": "`LABEL when CONDITION` — a classifier rule.",
    "else": "`else LABEL` — the classifier's label when no rule holds; "
    "`if C then A else B` — B when C does not hold.",
    "if": "`if CONDITION then VALUE else OTHER` — VALUE where the condition holds, "
    "else OTHER (also where it is missing).",
    "split": '`split NAME [of SEGMENT] [seed "S"] { LABEL 50% … }` — random, stable '
    "buckets of members.",
    "of": "`sum(COLUMN) of TABLE` — the table an aggregate reads; `split … of SEGMENT` — "
    "who is split.",
    "seed": '`seed "TEXT"` — changes a split\'s random assignment.',
    "owner": '`owner "TEAM"` — who maintains a definition.',
    "tags": '`tags ["A", "B"]` — labels for a definition in catalogues.',
    "where": "`AGGREGATE where CONDITION` — only the rows for which the condition holds.",
    "and": "`A and B` — both hold.",
    "or": "`A or B` — either holds.",
    "not": "`not A` — A does not hold (missing values count as not holding).",
    "between": "`X between LOW and HIGH` — inclusive range; `between 60d ago and 30d ago` "
    "— a window.",
    "in": "`X in [A, B]` — one of the list; `X in last 30d` — inside a window; "
    "`X in top 10%` — a ranking.",
    "is": "`X is missing` / `X is present` — whether a value is known.",
    "missing": "`X is missing` — the value is not known.",
    "present": "`X is present` — the value is known.",
    "top": "`X in top N [among SEGMENT]` — the N (or N%) members with the highest X.",
    "bottom": "`X in bottom N [among SEGMENT]` — the N (or N%) members with the lowest X.",
    "contains": '`TEXT contains "part"` — a substring test.',
    "starts": '`TEXT starts with "prefix"` — a prefix test.',
    "ends": '`TEXT ends with "suffix"` — a suffix test.',
    "with": "`starts with` / `ends with` — text tests.",
    "since": "`time since X` — elapsed time; `since P` — a window from P to the as-of time.",
    "cumulative": "`cumulative share of MEASURE` — the share of the total from the largest "
    "down (for ABC analysis).",
    "share": "`cumulative share of MEASURE` — the share of the total from the largest down.",
    "count": "`count TABLE` — the number of rows; `count distinct(X) of TABLE` — distinct values.",
    "sum": "`sum(X) of TABLE` — the total of a column over the member's rows.",
    "avg": "`avg(X) of TABLE` — the average of a column over the member's rows.",
    "min": "`min(X) of TABLE` — the smallest value over the member's rows.",
    "max": "`max(X) of TABLE` — the largest value over the member's rows.",
    "exists": "`exists TABLE` — the member has at least one row.",
    "first": "`first TABLE` — the time of the first row; `first(X) of TABLE` — its X.",
    "last": "`last TABLE` — the time of the last row; `last 30d` — a window ending at the "
    "as-of time.",
    "nth": "`nth(N) of TABLE` — the value at position N in time order.",
    "ntile": "`ntile(N) of MEASURE [among SEGMENT]` — the N-tile of the member (1 = lowest).",
    "percentile": "`percentile of MEASURE [among SEGMENT]` — the member's percentile.",
    "distinct": "`count distinct(X) of TABLE` — the number of different values.",
    "during": "`AGGREGATE during WINDOW` — only rows whose time is in the window.",
    "per": "`max count TABLE per COLUMN` — aggregate per group, then over the groups.",
    "among": "`… among SEGMENT` — rank or compare within that segment only.",
    "then": "`A then [no] B [within D]` — a row of A followed (or not) by a later row of B; "
    "`if C then A else B` — a value chosen by a condition.",
    "all": "`avg(X) of all TABLE` — one figure over the rows of every member together "
    "(the shop's average order), the same for everyone.",
    "no": "`A then no B` — an A row not followed by any B row.",
    "within": "`A then B within 2h` — the second row at most this long after the first.",
    "calendar": "`last N calendar UNIT` — whole calendar periods before the current one.",
    "this": "`this UNIT` — the calendar period holding the as-of time (e.g. `this month`).",
    "previous": "`previous UNIT` — the calendar period before the current one.",
    "ago": "`30d ago` — a moment before the as-of time (a window point, or a value: "
    "`last_order < 30d ago`).",
    "more": "`more than 90d ago` — a window ending 90 days before the as-of time.",
    "than": "`more than D ago` — a window ending D before the as-of time.",
    "before": "`before P` — a window ending before the moment P.",
    "after": "`after P` — a window starting after the moment P.",
    "until": "`until P` — a window ending at the moment P (included).",
    "true": "`true` — the boolean value.",
    "false": "`false` — the boolean value.",
}

UNITS: dict[str, str] = {
    "s": "second",
    "min": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month (calendar: not a fixed length)",
    "y": "year (calendar: not a fixed length)",
}

CALENDAR_UNIT_NAMES = tuple(CALENDAR_UNITS)
FUNCTION_NAMES = tuple(FUNCTIONS)
TYPE_NAMES = tuple(sorted({*COLUMN_TYPES, *PARAM_TYPES}))


def keyword_words() -> list[str]:
    """Every keyword of the grammar, including the parts of `starts with` and `ends with`."""
    return sorted({*keywords(), "starts", "ends", "with"})
