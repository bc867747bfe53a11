"""Every difference between DuckDB, Postgres, BigQuery and ClickHouse SQL, in one place.

The generator builds portable sqlglot trees and asks the dialect for the few
expressions that differ. Each method here is verified by executing it on the
engines (tests/test_capabilities.py and tests/test_differential.py; ClickHouse on
chdb), not only by reading the SQL.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from functools import cached_property
from typing import ClassVar

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect as SqlglotDialect

from segdsl import ir

CanonicalExpr = exp.Expr


def _fn(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _string(value: str) -> exp.Expr:
    return exp.Literal.string(value)


def _number(value: int | Decimal | float) -> exp.Expr:
    return exp.Literal.number(str(value))


class Dialect:
    """Portable defaults; subclasses override what their engine spells differently."""

    name: ClassVar[str] = ""
    sqlglot_name: ClassVar[str] = ""
    # Postgres pushes a segment's `score = 5` into the window subqueries of an inlined
    # layer joining several rankings, underestimates the rows left and joins them by
    # nested loops (1.1 s instead of 0.27 s for RFM champions at 50k customers; 54 s
    # instead of 1 s for champions in one city at 200k); a materialised layer keeps the
    # plan sane. A single ranking is faster inlined, and so is a layer that joins nothing.
    materialize_ranking_layers: ClassVar[bool] = False
    # Rankings of the same members (RFM's three scores among buyers) in one CTE: one scan
    # and one join instead of three on Postgres (champions at 50k customers: 194 → 141 ms);
    # DuckDB runs separate CTEs' sorts in parallel, and one CTE was slower (400 → 580 ms).
    share_ranking_ctes: ClassVar[bool] = False
    # When every member is in every ranking, the other columns the members read (a city)
    # ride along in the ranking CTE instead of a join back to the population: Postgres
    # `champions and city = …` 172 → 131 ms; DuckDB's window sorts got 50 % slower
    # carrying a text column (`high_value and city = …` 0.30 → 0.46 s), so it joins back.
    rankings_carry_columns: ClassVar[bool] = False
    # Where a segment's anti-joins (`not (exists …)`) go when a `candidates` CTE exists.
    # In it, on the rows the attribute filters leave: Postgres otherwise misestimates the
    # joins before it and runs a nested-loop anti-join (carpet_hesitators: 8.3 s instead
    # of 0.19 s). After the population's inner joins: DuckDB then builds the anti-join's
    # hash table only for the few rows left (carpet_hesitators: 0.24 s instead of 0.33 s).
    anti_join_in_candidates: ClassVar[bool] = True
    # A ranking asked only who is in it (`top 10%`, `ntile(5) … = 5`) keeps the first rows
    # of its order with `ORDER BY … LIMIT (SELECT … COUNT(*) …)` instead of numbering every
    # row under a window function; BigQuery's LIMIT takes only a constant (a `top N` is
    # cut there too), so its other cut-offs stay windows.
    limit_takes_subquery: ClassVar[bool] = True
    # The steps of sequences over one table read their rows in one CTE (a flag per step)
    # instead of a scan per step: on Postgres, which materialises a CTE read more than
    # once, the example project's three sequences 1.20 → 0.79 s at 50k customers; DuckDB
    # prunes each step's scan by its time window, and reads the table per step.
    share_sequence_reads: ClassVar[bool] = False
    # `--as-of now|param` (now_wall, wall_parameter) is proven on DuckDB, Postgres, BigQuery
    moving_as_of: ClassVar[bool] = True
    # A CTE is copied into every query that reads it, not computed once (ClickHouse): a
    # long UNION ALL there exhausts the query-plan optimiser's limit, one array does not.
    inlines_ctes: ClassVar[bool] = False

    # ---- `seg snapshot`'s history tables (segdsl.history)
    # The engine has a write session with a lock (`Engine.write_session`) to keep them in.
    keeps_history: ClassVar[bool] = True
    # No lock a writer can take (BigQuery): a snapshot claims the history by moving the one
    # row of a lock table, `segdsl_lock`, first thing in its transaction.
    history_lock_table: ClassVar[bool] = False
    # A permanent table cannot be created inside a transaction (BigQuery): a writer creates
    # its tables before it, `IF NOT EXISTS`, and so already marked (`create_comment`).
    creates_tables_outside_transaction: ClassVar[bool] = False
    # `project.dataset` names a catalog and a schema (BigQuery).
    dotted_schema_names_catalog: ClassVar[bool] = False
    # A schema is named with its catalog, the current database (DuckDB: a schema may have
    # the name of a database; a file `history.duckdb` is the database `history`).
    schema_needs_catalog: ClassVar[bool] = False

    def column_key(self, name: str) -> str:
        """What the engine compares when it tells two column names apart (they collide
        when this is equal): DuckDB and BigQuery ignore case, even quoted."""
        return name.casefold()

    def render(self, expression: exp.Expr, *, pretty: bool = True) -> str:
        """SQL text with every identifier quoted."""
        return self._sqlglot.generate(expression, identify=True, pretty=pretty, copy=False)

    @cached_property
    def _sqlglot(self) -> SqlglotDialect:
        # looked up once: by name, sqlglot makes a new dialect on every call (4 % of
        # compiling one query per segment)
        return SqlglotDialect.get_or_raise(self.sqlglot_name)

    # -------------------------------------------------------------- literals
    def date_literal(self, value: dt.date) -> exp.Expr:
        return exp.cast(_string(value.isoformat()), exp.DataType.Type.DATE, copy=False)

    def wall_literal(self, value: dt.datetime) -> exp.Expr:
        """A wall-clock time (TIMESTAMP; DATETIME on BigQuery)."""
        return exp.cast(_string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMP, copy=False)

    def instant_literal(self, value: dt.datetime) -> exp.Expr:
        """An aware instant (TIMESTAMPTZ; TIMESTAMP on BigQuery)."""
        return exp.cast(
            _string(value.isoformat(sep=" ")), exp.DataType.Type.TIMESTAMPTZ, copy=False
        )

    def to_double(self, value: exp.Expr) -> exp.Expr:
        return exp.cast(value, exp.DataType.Type.DOUBLE, copy=False)

    def to_text(self, value: exp.Expr) -> exp.Expr:
        return exp.cast(value, exp.DataType.Type.TEXT, copy=False)

    def text_order(self, value: exp.Expr) -> exp.Expr:
        """Text compared by code point (DuckDB and BigQuery always do)."""
        return value

    def truth_output(self, value: exp.Expr) -> exp.Expr:
        """A true/false column of a membership table, as the engine's boolean type."""
        return value

    # -------------------------------------------------------------- times
    def wall_clock(self, column: exp.Expr, zone: str) -> exp.Expr:
        """A TIMESTAMPTZ column as wall-clock time in `zone`."""
        return exp.AtTimeZone(this=column, zone=_string(zone))

    def to_instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        """A wall-clock time in `zone` as an instant (TIMESTAMPTZ; TIMESTAMP on BigQuery).
        A time the clocks skipped counts with the offset before the change (02:30 is
        03:30), as every engine does; in a repeated hour, the earlier of the two instants,
        as on BigQuery and in Python (fold 0)."""
        # DuckDB and Postgres pick the later: take the instant an hour before when it
        # shows the same wall-clock time (a repeated hour is one hour long in every zone
        # but Australia/Lord_Howe and Antarctica/Troll, where the engines may differ)
        later = exp.AtTimeZone(this=wall.copy(), zone=_string(zone))
        if zone == "UTC":
            return later
        hour = exp.Interval(this=_string("1 hour"))
        earlier = exp.Paren(this=exp.Sub(this=later.copy(), expression=hour))
        same = exp.EQ(this=self.wall_clock(earlier.copy(), zone), expression=wall.copy())
        return exp.Case(ifs=[exp.If(this=same, true=earlier)], default=later)

    def now_wall(self, zone: str) -> exp.Expr:
        """The time the query runs as wall-clock time in `zone`, to the second (a moving
        as-of time; `AsOf.now` truncates the same way)."""
        now = self.wall_clock(exp.CurrentTimestamp(), zone)
        return exp.cast(
            exp.TimestampTrunc(this=now, unit=exp.var("SECOND")),
            exp.DataType.Type.TIMESTAMP,
            copy=False,
        )

    def wall_parameter(self, name: str) -> exp.Expr:
        """The named query parameter `name` as a wall-clock time (DuckDB `$name`,
        Postgres `%(name)s` as psycopg binds it, BigQuery `@name`)."""
        return exp.cast(exp.Placeholder(this=name), exp.DataType.Type.TIMESTAMP, copy=False)

    def date_to_wall(self, value: exp.Expr) -> exp.Expr:
        """A DATE as the wall-clock time of its midnight."""
        return exp.cast(value, exp.DataType.Type.TIMESTAMP, copy=False)

    def wall_to_date(self, value: exp.Expr) -> exp.Expr:
        return exp.cast(value, exp.DataType.Type.DATE, copy=False)

    def date_part(self, part: ir.DatePartName, value: exp.Expr) -> exp.Expr:
        names = {"day_of_year": "DOY", "weekday": "ISODOW"}
        return exp.Extract(this=exp.var(names.get(part, part.upper())), expression=value)

    def truncate(self, unit: ir.CalendarUnit, value: exp.Expr) -> exp.Expr:
        """The DATE starting the day/ISO week/month/quarter/year of a wall time or date."""
        if unit == "day":
            return self.wall_to_date(value)
        truncated = _fn(
            "DATE_TRUNC", _string(unit), exp.cast(value, exp.DataType.Type.TIMESTAMP, copy=False)
        )
        return self.wall_to_date(truncated)

    def seconds_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        """`end - start` in seconds (a DOUBLE), exact to the microsecond."""
        return exp.Extract(this=exp.var("EPOCH"), expression=exp.Sub(this=end, expression=start))

    def add_duration(self, value: exp.Expr, duration: ir.DurationValue) -> exp.Expr:
        """A wall-clock time plus a duration (months clamp to the month's end)."""
        unit, amount = _interval_parts(duration)
        interval = exp.Interval(this=_string(f"{amount} {unit}"))
        return exp.Add(this=value, expression=interval)

    # -------------------------------------------------------------- numbers
    def round_half_away(self, value: exp.Expr) -> exp.Expr:
        """`round(x)`: the nearest integer, halves away from zero (2.5 → 3, -2.5 → -3).
        DuckDB's and BigQuery's ROUND do this for every numeric type."""
        return exp.Round(this=value)

    # -------------------------------------------------------------- text and hashing
    def text_position(self, text: exp.Expr, pattern: exp.Expr) -> exp.Expr:
        """Where `pattern` first occurs in `text` (from 1; 0 when it does not)."""
        return _fn("STRPOS", text, pattern)

    def md5_hex(self, text: exp.Expr) -> exp.Expr:
        return _fn("MD5", text)

    def hex_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        """An 8-digit lowercase hex string as a non-negative integer."""
        raise NotImplementedError  # every concrete dialect overrides this

    def hash_bucket(self, text: exp.Expr, buckets: int) -> exp.Expr:
        """A deterministic bucket 0..buckets-1 from the MD5 of `text` (same on every engine)."""
        prefix = exp.Substring(this=self.md5_hex(text), start=_number(1), length=_number(8))
        return exp.Mod(this=exp.Paren(this=self.hex_to_int(prefix)), expression=_number(buckets))

    # -------------------------------------------------------------- catalogue
    def time_kind(self, name: str) -> str | None:
        """What a warehouse type name (lower case, unwrapped) holds when it is a time:
        `date`, `timestamp` (wall-clock) or `timestamptz` (an instant); else None."""
        if name.startswith("datetime") and name != "datetime":
            # ClickHouse DateTime / DateTime64(3) hold instants; with a zone argument
            # (DateTime64(3, 'UTC')) they show them in it: either way an instant once a
            # zone is named, a wall-clock time otherwise
            return "timestamptz" if "'" in name else "timestamp"
        if name in ("date32", "date"):
            return "date"
        if name.startswith("timestamp"):
            with_zone = "with time zone" in name or name == "timestamptz"
            return "timestamptz" if with_zone else "timestamp"
        if name == "datetime":
            return "timestamp"
        return None

    def create_comment(self, text: str) -> exp.Properties | None:
        """The property of a CREATE TABLE that gives the table the comment `text`, where
        the CREATE can (BigQuery's description); None: a COMMENT statement follows it."""
        return None

    def catalog_comment(self, value: object) -> object:
        """A table's comment as `table_comments_query` returns it, as text."""
        return value

    def table_comments_query(self, schema: str, names: Sequence[str]) -> str:
        """(table name, comment) of the tables `names` in `schema` that exist."""
        raise NotImplementedError  # every dialect that `keeps_history` overrides this


