"""What every part of the checker shares: its state, scopes, the checked definition.

`CheckerBase` is the contract between the parts: each part (a mixin in this package)
derives from it, and the methods one part calls on another are declared here.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal
from zoneinfo import ZoneInfo

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import Diagnostic
from segdsl.semantic.declarations import Declarations, TableInfo
from segdsl.source import Span
from segdsl.syntax import nodes


@dataclass(frozen=True)
class EntityScope:
    """Names of the population: attributes, measures, segments, parameters."""


@dataclass(frozen=True)
class RowScope:
    """Names inside a table's filter: its columns (and its parents') and parameters."""

    table: TableInfo


Scope = EntityScope | RowScope

ENTITY = EntityScope()


@dataclass(frozen=True)
class CheckedDefinition:
    """A definition after checking: its IR and what the tools show about it."""

    kind: Literal["measure", "segment", "classifier", "split"]
    name: str
    expr: ir.Named
    span: Span
    description: str | None = None
    owner: str | None = None
    tags: tuple[str, ...] = ()
    source_text: str = ""

    @property
    def type(self) -> t.Type:
        return self.expr.type


class CheckerBase(ABC):
    """The state the parts share, how they report, and what they call on each other."""

    def __init__(
        self,
        decls: Declarations,
        params: dict[str, ir.Const],
        time_zone: ZoneInfo,
    ):
        self.decls = decls
        self.params = params
        self.time_zone = time_zone
        self.diagnostics: list[Diagnostic] = []
        self.checked: dict[str, CheckedDefinition | None] = {}
        self.in_progress: list[str] = []
        self.table_filters: dict[str, ir.Expr | None] = {}
        self.entity_reported = False

    # -------------------------------------------------------------- diagnostics
    def error(
        self, code: str, message: str, span: Span, help_: str | None = None, type_: t.Type = t.ERROR
    ) -> ir.Invalid:
        self.diagnostics.append(Diagnostic(code, message, span, help=help_))
        return ir.Invalid(type_, span=span)

    def require_entity(self, span: Span) -> bool:
        if self.decls.entity is not None:
            return True
        if not self.entity_reported:
            self.entity_reported = True
            self.error(
                "SEG107",
                "no `entity` is declared",
                span,
                "declare the population, e.g. `entity customer from shop.customers { key id }`",
            )
        return False

    # -------------------------------------------------------------- defined in expressions.py
    @abstractmethod
    def condition(self, node: nodes.Expr, scope: Scope) -> ir.Expr: ...

    @abstractmethod
    def expr(self, node: nodes.Expr, scope: Scope) -> ir.Expr: ...

    @abstractmethod
    def in_range(self, const: ir.Const) -> ir.Expr: ...

    @abstractmethod
    def wall_clock(self, value: dt.datetime) -> dt.datetime: ...

    # -------------------------------------------------------------- defined in checker.py
    @abstractmethod
    def reference(self, name: str, span: Span) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in names.py
    @abstractmethod
    def name(self, node: nodes.Name, scope: Scope) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in calls.py
    @abstractmethod
    def call(self, node: nodes.Call, scope: Scope) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in arithmetic.py
    @abstractmethod
    def arith(self, node: nodes.Arith, scope: Scope) -> ir.Expr: ...

    @abstractmethod
    def as_timestamp(self, expr: ir.Expr) -> ir.Expr: ...

    @abstractmethod
    def widen(self, left: ir.Expr, right: ir.Expr) -> tuple[ir.Expr, ir.Expr]: ...

    # -------------------------------------------------------------- defined in comparisons.py
    @abstractmethod
    def compare(
        self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span
    ) -> ir.Expr: ...

    @abstractmethod
    def in_list(self, node: nodes.InList, scope: Scope) -> ir.Expr: ...

    @abstractmethod
    def in_window(self, node: nodes.InWindow, scope: Scope) -> ir.Expr: ...

    @abstractmethod
    def time_value(self, node: nodes.Expr, scope: Scope, what: str) -> ir.Expr: ...

    @abstractmethod
    def duration_number(
        self, value: ir.Expr, unit: ir.DurationValue, value_span: Span, span: Span
    ) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in windows.py
    @abstractmethod
    def duration(self, node: nodes.Duration) -> ir.DurationValue | None: ...

    @abstractmethod
    def window(self, node: nodes.Window) -> ir.Bounds | None: ...

    @abstractmethod
    def window_condition(
        self, operand: ir.Expr, node: nodes.Window, scope: Scope, span: Span
    ) -> ir.Expr | None: ...

    @abstractmethod
    def quote_hint(self, node: nodes.Expr, checked: ir.Expr, other: ir.Expr) -> None: ...

    @abstractmethod
    def check_labels(self, labelled: ir.Expr, other: ir.Expr) -> None: ...

    # -------------------------------------------------------------- defined in aggregates.py
    @abstractmethod
    def aggregate(self, node: nodes.Aggregate | nodes.NestedAggregate) -> ir.Expr: ...

    @abstractmethod
    def table_filter(self, table: TableInfo) -> ir.Expr | None: ...

    @abstractmethod
    def row_aggregate(
        self,
        node: nodes.Aggregate,
        table: TableInfo,
        group: ir.Expr | None,
        outer: Literal["count", "sum", "avg", "min", "max"] | None,
    ) -> ir.Expr: ...

    @abstractmethod
    def rows_filter(
        self, table: TableInfo, window: nodes.Window | None, where: nodes.Expr | None, span: Span
    ) -> ir.Expr | None: ...

    # -------------------------------------------------------------- defined in rankings.py
    @abstractmethod
    def population_aggregate(self, node: nodes.Aggregate) -> ir.Expr: ...

    @abstractmethod
    def rank(self, node: nodes.Rank, scope: Scope) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in conditionals.py
    @abstractmethod
    def if_then_else(self, node: nodes.IfThenElse, scope: Scope) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in sequences.py
    @abstractmethod
    def sequence(self, node: nodes.Sequence) -> ir.Expr: ...

    # -------------------------------------------------------------- defined in labels.py
    @abstractmethod
    def classifier(self, decl: nodes.ClassifierDecl) -> ir.Expr: ...

    @abstractmethod
    def split(self, decl: nodes.SplitDecl) -> ir.Expr: ...


def and_(left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
    items: list[ir.Expr] = []
    for side in (left, right):
        items.extend(side.items if isinstance(side, ir.And) else (side,))
    return ir.And(tuple(items), span=span)


def or_(left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
    items: list[ir.Expr] = []
    for side in (left, right):
        items.extend(side.items if isinstance(side, ir.Or) else (side,))
    return ir.Or(tuple(items), span=span)


def span_of(expr: ir.Expr) -> Span:
    return expr.span
