"""The registry of diagnostic codes. Codes are stable and never reused.

SEG0xx syntax, SEG1xx names and declarations, SEG2xx types, SEG3xx dialects,
SEG4xx warehouse schema, SEG5xx project settings and run inputs, SEG9xx internal.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Code:
    """One diagnostic code with a title and a longer explanation."""

    code: str
    title: str
    explanation: str


def _codes(*items: tuple[str, str, str]) -> dict[str, Code]:
    return {code: Code(code, title, explanation) for code, title, explanation in items}


CODES: dict[str, Code] = _codes(
    ("SEG001", "syntax error", "The parser met a token it did not expect here."),
    ("SEG002", "unexpected character", "A character that cannot start any token."),
    (
        "SEG003",
        "unsupported language version",
        "The `segdsl N` header names a version this compiler does not know.",
    ),
    (
        "SEG004",
        "invalid literal",
        "A date, timestamp, number or duration literal that is not well formed.",
    ),
    ("SEG005", "unterminated input", "The file ended in the middle of a definition."),
    (
        "SEG006",
        "nesting too deep",
        "An expression nests more than 200 levels of parentheses, `not`, signs or "
        "aggregates. Long chains of `and`, `or`, `+` or `*` are fine: they do not nest.",
    ),
    (
        "SEG101",
        "unknown name",
        "A name that is not a declared measure, segment, attribute, parameter or table.",
    ),
    (
        "SEG102",
        "duplicate definition",
        "Two declarations share one name; names are global across a project's files.",
    ),
    ("SEG103", "cycle", "Segments or measures refer to each other in a loop."),
    ("SEG104", "unknown table", "A table reference that is not declared with `table`."),
    ("SEG105", "unknown column", "A column that the table or entity does not declare."),
    ("SEG106", "unknown type", "A column or parameter type that does not exist."),
    ("SEG107", "entity problem", "The project must declare exactly one `entity` with one `key`."),
    (
        "SEG108",
        "table problem",
        "A table must link to the entity or another table, and declare its time column "
        "to be used in windows.",
    ),
    (
        "SEG109",
        "unknown label",
        "A comparison with a label that the classifier or split does not define.",
    ),
    (
        "SEG110",
        "unknown unit",
        "A calendar unit that does not exist (use day, week, month, quarter or year).",
    ),
    ("SEG111", "unknown function", "A function that does not exist or is not available here."),
    (
        "SEG112",
        "parameter problem",
        "A parameter override that is unknown, ill typed, or a parameter without a value.",
    ),
    (
        "SEG113",
        "misplaced name",
        "A name used where its kind is not allowed (e.g. a measure inside a table filter).",
    ),
    (
        "SEG114",
        "misplaced construct",
        "A construct used where it has no meaning (e.g. `per` without an outer aggregate).",
    ),
    (
        "SEG201",
        "type mismatch",
        "The two sides of a comparison or operation have incompatible types.",
    ),
    ("SEG202", "wrong operand type", "An operator or function received a value of the wrong type."),
    ("SEG203", "not a condition", "A segment, filter or rule must be a true/false condition."),
    (
        "SEG204",
        "wrong number of arguments",
        "A function or aggregate was called with the wrong number of arguments.",
    ),
    ("SEG205", "invalid aggregate", "An aggregate that cannot be computed as written."),
    (
        "SEG206",
        "window on a non-time value",
        "Windows (`in last 30d`) apply to dates and timestamps only.",
    ),
    (
        "SEG207",
        "calendar duration not allowed",
        "Months and years have no fixed length and cannot be used here.",
    ),
    ("SEG208", "invalid split", "Split buckets must be positive and add up to exactly 100%."),
    ("SEG209", "invalid number", "A count, size or percentage outside its allowed range."),
    ("SEG210", "empty list", "`x in []` can never hold: a list needs at least one value."),
    (
        "SEG211",
        "time out of range",
        "A date, timestamp, duration or window that leaves the supported range of times, "
        "0001-01-02 to 9999-12-30 (what Python and BigQuery can hold), either as written "
        "or at the as-of time.",
    ),
    (
        "SEG212",
        "unknown grouping",
        "A grouped table (`table t = base per X { … }`) groups by a column of its base "
        "table or by a calendar unit of its time: day, week, month, quarter or year.",
    ),
    (
        "SEG213",
        "not a value of a group",
        "A grouped table's columns are count, count(x), count distinct(x), sum, avg, min, "
        "max, exists, and first or last without a value (the group's earliest or latest "
        "time).",
    ),
    (
        "SEG214",
        "grouping by time without a time",
        "A table without a time column has no day, week, month, quarter or year to group "
        "its rows by: declare its `time`, or group by a column.",
    ),
    (
        "SEG301",
        "not expressible in dialect",
        "The construct cannot be expressed in the chosen SQL dialect.",
    ),
    (
        "SEG401",
        "table not in warehouse",
        "The declared source table does not exist in the warehouse schema.",
    ),
    (
        "SEG402",
        "column not in warehouse",
        "The declared column does not exist in the warehouse table.",
    ),
    (
        "SEG403",
        "column type mismatch",
        "The declared type does not match the warehouse column's type.",
    ),
    (
        "SEG404",
        "data breaks `rely`",
        "A table declares `link … rely`, but some of its rows have no parent or are older "
        "than their parent; or the entity declares `key … rely`, but some rows repeat a "
        "key. Members would then be wrong: fix the rows or remove `rely`.",
    ),
    (
        "SEG410",
        "output columns collide",
        "Two output columns (segments, classifiers, attributes or the key) would get the "
        "same name on this engine: DuckDB and BigQuery ignore the case of column names, "
        "Postgres keeps only their first 63 bytes. Rename one, or ask for fewer columns.",
    ),
    (
        "SEG411",
        "entity keys not unique",
        "The entity table has rows whose key is NULL or repeats another row's. Members "
        "are the distinct non-NULL keys; such rows are not counted twice, but the data "
        "probably does not mean what the declaration says.",
    ),
    (
        "SEG501",
        "settings problem",
        "seg.toml or [tool.segdsl] contains an unknown key or an invalid value.",
    ),
    (
        "SEG502",
        "no such segment",
        "The requested segment, classifier or measure is not defined in the project.",
    ),
    ("SEG503", "invalid as-of time", "The as-of time must be a date or an ISO timestamp."),
    ("SEG504", "no files", "No `.seg` files were found at the given paths."),
    (
        "SEG505",
        "unknown dialect",
        "The SQL dialect must be duckdb, postgres, bigquery, spark or clickhouse.",
    ),
    (
        "SEG506",
        "file too large",
        "A `.seg` file is larger than 1 MB (1,048,576 bytes); split it into several files.",
    ),
    (
        "SEG507",
        "not a regular file",
        "A `.seg` path names a pipe, a device or a socket; only regular files are read.",
    ),
    ("SEG508", "not UTF-8", "A `.seg` file must be UTF-8 text (a byte-order mark is allowed)."),
    (
        "SEG510",
        "file outside the allowed folders",
        "An entity or table reads a file (a path, a glob or a name like `x.csv`). Definitions "
        'may read files only under the folders seg.toml allows: `[files]` `allow = ["data"]`, '
        "relative to seg.toml; a relative path in a `.seg` file starts there too.",
    ),
    (
        "SEG511",
        "URL as a table",
        "An entity or table names a URL (`s3://…`, `https://…`). Definitions read only the "
        "tables of the database they run on; load remote data into it first.",
    ),
    (
        "SEG520",
        "several projects",
        "The paths lead to more than one project (each seg.toml starts its own). Commands "
        "that compile or run need one: name that project's folder or one of its files.",
    ),
    (
        "SEG530",
        "output folder not usable",
        "`seg docs --out` names a file, or a folder that is not empty and was not written "
        "by `seg docs` (it holds a `.segdsl-site` marker). The site replaces the pages of "
        "an earlier site; it never writes into other folders. Choose a new or empty folder.",
    ),
    (
        "SEG535",
        "selector selects nothing",
        "A `-s` selector (a glob like `cart_*`, `tag:NAME`, `owner:NAME` or `kind:KIND`) "
        "matched no definition of the project. `seg list` shows every definition with its "
        "kind, owner and tags.",
    ),
    (
        "SEG536",
        "unknown selector method",
        "A `-s` selector has the form METHOD:VALUE with a method other than `tag`, `owner` "
        "or `kind`. Names and globs have no colon.",
    ),
    (
        "SEG537",
        "selector selects several definitions",
        "`seg explain` and `seg why` take one definition, but the `-s` selector (a glob, a "
        "tag, an owner or a kind) selects several. Name one of them.",
    ),
    (
        "SEG580",
        "bad test file",
        "A segment test file (TOML in the project's `tests/` folder) is not valid TOML or a "
        "case lacks its name, its definition (segment, classifier or split), or `expect`.",
    ),
    (
        "SEG581",
        "bad test rows",
        "A test case gives rows for a table the model does not declare, a column the table "
        "does not have, or a value that is not of the column's type.",
    ),
    (
        "SEG582",
        "wrong definition kind in a test",
        "A test case names a definition as a segment but it is a classifier or a split "
        "(or the other way round): segments expect `members`, the others `labels`.",
    ),
    (
        "SEG583",
        "segment test failed",
        "A definition gave other members or labels than its test case expects.",
    ),
    (
        "SEG560",
        "no members to record",
        "`seg snapshot` and `seg changes` work on segments, classifiers and splits; a measure "
        "has values, not members.",
    ),
    (
        "SEG561",
        "history table not segdsl's",
        "The schema given to `seg snapshot --into` holds a table named segdsl_history, "
        "segdsl_runs (or, on BigQuery, segdsl_lock) that segdsl did not create (its comment "
        "or description lacks segdsl's mark). Snapshots never write to other tables: choose "
        "another schema.",
    ),
    (
        "SEG562",
        "snapshot already running",
        "Another `seg snapshot` holds the lock on this history (a Postgres advisory lock, or "
        "DuckDB's lock on the database file), or on BigQuery committed first (it moved the "
        "segdsl_lock row, or BigQuery aborted this transaction for a concurrent update). "
        "Nothing was written; run again when it ends.",
    ),
    (
        "SEG563",
        "no history on this engine",
        "`seg snapshot` writes its history on DuckDB, Postgres and BigQuery, not on Spark or "
        "ClickHouse.",
    ),
    (
        "SEG564",
        "snapshot earlier than the history",
        "The as-of time is earlier than the last one recorded for a definition. Snapshots go "
        "forward in time; `--backfill` fills in an earlier time between recorded ones.",
    ),
    (
        "SEG565",
        "backfill across a changed definition",
        "A backfill inserts an as-of time before a run that recorded another definition "
        "(another hash); it would mix two meanings in one history.",
    ),
    (
        "SEG566",
        "no earlier snapshot",
        "`--since LAST` means the snapshot before `--until`, and the history has none; pass "
        "--history SCHEMA, record snapshots first, or give a date or timestamp.",
    ),
    (
        "SEG567",
        "empty time interval",
        "`seg changes --since` must be earlier than `--until`.",
    ),
    (
        "SEG591",
        "invalid step length",
        "`seg trend --every` takes a positive whole number and a unit: s, min, h, d, w, mo, y.",
    ),
    (
        "SEG592",
        "empty trend interval",
        "`seg trend --from` must not be later than `--to`.",
    ),
    (
        "SEG593",
        "too many steps",
        "`seg trend` computes at most 1000 steps in one query; choose a longer --every or a "
        "shorter interval.",
    ),
    (
        "SEG594",
        "nothing to count",
        "`seg trend` counts the members of segments, classifiers and splits; a measure has "
        "no members.",
    ),
    (
        "SEG568",
        "moving as-of not on this engine",
        "`--as-of now` and `--as-of param` (SQL whose as-of time is computed when it runs) "
        "are built for DuckDB, Postgres and BigQuery; on Spark and ClickHouse give a time.",
    ),
    (
        "SEG901",
        "internal compiler error",
        "A bug in segdsl, not in your files. Please report it with the file that triggers it.",
    ),
)


def explain(code: str) -> str:
    """The long explanation of `code` ('' if unknown)."""
    entry = CODES.get(code)
    return f"{entry.code}: {entry.title}\n\n{entry.explanation}" if entry else ""
