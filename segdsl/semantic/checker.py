"""AST expressions → typed IR: name resolution, type checking and lowering.

Every problem becomes a diagnostic and an `ir.Invalid` placeholder, so one run
reports all errors. Definitions are checked on demand and memoised; a definition
that is reached again while being checked is a cycle.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, assert_never, cast
from zoneinfo import ZoneInfo

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.semantic import time_range, windows
from segdsl.semantic.declarations import Declarations, TableInfo
from segdsl.source import NO_SPAN, Span
from segdsl.syntax import nodes

DATE_PARTS: dict[str, ir.DatePartName] = {
    "year": "year",
    "quarter": "quarter",
    "month": "month",
    "day": "day",
    "weekday": "weekday",
    "hour": "hour",
    "day_of_year": "day_of_year",
}
TRUNCATIONS: dict[str, ir.CalendarUnit] = {
    "date": "day",
    "week_start": "week",
    "month_start": "month",
    "quarter_start": "quarter",
    "year_start": "year",
}
STRING_FUNCTIONS = {"lower", "upper", "length"}
NUMBER_FUNCTIONS = {"abs", "round", "floor", "ceil"}
FUNCTIONS = sorted(
    {*DATE_PARTS, *TRUNCATIONS, *STRING_FUNCTIONS, *NUMBER_FUNCTIONS, "age", "coalesce"}
)
POPULATION_ONLY = {"ntile", "percentile", "cumulative share"}


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


class Checker:
    """Checks definitions against the declarations; collects diagnostics."""

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

    # -------------------------------------------------------------- definitions
    def definition(self, name: str) -> CheckedDefinition | None:
        """The checked definition called `name`, or None if it has errors."""
        if name in self.checked:
            return self.checked[name]
        decl = self.decls.definitions[name]
        if len(self.in_progress) >= MAX_CHAIN:  # a long cycle: checked in order, chains are short
            self.error(
                "SEG006",
                f"`{name}` is reached through more than {MAX_CHAIN} definitions using each other",
                decl.name.span,
                "definitions that refer to each other in a loop cannot be computed",
            )
            self.checked[name] = None
            return None
        self.in_progress.append(name)
        try:
            result = self._check_definition(decl)
        finally:
            self.in_progress.pop()
        self.checked[name] = result
        return result

    def _check_definition(
        self,
        decl: nodes.MeasureDecl | nodes.SegmentDecl | nodes.ClassifierDecl | nodes.SplitDecl,
    ) -> CheckedDefinition | None:
        errors_before = len(self.diagnostics)
        name = decl.name.text
        match decl:
            case nodes.MeasureDecl():
                body = self.expr(decl.body, ENTITY)
                result = CheckedDefinition(
                    "measure",
                    name,
                    ir.Named("measure", name, body, span=decl.name.span),
                    decl.span,
                    decl.description,
                )
            case nodes.SegmentDecl():
                body = self.condition(decl.condition, ENTITY)
                result = CheckedDefinition(
                    "segment",
                    name,
                    ir.Named("segment", name, body, span=decl.name.span),
                    decl.span,
                    decl.meta.description,
                    decl.meta.owner,
                    decl.meta.tags,
                )
            case nodes.ClassifierDecl():
                result = CheckedDefinition(
                    "classifier",
                    name,
                    ir.Named("classifier", name, self.classifier(decl), span=decl.name.span),
                    decl.span,
                    decl.meta.description,
                    decl.meta.owner,
                    decl.meta.tags,
                )
            case nodes.SplitDecl():
                result = CheckedDefinition(
                    "split",
                    name,
                    ir.Named("split", name, self.split(decl), span=decl.name.span),
                    decl.span,
                    decl.meta.description,
                    decl.meta.owner,
                    decl.meta.tags,
                )
            case _:
                assert_never(decl)
        return result if len(self.diagnostics) == errors_before else None

    def reference(self, name: str, span: Span) -> ir.Expr:
        """A use of a definition inside another one."""
        if name in self.in_progress:
            cycle = [*self.in_progress[self.in_progress.index(name) :], name]
            return self.error(
                "SEG103",
                "definitions refer to each other in a loop: "
                + " → ".join(f"`{step}`" for step in cycle),
                span,
                "a segment or measure cannot depend on itself",
            )
        checked = self.definition(name)
        if checked is None:
            decl = self.decls.definitions[name]
            return ir.Invalid(self._declared_type(decl), span=span)
        return ir.Named(checked.expr.kind, name, checked.expr.expr, span=span)

    def _declared_type(
        self, decl: nodes.MeasureDecl | nodes.SegmentDecl | nodes.ClassifierDecl | nodes.SplitDecl
    ) -> t.Type:
        if isinstance(decl, nodes.SegmentDecl):
            return t.BOOLEAN
        return t.ERROR

    def classifier(self, decl: nodes.ClassifierDecl) -> ir.Expr:
        labels = tuple(dict.fromkeys([r.label.text for r in decl.rules] + [decl.else_label.text]))
        label_type = t.Type(t.Kind.LABEL, labels)
        whens = tuple(
            (self.condition(rule.condition, ENTITY), ir.Const(rule.label.text, label_type))
            for rule in decl.rules
        )
        default = ir.Const(decl.else_label.text, label_type, span=decl.else_label.span)
        return ir.Case(whens, default, label_type, span=decl.name.span)

    def split(self, decl: nodes.SplitDecl) -> ir.Expr:
        population: ir.Expr | None = None
        if decl.of is not None:
            population = self.condition(nodes.Name((decl.of,), span=decl.of.span), ENTITY)
        labels: list[str] = []
        bounds: list[int] = []
        total = Decimal(0)
        for bucket in decl.buckets:
            if bucket.label.text in labels:
                self.error(
                    "SEG208", f"the bucket `{bucket.label.text}` appears twice", bucket.label.span
                )
            basis = bucket.percent * 100
            if bucket.percent <= 0 or basis != basis.to_integral_value():
                self.error(
                    "SEG208",
                    "bucket sizes must be positive with at most two decimals, "
                    f"not {bucket.percent}%",
                    bucket.span,
                )
            total += bucket.percent
            labels.append(bucket.label.text)
            bounds.append(int(total * 100))
        if total != 100:
            self.error(
                "SEG208",
                f"the buckets of `{decl.name.text}` add up to {total}%, not 100%",
                decl.name.span,
                "adjust the percentages so that every member lands in exactly one bucket",
            )
        label_type = t.Type(t.Kind.LABEL, tuple(labels))
        spec = ir.SplitSpec(
            decl.name.text, decl.seed or decl.name.text, population, tuple(labels), tuple(bounds)
        )
        return ir.SplitRef(spec, label_type, span=decl.name.span)

    # -------------------------------------------------------------- expressions
    def condition(self, node: nodes.Expr, scope: Scope) -> ir.Expr:
        """An expression that must be true/false."""
        expr = self.expr(node, scope)
        if expr.type.is_error or expr.type.kind is t.Kind.BOOLEAN:
            return expr
        return self.error(
            "SEG203",
            f"expected a condition, found a value of type {expr.type}",
            node.span,
            _condition_help(expr.type),
            t.BOOLEAN,
        )

    def expr(self, node: nodes.Expr, scope: Scope) -> ir.Expr:
        match node:
            case (
                nodes.NumberLit()
                | nodes.PercentLit()
                | nodes.StringLit()
                | nodes.BoolLit()
                | nodes.DateLit()
                | nodes.TimestampLit()
                | nodes.DurationLit()
            ):
                return self.in_range(self.literal(node))
            case nodes.Name():
                return self.name(node, scope)
            case nodes.Call():
                return self.call(node, scope)
            case nodes.Negate():
                operand = self.expr(node.operand, scope)
                if not (operand.type.is_numeric or operand.type.is_error):
                    return self.error(
                        "SEG202", f"cannot negate a value of type {operand.type}", node.span
                    )
                return ir.Negate(operand, operand.type, span=node.span)
            case nodes.Arith():
                return self.arith(node, scope)
            case nodes.Compare():
                left = self.expr(node.left, scope)
                right = self.expr(node.right, scope)
                return self.compare(node.op, left, right, node.span)
            case nodes.Between():
                operand = self.expr(node.operand, scope)
                low = self.expr(node.low, scope)
                high = self.expr(node.high, scope)
                if node.negated:
                    return _or(
                        self.compare("<", operand, low, node.span),
                        self.compare(">", operand, high, node.span),
                        node.span,
                    )
                return _and(
                    self.compare(">=", operand, low, node.span),
                    self.compare("<=", operand, high, node.span),
                    node.span,
                )
            case nodes.InList():
                return self.in_list(node, scope)
            case nodes.InWindow():
                return self.in_window(node, scope)
            case nodes.Rank():
                return self.rank(node, scope)
            case nodes.Presence():
                operand = self.expr(node.operand, scope)
                return ir.IsPresent(operand, node.present, span=node.span)
            case nodes.TextMatch():
                operand = self.expr(node.operand, scope)
                pattern = self.expr(node.pattern, scope)
                for side, part in ((operand, node.operand), (pattern, node.pattern)):
                    if side.type.kind not in (t.Kind.STRING, t.Kind.ERROR, t.Kind.LABEL):
                        self.error(
                            "SEG202",
                            f"`{node.op.replace('_', ' ')}` works on text, not on {side.type}",
                            part.span,
                        )
                return ir.TextMatch(node.op, operand, pattern, span=node.span)
            case nodes.And():
                parts = [self.condition(part, scope) for part in _chain(node, nodes.And)]
                return ir.And(_flat(parts, ir.And), span=node.span)
            case nodes.Or():
                parts = [self.condition(part, scope) for part in _chain(node, nodes.Or)]
                return ir.Or(_flat(parts, ir.Or), span=node.span)
            case nodes.Not():
                return ir.Not(self.condition(node.operand, scope), span=node.span)
            case nodes.TimeSince():
                operand = self.time_value(node.operand, scope, "time since")
                now = ir.TimePoint(windows.NOW, t.TIMESTAMP, span=node.span)
                return ir.Elapsed(operand, now, span=node.span)
            case nodes.TimeBetween():
                start = self.time_value(node.start, scope, "time between")
                end = self.time_value(node.end, scope, "time between")
                return ir.Elapsed(start, end, span=node.span)
            case nodes.Aggregate() | nodes.NestedAggregate():
                if isinstance(scope, RowScope):
                    return self.error(
                        "SEG114",
                        "an aggregate cannot be used inside a table's filter",
                        node.span,
                        "define it as a measure and combine the measures in a segment",
                    )
                return self.aggregate(node)
            case nodes.Sequence():
                if isinstance(scope, RowScope):
                    return self.error(
                        "SEG114", "a sequence cannot be used inside a table's filter", node.span
                    )
                return self.sequence(node)
            case _:
                assert_never(node)

    def literal(self, node: nodes.Literal_) -> ir.Const:
        """A literal's value and type (dates and durations not yet checked for range)."""
        match node:
            case nodes.NumberLit():
                integral = node.value == node.value.to_integral_value()
                return ir.Const(node.value, t.INTEGER if integral else t.DECIMAL, span=node.span)
            case nodes.PercentLit():
                return ir.Const(node.value / 100, t.DECIMAL, span=node.span)
            case nodes.StringLit():
                return ir.Const(node.value, t.STRING, span=node.span)
            case nodes.BoolLit():
                return ir.Const(node.value, t.BOOLEAN, span=node.span)
            case nodes.DateLit():
                return ir.Const(node.value, t.DATE, span=node.span)
            case nodes.TimestampLit():
                return ir.Const(self.wall_clock(node.value), t.TIMESTAMP, span=node.span)
            case nodes.DurationLit():
                duration = ir.DurationValue(node.amount, node.unit)
                return ir.Const(duration, t.DURATION, span=node.span)
            case _:
                assert_never(node)

    def in_range(self, const: ir.Const) -> ir.Expr:
        """The literal, or an error if it is a time or duration out of range."""
        problem = time_range.value_problem(const.value)
        if problem is None:
            return const
        return self.error("SEG211", problem, const.span, time_range.HELP)

    def wall_clock(self, value: dt.datetime) -> dt.datetime:
        """A timestamp literal as wall-clock time in the project's time zone."""
        if value.tzinfo is None:
            return value
        return value.astimezone(self.time_zone).replace(tzinfo=None)

    # -------------------------------------------------------------- names
    def name(self, node: nodes.Name, scope: Scope) -> ir.Expr:
        if isinstance(scope, RowScope):
            return self.row_name(node, scope.table)
        text = node.dotted
        first = node.parts[0].text
        if len(node.parts) == 2 and self.decls.entity and first == self.decls.entity.name:
            text = node.parts[1].text
        elif len(node.parts) > 1:
            return self.error(
                "SEG101",
                f"unknown name `{text}`",
                node.span,
                "dotted names are for table columns inside an aggregate's `where`",
            )
        if text in self.params:
            const = self.params[text]
            return ir.Const(const.value, const.type, span=node.span)
        if text in self.decls.param_types:
            return ir.Invalid(self.decls.param_types[text], span=node.span)  # reported by params
        if text in self.decls.attributes:
            if not self.require_entity(node.span):
                return ir.Invalid(t.ERROR, span=node.span)
            return ir.EntityColumn(self.decls.attributes[text], text, span=node.span)
        if text in self.decls.definitions:
            return self.reference(text, node.span)
        entity = self.decls.entity
        if entity is not None and text == entity.key.name:
            return ir.EntityColumn(entity.key, text, span=node.span)
        if text in self.decls.tables:
            return self.error(
                "SEG113",
                f"`{text}` is a table, not a value",
                node.span,
                f"aggregate its rows, e.g. `count {text}` or `exists {text}`",
            )
        candidates = [*self.decls.attributes, *self.decls.definitions, *self.decls.param_types]
        return self.error(
            "SEG101", f"unknown name `{text}`", node.span, did_you_mean(text, candidates)
        )

    def row_name(self, node: nodes.Name, table: TableInfo) -> ir.Expr:
        if len(node.parts) == 1 and node.parts[0].text in self.params:
            const = self.params[node.parts[0].text]
            return ir.Const(const.value, const.type, span=node.span)
        if len(node.parts) == 1 and node.parts[0].text in self.decls.param_types:
            return ir.Invalid(self.decls.param_types[node.parts[0].text], span=node.span)
        key = (
            ("", node.parts[0].text)
            if len(node.parts) == 1
            else (node.parts[0].text, node.parts[1].text)
        )
        found = table.columns.get(key) if len(node.parts) <= 2 else None
        if found is not None:
            hop, column = found
            return ir.RowColumn(hop, column, span=node.span)
        text = node.dotted
        if len(node.parts) == 1 and (
            text in self.decls.attributes or text in self.decls.definitions
        ):
            return self.error(
                "SEG113",
                f"`{text}` is not a column of `{table.name}`",
                node.span,
                f"a filter on `{table.name}` can use its columns and parameters only; "
                "combine measures in a segment instead",
            )
        candidates = [name if not q else f"{q}.{name}" for q, name in table.columns]
        return self.error(
            "SEG105",
            f"`{table.name}` has no column `{text}`",
            node.span,
            did_you_mean(text, candidates)
            or f"its columns: {', '.join(sorted(n for q, n in table.columns if not q))}",
        )

    # -------------------------------------------------------------- calls
    def call(self, node: nodes.Call, scope: Scope) -> ir.Expr:
        name = node.function.text
        args = [self.expr(arg, scope) for arg in node.args]
        if name not in FUNCTIONS:
            return self.error(
                "SEG111",
                f"unknown function `{name}`",
                node.function.span,
                did_you_mean(name, FUNCTIONS),
            )
        expected = 2 if name == "coalesce" else 1
        if len(args) != expected:
            return self.error(
                "SEG204",
                f"`{name}` takes {expected} argument{'s' if expected > 1 else ''}, not {len(args)}",
                node.span,
            )
        arg = args[0]
        if name in DATE_PARTS or name in TRUNCATIONS or name == "age":
            if not (arg.type.is_time or arg.type.is_error):
                return self.error(
                    "SEG202",
                    f"`{name}` needs a date or timestamp, not {arg.type}",
                    node.args[0].span,
                )
            if name == "age":
                return ir.Age(arg, t.INTEGER, span=node.span)
            if name in DATE_PARTS:
                part = DATE_PARTS[name]
                if part == "hour" and arg.type.kind is t.Kind.DATE:
                    return self.error("SEG202", "a date has no hour", node.args[0].span)
                return ir.DatePart(part, arg, t.INTEGER, span=node.span)
            return ir.TruncateTime(TRUNCATIONS[name], arg, t.DATE, span=node.span)
        if name in STRING_FUNCTIONS:
            if arg.type.kind not in (t.Kind.STRING, t.Kind.ERROR):
                return self.error(
                    "SEG202", f"`{name}` needs text, not {arg.type}", node.args[0].span
                )
            result = t.INTEGER if name == "length" else t.STRING
            return ir.Function(cast(ir.FunctionName, name), (arg,), result, span=node.span)
        if name in NUMBER_FUNCTIONS:
            if not (arg.type.is_numeric or arg.type.is_error):
                return self.error(
                    "SEG202", f"`{name}` needs a number, not {arg.type}", node.args[0].span
                )
            result = arg.type if name == "abs" else t.INTEGER
            return ir.Function(cast(ir.FunctionName, name), (arg,), result, span=node.span)
        # coalesce
        left, right = args
        if not t.comparable(left.type, right.type) or left.type.kind is t.Kind.DURATION:
            return self.error(
                "SEG201",
                f"`coalesce` needs two values of one type, not {left.type} and {right.type}",
                node.span,
            )
        left, right = self.widen(left, right)
        result_type = right.type if left.type.is_error else left.type
        if left.type.is_numeric and right.type.is_numeric:
            result_type = t.numeric_result(left.type, right.type, "+")
        return ir.Function("coalesce", (left, right), result_type, span=node.span)

    # -------------------------------------------------------------- operators
    def arith(self, node: nodes.Arith, scope: Scope) -> ir.Expr:
        """A chain `a + b - c …` (or `*`, `/`), checked term by term without recursing.

        A long chain of numbers becomes a balanced tree, so the stages after this
        one recurse only as deep as its logarithm.
        """
        spine: list[nodes.Arith] = []  # the chain's nodes, innermost first
        current: nodes.Expr = node
        while isinstance(current, nodes.Arith) and _precedence(current.op) == _precedence(node.op):
            spine.append(current)
            current = current.left
        spine.reverse()
        result = self.expr(current, scope)
        terms = [result, *(self.expr(link.right, scope) for link in spine)]
        ops = [link.op for link in spine]
        if len(spine) > 2 and all(term.type.is_numeric for term in terms):
            return _regrouped(terms, ops, node.span)
        for link, right in zip(spine, terms[1:], strict=True):
            result = self.arith_pair(link, result, right)
        return result

    def arith_pair(self, node: nodes.Arith, left: ir.Expr, right: ir.Expr) -> ir.Expr:
        if left.type.is_error or right.type.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        if left.type.is_numeric and right.type.is_numeric:
            return ir.Arith(
                node.op,
                left,
                right,
                t.numeric_result(left.type, right.type, node.op),
                span=node.span,
            )
        if left.type.is_time and right.type.kind is t.Kind.DURATION and node.op in "+-":
            if not isinstance(right, ir.Const) or not isinstance(right.value, ir.DurationValue):
                return self.error(
                    "SEG202",
                    "only a fixed duration such as `30d` can be added to a time",
                    node.right.span,
                )
            duration = right.value
            if node.op == "-":
                duration = ir.DurationValue(-duration.amount, duration.unit)
            return ir.AddDuration(self.as_timestamp(left), duration, t.TIMESTAMP, span=node.span)
        if left.type.is_time and right.type.is_time and node.op == "-":
            return ir.Elapsed(self.as_timestamp(right), self.as_timestamp(left), span=node.span)
        return self.error(
            "SEG202",
            f"cannot compute {left.type} {node.op} {right.type}",
            node.span,
            "arithmetic works on numbers; `time since X` and `time between X and Y` give durations",
        )

    def as_timestamp(self, expr: ir.Expr) -> ir.Expr:
        if expr.type.kind is t.Kind.DATE:
            return ir.ToTimestamp(expr, t.TIMESTAMP, span=_span_of(expr))
        return expr

    def widen(self, left: ir.Expr, right: ir.Expr) -> tuple[ir.Expr, ir.Expr]:
        """Make a date comparable with a timestamp (a date stands for its midnight)."""
        if left.type.kind is t.Kind.DATE and right.type.kind is t.Kind.TIMESTAMP:
            return self.as_timestamp(left), right
        if left.type.kind is t.Kind.TIMESTAMP and right.type.kind is t.Kind.DATE:
            return left, self.as_timestamp(right)
        return left, right

    def compare(self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
        if left.type.is_error or right.type.is_error:
            return ir.Invalid(t.BOOLEAN, span=span)
        if left.type.kind is t.Kind.DURATION or right.type.kind is t.Kind.DURATION:
            return self.compare_durations(op, left, right, span)
        if not t.comparable(left.type, right.type):
            help_ = None
            if left.type.is_time or right.type.is_time:
                help_ = "write a date as 2025-03-01 or a timestamp as 2025-03-01T09:30:00"
            return self.error(
                "SEG201",
                f"cannot compare {left.type} with {right.type}",
                span,
                help_,
                t.BOOLEAN,
            )
        if t.Kind.BOOLEAN in (left.type.kind, right.type.kind) and op not in ("=", "!="):
            return self.error(
                "SEG202", f"true/false values cannot be compared with `{op}`", span, type_=t.BOOLEAN
            )
        self.check_labels(left, right)
        self.check_labels(right, left)
        lowered = self.age_limit(op, left, right, span)
        if lowered is not None:
            return lowered
        left, right = self.widen(left, right)
        return ir.Compare(op, left, right, span=span)

    def age_limit(
        self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span
    ) -> ir.Expr | None:
        """`age(birth_date) >= 35` as `birth_date <= (as-of date − 35 years)`.

        No per-row arithmetic.
        """
        if isinstance(right, ir.Age) and isinstance(left, ir.Const):
            left, right, op = right, left, ir.FLIPPED[op]
        if not (isinstance(left, ir.Age) and isinstance(right, ir.Const)):
            return None
        birth = left.operand
        years = right.value
        if birth.type.kind is not t.Kind.DATE or not isinstance(years, Decimal):
            return None
        if years != years.to_integral_value() or abs(years) > time_range.MAX_YEARS:
            return None
        n = int(years)

        def at_least(k: int) -> ir.Expr:  # age >= k  ⇔  born on or before the cutoff
            bounds = ir.Bounds(None, False, ir.YearsBeforeAsOfDate(k), True)
            return ir.InWindow(birth, bounds, span=span)

        def below(k: int) -> ir.Expr:  # age < k
            bounds = ir.Bounds(ir.YearsBeforeAsOfDate(k), False, None, False)
            return ir.InWindow(birth, bounds, span=span)

        match op:
            case ">=":
                return at_least(n)
            case ">":
                return at_least(n + 1)
            case "<":
                return below(n)
            case "<=":
                return below(n + 1)
            case "=":
                bounds = ir.Bounds(
                    ir.YearsBeforeAsOfDate(n + 1), False, ir.YearsBeforeAsOfDate(n), True
                )
                return ir.InWindow(birth, bounds, span=span)
            case "!=":
                return ir.Or((below(n), at_least(n + 1)), span=span)
        return None

    def check_labels(self, labelled: ir.Expr, other: ir.Expr) -> None:
        if labelled.type.kind is not t.Kind.LABEL:
            return
        if isinstance(other, ir.Const) and isinstance(other.value, str):
            if other.value not in labelled.type.labels:
                self.error(
                    "SEG109",
                    f"`{other.value}` is not one of the labels "
                    + ", ".join(f"`{x}`" for x in labelled.type.labels),
                    other.span,
                    did_you_mean(other.value, labelled.type.labels),
                )
        elif other.type.kind is t.Kind.LABEL and set(other.type.labels) != set(
            labelled.type.labels
        ):
            self.error(
                "SEG201", "these values come from classifiers with different labels", other.span
            )

    def compare_durations(
        self, op: nodes.CompareOp, left: ir.Expr, right: ir.Expr, span: Span
    ) -> ir.Expr:
        for side, _other in ((left, right), (right, left)):
            if side.type.kind is not t.Kind.DURATION:
                help_ = None
                if isinstance(side, ir.Const) and side.type.is_numeric:
                    help_ = f"write a duration with its unit, e.g. `{side.value}d` for days"
                return self.error(
                    "SEG201",
                    f"cannot compare a duration with {side.type}",
                    _span_of(side) if _span_of(side) is not NO_SPAN else span,
                    help_,
                    t.BOOLEAN,
                )
        # Put the constant on the right: `30d > recency` is `recency < 30d`.
        if _duration_const(left) is not None and _duration_const(right) is None:
            left, right, op = right, left, ir.FLIPPED[op]
        constant = _duration_const(right)
        elapsed = ir.unwrap(left)
        if constant is not None and isinstance(elapsed, ir.Elapsed):
            if _is_now(elapsed.end):
                # now - start < D  ⇔  start > now - D
                point = ir.TimePoint(windows.ago(constant), t.TIMESTAMP, span=_span_of(right))
                return ir.Compare(ir.FLIPPED[op], elapsed.start, point, span=span)
            # end - start < D  ⇔  end < start + D
            shifted = ir.AddDuration(elapsed.start, constant, t.TIMESTAMP, span=_span_of(right))
            return ir.Compare(op, elapsed.end, shifted, span=span)
        for side in (left, right):
            value = _duration_const(side)
            if value is not None and value.is_calendar:
                return self.error(
                    "SEG207",
                    f"`{value}` has no fixed length, so it cannot be compared with this duration",
                    _span_of(side),
                    "use days or weeks, e.g. `180d`",
                    t.BOOLEAN,
                )
        return ir.Compare(op, left, right, span=span)

    def in_list(self, node: nodes.InList, scope: Scope) -> ir.Expr:
        operand = self.expr(node.operand, scope)
        items: list[ir.Const] = []
        for item_node in node.items:
            item = self.expr(item_node, scope)
            if not isinstance(item, ir.Const):
                if not item.type.is_error:
                    self.error("SEG202", "list items must be literal values", item_node.span)
                continue
            if not t.comparable(operand.type, item.type) or item.type.kind is t.Kind.DURATION:
                self.error(
                    "SEG201", f"cannot compare {operand.type} with {item.type}", item_node.span
                )
                continue
            if operand.type.kind is t.Kind.LABEL:
                self.check_labels(operand, item)
            if operand.type.kind is t.Kind.TIMESTAMP and item.type.kind is t.Kind.DATE:
                assert isinstance(item.value, dt.date)
                item = ir.Const(
                    dt.datetime.combine(item.value, dt.time()), t.TIMESTAMP, span=item.span
                )
            items.append(item)
        if not node.items:
            return self.error(
                "SEG210",
                "an empty list: `in []` never holds",
                node.span,
                "list at least one value, or leave the condition out",
                t.BOOLEAN,
            )
        if not items:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if operand.type.kind is t.Kind.DATE and any(i.type.kind is t.Kind.TIMESTAMP for i in items):
            operand = self.as_timestamp(operand)
        result: ir.Expr = ir.InList(operand, tuple(items), span=node.span)
        if node.negated:
            result = _and(
                ir.IsPresent(operand, True, span=node.span),
                ir.Not(result, span=node.span),
                node.span,
            )
        return result

    def in_window(self, node: nodes.InWindow, scope: Scope) -> ir.Expr:
        operand = self.expr(node.operand, scope)
        bounds = self.window(node.window)
        if not (operand.type.is_time or operand.type.is_error):
            return self.error(
                "SEG206",
                f"a window applies to a date or timestamp, not {operand.type}",
                node.operand.span,
                "e.g. `last orders in last 30d`",
                t.BOOLEAN,
            )
        if bounds is None:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        inside = ir.InWindow(operand, bounds, span=node.span)
        if node.negated:
            return _and(
                ir.IsPresent(operand, True, span=node.span),
                ir.Not(inside, span=node.span),
                node.span,
            )
        return inside

    def time_value(self, node: nodes.Expr, scope: Scope, what: str) -> ir.Expr:
        expr = self.expr(node, scope)
        if expr.type.is_error:
            return expr
        if not expr.type.is_time:
            return self.error(
                "SEG202", f"`{what}` needs a date or timestamp, not {expr.type}", node.span
            )
        return self.as_timestamp(expr)

    # -------------------------------------------------------------- windows
    def duration(self, node: nodes.Duration) -> ir.DurationValue | None:
        if isinstance(node, nodes.DurationLit):
            duration = ir.DurationValue(node.amount, node.unit)
            problem = time_range.duration_problem(duration)
            if problem is not None:
                self.error("SEG211", problem, node.span, time_range.HELP)
                return None
            return duration
        const = self.params.get(node.text)
        if const is not None and isinstance(const.value, ir.DurationValue):
            return const.value
        if node.text in self.decls.param_types:
            if self.decls.param_types[node.text].kind is not t.Kind.DURATION:
                self.error("SEG202", f"the parameter `{node.text}` is not a duration", node.span)
            return None
        self.error(
            "SEG101",
            f"unknown duration `{node.text}`",
            node.span,
            "write e.g. `30d` or name a duration parameter",
        )
        return None

    def unit(self, node: nodes.Ident) -> ir.CalendarUnit | None:
        unit = windows.CALENDAR_UNITS.get(node.text)
        if unit is None:
            self.error(
                "SEG110",
                f"unknown calendar unit `{node.text}`",
                node.span,
                did_you_mean(node.text, windows.CALENDAR_UNITS)
                or "use day, week, month, quarter or year",
            )
        return unit

    def point(self, node: nodes.Point) -> windows.PointSpan | None:
        match node:
            case nodes.DatePoint():
                if self.in_range(ir.Const(node.value, t.DATE, span=node.span)).type.is_error:
                    return None
                return windows.date_point(node.value)
            case nodes.TimestampPoint():
                wall = self.wall_clock(node.value)
                if self.in_range(ir.Const(wall, t.TIMESTAMP, span=node.span)).type.is_error:
                    return None
                return windows.instant_point(ir.FixedTime(wall))
            case nodes.AgoPoint():
                duration = self.duration(node.duration)
                return windows.instant_point(windows.ago(duration)) if duration else None
            case nodes.PeriodPoint():
                unit = self.unit(node.unit)
                return windows.period_point(node.which, unit) if unit else None
            case nodes.NamePoint():
                const = self.params.get(node.name.text)
                if const is not None and isinstance(const.value, dt.datetime):
                    return windows.instant_point(ir.FixedTime(const.value))
                if const is not None and isinstance(const.value, dt.date):
                    return windows.date_point(const.value)
                if node.name.text in self.decls.param_types:
                    if not self.decls.param_types[node.name.text].is_time:
                        self.error(
                            "SEG202",
                            f"the parameter `{node.name.text}` is not a date or timestamp",
                            node.span,
                        )
                    return None
                self.error(
                    "SEG101",
                    f"unknown name `{node.name.text}`",
                    node.span,
                    "a window point is a date, a timestamp, `30d ago`, `this month` "
                    "or a date parameter",
                )
                return None
            case _:
                assert_never(node)

    def window(self, node: nodes.Window) -> ir.Bounds | None:
        match node:
            case nodes.LastWindow():
                duration = self.duration(node.duration)
                return windows.last(duration) if duration else None
            case nodes.LastCalendarWindow():
                unit = self.unit(node.unit)
                if node.count < 1:
                    self.error(
                        "SEG209", "the number of calendar periods must be at least 1", node.span
                    )
                    return None
                if unit is None:
                    return None
                problem = time_range.periods_problem(node.count, unit)
                if problem is not None:
                    self.error("SEG211", problem, node.span, time_range.HELP)
                    return None
                return windows.last_calendar(node.count, unit)
            case nodes.PeriodWindow():
                unit = self.unit(node.unit)
                if unit is None:
                    return None
                return (
                    windows.this_period(unit)
                    if node.which == "this"
                    else windows.previous_period(unit)
                )
            case nodes.BetweenAgoWindow():
                older = self.duration(node.start)
                newer = self.duration(node.end)
                if older is None or newer is None:
                    return None
                if _rough_seconds(older) <= _rough_seconds(newer):
                    self.error(
                        "SEG209",
                        "write the longer duration first: `between 60d ago and 45d ago`",
                        node.span,
                    )
                    return None
                return windows.between_ago(older, newer)
            case nodes.MoreThanAgoWindow():
                duration = self.duration(node.duration)
                return windows.more_than_ago(duration) if duration else None
            case nodes.BoundWindow():
                point = self.point(node.point)
                return windows.bound(node.kind, point) if point else None
            case nodes.FromToWindow():
                first = self.point(node.start)
                second = self.point(node.end)
                return windows.from_to(first, second) if first and second else None
            case _:
                assert_never(node)

    # -------------------------------------------------------------- aggregates
    def aggregate(self, node: nodes.Aggregate | nodes.NestedAggregate) -> ir.Expr:
        if not self.require_entity(node.span):
            return ir.Invalid(t.ERROR, span=node.span)
        if isinstance(node, nodes.NestedAggregate):
            return self.nested_aggregate(node)
        target = node.target.text
        if target in self.decls.tables:
            return self.table_aggregate(node, self.decls.tables[target])
        if target in self.decls.definitions or target in self.decls.attributes:
            return self.population_aggregate(node)
        candidates = [*self.decls.tables, *self.decls.definitions, *self.decls.attributes]
        return self.error(
            "SEG104",
            f"unknown table or measure `{target}`",
            node.target.span,
            did_you_mean(target, candidates),
        )

    def table_filter(self, table: TableInfo) -> ir.Expr | None:
        """The filter that a derived table adds to its base (including the base's own)."""
        if table.name in self.table_filters:
            return self.table_filters[table.name]
        self.table_filters[table.name] = None  # cycles were reported by the collector
        parts: list[ir.Expr] = []
        if table.base is not None:
            base_filter = self.table_filter(self.decls.tables[table.base])
            if base_filter is not None:
                parts.append(base_filter)
        if table.where is not None:
            parts.append(self.condition(table.where, RowScope(table)))
        result = None if not parts else parts[0] if len(parts) == 1 else ir.And(tuple(parts))
        self.table_filters[table.name] = result
        return result

    def rows_filter(
        self, table: TableInfo, window: nodes.Window | None, where: nodes.Expr | None, span: Span
    ) -> ir.Expr | None:
        parts: list[ir.Expr] = []
        derived = self.table_filter(table)
        if derived is not None:
            parts.append(derived)
        if window is not None:
            time = table.source.time
            bounds = self.window(window)
            if time is None:
                self.error(
                    "SEG108",
                    f"`{table.name}` has no time column, so it cannot be limited to a window",
                    span,
                    "declare it inside the table, e.g. `time ordered_at`",
                )
            elif bounds is not None:
                parts.append(ir.InWindow(time, bounds, span=span))
        if where is not None:
            parts.append(self.condition(where, RowScope(table)))
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else ir.And(tuple(parts), span=span)

    def table_aggregate(self, node: nodes.Aggregate, table: TableInfo) -> ir.Expr:
        func = node.func
        if func in POPULATION_ONLY:
            return self.error(
                "SEG205",
                f"`{func}` ranks values over the population, not rows of `{table.name}`",
                node.span,
                f"define a measure first, then e.g. `{func}(5) of that_measure`"
                if func == "ntile"
                else f"define a measure first, then e.g. `{func} of that_measure`",
            )
        if node.among is not None:
            self.error(
                "SEG114",
                "`among` limits a population ranking; filter rows with `where`",
                node.among.span if hasattr(node.among, "span") else node.span,
            )
        if node.per is not None:
            self.error(
                "SEG114",
                "`per` needs an outer aggregate saying how to combine the groups",
                node.per.span,
                f"e.g. `max {func} {table.name} per …` for the largest group",
            )
        return self.row_aggregate(node, table, group=None, outer=None)

    def row_aggregate(
        self,
        node: nodes.Aggregate,
        table: TableInfo,
        group: ir.Expr | None,
        outer: Literal["count", "sum", "avg", "min", "max"] | None,
    ) -> ir.Expr:
        func = node.func
        scope = RowScope(table)
        args = [self.expr(arg, scope) for arg in node.args] if node.args is not None else None
        row_filter = self.rows_filter(table, node.window, node.where, node.span)
        source = table.source
        span = node.span

        def make(
            ir_func: ir.AggregateFunc,
            type_: t.Type,
            value: ir.Expr | None = None,
            n: int | None = None,
        ) -> ir.Expr:
            aggregation = ir.Aggregation(ir_func, source, value, row_filter, n, group, outer)
            return ir.AggregateRef(aggregation, type_, span=span)

        def needs_time() -> ir.RowColumn | None:
            if source.time is None:
                self.error(
                    "SEG108",
                    f"`{func}` needs the time order of `{table.name}`, which has no time column",
                    span,
                    "declare it inside the table, e.g. `time ordered_at`",
                )
            return source.time

        def arg_count(allowed: Sequence[int], usage: str) -> bool:
            count = 0 if args is None else len(args)
            if count not in allowed:
                self.error("SEG204", f"`{func}` takes {usage}", span)
                return False
            return True

        if node.distinct and func != "count":
            self.error("SEG205", "`distinct` only goes with `count`", span)
        if func == "count":
            if node.distinct:
                if not arg_count(
                    [1], f"one value: `count distinct(page_category) of {table.name}`"
                ):
                    return ir.Invalid(t.ERROR, span=span)
                assert args is not None
                return make("count_distinct", t.INTEGER, args[0])
            if args is None or not args:
                return make("count", t.INTEGER)
            if not arg_count([1], "at most one value"):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None
            present = ir.IsPresent(args[0], True)
            row_filter = present if row_filter is None else ir.And((row_filter, present))
            return make("count", t.INTEGER)
        if func == "exists":
            if args:
                self.error(
                    "SEG204", f"`exists` takes no value: `exists {table.name} where …`", span
                )
            return make("exists", t.BOOLEAN)
        if func in ("sum", "avg", "min", "max"):
            if not arg_count([1], f"one value: `{func}(amount) of {table.name}`"):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None
            value = args[0]
            if value.type.is_error:
                return ir.Invalid(t.ERROR, span=span)
            if func in ("sum", "avg") and not value.type.is_numeric:
                return self.error(
                    "SEG202",
                    f"`{func}` needs numbers, not {value.type}",
                    node.args[0].span if node.args else span,
                )
            if value.type.kind in (t.Kind.BOOLEAN, t.Kind.DURATION):
                return self.error("SEG202", f"`{func}` cannot order {value.type} values", span)
            type_ = (
                t.NUMBER
                if func == "avg"
                else (
                    value.type
                    if func != "sum" or value.type.kind is not t.Kind.INTEGER
                    else t.INTEGER
                )
            )
            return make(cast(ir.AggregateFunc, func), type_, value)
        if func in ("first", "last"):
            time = needs_time()
            if time is None:
                return ir.Invalid(t.ERROR, span=span)
            if not args:
                return make("min" if func == "first" else "max", time.type, time)
            if not arg_count([0, 1], f"at most one value: `{func}(channel) of {table.name}`"):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None
            return make("first_value" if func == "first" else "last_value", args[0].type, args[0])
        if func == "nth":
            time = needs_time()
            if not arg_count(
                [1, 2], f"a position and optionally a value: `nth(2) of {table.name}`"
            ):
                return ir.Invalid(t.ERROR, span=span)
            assert args is not None and node.args is not None
            position = args[0]
            n = position.value if isinstance(position, ir.Const) else None
            if not isinstance(n, Decimal) or n != n.to_integral_value() or n < 1:
                return self.error(
                    "SEG209", "the position must be a whole number from 1", node.args[0].span
                )
            if time is None:
                return ir.Invalid(t.ERROR, span=span)
            if len(args) == 1:
                return make("nth_value", time.type, time, int(n))
            return make("nth_value", args[1].type, args[1], int(n))
        return self.error("SEG205", f"`{func}` cannot aggregate rows", span)

    def nested_aggregate(self, node: nodes.NestedAggregate) -> ir.Expr:
        inner = node.inner
        if isinstance(inner, nodes.NestedAggregate) or inner.per is None:
            return self.error(
                "SEG114",
                f"`{node.func}` over an aggregate needs `per` on the inner one",
                node.span,
                "e.g. `max count views per page_category`",
            )
        if node.func not in ("count", "sum", "avg", "min", "max"):
            return self.error("SEG205", f"`{node.func}` cannot combine groups", node.span)
        table = self.decls.tables.get(inner.target.text)
        if table is None:
            return self.error(
                "SEG104",
                f"unknown table `{inner.target.text}`",
                inner.target.span,
                did_you_mean(inner.target.text, self.decls.tables),
            )
        group = self.expr(inner.per, RowScope(table))
        outer = node.func  # narrowed to count, sum, avg, min or max by the test above
        result = self.row_aggregate(inner, table, group, outer)
        if isinstance(result, ir.AggregateRef):
            inner_type = result.type
            if outer in ("sum", "avg") and not inner_type.is_numeric:
                return self.error("SEG202", f"`{outer}` needs numbers, not {inner_type}", node.span)
            type_ = t.INTEGER if outer == "count" else t.NUMBER if outer == "avg" else inner_type
            return ir.AggregateRef(result.aggregation, type_, span=node.span)
        return result

    def population_aggregate(self, node: nodes.Aggregate) -> ir.Expr:
        func = node.func
        value = self.name(nodes.Name((node.target,), span=node.target.span), ENTITY)
        for clause, word in ((node.window, "during"), (node.per, "per"), (node.where, "where")):
            if clause is not None:
                self.error(
                    "SEG114",
                    f"`{word}` applies to rows of a table, but `{node.target.text}` is a measure",
                    node.span,
                    "use `among` to choose the population",
                )
        population = self.condition(node.among, ENTITY) if node.among is not None else None
        if value.type.is_error:
            return ir.Invalid(t.ERROR, span=node.span)
        orderable = (
            value.type.is_numeric or value.type.is_time or value.type.kind is t.Kind.DURATION
        )
        args = node.args or ()
        if func == "ntile":
            if len(args) != 1 or not isinstance(args[0], nodes.NumberLit):
                return self.error(
                    "SEG204", "`ntile` takes the number of groups: `ntile(5) of revenue`", node.span
                )
            buckets = args[0].value
            if buckets != buckets.to_integral_value() or not 2 <= buckets <= 1000:
                return self.error(
                    "SEG209",
                    "the number of groups must be a whole number from 2 to 1000",
                    args[0].span,
                )
            if not orderable:
                return self.error("SEG202", f"cannot rank {value.type} values", node.target.span)
            spec = ir.PopulationSpec("ntile", value, population, buckets=int(buckets))
            return ir.PopulationRef(spec, t.INTEGER, span=node.span)
        if args:
            return self.error("SEG204", f"`{func}` takes no arguments over a measure", node.span)
        if func in ("percentile", "cumulative share"):
            if func == "percentile" and not orderable:
                return self.error("SEG202", f"cannot rank {value.type} values", node.target.span)
            if func == "cumulative share" and not value.type.is_numeric:
                return self.error(
                    "SEG202", f"a share needs numbers, not {value.type}", node.target.span
                )
            ir_func: ir.PopulationFunc = (
                "percentile" if func == "percentile" else "cumulative_share"
            )
            return ir.PopulationRef(
                ir.PopulationSpec(ir_func, value, population), t.NUMBER, span=node.span
            )
        if func in ("sum", "avg", "min", "max", "count"):
            if func in ("sum", "avg") and not value.type.is_numeric:
                return self.error(
                    "SEG202", f"`{func}` needs numbers, not {value.type}", node.target.span
                )
            type_ = {"count": t.INTEGER, "avg": t.NUMBER}.get(func, value.type)
            if func == "sum" and value.type.kind is t.Kind.INTEGER:
                type_ = t.INTEGER
            spec = ir.PopulationSpec(cast(ir.PopulationFunc, func), value, population)
            return ir.PopulationRef(spec, type_, span=node.span)
        return self.error(
            "SEG205",
            f"`{func}` works on rows of a table, but `{node.target.text}` is a measure",
            node.span,
        )

    def rank(self, node: nodes.Rank, scope: Scope) -> ir.Expr:
        if isinstance(scope, RowScope):
            return self.error(
                "SEG114", "rankings cannot be used inside a table's filter", node.span
            )
        value = self.expr(node.operand, scope)
        population = self.condition(node.among, ENTITY) if node.among is not None else None
        size = node.size
        if isinstance(size, nodes.Ident):
            const = self.params.get(size.text)
            if const is None:
                return self.error("SEG101", f"unknown parameter `{size.text}`", size.span)
            number = const.value
            is_fraction = (
                const.type.kind is t.Kind.DECIMAL and isinstance(number, Decimal) and number < 1
            )
        else:
            number = size.value / 100 if isinstance(size, nodes.PercentLit) else size.value
            is_fraction = isinstance(size, nodes.PercentLit)
        if value.type.is_error:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if not (value.type.is_numeric or value.type.is_time or value.type.kind is t.Kind.DURATION):
            return self.error(
                "SEG202", f"cannot rank {value.type} values", node.operand.span, type_=t.BOOLEAN
            )
        if not isinstance(number, Decimal):
            return self.error(
                "SEG209", "the size must be a number or a percentage", node.span, type_=t.BOOLEAN
            )
        if is_fraction:
            if not 0 < number <= 1:
                return self.error(
                    "SEG209",
                    "a top/bottom percentage must be above 0% and at most 100%",
                    node.span,
                    type_=t.BOOLEAN,
                )
            spec = ir.PopulationSpec(node.side, value, population, fraction=number)
        else:
            if number != number.to_integral_value() or number < 1:
                return self.error(
                    "SEG209",
                    "a top/bottom count must be a whole number from 1",
                    node.span,
                    type_=t.BOOLEAN,
                )
            spec = ir.PopulationSpec(node.side, value, population, count=int(number))
        return ir.PopulationRef(spec, t.BOOLEAN, span=node.span)

    def sequence(self, node: nodes.Sequence) -> ir.Expr:
        if not self.require_entity(node.span):
            return ir.Invalid(t.BOOLEAN, span=node.span)
        first = self.event_set(node.first)
        then = self.event_set(node.then)
        within = self.duration(node.within) if node.within is not None else None
        if within is not None and within.amount <= 0:
            self.error("SEG209", "the time limit must be positive", node.span)
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if first is None or then is None:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        spec = ir.SequenceSpec(first, then, node.negated, within)
        return ir.SequenceRef(spec, span=node.span)

    def event_set(self, node: nodes.EventSet) -> ir.EventSetSpec | None:
        table = self.decls.tables.get(node.table.text)
        if table is None:
            self.error(
                "SEG104",
                f"unknown table `{node.table.text}`",
                node.table.span,
                did_you_mean(node.table.text, self.decls.tables),
            )
            return None
        if table.source.time is None:
            self.error(
                "SEG108",
                f"a sequence needs the time of each row, but `{table.name}` has no time column",
                node.table.span,
            )
            return None
        return ir.EventSetSpec(
            table.source, self.rows_filter(table, node.window, node.where, node.span)
        )


# ------------------------------------------------------------------ helpers
MAX_CHAIN = 40  # definitions checked inside one another; each takes a dozen stack frames


def _chain(node: nodes.And | nodes.Or, kind: type[nodes.And | nodes.Or]) -> list[nodes.Expr]:
    """The operands of a chain of `and` (or of `or`), left to right, found without recursing."""
    operands: list[nodes.Expr] = []
    pending: list[nodes.Expr] = [node]
    while pending:
        current = pending.pop()
        if isinstance(current, kind):
            pending += (current.right, current.left)
        else:
            operands.append(current)
    return operands


def _flat(parts: list[ir.Expr], kind: type[ir.And | ir.Or]) -> tuple[ir.Expr, ...]:
    items: list[ir.Expr] = []
    for part in parts:
        items.extend(part.items if isinstance(part, kind) else (part,))
    return tuple(items)


def _precedence(op: str) -> int:
    return 1 if op in "+-" else 2


_FLIPPED_SIGN: dict[nodes.ArithOp, nodes.ArithOp] = {"+": "-", "-": "+", "*": "*"}


def _regrouped(terms: list[ir.Expr], ops: list[nodes.ArithOp], span: Span) -> ir.Expr:
    """`t0 op1 t1 …` (evaluated left to right) with each run of `+`/`-` or of `*`
    balanced: `a * b / c * d * e` = `((a * b) / c) * (d * e)`."""
    divisions = [index for index, op in enumerate(ops) if op == "/"]
    if not divisions:
        return _balanced(terms, ops, span)
    result = _balanced(terms[: divisions[0] + 1], ops[: divisions[0]], span)
    for number, division in enumerate(divisions):
        result = _numeric("/", result, terms[division + 1], span)
        end = divisions[number + 1] if number + 1 < len(divisions) else len(ops)
        run = terms[division + 2 : end + 1]
        if run:
            result = _numeric("*", result, _balanced(run, ops[division + 2 : end], span), span)
    return result


def _balanced(terms: list[ir.Expr], ops: list[nodes.ArithOp], span: Span) -> ir.Expr:
    """`t0 op1 t1 op2 t2 …` (evaluated left to right) as a balanced tree of numbers.

    Split before the middle operator: `a - b + c` = `a - (b - c)`, so the right half's
    signs flip when the split is at a `-`. No divisions here (`a / b * c` is not
    `a / (b * c)`): `_regrouped` keeps them in their place.
    """
    if len(terms) == 1:
        return terms[0]
    middle = len(ops) // 2
    op = ops[middle]
    right_ops = ops[middle + 1 :]
    if op == "-":
        right_ops = [_FLIPPED_SIGN[o] for o in right_ops]
    left = _balanced(terms[: middle + 1], ops[:middle], span)
    right = _balanced(terms[middle + 1 :], right_ops, span)
    return _numeric(op, left, right, span)


def _numeric(op: nodes.ArithOp, left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
    return ir.Arith(op, left, right, t.numeric_result(left.type, right.type, op), span=span)


def _and(left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
    items: list[ir.Expr] = []
    for side in (left, right):
        items.extend(side.items if isinstance(side, ir.And) else (side,))
    return ir.And(tuple(items), span=span)


def _or(left: ir.Expr, right: ir.Expr, span: Span) -> ir.Expr:
    items: list[ir.Expr] = []
    for side in (left, right):
        items.extend(side.items if isinstance(side, ir.Or) else (side,))
    return ir.Or(tuple(items), span=span)


def _span_of(expr: ir.Expr) -> Span:
    return expr.span


def _duration_const(expr: ir.Expr) -> ir.DurationValue | None:
    expr = ir.unwrap(expr)
    if isinstance(expr, ir.Const) and isinstance(expr.value, ir.DurationValue):
        return expr.value
    return None


def _is_now(expr: ir.Expr) -> bool:
    return isinstance(expr, ir.TimePoint) and expr.anchor == windows.NOW


def _rough_seconds(duration: ir.DurationValue) -> int:
    if duration.unit == "mo":
        return duration.amount * 30 * 86400
    if duration.unit == "y":
        return duration.amount * 365 * 86400
    return duration.seconds


def _condition_help(type_: t.Type) -> str:
    if type_.is_numeric:
        return "compare it, e.g. `… > 0`"
    if type_.is_time:
        return "test it against a window, e.g. `… in last 30d`"
    if type_.kind is t.Kind.DURATION:
        return "compare it with a duration, e.g. `… < 30d`"
    if type_.kind is t.Kind.LABEL:
        return f'compare it with a label, e.g. `… = "{type_.labels[0]}"`' if type_.labels else ""
    return 'compare it with a value, e.g. `… = "x"`'