class DuckDB(Dialect):
    name = "duckdb"
    sqlglot_name = "duckdb"
    anti_join_in_candidates = False
    schema_needs_catalog = True

    def date_part(self, part: ir.DatePartName, value: exp.Expr) -> exp.Expr:
        names = {"day_of_year": "DOY", "weekday": "ISODOW"}
        return exp.Extract(this=exp.var(names.get(part, part.upper())), expression=value)

    def seconds_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        micros = exp.Sub(this=_fn("EPOCH_US", end), expression=_fn("EPOCH_US", start))
        return exp.Div(this=self.to_double(micros), expression=_number(1_000_000))

    def hex_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        return exp.cast(
            exp.DPipe(this=_string("0x"), expression=hex_text), exp.DataType.Type.BIGINT, copy=False
        )

    def table_comments_query(self, schema: str, names: Sequence[str]) -> str:
        select = (
            exp.select("table_name", "comment")
            .from_("duckdb_tables()")
            .where(
                exp.and_(
                    exp.EQ(
                        this=exp.func("lower", exp.column("schema_name")),
                        expression=exp.func("lower", _string(schema)),
                    ),
                    exp.EQ(
                        this=exp.column("database_name"),
                        expression=exp.func("current_database"),
                    ),
                    exp.In(this=exp.column("table_name"), expressions=[_string(n) for n in names]),
                )
            )
        )
        return select.sql(self.sqlglot_name)


