"""Running test cases: load a case's rows, run its definition as `seg run` would, compare.

Every case gets an empty database of its own: a fresh in-memory DuckDB, or, on
Postgres (`--db`), a schema created inside a transaction that is always rolled back,
so nothing is left behind and no table of the warehouse is read or written.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlglot import exp

from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError, Diagnostic
from segdsl.engines import EngineError, parse_url
from segdsl.engines.base import parse_query
from segdsl.engines.duckdb_engine import DuckDBEngine
from segdsl.engines.urls import DuckDBURL, PostgresURL
from segdsl.explain.reasons import add_reasons
from segdsl.explain.report import WhyNode, fill_why, why_sql, why_tree
from segdsl.segtest.cases import TestCase
from segdsl.segtest.fixtures import TEST_SCHEMA, Layout, Value
from segdsl.sql.dialects import get_dialect
from segdsl.timeline import AsOf


@dataclass
class Difference:
    """One key the definition put where the case did not expect it."""

    key: object
    expected: str | None  # "member" / a label; None: not a member, no label
    actual: str | None
    why: WhyNode | None = None  # segments: each condition's result and values for the key
    rows: list[tuple[str, dict[str, Value]]] = field(default_factory=list)  # (table, row)


@dataclass
class Outcome:
    """What running one case gave."""

    case: TestCase
    as_of: AsOf | None = None
    problems: list[Diagnostic] = field(default_factory=list)  # the case could not run
    differences: list[Difference] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and not self.differences


class _Database(Protocol):
    dialect: str

    def session(self, statements: Sequence[exp.Expr]) -> contextlib.AbstractContextManager[Any]:
        """A context in which the statements have run and `query` sees their tables."""
        ...

    def query(self, sql: str) -> list[dict[str, object]]: ...


class _DuckDB:
    """A fresh in-memory DuckDB per case, locked down like every segdsl DuckDB engine."""

    dialect = "duckdb"

    def __init__(self) -> None:
        self._engine: DuckDBEngine | None = None

    @contextlib.contextmanager
    def session(self, statements: Sequence[exp.Expr]) -> Iterator[None]:
        with DuckDBEngine(DuckDBURL(None)) as engine:
            for statement in statements:
                engine.connection.execute(get_dialect("duckdb").render(statement, pretty=False))
            self._engine = engine
            try:
                yield
            finally:
                self._engine = None

    def query(self, sql: str) -> list[dict[str, object]]:
        assert self._engine is not None, "query outside a session"
        return self._engine.query(sql).to_pylist()


class _Postgres:
    """One connection; each case in a transaction that is rolled back."""

    dialect = "postgres"

    def __init__(self, url: PostgresURL) -> None:
        try:
            import psycopg
        except ImportError as error:
            from segdsl.engines import missing_driver

            raise missing_driver("postgres://…", "postgres", error) from None
        self._psycopg = psycopg
        try:
            kwargs: dict[str, Any] = dict(url.connect_kwargs())
            self._conn = psycopg.connect(autocommit=False, **kwargs)
        except psycopg.Error as error:
            raise EngineError("unreachable", f"postgres: {str(error).strip()}") from None
        with self._conn.cursor() as cursor:
            cursor.execute("SET standard_conforming_strings = on")
        self._conn.commit()

    @contextlib.contextmanager
    def session(self, statements: Sequence[exp.Expr]) -> Iterator[None]:
        try:
            with self._conn.cursor() as cursor:
                for statement in statements:
                    cursor.execute(get_dialect("postgres").render(statement, pretty=False))
            yield
        except self._psycopg.Error as error:
            raise EngineError("other", f"postgres: {str(error).strip()}") from None
        finally:
            self._conn.rollback()

    def query(self, sql: str) -> list[dict[str, object]]:
        with self._conn.cursor() as cursor:
            cursor.execute(sql)
            names = [column.name for column in cursor.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def close(self) -> None:
        self._conn.close()


@contextlib.contextmanager
def database(url: str | None) -> Iterator[_Database]:
    """Where cases run: in-memory DuckDB by default, or the Postgres database `url` names."""
    if url is None:
        yield _DuckDB()
        return
    parsed = parse_url(url)
    if isinstance(parsed, DuckDBURL):
        yield _DuckDB()
        return
    if not isinstance(parsed, PostgresURL):
        raise EngineError("other", "segment tests run on DuckDB (default) or Postgres (--db)")
    found = _Postgres(parsed)
    try:
        yield found
    finally:
        found.close()


def run_case(compiler: Compiler, case: TestCase, db: _Database) -> Outcome:
    """Run one case; compile problems and bad rows are returned, not raised."""
    outcome = Outcome(case)
    try:
        definition = compiler.definition(case.definition)
        moment = compiler.as_of(case.as_of)
    except CompileError as error:
        outcome.problems = [_at_case(d, case) for d in error.diagnostics]
        return outcome
    outcome.as_of = moment
    if definition.kind != case.kind:
        outcome.problems.append(
            Diagnostic(
                "SEG582",
                f"`{case.definition}` is a {definition.kind}, not a {case.kind}",
                case.span,
                f'write {definition.kind} = "{case.definition}"',
            )
        )
        return outcome
    assert compiler.analysis.decls is not None
    layout = Layout(
        compiler.analysis.decls,
        compiler.project.settings.zone,
        schema=f"{TEST_SCHEMA}_{uuid.uuid4().hex[:12]}",
    )
    rows, problems = layout.rows(case.given, case.place)
    if problems:
        outcome.problems = problems
        return outcome
    entity = compiler.analysis.entity
    assert entity is not None
    expr = definition.expr
    builder = compiler.builder(
        [(case.definition, expr)],
        db.dialect,
        moment,
        members_of=expr if case.kind == "segment" else None,
    )
    query = builder.members(expr) if case.kind == "segment" else builder.table([("value", expr)])
    sql = builder.dialect.render(layout.retarget(query))
    with db.session(layout.statements(rows)):
        result = db.query(sql)
        if case.kind == "segment":
            actual = {_key(row[entity.key.name]): "member" for row in result}
            expected = {_key(key): "member" for key in case.members or ()}
        else:
            actual = {
                _key(row[entity.key.name]): str(row["value"])
                for row in result
                if row["value"] is not None
            }
            expected = {_key(key): label for key, label in (case.labels or {}).items()}
        for key in sorted(set(actual) | set(expected), key=_order):
            if actual.get(key) != expected.get(key):
                difference = Difference(key, expected.get(key), actual.get(key))
                difference.rows = _rows_of(layout, rows, key)
                if case.kind == "segment":
                    difference.why = _why(compiler, case.definition, key, moment, layout, db)
                outcome.differences.append(difference)
    return outcome


def _why(
    compiler: Compiler, name: str, key: object, moment: AsOf, layout: Layout, db: _Database
) -> WhyNode | None:
    """The segment's conditions for one key (with a sequence's rows and a ranking's
    standing), run on the case's tables."""

    def run(sql: str) -> list[dict[str, object]]:
        query = layout.retarget(parse_query(sql, db.dialect))  # type: ignore[arg-type]
        return db.query(get_dialect(db.dialect).render(query))

    tree = why_tree(compiler, name)
    sql, columns = why_sql(compiler, tree, key, dialect=db.dialect, as_of=moment)
    found = run(sql)
    if not found:
        return None
    fill_why(tree, columns, found[0])
    add_reasons(compiler, tree, key, run, db.dialect, moment)
    return tree


