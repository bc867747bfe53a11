"""Lark reductions → AST nodes, built while parsing. Shapes only: no lookups, no checks,
no exceptions.

The one thing noted on the way is a literal that matched its token pattern but does
not exist (`2025-02-30`): it is recorded in `literal_problems` and replaced by a
placeholder value, and the parser discards the result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal
from typing import Any, Literal, cast

from lark import Token, Tree

from segdsl.diagnostics import Diagnostic
from segdsl.source import SourceFile, Span
from segdsl.syntax import nodes

_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", '"': '"', "'": "'"}
_DURATION_UNITS = ("min", "mo", "s", "h", "d", "w", "y")

# What a callback receives from lark. Lark's children are untyped (each rule's shape is
# fixed by the grammar, not by lark's annotations), so rules that mix tokens, optional
# tokens and built nodes take `Any` children: that is the third-party boundary.
# Module-level aliases because `ToAst.list` (the `list` rule) shadows the builtin in
# the class body.
_Children = list[Any]
_Tokens = list[Token]
_OptionalTokens = list[Token | None]

# What a whole parse becomes: a module from `start`; from `param_value`, an expression or
# a list of them.
AstValue = nodes.Module | nodes.Expr | tuple[nodes.Expr, ...]


def unescape_string(literal: str) -> str:
    """The value of a quoted string literal (either quote style, backslash escapes)."""
    body = literal[1:-1]
    out: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            nxt = body[index + 1]
            out.append(_ESCAPES.get(nxt, nxt))
            index += 2
            continue
        out.append(char)
        index += 1
    return "".join(out)


def split_duration(text: str) -> tuple[int, nodes.DurationUnit]:
    """`30d` → (30, "d")."""
    for unit in _DURATION_UNITS:
        if text.endswith(unit) and text[: -len(unit)].isdigit():
            return int(text[: -len(unit)]), cast(nodes.DurationUnit, unit)
    raise ValueError(text)  # unreachable: the lexer only produces valid durations


def _ident_text(token: Token) -> str:
    text = str(token)
    return text[1:-1] if text.startswith("`") else text


class Reduced:
    """A rule's result during parsing, with the offsets of the first and last token it
    covers: anonymous keywords and brackets included, which lark drops from children."""

    __slots__ = ("end", "start", "value")

    def __init__(self, value: Any, start: int | None, end: int | None) -> None:
        self.value = value
        self.start = start
        self.end = end


def _offset(children: Iterable[Any], start: bool) -> int | None:
    """Where the first token of `children` starts (`start`) or, given them reversed,
    where the last one ends; placeholders and empty rules have no tokens."""
    for child in children:
        if type(child) is Reduced:
            offset = child.start if start else child.end
            if offset is not None:
                return offset
        elif child is not None:
            return int(child.start_pos if start else child.end_pos)
    return None


class ToAst:
    """Builds `nodes` dataclasses while lark parses one source file: no parse tree.

    Lark reduces each grammar rule through `reducer`; every rule callback takes
    `(span, children)`. One instance serves every parse (`reset` between files).
    """

    def __init__(self) -> None:
        self.file = SourceFile("<none>", "")
        self.literal_problems: list[Diagnostic] = []

    def reset(self, source: SourceFile) -> None:
        self.file = source
        self.literal_problems = []

    def reducer(
        self, name: str, inlined: bool, build: Callable[[_Children], Any]
    ) -> Callable[[_Children], Reduced]:
        """The parser's callback for rule `name`. `build` is lark's own: it drops anonymous
        tokens, adds placeholders, inlines `_rule`s and single-child `?rule`s (`inlined`)
        and otherwise wraps the children in a tree, which the rule's callback replaces.
        A single-child `?rule` step whose child is already built never gets here: the
        parser loop passes the child on (`syntax/lark_loops.py`)."""
        callback = None if name.startswith("_") else getattr(self, name, None)
        if callback is None and not (inlined or name.startswith("_")):
            raise LookupError(f"grammar rule `{name}` has no callback in ToAst")

        def reduce(children: _Children) -> Reduced:
            # what lark's propagate_positions computes, for results that are not trees
            start, end = _offset(children, True), _offset(reversed(children), False)
            result = build([c.value if type(c) is Reduced else c for c in children])
            if callback is not None and isinstance(result, Tree):
                if start is None or end is None:
                    span = self.file.span(0, 0)
                else:
                    span = self.file.span(start, end)
                result = callback(span, result.children)
            return Reduced(result, start, end)

        return reduce

    # -------------------------------------------------------------- helpers
    def _tspan(self, token: Token) -> Span:
        start = token.start_pos or 0
        return self.file.span(start, token.end_pos if token.end_pos is not None else start)

    def _ident(self, token: Token) -> nodes.Ident:
        return nodes.Ident(_ident_text(token), span=self._tspan(token))

    def _string(self, token: Token | None) -> str | None:
        return None if token is None else unescape_string(str(token))

    def _date(self, token: Token) -> dt.date:
        try:
            return dt.date.fromisoformat(str(token))
        except ValueError:
            self._bad_literal(token, "this date does not exist", "dates are YYYY-MM-DD")
            return dt.date(1970, 1, 1)

    def _timestamp(self, token: Token) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(str(token).replace("Z", "+00:00"))
        except ValueError:
            self._bad_literal(
                token, "this timestamp does not exist", "timestamps are YYYY-MM-DDTHH:MM[:SS]"
            )
            return dt.datetime(1970, 1, 1)

    def _bad_literal(self, token: Token, message: str, help_: str) -> None:
        self.literal_problems.append(
            Diagnostic("SEG004", f"{message}: `{token}`", self._tspan(token), help=help_)
        )

    def _duration(self, item: Token | nodes.DurationLit | nodes.Ident) -> nodes.Duration:
        return item if not isinstance(item, Token) else self._duration_token(item)

    def _duration_token(self, token: Token) -> nodes.Duration:
        if token.type == "DURATION":
            amount, unit = split_duration(str(token))
            return nodes.DurationLit(amount, unit, span=self._tspan(token))
        return self._ident(token)

    # -------------------------------------------------------------- file
    def start(self, span: Span, children: _Children) -> nodes.Module:
        version = None
        statements = []
        for child in children:
            if isinstance(child, int):
                version = child
            else:
                statements.append(child)
        return nodes.Module(version, tuple(statements), span=span)

    def header(self, span: Span, children: _Tokens) -> int:
        text = str(children[0])
        return int(text) if text.isdigit() else -1

    # -------------------------------------------------------------- model
    def entity_decl(self, span: Span, children: _Children) -> nodes.EntityDecl:
        name, source, *members = children
        return nodes.EntityDecl(self._ident(name), source, tuple(members), span=span)

    def table_decl(self, span: Span, children: _Children) -> nodes.TableDecl:
        name, source, *members = children
        return nodes.TableDecl(self._ident(name), source, tuple(members), span=span)

    def derived_table_decl(self, span: Span, children: _Children) -> nodes.DerivedTableDecl:
        name, base, where = children
        return nodes.DerivedTableDecl(self._ident(name), self._ident(base), where, span=span)

    def grouped_table_decl(self, span: Span, children: _Children) -> nodes.GroupedTableDecl:
        name, base, by, *columns = children
        return nodes.GroupedTableDecl(
            self._ident(name), self._ident(base), self._ident(by), tuple(columns), span=span
        )

    def group_column(self, span: Span, children: _Children) -> nodes.GroupColumn:
        name, func, args = children
        distinct, arg = args if args is not None else (False, None)
        return nodes.GroupColumn(self._ident(name), func, arg, distinct, span=span)

    def group_args(self, span: Span, children: _Children) -> tuple[bool, nodes.Expr]:
        distinct, arg = children
        return distinct is not None, arg

    def source(self, span: Span, children: _Tokens) -> tuple[str, ...]:
        return tuple(
            unescape_string(str(t)) if t.type == "STRING" else _ident_text(t) for t in children
        )

    def key_member(self, span: Span, children: _Children) -> nodes.KeyMember:
        column, type_, rely = children
        return nodes.KeyMember(
            self._ident(column),
            self._ident(type_) if type_ is not None else None,
            rely is not None,
            span=span,
        )

    def link_member(self, span: Span, children: _Children) -> nodes.LinkMember:
        column, target, target_column, rely = children
        return nodes.LinkMember(
            self._ident(column),
            self._ident(target),
            self._ident(target_column) if target_column is not None else None,
            rely is not None,
            span=span,
        )

    def time_member(self, span: Span, children: _Children) -> nodes.TimeMember:
        column, storage = children
        return nodes.TimeMember(
            self._ident(column),
            self._ident(storage) if storage is not None else None,
            span=span,
        )

    def partition_member(self, span: Span, children: _Children) -> nodes.PartitionMember:
        (column,) = children
        return nodes.PartitionMember(self._ident(column), span=span)

    def column_member(self, span: Span, children: _Children) -> nodes.ColumnMember:
        name, type_, physical = children
        physical_name = None
        if physical is not None:
            physical_name = (
                unescape_string(str(physical))
                if physical.type == "STRING"
                else _ident_text(physical)
            )
        return nodes.ColumnMember(self._ident(name), self._ident(type_), physical_name, span=span)

    def param_decl(self, span: Span, children: _Children) -> nodes.ParamDecl:
        name, type_, default, description = children
        return nodes.ParamDecl(
            self._ident(name),
            self._ident(type_),
            default,
            self._string(description),
            span=span,
        )

    # -------------------------------------------------------------- definitions
    def measure_decl(self, span: Span, children: _Children) -> nodes.MeasureDecl:
        name, description, body = children
        return nodes.MeasureDecl(self._ident(name), body, self._string(description), span=span)

    def _metadata(self, description: Token | None, items: Sequence[Any]) -> nodes.Metadata:
        owner: str | None = None
        tags: tuple[str, ...] = ()
        for kind, value in items:
            if kind == "owner":
                owner = value
            else:
                tags = tags + value
        return nodes.Metadata(self._string(description), owner, tags)

    def owner(self, span: Span, children: _Tokens) -> tuple[str, str | None]:
        return ("owner", self._string(children[0]))

    def tags(self, span: Span, children: _OptionalTokens) -> tuple[str, tuple[str, ...]]:
        return ("tags", tuple(unescape_string(str(t)) for t in children if t is not None))

    def segment_decl(self, span: Span, children: _Children) -> nodes.SegmentDecl:
        name, description, *metas, condition = children
        return nodes.SegmentDecl(
            self._ident(name),
            condition,
            self._metadata(description, metas),
            span=span,
        )

    def classifier_decl(self, span: Span, children: _Children) -> nodes.ClassifierDecl:
        name, description, *rest = children
        metas = [c for c in rest if isinstance(c, tuple)]
        rules = [c for c in rest if isinstance(c, nodes.Rule)]
        else_label = rest[-1]
        return nodes.ClassifierDecl(
            self._ident(name),
            tuple(rules),
            else_label,
            self._metadata(description, metas),
            span=span,
        )

    def rule(self, span: Span, children: _Children) -> nodes.Rule:
        label, condition = children
        return nodes.Rule(self._ident(label), condition, span=span)

    def else_rule(self, span: Span, children: _Tokens) -> nodes.Ident:
        return self._ident(children[0])

    def split_decl(self, span: Span, children: _Children) -> nodes.SplitDecl:
        name, description, *rest = children
        metas = [c for c in rest if isinstance(c, tuple)]
        buckets = [c for c in rest if isinstance(c, nodes.Bucket)]
        of, seed = [c for c in rest if not isinstance(c, (tuple, nodes.Bucket))]
        return nodes.SplitDecl(
            self._ident(name),
            tuple(buckets),
            self._ident(of) if of is not None else None,
            self._string(seed),
            self._metadata(description, metas),
            span=span,
        )

    def bucket(self, span: Span, children: _Tokens) -> nodes.Bucket:
        label, percent = children
        return nodes.Bucket(self._ident(label), Decimal(str(percent)[:-1]), span=span)

    # -------------------------------------------------------------- boolean logic
    def or_(self, span: Span, children: _Children) -> nodes.Or:
        return nodes.Or(children[0], children[1], span=span)

    def and_(self, span: Span, children: _Children) -> nodes.And:
        return nodes.And(children[0], children[1], span=span)

    def not_(self, span: Span, children: _Children) -> nodes.Not:
        return nodes.Not(children[0], span=span)

    def compare(self, span: Span, children: _Children) -> nodes.Compare:
        left, op, right = children
        # the grammar's COMPARE token only matches the operators of `nodes.CompareOp`
        return nodes.Compare(cast(nodes.CompareOp, str(op)), left, right, span=span)

    def between(self, span: Span, children: _Children) -> nodes.Between:
        operand, negated, low, high = children
        return nodes.Between(operand, low, high, negated is not None, span=span)

    def in_list(self, span: Span, children: _Children) -> nodes.InList:
        operand, negated, items = children
        return nodes.InList(operand, items, negated is not None, span=span)

    def list(self, span: Span, children: _Children) -> tuple[nodes.Expr, ...]:
        return tuple(child for child in children if child is not None)

    def in_window(self, span: Span, children: _Children) -> nodes.InWindow:
        operand, negated, window = children
        return nodes.InWindow(operand, window, negated is not None, span=span)

    def rank(self, span: Span, children: _Children) -> nodes.Rank:
        operand, side, size, among = children
        return nodes.Rank(operand, side, size, among, span=span)

    def rank_side(self, span: Span, children: _Tokens) -> str:
        return str(children[0])

    def rank_size(self, span: Span, children: _Tokens) -> nodes.Expr | nodes.Ident:
        token = children[0]
        if token.type == "NUMBER":
            return nodes.NumberLit(Decimal(str(token)), span=self._tspan(token))
        if token.type == "PERCENT":
            return nodes.PercentLit(Decimal(str(token)[:-1]), span=self._tspan(token))
        return self._ident(token)

    def presence_word(self, span: Span, children: _Tokens) -> str:
        return str(children[0])

    def presence(self, span: Span, children: _Children) -> nodes.Presence:
        operand, which = children
        return nodes.Presence(operand, which == "present", span=span)

    def text_match(self, span: Span, children: _Children) -> nodes.TextMatch:
        operand, op, pattern = children
        return nodes.TextMatch(op, operand, pattern, span=span)

    def text_op(self, span: Span, children: _Tokens) -> nodes.TextOp:
        ops: dict[str, nodes.TextOp] = {
            "CONTAINS": "contains",
            "STARTS_WITH": "starts_with",
            "ENDS_WITH": "ends_with",
        }
        return ops[children[0].type]

    def sequence(self, span: Span, children: _Children) -> nodes.Sequence:
        first, _then, no, then, within = children
        return nodes.Sequence(
            first,
            then,
            no is not None,
            self._duration(within) if within is not None else None,
            span=span,
        )

    def event_set(self, span: Span, children: _Children) -> nodes.EventSet:
        table, window, *where = children
        return nodes.EventSet(self._ident(table), window, where[0] if where else None, span=span)

    # -------------------------------------------------------------- arithmetic and atoms
    def arith(self, span: Span, children: _Children) -> nodes.Arith:
        left, op, right = children
        # the grammar's ADD_OP and MUL_OP tokens only match the operators of `nodes.ArithOp`
        return nodes.Arith(cast(nodes.ArithOp, str(op)), left, right, span=span)

    def negate(self, span: Span, children: _Children) -> nodes.Negate:
        return nodes.Negate(children[0], span=span)

    def name(self, span: Span, children: _Tokens) -> nodes.Name:
        return nodes.Name(tuple(self._ident(t) for t in children), span=span)

    def call(self, span: Span, children: _Children) -> nodes.Call:
        function, *args = children
        return nodes.Call(
            self._ident(function),
            tuple(a for a in args if a is not None),
            span=span,
        )

    def time_since(self, span: Span, children: _Children) -> nodes.TimeSince:
        return nodes.TimeSince(children[0], span=span)

    def time_between(self, span: Span, children: _Children) -> nodes.TimeBetween:
        return nodes.TimeBetween(children[0], children[1], span=span)

    def ago(self, span: Span, children: _Children) -> nodes.Ago:
        return nodes.Ago(children[0], span=span)

    def if_expr(self, span: Span, children: _Children) -> nodes.IfThenElse:
        condition, then, otherwise = children
        return nodes.IfThenElse(condition, then, otherwise, span=span)

    # -------------------------------------------------------------- aggregates
    def agg_func(self, span: Span, children: _Tokens) -> str:
        return str(children[0])

    def agg_cumulative_share(self, span: Span, children: _Tokens) -> Literal["cumulative share"]:
        return "cumulative share"

    def agg_args(self, span: Span, children: _Children) -> tuple[bool, tuple[nodes.Expr, ...]]:
        distinct, *args = children
        return distinct is not None, tuple(a for a in args if a is not None)

    def agg_of(self, span: Span, children: _Children) -> None:
        return None

    def aggregate(self, span: Span, children: _Children) -> nodes.Aggregate:
        func, args, overall, target, window, per, among = children
        distinct, arguments = args if args is not None else (False, None)
        return nodes.Aggregate(
            func,
            self._ident(target),
            arguments,
            distinct,
            window,
            per,
            among,
            overall=overall is not None,
            span=span,
        )

    def nested_aggregate(self, span: Span, children: _Children) -> nodes.NestedAggregate:
        func, inner = children
        return nodes.NestedAggregate(func, inner, span=span)

    def filtered_aggregate(
        self, span: Span, children: _Children
    ) -> nodes.Aggregate | nodes.NestedAggregate:
        aggregate, where = children
        return _with_where(aggregate, where, span)

    def during(self, span: Span, children: _Children) -> nodes.Window:
        return cast(nodes.Window, children[0])

    def per(self, span: Span, children: _Children) -> nodes.Expr:
        return cast(nodes.Expr, children[0])

    def among(self, span: Span, children: _Children) -> nodes.Expr:
        item = children[0]
        if isinstance(item, Token):
            return nodes.Name((self._ident(item),), span=self._tspan(item))
        return cast(nodes.Expr, item)

    # -------------------------------------------------------------- windows
    def w_last(self, span: Span, children: _Children) -> nodes.LastWindow:
        return nodes.LastWindow(children[0], span=span)

    def w_last_calendar(self, span: Span, children: _Tokens) -> nodes.LastCalendarWindow:
        count, unit = children
        text = str(count)
        return nodes.LastCalendarWindow(
            int(text) if text.isdigit() else -1, self._ident(unit), span=span
        )

    def w_this(self, span: Span, children: _Tokens) -> nodes.PeriodWindow:
        return nodes.PeriodWindow("this", self._ident(children[0]), span=span)

    def w_previous(self, span: Span, children: _Tokens) -> nodes.PeriodWindow:
        return nodes.PeriodWindow("previous", self._ident(children[0]), span=span)

    def w_between_ago(self, span: Span, children: _Children) -> nodes.BetweenAgoWindow:
        return nodes.BetweenAgoWindow(children[0], children[1], span=span)

    def w_more_than_ago(self, span: Span, children: _Children) -> nodes.MoreThanAgoWindow:
        return nodes.MoreThanAgoWindow(children[0], span=span)

    def _bound(
        self, kind: Literal["before", "after", "since", "until"], span: Span, children: _Children
    ) -> nodes.BoundWindow:
        return nodes.BoundWindow(kind, children[0], span=span)

    def w_before(self, span: Span, children: _Children) -> nodes.BoundWindow:
        return self._bound("before", span, children)

    def w_after(self, span: Span, children: _Children) -> nodes.BoundWindow:
        return self._bound("after", span, children)

    def w_since(self, span: Span, children: _Children) -> nodes.BoundWindow:
        return self._bound("since", span, children)

    def w_until(self, span: Span, children: _Children) -> nodes.BoundWindow:
        return self._bound("until", span, children)

    def w_from_to(self, span: Span, children: _Children) -> nodes.FromToWindow:
        return nodes.FromToWindow(children[0], children[1], span=span)

    def p_date(self, span: Span, children: _Tokens) -> nodes.DatePoint:
        return nodes.DatePoint(self._date(children[0]), span=span)

    def p_timestamp(self, span: Span, children: _Tokens) -> nodes.TimestampPoint:
        return nodes.TimestampPoint(self._timestamp(children[0]), span=span)

    def p_ago(self, span: Span, children: _Children) -> nodes.AgoPoint:
        return nodes.AgoPoint(children[0], span=span)

    def p_this(self, span: Span, children: _Tokens) -> nodes.PeriodPoint:
        return nodes.PeriodPoint("this", self._ident(children[0]), span=span)

    def p_previous(self, span: Span, children: _Tokens) -> nodes.PeriodPoint:
        return nodes.PeriodPoint("previous", self._ident(children[0]), span=span)

    def p_value(self, span: Span, children: _Children) -> nodes.Point:
        """A point after `in`: the forms every window takes keep their own nodes."""
        value = children[0]
        match value:
            case nodes.DateLit():
                return nodes.DatePoint(value.value, span=span)
            case nodes.TimestampLit():
                return nodes.TimestampPoint(value.value, span=span)
            case nodes.Ago():
                return nodes.AgoPoint(value.duration, span=span)
            case nodes.Name(parts=(single,)):
                return nodes.NamePoint(single, span=span)
        return nodes.ValuePoint(value, span=span)

    def p_name(self, span: Span, children: _Tokens) -> nodes.NamePoint:
        return nodes.NamePoint(self._ident(children[0]), span=span)

    def duration(self, span: Span, children: _Tokens) -> nodes.Duration:
        return self._duration_token(children[0])

    # -------------------------------------------------------------- literals
    def number(self, span: Span, children: _Tokens) -> nodes.NumberLit:
        return nodes.NumberLit(Decimal(str(children[0])), span=self._tspan(children[0]))

    def percent(self, span: Span, children: _Tokens) -> nodes.PercentLit:
        return nodes.PercentLit(Decimal(str(children[0])[:-1]), span=self._tspan(children[0]))

    def string(self, span: Span, children: _Tokens) -> nodes.StringLit:
        return nodes.StringLit(unescape_string(str(children[0])), span=self._tspan(children[0]))

    def date(self, span: Span, children: _Tokens) -> nodes.DateLit:
        return nodes.DateLit(self._date(children[0]), span=self._tspan(children[0]))

    def timestamp(self, span: Span, children: _Tokens) -> nodes.TimestampLit:
        return nodes.TimestampLit(self._timestamp(children[0]), span=self._tspan(children[0]))

    def duration_lit(self, span: Span, children: _Tokens) -> nodes.DurationLit:
        amount, unit = split_duration(str(children[0]))
        return nodes.DurationLit(amount, unit, span=self._tspan(children[0]))

    def boolean(self, span: Span, children: _Tokens) -> nodes.BoolLit:
        return nodes.BoolLit(str(children[0]) == "true", span=self._tspan(children[0]))


def _with_where(
    aggregate: nodes.Aggregate | nodes.NestedAggregate, where: nodes.Expr, span: Span
) -> nodes.Aggregate | nodes.NestedAggregate:
    """Attach a trailing `where` to the innermost aggregate, which owns the rows."""
    if isinstance(aggregate, nodes.NestedAggregate):
        return nodes.NestedAggregate(
            aggregate.func, _with_where(aggregate.inner, where, span), span=span
        )
    return nodes.Aggregate(
        aggregate.func,
        aggregate.target,
        aggregate.args,
        aggregate.distinct,
        aggregate.window,
        aggregate.per,
        aggregate.among,
        where,
        aggregate.overall,
        span=span,
    )