class Postgres(Dialect):
    name = "postgres"
    sqlglot_name = "postgres"
    materialize_ranking_layers = True
    share_ranking_ctes = True
    share_sequence_reads = True
    rankings_carry_columns = True

    def column_key(self, name: str) -> str:
        # quoted names keep their case; every name is cut to its first 63 bytes
        return name.encode()[:63].decode(errors="ignore")

    def seconds_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        epoch = exp.Extract(
            this=exp.var("EPOCH"), expression=exp.Paren(this=exp.Sub(this=end, expression=start))
        )
        return self.to_double(epoch)

    def round_half_away(self, value: exp.Expr) -> exp.Expr:
        # ROUND(double precision) rounds halves to even (2.5 → 2); NUMERIC would round them
        # away, but a double's cast keeps only 15 digits (0.49999999999999994 → 0.5).
        return _round_by_fraction(value)

    def text_order(self, value: exp.Expr) -> exp.Expr:
        # the database's collation (often en_US) would order 'B' before 'a'
        return exp.Collate(this=value, expression=exp.Identifier(this="C", quoted=True))

    def hex_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        bits = exp.cast(exp.DPipe(this=_string("x"), expression=hex_text), "BIT(32)", copy=False)
        return exp.cast(bits, exp.DataType.Type.BIGINT, copy=False)

    def table_comments_query(self, schema: str, names: Sequence[str]) -> str:
        select = (
            exp.select(
                exp.column("relname", table="c"),
                exp.func("obj_description", exp.column("oid", table="c"), _string("pg_class")),
            )
            .from_(exp.to_table("pg_catalog.pg_class", alias="c"))
            .join(
                exp.to_table("pg_catalog.pg_namespace", alias="n"),
                on=exp.EQ(
                    this=exp.column("oid", table="n"),
                    expression=exp.column("relnamespace", table="c"),
                ),
            )
            .where(
                exp.and_(
                    exp.EQ(this=exp.column("nspname", table="n"), expression=_string(schema)),
                    exp.In(
                        this=exp.column("relname", table="c"),
                        expressions=[_string(n) for n in names],
                    ),
                )
            )
        )
        return select.sql(self.sqlglot_name)


