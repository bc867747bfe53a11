"""`seg snapshot`: record the membership of definitions at one as-of time.

Everything happens in one write transaction holding a lock named after the schema
(`Engine.write_session`), so a crash or Ctrl-C at any point leaves the history as it
was, and a second snapshot into the same schema gets an error instead of writing too:

1. the tables are created (and marked) if missing; tables of those names without
   segdsl's mark are refused;
2. each definition's last recorded as-of time and hash decide what happens to it: the
   same as-of time again is skipped (nothing changes), a later one is appended, an
   earlier one is refused unless `backfill`;
3. the membership of every definition to write is computed by one query into a
   temporary table;
4. per definition: intervals that no longer hold are closed (`valid_to` = as-of) and
   new ones opened; a definition whose hash changed has all its open intervals closed
   and new ones opened under the new hash, so the two meanings never share an
   interval. A backfill splits the intervals around the new as-of time instead;
5. a runs row per definition, then COMMIT.

On BigQuery the session runs the reads and the DDL at once and sends the writes at the
end as one script (`BigQueryEngine.write_session`): tables are created outside the
transaction (BigQuery allows no DDL of permanent tables in one), already marked, and
every read of steps 2-4 happens before the writes of its definition. The lock is the
first write of the transaction: the `segdsl_lock` row moves from the last run_id this
snapshot read to its own (`tables.claim`), so a snapshot that another one overtook,
or that BigQuery aborts for a concurrent update of that row, writes nothing.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlglot import exp

from segdsl.compiler import Compiler
from segdsl.engines import Engine
from segdsl.engines.base import BusyError, DialectName, WriteSession
from segdsl.history import tables
from segdsl.history.membership import definition_hash, membership_query, request_error
from segdsl.sql.dialects import get_dialect
from segdsl.timeline import AsOf

PAUSE_ENV = "SEGDSL_TEST_PAUSE"
"""For crash tests: `STAGE:FIFO` makes the writer announce STAGE on the fifo, then wait
for it again (`locked`: the lock is held; `written`: all rows written, not committed)."""

NEW = "segdsl_snapshot_new"
DIFF = "segdsl_snapshot_diff"

Mode = Literal["append", "backfill", "skip"]


@dataclass
class DefinitionRun:
    name: str
    kind: str
    hash: str
    mode: Mode
    changed: bool = False
    members: int | None = None
    entered: int | None = None
    left: int | None = None


@dataclass
class SnapshotResult:
    as_of: AsOf
    run_id: int | None
    definitions: list[DefinitionRun] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return self.run_id is not None


def lock_name(schema: str) -> str:
    return f"segdsl history {schema}"


def snapshot(
    compiler: Compiler,
    engine: Engine,
    names: Sequence[str],
    schema: str,
    as_of: AsOf,
    *,
    backfill: bool = False,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> SnapshotResult:
    """Record the membership of `names` at `as_of` in `schema` (see the module doc)."""
    dialect: DialectName = engine.dialect
    if not get_dialect(dialect).keeps_history:
        raise request_error(
            "SEG563",
            f"`seg snapshot` does not write to {dialect} yet",
            "snapshots are kept on DuckDB, Postgres and BigQuery; `seg changes` (without a "
            "history) and `seg run` work on every engine",
        )
    hashes = {name: definition_hash(compiler, name) for name in names}
    kinds = {name: compiler.definition(name).kind for name in names}
    query = membership_query(compiler, names, dialect, as_of)  # errors before the lock
    started = clock()
    try:
        with engine.write_session(lock_name(schema)) as session:
            writer = _Writer(session, dialect, schema, as_of)
            _pause("locked")
            existing = writer.prepare_tables()
            # the run number before the plan: with a lock table the claim fails unless no other
            # snapshot was recorded since this number was read, so the plan is not stale
            run_id = writer.next_run_id()
            plan = writer.plan(names, kinds, hashes, existing, backfill=backfill)
            todo = [run for run in plan if run.mode != "skip"]
            if not todo:
                return SnapshotResult(as_of, None, plan)
            if writer.sql.history_lock_table:
                writer.execute(tables.claim(writer.path, dialect, run_id - 1, run_id))
            writer.compute(query)
            if not existing:
                writer.execute(tables.create_history(writer.path, dialect, writer.temp(NEW)))
                writer.mark(tables.HISTORY)
            for run in todo:
                if run.mode == "append":
                    writer.append(run)
                else:
                    writer.backfill(run)
            _pause("written")
            writer.record(run_id, todo, started, clock())
            return SnapshotResult(as_of, run_id, plan)
    except BusyError as error:
        raise request_error(
            "SEG562",
            f"another snapshot is writing into `{schema}` ({error.message})",
            "wait for it to finish and run this one again; nothing was written",
        ) from None


def _pause(stage: str) -> None:
    spec = os.environ.get(PAUSE_ENV)
    if not spec:
        return
    wanted, _, fifo = spec.partition(":")
    if wanted != stage:
        return
    with open(fifo, "w") as announce:  # blocks until the test listens
        announce.write(f"{stage}\n")
    with open(fifo) as wait:  # blocks until the test lets go (or kills us)
        wait.read()


def _temp(name: str, alias: str | None = None) -> exp.Table:
    found = exp.Table(this=exp.to_identifier(name, quoted=True))
    if alias:
        found.set("alias", exp.TableAlias(this=exp.to_identifier(alias, quoted=True)))
    return found


def _col(name: str, table: str) -> exp.Column:
    return exp.column(name, table=table, quoted=True)


def _s(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def _eq(left: exp.Expr, right: exp.Expr) -> exp.Expr:
    return exp.EQ(this=left, expression=right)


def _same_label(left: str, right: str) -> exp.Expr:
    return exp.NullSafeEQ(this=_col("label", left), expression=_col("label", right))


def _exists(select: exp.Select) -> exp.Exists:
    return exp.Exists(this=select)


def _all(*parts: exp.Expr) -> exp.Expr:
    return exp.and_(*parts, copy=False)


class _Writer:
    def __init__(self, session: WriteSession, dialect: DialectName, schema: str, as_of: AsOf):
        self.session = session
        self.dialect = dialect
        self.schema = schema
        self.path = tables.schema_path(schema, dialect, lambda sql: session.execute(sql)[0][0])
        self.as_of = as_of
        self.sql = get_dialect(dialect)
        # temporary tables named for this writer: none of an earlier snapshot to drop
        # first (the BigQuery emulator shares temporary tables between sessions)
        self.suffix = uuid.uuid4().hex[:8]
        self.diff = DIFF
        self.backfills = 0

    def temp(self, name: str, alias: str | None = None) -> exp.Table:
        return _temp(f"{name}_{self.suffix}", alias)

    def mark(self, name: str) -> None:
        """Comment a new table as segdsl's, unless its CREATE did (`Dialect.create_comment`)."""
        if self.sql.create_comment(tables.COMMENTS[name]) is None:
            self.execute(tables.comment(self.path, name, self.dialect))

    def execute(self, statement: exp.Expr) -> list[tuple[Any, ...]]:
        return self.session.execute(self.sql.render(statement, pretty=False))

    def history(self, alias: str) -> exp.Table:
        return tables.table(self.path, tables.HISTORY, self.dialect, alias)

    def runs(self, alias: str | None = None) -> exp.Table:
        return tables.table(self.path, tables.RUNS, self.dialect, alias)

    def wall(self, value: dt.datetime) -> exp.Expr:
        return self.sql.wall_literal(value)

    # ---------------------------------------------------------------- tables

    def prepare_tables(self) -> bool:
        """Create the schema and the runs table if missing; True when the history table
        exists already. Tables of those names not marked as segdsl's are refused."""
        self.execute(tables.create_schema(self.path, self.dialect))
        rows = self.session.execute(tables.comments_query(self.schema, self.dialect))
        found = {name: self.sql.catalog_comment(value) for name, value in rows}
        for name, comment in found.items():
            if not tables.is_own(comment):
                raise request_error(
                    "SEG561",
                    f"`{self.schema}.{name}` exists and segdsl did not create it",
                    "snapshots keep their own tables; choose another schema with --into",
                )
        if tables.RUNS not in found:
            self.execute(tables.create_runs(self.path, self.dialect))
            self.mark(tables.RUNS)
        if self.sql.history_lock_table and tables.LOCK not in found:
            self.execute(tables.create_lock(self.path, self.dialect))
        return tables.HISTORY in found

    def plan(
        self,
        names: Sequence[str],
        kinds: Mapping[str, str],
        hashes: Mapping[str, str],
        history_exists: bool,
        *,
        backfill: bool,
    ) -> list[DefinitionRun]:
        """What happens to each definition at this as-of time."""
        r = "r"
        rows = self.execute(
            exp.select(_col("definition", r), _col("as_of", r), _col("definition_hash", r))
            .from_(self.runs(r))
            .where(exp.In(this=_col("definition", r), expressions=[_s(n) for n in names]))
        )
        recorded: dict[str, dict[dt.datetime, str]] = {}
        for name, when, digest in rows:
            recorded.setdefault(str(name), {})[_naive(when)] = str(digest)
        plan = []
        for name in names:
            times = recorded.get(name, {})
            last = max(times) if times else None
            run = DefinitionRun(name, kinds[name], hashes[name], "append")
            if self.as_of.wall in times:
                run.mode = "skip"
            elif last is not None and self.as_of.wall < last:
                if not backfill:
                    raise request_error(
                        "SEG564",
                        f"`{name}` was recorded at {last.isoformat(sep=' ')}, later than "
                        f"{self.as_of.wall.isoformat(sep=' ')}",
                        "snapshots go forward in time; pass --backfill to fill in an "
                        "earlier as-of time",
                    )
                after = min(t for t in times if t > self.as_of.wall)
                if times[after] != run.hash:
                    raise request_error(
                        "SEG565",
                        f"`{name}` was recorded at {after.isoformat(sep=' ')} with another "
                        "definition than today's",
                        "a backfill fills in history of the current definition only",
                    )
                run.mode = "backfill"
            elif last is not None:
                run.changed = times[last] != run.hash
            plan.append(run)
        return plan

    def next_run_id(self) -> int:
        rows = self.execute(
            exp.select(
                exp.Coalesce(
                    this=exp.Max(this=exp.column("run_id", quoted=True)),
                    expressions=[exp.Literal.number(0)],
                )
            ).from_(self.runs())
        )
        return int(rows[0][0]) + 1

    def compute(self, query: exp.Select) -> None:
        """The new membership of every definition, in one pass, into a temporary table."""
        self.execute(
            exp.Create(
                this=self.temp(NEW),
                kind="TABLE",
                expression=self.session.qualify(query),
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            )
        )

    # ---------------------------------------------------------------- append

    def _new(self, run: DefinitionRun, alias: str) -> exp.Select:
        return (
            exp.select("*")
            .from_(self.temp(NEW, alias))
            .where(_eq(_col("definition", alias), _s(run.name)))
        )

    def _in_new(self, run: DefinitionRun) -> exp.Select:
        """`SELECT 1` from the new membership of the definition, for the key and label of
        the history row `h` (correlated: for EXISTS)."""
        return (
            exp.select(exp.Literal.number(1))
            .from_(self.temp(NEW, "n"))
            .where(
                _all(
                    _eq(_col("definition", "n"), _s(run.name)),
                    _eq(_col("key", "n"), _col("key", "h")),
                    _same_label("h", "n"),
                )
            )
        )

    def _open(self, run: DefinitionRun, alias: str) -> exp.Expr:
        """Intervals of the definition still open, under its current hash."""
        return _all(
            _eq(_col("definition", alias), _s(run.name)),
            exp.Is(this=_col("valid_to", alias), expression=exp.Null()),
            _eq(_col("definition_hash", alias), _s(run.hash)),
        )

    def _count(self, select: exp.Select) -> int:
        rows = self.execute(exp.select(exp.Count(this=exp.Star())).from_(select.subquery("c")))
        return int(rows[0][0])

    def append(self, run: DefinitionRun) -> None:
        t = self.wall(self.as_of.wall)
        run.members = self._count(self._new(run, "n"))
        same_in_history = (
            exp.select(exp.Literal.number(1))
            .from_(self.history("h"))
            .where(
                _all(
                    self._open(run, "h"),
                    _eq(_col("key", "h"), _col("key", "n")),
                    _same_label("h", "n"),
                )
            )
        )
        entering = self._new(run, "n").where(exp.Not(this=_exists(same_in_history)))
        still = self._in_new(run)
        if not run.changed:
            run.entered = self._count(entering)
            leaving = (
                exp.select("*")
                .from_(self.history("h"))
                .where(_all(self._open(run, "h"), exp.Not(this=_exists(still))))
            )
            run.left = self._count(leaving)
        # close what no longer holds (everything open, when the meaning changed)
        close = exp.or_(
            exp.NEQ(this=_col("definition_hash", "h"), expression=_s(run.hash)),
            exp.Not(this=_exists(still)),
        )
        self.execute(
            exp.Update(
                this=self.history("h"),
                expressions=[_eq(exp.column("valid_to", quoted=True), t.copy())],
                where=exp.Where(
                    this=_all(
                        _eq(_col("definition", "h"), _s(run.name)),
                        exp.Is(this=_col("valid_to", "h"), expression=exp.Null()),
                        close,
                    )
                ),
            )
        )
        self._insert_new(
            run, t.copy(), exp.cast(exp.Null(), "TIMESTAMP"), exp.Not(this=_exists(same_in_history))
        )

    def _insert_new(
        self, run: DefinitionRun, valid_from: exp.Expr, valid_to: exp.Expr, *where: exp.Expr
    ) -> None:
        """The definition's rows of the new membership `n` that meet `where`, into the
        history as intervals under its current hash."""
        self._insert(
            exp.select(
                _col("key", "n"),
                _col("definition", "n"),
                _col("label", "n"),
                _s(run.hash),
                valid_from,
                valid_to,
            )
            .from_(self.temp(NEW, "n"))
            .where(_all(_eq(_col("definition", "n"), _s(run.name)), *where))
        )

    def _insert(self, select: exp.Select) -> None:
        columns = ["key", "definition", "label", "definition_hash", "valid_from", "valid_to"]
        self.execute(
            exp.Insert(
                this=exp.Schema(
                    this=tables.table(self.path, tables.HISTORY, self.dialect),
                    expressions=[exp.to_identifier(c, quoted=True) for c in columns],
                ),
                expression=select,
            )
        )

    # ---------------------------------------------------------------- backfill

    def backfill(self, run: DefinitionRun) -> None:
        """Insert an observation between recorded ones: for the keys whose label at the
        as-of time differs from the one recorded before it, the interval around it is
        split, and the new label holds from the as-of time up to the next recorded one
        (or joins the interval starting there)."""
        r = "r"
        rows = self.execute(
            exp.select(_col("as_of", r), _col("definition_hash", r))
            .from_(self.runs(r))
            .where(_eq(_col("definition", r), _s(run.name)))
        )
        times = {_naive(when): str(digest) for when, digest in rows}
        before = [w for w in times if w < self.as_of.wall and times[w] == run.hash]
        after = min(w for w in times if w > self.as_of.wall)
        t, n_time = self.wall(self.as_of.wall), self.wall(after)
        self.backfills += 1  # a table per definition: BigQuery sends every write at the end
        self.diff = f"{DIFF}{self.backfills}"

        def alive_before(alias: str) -> exp.Expr:
            if not before:
                return exp.false()
            p = self.wall(max(before))
            return _all(
                _eq(_col("definition", alias), _s(run.name)),
                _eq(_col("definition_hash", alias), _s(run.hash)),
                exp.LTE(this=_col("valid_from", alias), expression=p),
                exp.or_(
                    exp.Is(this=_col("valid_to", alias), expression=exp.Null()),
                    exp.GT(this=_col("valid_to", alias), expression=p.copy()),
                ),
            )

        previous = (
            exp.select(_col("key", "a"), _col("label", "a"))
            .from_(self.history("a"))
            .where(alive_before("a"))
        )
        new = (
            exp.select(_col("key", "n"), _col("label", "n"))
            .from_(self.temp(NEW, "n"))
            .where(_eq(_col("definition", "n"), _s(run.name)))
        )
        run.members = self._count(new)
        joined = (
            exp.select(
                exp.alias_(
                    exp.Coalesce(this=_col("key", "p"), expressions=[_col("key", "q")]),
                    "key",
                    quoted=True,
                ),
                exp.alias_(
                    exp.Case(
                        ifs=[
                            exp.If(
                                this=exp.Is(this=_col("key", "p"), expression=exp.Null()),
                                true=_s("entered"),
                            )
                        ],
                        default=exp.Case(
                            ifs=[
                                exp.If(
                                    this=exp.Is(this=_col("key", "q"), expression=exp.Null()),
                                    true=_s("left"),
                                )
                            ],
                            default=_s("moved"),
                        ),
                    ),
                    "change",
                    quoted=True,
                ),
            )
            .from_(previous.subquery("p"))
            .join(
                new.subquery("q"),
                on=_eq(_col("key", "p"), _col("key", "q")),
                join_type="FULL OUTER",
            )
            .where(
                exp.or_(
                    exp.Is(this=_col("key", "p"), expression=exp.Null()),
                    exp.Is(this=_col("key", "q"), expression=exp.Null()),
                    exp.Not(this=_same_label("p", "q")),
                )
            )
        )
        self.execute(
            exp.Create(
                this=self.temp(self.diff),
                kind="TABLE",
                expression=joined,
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            )
        )
        counts = dict(
            self.execute(
                exp.select(exp.column("change", quoted=True), exp.Count(this=exp.Star()))
                .from_(self.temp(self.diff))
                .group_by(exp.column("change", quoted=True))
            )
        )
        moved = int(counts.get("moved", 0))
        run.entered = int(counts.get("entered", 0)) + moved
        run.left = int(counts.get("left", 0)) + moved

        def in_diff(alias: str) -> exp.Expr:
            return exp.In(
                this=_col("key", alias),
                query=exp.select(exp.column("key", quoted=True))
                .from_(self.temp(self.diff))
                .subquery(),
            )

        # 1. an interval alive before and still alive at the next time goes on from there
        self._insert(
            exp.select(
                _col("key", "h"),
                _col("definition", "h"),
                _col("label", "h"),
                _col("definition_hash", "h"),
                n_time.copy(),
                _col("valid_to", "h"),
            )
            .from_(self.history("h"))
            .where(
                _all(
                    alive_before("h"),
                    in_diff("h"),
                    exp.or_(
                        exp.Is(this=_col("valid_to", "h"), expression=exp.Null()),
                        exp.GT(this=_col("valid_to", "h"), expression=n_time.copy()),
                    ),
                )
            )
        )
        # 2. and ends at the new as-of time
        self.execute(
            exp.Update(
                this=self.history("h"),
                expressions=[_eq(exp.column("valid_to", quoted=True), t.copy())],
                where=exp.Where(this=_all(alive_before("h"), in_diff("h"))),
            )
        )
        # 3. the new label joins an interval starting at the next time, else gets its own
        starting_next = _all(
            _eq(_col("definition", "h"), _s(run.name)),
            _eq(_col("definition_hash", "h"), _s(run.hash)),
            _eq(_col("valid_from", "h"), n_time.copy()),
        )
        matching = self._in_new(run)
        self.execute(
            exp.Update(
                this=self.history("h"),
                expressions=[_eq(exp.column("valid_from", quoted=True), t.copy())],
                where=exp.Where(this=_all(starting_next, in_diff("h"), _exists(matching))),
            )
        )
        joined_next = (
            exp.select(exp.Literal.number(1))
            .from_(self.history("h"))
            .where(
                _all(
                    _eq(_col("definition", "h"), _s(run.name)),
                    _eq(_col("definition_hash", "h"), _s(run.hash)),
                    _eq(_col("valid_from", "h"), t.copy()),
                    _eq(_col("key", "h"), _col("key", "n")),
                    _same_label("h", "n"),
                )
            )
        )
        self._insert_new(
            run, t.copy(), n_time.copy(), in_diff("n"), exp.Not(this=_exists(joined_next))
        )

    # ---------------------------------------------------------------- runs

    def record(
        self,
        run_id: int,
        runs: Sequence[DefinitionRun],
        started: dt.datetime,
        finished: dt.datetime,
    ) -> None:
        rows = []
        for run in runs:
            rows.append(
                exp.Tuple(
                    expressions=[
                        exp.Literal.number(run_id),
                        self.wall(self.as_of.wall),
                        _s(run.name),
                        _s(run.kind),
                        _s(run.hash),
                        exp.Boolean(this=run.changed),
                        _number(run.members),
                        _number(run.entered),
                        _number(run.left),
                        exp.Boolean(this=run.mode == "backfill"),
                        self.sql.instant_literal(started),
                        self.sql.instant_literal(finished),
                    ]
                )
            )
        self.execute(
            exp.Insert(
                this=exp.Schema(
                    this=self.runs(),
                    expressions=[exp.to_identifier(c, quoted=True) for c, _ in tables.RUN_COLUMNS],
                ),
                expression=exp.Values(expressions=rows),
            )
        )


def _number(value: int | None) -> exp.Expr:
    return exp.cast(exp.Null(), "BIGINT") if value is None else exp.Literal.number(value)


def _naive(value: object) -> dt.datetime:
    assert isinstance(value, dt.datetime), value
    return value.replace(tzinfo=None)


__all__ = ["SnapshotResult", "snapshot"]
