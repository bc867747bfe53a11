"""The pipeline in a few lines: parse → analyze → plan → generate SQL.

`Compiler` holds one analysed project and produces SQL for any dialect and
as-of time; the module functions are the short forms most callers need.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

from segdsl import ir
from segdsl.diagnostics import CompileError, Diagnostic, did_you_mean
from segdsl.plan import Output, build_plan
from segdsl.project import Project, load_project
from segdsl.schema import WarehouseSchema
from segdsl.semantic import time_range
from segdsl.semantic.analyze import Analysis, ParamValue
from segdsl.semantic.check import CheckedDefinition
from segdsl.settings import DIALECT_NAMES
from segdsl.source import Span
from segdsl.sql.builder import QueryBuilder
from segdsl.sql.clock import PARAMETER, MovingAsOf
from segdsl.sql.dialects import Dialect, get_dialect
from segdsl.sql.support import dialect_diagnostics, project_diagnostics
from segdsl.timeline import AsOf

AsOfInput = AsOf | dt.datetime | dt.date | str | None
MomentInput = AsOfInput | MovingAsOf
"""An as-of time for SQL: also a moving one, computed when the query runs."""


class Compiler:
    """An analysed project, ready to produce SQL.

    >>> compiler = Compiler(load_project("examples"))
    >>> sql = compiler.members_sql("cart_abandoners", dialect="postgres", as_of="2025-07-01")
    >>> sql.startswith("WITH")
    True
    """

    def __init__(
        self,
        project: Project,
        params: Mapping[str, ParamValue] | None = None,
        warehouse: WarehouseSchema | None = None,
    ):
        self.project = project
        self.params = params
        self.warehouse = warehouse  # the column types read from the engine, if any
        self.analysis: Analysis = project.analyze(params, warehouse)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return self.analysis.diagnostics

    def raise_for_errors(self) -> None:
        if not self.analysis.ok:
            raise CompileError(
                [d for d in self.analysis.diagnostics if d.is_error], self.project.source_map
            )

    def definition(self, name: str) -> CheckedDefinition:
        """A checked definition by name; a CompileError if unknown or invalid."""
        self.raise_for_errors()
        found = self.analysis.definitions.get(name)
        if found is None:
            from segdsl.selection import unknown_name

            raise CompileError(
                [unknown_name(name, self.analysis.definitions)], self.project.source_map
            )
        return found

    def select(self, selectors: Sequence[str]) -> list[str]:
        """The definitions `-s` selectors select: names, globs, `tag:`, `owner:`, `kind:`
        (see segdsl.selection); a CompileError if one selects nothing."""
        from segdsl.selection import select

        self.raise_for_errors()
        return select(self.analysis.definitions, selectors, self.project.source_map)

    def select_one(self, selector: str) -> str:
        """The one definition a selector selects (SEG537 if several)."""
        from segdsl.selection import select_one

        self.raise_for_errors()
        return select_one(self.analysis.definitions, selector, self.project.source_map)

    def as_of(self, value: AsOfInput = None) -> AsOf:
        """The as-of moment: given, else pinned in the settings, else now."""
        zone = self.project.settings.zone
        if isinstance(value, AsOf):
            return _in_range(value, "<as-of>")
        if isinstance(value, dt.datetime):
            wall = value.astimezone(zone).replace(tzinfo=None) if value.tzinfo else value
            return _in_range(AsOf(wall, zone), "<as-of>")
        if isinstance(value, dt.date):
            return _in_range(AsOf(dt.datetime.combine(value, dt.time()), zone), "<as-of>")
        text = value or self.project.settings.as_of
        if not text or text.strip().lower() == "now":
            return AsOf.now(zone)
        where = str(self.project.settings.path) if value is None else "<as-of>"
        try:
            parsed = AsOf.parse(text, zone)
        except (ValueError, OverflowError):  # an offset can move a time out of range
            raise CompileError(
                [
                    Diagnostic(
                        "SEG503",
                        f"`{text}` is not a date or timestamp",
                        Span(where, 1, 1, 1, 1),
                        "write e.g. 2025-07-01 or 2025-07-01T09:30:00 "
                        "(optionally with Z or +02:00)",
                    )
                ],
                {},
            ) from None
        return _in_range(parsed, where)

    def moving_as_of(self, value: str | None) -> MovingAsOf | None:
        """`now` (the time the query runs) or `param` (the query parameter `as_of`) as a
        moving as-of time in the project's zone; None for any other value."""
        chosen = (value or "").strip().lower()
        if chosen not in ("now", "param"):
            return None
        parameter = PARAMETER if chosen == "param" else None
        return MovingAsOf(self.project.settings.zone, parameter)

    def dialect(self, name: str | None = None) -> Dialect:
        """The named dialect, or the project's default one."""
        chosen = name or self.project.settings.dialect
        if chosen not in DIALECT_NAMES:
            raise CompileError(
                [
                    Diagnostic(
                        "SEG505",
                        f"unknown dialect `{chosen}`",
                        Span("<request>", 1, 1, 1, 1),
                        did_you_mean(chosen, DIALECT_NAMES)
                        or "use one of " + ", ".join(DIALECT_NAMES),
                    )
                ],
                {},
            )
        return get_dialect(chosen)

    def builder(
        self,
        outputs: Sequence[tuple[str, ir.Expr]],
        dialect: str | None = None,
        as_of: MomentInput = None,
        *,
        members_of: ir.Expr | None = None,
    ) -> QueryBuilder:
        """A query builder over everything `outputs` need (for custom final SELECTs).

        With `members_of`, the query will only keep entities satisfying that condition,
        so tables it cannot do without are inner-joined.
        """
        self.raise_for_errors()
        chosen = self.dialect(dialect)
        unsupported = dialect_diagnostics(self.analysis.decls, chosen.name)
        if unsupported:
            raise CompileError(unsupported, self.project.source_map)
        entity = self.analysis.entity
        assert entity is not None  # a definition exists, so the entity does
        moment: AsOf | MovingAsOf
        if isinstance(as_of, MovingAsOf):
            if not chosen.moving_as_of:
                raise CompileError(
                    [
                        Diagnostic(
                            "SEG568",
                            f"an as-of time computed when the query runs is not built for "
                            f"{chosen.name} yet",
                            Span("<as-of>", 1, 1, 1, 1),
                            "give a date or timestamp, or compile for duckdb, postgres or bigquery",
                        )
                    ],
                    {},
                )
            moment = as_of  # its times are checked by the engine when the query runs
        else:
            moment = self.as_of(as_of)
            out_of_range = time_range.as_of_problems([expr for _, expr in outputs], moment)
            if out_of_range:
                raise CompileError(out_of_range, self.project.source_map)
        plan = build_plan(entity, [Output(name, expr) for name, expr in outputs])
        return QueryBuilder(plan, chosen, moment, members_of=members_of)

    def members_sql(
        self, segment: str, *, dialect: str | None = None, as_of: MomentInput = None
    ) -> str:
        """SQL returning the keys of the segment's members."""
        definition = self.definition(segment)
        condition = _as_condition(definition)
        builder = self.builder([(segment, condition)], dialect, as_of, members_of=condition)
        return builder.dialect.render(builder.members(condition))

    def table_sql(
        self, names: Sequence[str], *, dialect: str | None = None, as_of: MomentInput = None
    ) -> str:
        """SQL returning one row per entity with a column per named definition."""
        outputs: list[tuple[str, ir.Expr]] = [(name, self.definition(name).expr) for name in names]
        builder = self.builder(outputs, dialect, as_of)
        return builder.dialect.render(builder.table(outputs))

    def counts_sql(
        self, names: Sequence[str], *, dialect: str | None = None, as_of: MomentInput = None
    ) -> str:
        """SQL returning the population size and the size of each named segment."""
        outputs = [(name, _as_condition(self.definition(name))) for name in names]
        builder = self.builder(outputs, dialect, as_of)
        return builder.dialect.render(builder.counts(outputs))