class BigQuery(Dialect):
    name = "bigquery"
    sqlglot_name = "bigquery"
    limit_takes_subquery = False
    history_lock_table = True
    creates_tables_outside_transaction = True
    dotted_schema_names_catalog = True

    def wall_clock(self, column: exp.Expr, zone: str) -> exp.Expr:
        return _fn("DATETIME", column, _string(zone))

    def to_instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        return _fn("TIMESTAMP", wall, _string(zone))

    def now_wall(self, zone: str) -> exp.Expr:
        return exp.DatetimeTrunc(
            this=self.wall_clock(exp.CurrentTimestamp(), zone), unit=exp.var("SECOND")
        )

    def wall_parameter(self, name: str) -> exp.Expr:
        return exp.cast(exp.Placeholder(this=name), exp.DataType.Type.DATETIME, copy=False)

    def date_to_wall(self, value: exp.Expr) -> exp.Expr:
        return _fn("DATETIME", value)

    def wall_to_date(self, value: exp.Expr) -> exp.Expr:
        return _fn("DATE", value)

    def date_part(self, part: ir.DatePartName, value: exp.Expr) -> exp.Expr:
        if part == "weekday":  # DAYOFWEEK is 1 = Sunday; ISO is 1 = Monday … 7 = Sunday
            sunday_first = exp.Extract(this=exp.var("DAYOFWEEK"), expression=value)
            shifted = exp.Mod(
                this=exp.Add(this=sunday_first, expression=_number(5)), expression=_number(7)
            )
            return exp.Add(this=exp.Paren(this=shifted), expression=_number(1))
        names = {"day_of_year": "DAYOFYEAR"}
        return exp.Extract(this=exp.var(names.get(part, part.upper())), expression=value)

    def truncate(self, unit: ir.CalendarUnit, value: exp.Expr) -> exp.Expr:
        date = self.wall_to_date(value)
        if unit == "day":
            return date
        part = "ISOWEEK" if unit == "week" else unit.upper()
        return _fn("DATE_TRUNC", date, exp.var(part))

    def seconds_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        micros = _fn("DATETIME_DIFF", end, start, exp.var("MICROSECOND"))
        return exp.Div(this=self.to_double(micros), expression=_number(1_000_000))

    def add_duration(self, value: exp.Expr, duration: ir.DurationValue) -> exp.Expr:
        unit, amount = _interval_parts(duration)
        names = {
            "second": "SECOND",
            "minute": "MINUTE",
            "hour": "HOUR",
            "day": "DAY",
            "month": "MONTH",
        }
        interval = exp.Interval(this=_number(amount), unit=exp.var(names[unit]))
        return _fn("DATETIME_ADD", value, interval)

    def md5_hex(self, text: exp.Expr) -> exp.Expr:
        return _fn("TO_HEX", _fn("MD5", text))

    def hex_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        return exp.cast(
            _fn("CONCAT", _string("0x"), hex_text), exp.DataType.Type.BIGINT, copy=False
        )

    def time_kind(self, name: str) -> str | None:
        if name == "timestamp":
            return "timestamptz"  # a BigQuery TIMESTAMP is an instant
        return super().time_kind(name)

    def create_comment(self, text: str) -> exp.Properties | None:
        description = exp.Property(this=exp.var("description"), value=_string(text))
        return exp.Properties(expressions=[description])

    def catalog_comment(self, value: object) -> object:
        # INFORMATION_SCHEMA.TABLE_OPTIONS shows a description as a string literal
        if not (isinstance(value, str) and len(value) >= 2):
            return value
        return value[1:-1] if value[0] == value[-1] == '"' else value

    def table_comments_query(self, schema: str, names: Sequence[str]) -> str:
        """(table name, description as a string literal or NULL) from INFORMATION_SCHEMA."""

        def view(name: str, alias: str) -> exp.Table:
            return exp.Table(
                this=exp.to_identifier(name),
                db=exp.to_identifier("INFORMATION_SCHEMA"),
                catalog=exp.to_identifier(schema, quoted=True),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )

        select = (
            exp.select(exp.column("table_name", table="t"), exp.column("option_value", table="o"))
            .from_(view("TABLES", "t"))
            .join(
                view("TABLE_OPTIONS", "o"),
                on=exp.and_(
                    exp.EQ(
                        this=exp.column("table_name", table="o"),
                        expression=exp.column("table_name", table="t"),
                    ),
                    exp.EQ(
                        this=exp.column("option_name", table="o"),
                        expression=_string("description"),
                    ),
                ),
                join_type="LEFT",
            )
            .where(
                exp.In(
                    this=exp.column("table_name", table="t"),
                    expressions=[_string(n) for n in names],
                )
            )
        )
        return select.sql(self.sqlglot_name)