def _rows_of(
    layout: Layout, rows: dict[tuple[str, ...], list[dict[str, Value]]], key: str
) -> list[tuple[str, dict[str, Value]]]:
    """The loaded rows that belong to `key`: its entity row and rows linked straight to it."""
    out: list[tuple[str, dict[str, Value]]] = []
    links = [(layout.entity.source, layout.entity.key.name), *layout.entity_links]
    for path, link in links:
        table = layout.tables[path]
        declared = {physical: name for name, physical in table.declared.items()}
        for row in rows.get(path, ()):
            if row.get(link) is not None and _key(row[link]) == key:
                shown: dict[str, Value] = {
                    declared.get(n, n): row[n] for n in table.columns if row.get(n) is not None
                }
                out.append((table.name, shown))
    return out


def _key(value: object) -> str:
    """Keys compare as text: the case may write `1` or `"1"` for an integer key."""
    return str(value)


def _order(key: str) -> tuple[int, int | str]:
    return (0, int(key)) if key.lstrip("-").isdigit() else (1, key)


def _at_case(diagnostic: Diagnostic, case: TestCase) -> Diagnostic:
    """Diagnostics about the request (`<request>`, `<as-of>`) point at the case instead."""
    if diagnostic.span.path.startswith("<"):
        return Diagnostic(diagnostic.code, diagnostic.message, case.span, diagnostic.help)
    return diagnostic