def _in_range(as_of: AsOf, where: str) -> AsOf:
    problem = time_range.as_of_problem(as_of)
    if problem is None:
        return as_of
    raise CompileError(
        [Diagnostic("SEG503", problem, Span(where, 1, 1, 1, 1), time_range.HELP)], {}
    )


def _as_condition(definition: CheckedDefinition) -> ir.Expr:
    if definition.kind != "segment":
        raise CompileError(
            [
                Diagnostic(
                    "SEG502",
                    f"`{definition.name}` is a {definition.kind}, not a segment",
                    definition.expr.span,
                    "member lists and sizes are for segments; "
                    "use a membership table for the others",
                )
            ],
            {},
        )
    return definition.expr


def _project(source: Project | str | Path) -> Project:
    if isinstance(source, Project):
        return source
    if isinstance(source, Path) or not ("\n" in source or "=" in source):
        return load_project(source)
    return Project.from_text(source)


def check(
    source: Project | str | Path,
    *,
    params: Mapping[str, ParamValue] | None = None,
    dialect: str | None = None,
) -> list[Diagnostic]:
    """All diagnostics for a project folder, a file, or `.seg` text, including what
    `dialect` (default: the project's) cannot express.

    >>> [d.code for d in check("segment s = cart_adds > 0")]  # no entity, unknown name
    ['SEG107', 'SEG101']
    """
    project = _project(source)
    compiler = Compiler(project, params)
    return project_diagnostics(project, compiler.analysis, compiler.dialect(dialect).name)


def compile_segment(
    source: Project | str | Path,
    segment: str,
    *,
    dialect: str | None = None,
    as_of: AsOfInput = None,
    params: Mapping[str, ParamValue] | None = None,
) -> str:
    """SQL selecting the keys of one segment's members; raises CompileError on bad input.

    >>> print(compile_segment("examples", "loyal", dialect="duckdb", as_of="2025-07-01")[:4])
    WITH
    """
    return Compiler(_project(source), params).members_sql(segment, dialect=dialect, as_of=as_of)