class Spark(Dialect):
    """Spark SQL 4 (sqlglot's `spark`), as the Spark engine runs it: ANSI mode on and the
    session time zone UTC (segdsl/engines/spark_engine.py sets both). Wall-clock times
    are TIMESTAMP_NTZ and instants TIMESTAMP (sqlglot renders TIMESTAMP / TIMESTAMPTZ
    so); text compares by code point (UTF8_BINARY), as on DuckDB; `/` of integers is a
    DOUBLE, as on DuckDB; an ascending ORDER BY puts NULLs first, and sqlglot writes
    NULLS LAST wherever the tree leaves the order of NULLs to the default."""

    name = "spark"
    sqlglot_name = "spark"
    limit_takes_subquery = False  # LIMIT must fold to a constant (INVALID_LIMIT_LIKE_EXPRESSION)
    moving_as_of = False
    keeps_history = False

    # sqlglot writes TIMESTAMP for both wall-clock types, which Spark reads as an instant
    _WALL = exp.DataType.Type.TIMESTAMPNTZ

    def wall_literal(self, value: dt.datetime) -> exp.Expr:
        return exp.cast(_string(value.isoformat(sep=" ")), self._WALL, copy=False)

    def date_to_wall(self, value: exp.Expr) -> exp.Expr:
        return exp.cast(value, self._WALL, copy=False)

    def wall_clock(self, column: exp.Expr, zone: str) -> exp.Expr:
        # FROM_UTC_TIMESTAMP shifts the instant's UTC wall-clock time (what a TIMESTAMP
        # shows in a UTC session) to `zone`; the cast keeps that wall-clock time
        shifted = _fn("FROM_UTC_TIMESTAMP", column, _string(zone))
        return exp.cast(shifted, self._WALL, copy=False)

    def to_instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        # java.time's rules: a skipped time moves forward by the gap (02:30 is 03:30),
        # a repeated one takes the earlier offset, as documented on Dialect.to_instant
        return _fn("TO_UTC_TIMESTAMP", wall, _string(zone))

    def date_part(self, part: ir.DatePartName, value: exp.Expr) -> exp.Expr:
        # EXTRACT(SECOND …) would be a DECIMAL with the fraction; the parts used are whole
        names = {"day_of_year": "DOY", "weekday": "DAYOFWEEK_ISO"}
        return exp.Extract(this=exp.var(names.get(part, part.upper())), expression=value)

    def truncate(self, unit: ir.CalendarUnit, value: exp.Expr) -> exp.Expr:
        # TRUNC(date, unit) stays a DATE (DATE_TRUNC would give a session-zone TIMESTAMP);
        # its week starts on Monday, as ISO weeks do
        date = self.wall_to_date(value)
        if unit == "day":
            return date
        return _fn("TRUNC", date, _string(unit.upper()))

    def seconds_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        # on TIMESTAMP_NTZ values: wall-clock microseconds, no session zone involved
        micros = _fn("TIMESTAMPDIFF", exp.var("MICROSECOND"), start, end)
        return exp.Div(this=self.to_double(micros), expression=_number(1_000_000))

    def add_duration(self, value: exp.Expr, duration: ir.DurationValue) -> exp.Expr:
        # `ts + INTERVAL '1' MONTH` clamps to the month's end, like the other engines
        unit, amount = _interval_parts(duration)
        interval = exp.Interval(this=_string(str(amount)), unit=exp.var(unit.upper()))
        return exp.Add(this=value, expression=interval)

    def round_half_away(self, value: exp.Expr) -> exp.Expr:
        # Spark's ROUND is HALF_UP (away from zero) for every numeric type
        return exp.Round(this=value)

    def text_position(self, text: exp.Expr, pattern: exp.Expr) -> exp.Expr:
        return _fn("INSTR", text, pattern)

    def hex_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        # CONV gives the decimal digits as text
        digits = _fn("CONV", hex_text, _number(16), _number(10))
        return exp.cast(digits, exp.DataType.Type.BIGINT, copy=False)

    def time_kind(self, name: str) -> str | None:
        if name.startswith("timestamp"):  # TIMESTAMP (or _LTZ) is an instant, _NTZ wall-clock
            return "timestamp" if name == "timestamp_ntz" else "timestamptz"
        return super().time_kind(name)


def _round_by_fraction(value: exp.Expr) -> exp.Expr:
    """Halves away from zero, exact for doubles and decimals: the integer part, plus the
    sign where the fraction is ≥ .5."""
    whole = exp.Anonymous(this="TRUNC", expressions=[value])
    fraction = exp.Abs(this=exp.Sub(this=value.copy(), expression=whole.copy()))
    half = exp.Case(
        ifs=[exp.If(this=exp.GTE(this=fraction, expression=_number(0.5)), true=_number(1))],
        default=_number(0),
    )
    step = exp.Mul(this=exp.Sign(this=value.copy()), expression=half)
    return exp.Paren(this=exp.Add(this=whole, expression=step))


def _interval_parts(duration: ir.DurationValue) -> tuple[str, int]:
    """An interval in units every engine accepts: seconds…days, or months."""
    if duration.unit == "y":
        return "month", duration.amount * 12
    if duration.unit == "mo":
        return "month", duration.amount
    if duration.unit == "w":
        return "day", duration.amount * 7
    unit = {"s": "second", "min": "minute", "h": "hour", "d": "day"}[duration.unit]
    return unit, duration.amount


DIALECTS: dict[str, Dialect] = {d.name: d for d in (DuckDB(), Postgres(), BigQuery())}
DIALECTS[Spark.name] = Spark()


def get_dialect(name: str) -> Dialect:
    """The dialect called `name` (duckdb, postgres, bigquery, spark or clickhouse)."""
    return DIALECTS[name]


# ------------------------------------------------------------------ ClickHouse


_CLICKHOUSE_SETTINGS: tuple[tuple[str, str | int], ...] = (
    # an outer join fills the missing side with NULL, not the column type's default
    # (0, ''), so COUNT(column), MAX and IS NULL see the row as missing
    ("join_use_nulls", 1),
    # a DateTime column without a zone, and every value built here, is read in UTC:
    # wall-clock times are kept as UTC-labelled DateTime64(6) values whatever the
    # server's zone (instants are converted with `wall_clock`)
    ("session_timezone", "UTC"),
    # a name in WHERE / ON means the table's column, not a SELECT alias of the same name
    ("prefer_column_name_to_alias", 1),
)

# functions whose ClickHouse spelling counts bytes or ASCII letters: the UTF-8 ones count
# characters and fold non-ASCII letters, as the other engines do
_CLICKHOUSE_FUNCTIONS: dict[str, str] = {
    "STRPOS": "positionUTF8",
    "LEFT": "leftUTF8",
    "RIGHT": "rightUTF8",
}
# sum/avg/min/max of no rows are 0, nan, 0, 0 in ClickHouse; -OrNull gives NULL as elsewhere
_CLICKHOUSE_AGGREGATES: dict[type[exp.Expr], str] = {
    exp.Sum: "sumOrNull",
    exp.Avg: "avgOrNull",
    exp.Min: "minOrNull",
    exp.Max: "maxOrNull",
}
_CLICKHOUSE_PARTS: dict[str, str] = {
    "year": "toYear",
    "quarter": "toQuarter",
    "month": "toMonth",
    "day": "toDayOfMonth",
    "weekday": "toDayOfWeek",  # ISO: 1 = Monday … 7 = Sunday
    "hour": "toHour",
    "day_of_year": "toDayOfYear",
}
_CLICKHOUSE_TRUNCATE: dict[str, str] = {
    "week": "toMonday",
    "month": "toStartOfMonth",
    "quarter": "toStartOfQuarter",
    "year": "toStartOfYear",
}


class ClickHouse(Dialect):
    """ClickHouse (a server through clickhouse-connect, or chdb in-process).

    Times: every wall-clock time is a ``DateTime64(6, 'UTC')`` showing the wall clock
    (the query sets ``session_timezone = 'UTC'``); an instant column becomes one with
    its offset in the project's zone added. Dates are ``Date32`` (1900–2299).
    """

    name = "clickhouse"
    sqlglot_name = "clickhouse"
    # a LIMIT subquery can come back NULL inside CREATE TABLE … AS (INVALID_LIMIT_EXPRESSION)
    limit_takes_subquery = False
    moving_as_of = False
    anti_join_in_candidates = False
    inlines_ctes = True
    keeps_history = False

    def column_key(self, name: str) -> str:
        return name  # identifiers are case-sensitive, quoted or not

    def render(self, expression: exp.Expr, *, pretty: bool = True) -> str:
        tree = expression.copy().transform(_clickhouse_node, copy=False)
        if isinstance(tree, exp.Query):
            _expand_stars(tree)
            settings = [
                exp.EQ(
                    this=exp.column(name),
                    expression=_string(value) if isinstance(value, str) else _number(value),
                )
                for name, value in _CLICKHOUSE_SETTINGS
            ]
            tree.set("settings", settings)
        return super().render(tree, pretty=pretty)

    # -------------------------------------------------------------- literals
    def date_literal(self, value: dt.date) -> exp.Expr:
        return _fn("toDate32", _string(value.isoformat()))

    def wall_literal(self, value: dt.datetime) -> exp.Expr:
        return _datetime64(_string(value.isoformat(sep=" ")))

    def instant_literal(self, value: dt.datetime) -> exp.Expr:
        utc = value.astimezone(dt.UTC).replace(tzinfo=None)
        return _datetime64(_string(utc.isoformat(sep=" ")))

    def to_text(self, value: exp.Expr) -> exp.Expr:
        return _fn("toString", value)

    def truth_output(self, value: exp.Expr) -> exp.Expr:
        # comparisons, AND/OR and COALESCE of them are UInt8 (0/1) in ClickHouse
        return exp.cast(value, exp.DataType.build("Bool", dialect="clickhouse"), copy=False)

    # -------------------------------------------------------------- times
    def wall_clock(self, column: exp.Expr, zone: str) -> exp.Expr:
        # DateTime64 values are instants whatever their zone label: shift by the offset
        # in `zone` and label the result UTC, so it shows (and compares as) the wall clock
        shifted = _fn("addSeconds", column, _offset(column.copy(), zone))
        return _fn("toTimeZone", shifted, _string("UTC"))

    def to_instant(self, wall: exp.Expr, zone: str) -> exp.Expr:
        # the offset a day before and a day after (an instant within 14 h of the wall
        # time either way): in a repeated hour both fit and the earlier (the offset
        # before) is taken; a skipped time fits neither and takes the offset before
        if zone == "UTC":
            return wall
        before = _fn("subtractSeconds", wall, _offset(_fn("subtractDays", wall, _number(1)), zone))
        after = _fn("subtractSeconds", wall, _offset(_fn("addDays", wall, _number(1)), zone))

        def fits(instant: exp.Expr) -> exp.Expr:
            shown = _fn("addSeconds", instant.copy(), _offset(instant.copy(), zone))
            return exp.EQ(this=shown, expression=wall.copy())

        use_after = exp.And(this=exp.Not(this=exp.Paren(this=fits(before))), expression=fits(after))
        return exp.Case(ifs=[exp.If(this=use_after, true=after.copy())], default=before.copy())

    def date_to_wall(self, value: exp.Expr) -> exp.Expr:
        return _datetime64(value)

    def wall_to_date(self, value: exp.Expr) -> exp.Expr:
        return _fn("toDate32", value)

    def date_part(self, part: ir.DatePartName, value: exp.Expr) -> exp.Expr:
        return _fn(_CLICKHOUSE_PARTS[part], value)

    def truncate(self, unit: ir.CalendarUnit, value: exp.Expr) -> exp.Expr:
        date = self.wall_to_date(value)
        if unit == "day":
            return date
        return _fn(_CLICKHOUSE_TRUNCATE[unit], date)

    def seconds_between(self, start: exp.Expr, end: exp.Expr) -> exp.Expr:
        def micros(value: exp.Expr) -> exp.Expr:
            return _fn("toUnixTimestamp64Micro", _datetime64(value))

        difference = exp.Sub(this=micros(end), expression=micros(start))
        return exp.Div(this=exp.Paren(this=difference), expression=_number(1_000_000))

    def add_duration(self, value: exp.Expr, duration: ir.DurationValue) -> exp.Expr:
        unit, amount = _interval_parts(duration)
        # months clamp to the month's end (addMonths), like the other engines
        interval = exp.Interval(this=_number(amount), unit=exp.var(unit.upper()))
        return exp.Add(this=value, expression=interval)

    # -------------------------------------------------------------- numbers
    def round_half_away(self, value: exp.Expr) -> exp.Expr:
        # round(Float64) rounds halves to even (2.5 → 2); round(Decimal) away from zero
        return _round_by_fraction(value)

    # -------------------------------------------------------------- hashing
    def md5_hex(self, text: exp.Expr) -> exp.Expr:
        return exp.Lower(this=_fn("hex", _fn("MD5", text)))

    def hex_to_int(self, hex_text: exp.Expr) -> exp.Expr:
        # the digits as big-endian bytes, reversed for the little-endian reinterpretation
        return _fn("reinterpretAsUInt64", _fn("reverse", _fn("unhex", hex_text)))

    # -------------------------------------------------------------- catalogue
    def time_kind(self, name: str) -> str | None:
        if name.startswith("datetime"):  # a zone written in the type makes it an instant
            return "timestamptz" if "'" in name else "timestamp"
        if name.startswith("date"):  # Date, Date32
            return "date"
        return super().time_kind(name)


def _datetime64(value: exp.Expr) -> exp.Expr:
    return _fn("toDateTime64", value, _number(6), _string("UTC"))


def _offset(instant: exp.Expr, zone: str) -> exp.Expr:
    """Seconds east of UTC in `zone` at `instant`."""
    return _fn("timeZoneOffset", _fn("toTimeZone", instant, _string(zone)))


def _expand_stars(query: exp.Query) -> None:
    """`cte.*` as the CTE's columns, one by one: with two joins or more, ClickHouse names
    a column the joined tables share `cte.name` instead of `name`."""
    known: dict[str, list[str]] = {}
    for cte in query.ctes:
        _expand_stars_in(cte.this, known)
        known[cte.alias_or_name] = cte.this.named_selects
    _expand_stars_in(query, known)


def _expand_stars_in(query: exp.Expr, known: dict[str, list[str]]) -> None:
    for select in query.find_all(exp.Select):
        items: list[exp.Expr] = []
        for item in select.expressions:
            if isinstance(item, exp.Column) and item.is_star and item.table in known:
                table = item.args["table"]
                items += [
                    exp.alias_(exp.column(name, table=table.copy()), name, quoted=True, copy=False)
                    for name in known[item.table]
                ]
            else:
                items.append(item)
        select.set("expressions", items)


def _clickhouse_node(node: exp.Expr) -> exp.Expr:
    """One node of a portable tree as ClickHouse needs it (see `ClickHouse.render`)."""
    if isinstance(node, exp.Lower | exp.Upper):
        name = "lowerUTF8" if isinstance(node, exp.Lower) else "upperUTF8"
        return _fn(name, node.this)
    if isinstance(node, exp.Anonymous) and node.name.upper() in _CLICKHOUSE_FUNCTIONS:
        return _fn(_CLICKHOUSE_FUNCTIONS[node.name.upper()], *node.expressions)
    if isinstance(node, exp.Select):
        # a selected `t.x` is named `t.x` in ClickHouse, not `x`
        node.set(
            "expressions",
            [
                exp.alias_(item, item.name, quoted=True, copy=False)
                if isinstance(item, exp.Column) and item.table and not item.is_star
                else item
                for item in node.expressions
            ],
        )
        return node
    for kind, name in _CLICKHOUSE_AGGREGATES.items():
        if type(node) is kind:
            return _fn(name, node.this)
    return node


DIALECTS[ClickHouse.name] = ClickHouse()
