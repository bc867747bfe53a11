"""AST → canonical source text (`seg fmt`).

One layout for every file: two-space indentation, one statement per line, a
condition broken at its `and`/`or` when its line would pass the width (100 columns, or
`[format] line-width`), nested `and`/`or` groups broken inside their parentheses,
double-quoted strings, and only the parentheses the grammar needs. Comments are
kept: a comment on its own line stays above the statement or block member it
precedes (with the blank line after it, if there was one), a comment at the end of a
line stays at the end of that line, and a comment inside a multi-line definition moves
above the definition.

Printing is linear in the size of the tree: each node is printed once on one line, and
again only where a line is broken.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from typing import Protocol, assert_never

from segdsl.source import Span
from segdsl.syntax import nodes

WIDTH = 100
INDENT = "  "
_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# precedence levels, loosest first
IF, OR, AND, NOT, PREDICATE, SUM, PRODUCT, UNARY, ATOM = range(9)


@cache
def keywords() -> frozenset[str]:
    """Every word the grammar reserves; such names are printed in backticks."""
    from segdsl.syntax.parser import grammar_text

    words = set(re.findall(r'"([a-z_]+)"', grammar_text()))
    return frozenset(words)


def name_text(name: str) -> str:
    if _NAME_RE.match(name) and name not in keywords():
        return name
    return f"`{name}`"


def string_text(value: str) -> str:
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    )
    return f'"{escaped}"'


def number_text(value: Decimal) -> str:
    text = format(value, "f")
    return text


# ------------------------------------------------------------------ expressions
def expr_text(node: nodes.Expr, level: int = IF) -> str:
    """An expression on one line, parenthesised as needed at precedence `level`."""
    text, own = _expr(node)
    return f"({text})" if own < level else text


def _expr(node: nodes.Expr) -> tuple[str, int]:
    match node:
        case nodes.NumberLit():
            return number_text(node.value), ATOM
        case nodes.PercentLit():
            return f"{number_text(node.value)}%", ATOM
        case nodes.StringLit():
            return string_text(node.value), ATOM
        case nodes.BoolLit():
            return ("true" if node.value else "false"), ATOM
        case nodes.DateLit():
            return node.value.isoformat(), ATOM
        case nodes.TimestampLit():
            return node.value.isoformat(), ATOM
        case nodes.DurationLit():
            return f"{node.amount}{node.unit}", ATOM
        case nodes.Name():
            return ".".join(name_text(p.text) for p in node.parts), ATOM
        case nodes.Call():
            args = ", ".join(expr_text(a) for a in node.args)
            return f"{name_text(node.function.text)}({args})", ATOM
        case nodes.Negate():
            return f"-{expr_text(node.operand, UNARY)}", UNARY
        case nodes.Arith():
            level = SUM if node.op in "+-" else PRODUCT
            return (
                f"{expr_text(node.left, level)} {node.op} {expr_text(node.right, level + 1)}",
                level,
            )
        case nodes.Compare():
            return f"{expr_text(node.left, SUM)} {node.op} {expr_text(node.right, SUM)}", PREDICATE
        case nodes.Between():
            word = "not between" if node.negated else "between"
            return (
                f"{expr_text(node.operand, SUM)} {word} "
                f"{expr_text(node.low, SUM)} and {expr_text(node.high, SUM)}",
                PREDICATE,
            )
        case nodes.InList():
            word = "not in" if node.negated else "in"
            items = ", ".join(expr_text(i, SUM) for i in node.items)
            return f"{expr_text(node.operand, SUM)} {word} [{items}]", PREDICATE
        case nodes.InWindow():
            word = "not in" if node.negated else "in"
            return f"{expr_text(node.operand, SUM)} {word} {window_text(node.window)}", PREDICATE
        case nodes.Rank():
            size = node.size.text if isinstance(node.size, nodes.Ident) else expr_text(node.size)
            if isinstance(node.size, nodes.Ident):
                size = name_text(size)
            among = f" {among_text(node.among)}" if node.among is not None else ""
            return f"{expr_text(node.operand, SUM)} in {node.side} {size}{among}", PREDICATE
        case nodes.Presence():
            return (
                f"{expr_text(node.operand, SUM)} is {'present' if node.present else 'missing'}",
                PREDICATE,
            )
        case nodes.TextMatch():
            word = node.op.replace("_", " ")
            return (
                f"{expr_text(node.operand, SUM)} {word} {expr_text(node.pattern, SUM)}",
                PREDICATE,
            )
        case nodes.And():
            return f"{expr_text(node.left, AND)} and {expr_text(node.right, NOT)}", AND
        case nodes.Or():
            return f"{expr_text(node.left, OR)} or {expr_text(node.right, AND)}", OR
        case nodes.Not():
            # `not (x = 1)` rather than `not x = 1`: the same tree, easier to read. The
            # operand is printed once (printing it twice made nested `not` exponential).
            operand, own = _expr(node.operand)
            operand_level = ATOM if own == PREDICATE else NOT
            return f"not {f'({operand})' if own < operand_level else operand}", NOT
        case nodes.TimeSince():
            return f"time since {expr_text(node.operand, ATOM)}", ATOM
        case nodes.TimeBetween():
            return (
                f"time between {expr_text(node.start, ATOM)} and {expr_text(node.end, ATOM)}",
                ATOM,
            )
        case nodes.Ago():
            return f"{duration_text(node.duration)} ago", ATOM
        case nodes.IfThenElse():
            condition = expr_text(node.condition, OR)
            if _bare_sequence(node.condition):
                condition = f"({condition})"
            return (
                f"if {condition} then {expr_text(node.then)} else {expr_text(node.otherwise)}",
                IF,
            )
        case nodes.Aggregate():
            text = aggregate_text(node)
            return (f"({text})", ATOM) if node.where is not None else (text, ATOM)
        case nodes.NestedAggregate():
            text = aggregate_text(node)
            return (f"({text})", ATOM) if _innermost(node).where is not None else (text, ATOM)
        case nodes.Sequence():
            within = f" within {duration_text(node.within)}" if node.within is not None else ""
            then = "then no" if node.negated else "then"
            return (
                f"{event_set_text(node.first)} {then} {event_set_text(node.then)}{within}",
                PREDICATE,
            )
        case _:
            assert_never(node)


def _bare_sequence(condition: nodes.Expr) -> bool:
    """Whether a sequence's `then` would show in an `if` condition printed as it is."""
    pending = [condition]
    while pending:
        current = pending.pop()
        if isinstance(current, nodes.Sequence):
            return True
        if isinstance(current, (nodes.And, nodes.Or)):
            pending += (current.left, current.right)
    return False


def _innermost(node: nodes.Aggregate | nodes.NestedAggregate) -> nodes.Aggregate:
    while isinstance(node, nodes.NestedAggregate):
        node = node.inner
    return node


def aggregate_text(node: nodes.Aggregate | nodes.NestedAggregate) -> str:
    """An aggregate including its `where` (callers add parentheses where needed)."""
    if isinstance(node, nodes.NestedAggregate):
        return f"{node.func} {aggregate_text(node.inner)}"
    parts: list[str] = [node.func]
    if node.func in ("percentile", "cumulative share") and node.args is None:
        parts = [f"{node.func} of"]
    if node.args is not None:
        distinct = " distinct" if node.distinct else ""
        args = ", ".join(expr_text(a) for a in node.args)
        parts = [f"{node.func}{distinct}({args}) of"]
    if node.overall:
        parts.append("all")
    parts.append(name_text(node.target.text))
    if node.window is not None:
        parts.append(f"during {window_text(node.window)}")
    if node.per is not None:
        parts.append(f"per {expr_text(node.per, ATOM)}")
    if node.among is not None:
        parts.append(among_text(node.among))
    if node.where is not None:
        parts.append(f"where {expr_text(node.where)}")
    return " ".join(parts)


def among_text(node: nodes.Expr) -> str:
    if isinstance(node, nodes.Name) and len(node.parts) == 1:
        return f"among {name_text(node.parts[0].text)}"
    return f"among ({expr_text(node)})"


def event_set_text(node: nodes.EventSet) -> str:
    text = name_text(node.table.text)
    if node.window is not None:
        text += f" during {window_text(node.window)}"
    if node.where is not None:
        return f"({text} where {expr_text(node.where)})"
    return text


def duration_text(node: nodes.Duration) -> str:
    if isinstance(node, nodes.DurationLit):
        return f"{node.amount}{node.unit}"
    return name_text(node.text)


def point_text(node: nodes.Point) -> str:
    match node:
        case nodes.DatePoint():
            return node.value.isoformat()
        case nodes.TimestampPoint():
            return node.value.isoformat()
        case nodes.AgoPoint():
            return f"{duration_text(node.duration)} ago"
        case nodes.PeriodPoint():
            return f"{node.which} {name_text(node.unit.text)}"
        case nodes.NamePoint():
            return name_text(node.name.text)
        case nodes.ValuePoint():
            return expr_text(node.value, SUM)
        case _:
            assert_never(node)


def window_text(node: nodes.Window) -> str:
    match node:
        case nodes.LastWindow():
            return f"last {duration_text(node.duration)}"
        case nodes.LastCalendarWindow():
            return f"last {node.count} calendar {name_text(node.unit.text)}"
        case nodes.PeriodWindow():
            return f"{node.which} {name_text(node.unit.text)}"
        case nodes.BetweenAgoWindow():
            return f"between {duration_text(node.start)} ago and {duration_text(node.end)} ago"
        case nodes.MoreThanAgoWindow():
            return f"more than {duration_text(node.duration)} ago"
        case nodes.BoundWindow():
            return f"{node.kind} {point_text(node.point)}"
        case nodes.FromToWindow():
            return f"from {point_text(node.start)} to {point_text(node.end)}"
        case _:
            assert_never(node)


def body_text(node: nodes.Expr) -> str:
    """A measure body: a top-level aggregate may carry `where` without parentheses."""
    if isinstance(node, (nodes.Aggregate, nodes.NestedAggregate)):
        return aggregate_text(node)
    return expr_text(node)


def _chain(node: nodes.Expr) -> tuple[str, list[nodes.Expr]] | None:
    """A top-level left-nested chain of one boolean operator, for line breaking."""
    if not isinstance(node, (nodes.And, nodes.Or)):
        return None
    kind = type(node)
    operands: list[nodes.Expr] = []
    current: nodes.Expr = node
    while isinstance(current, kind):
        operands.append(current.right)
        current = current.left
    operands.append(current)
    operands.reverse()
    return ("and" if kind is nodes.And else "or"), operands


def definition_lines(
    head: str, body: nodes.Expr, is_measure: bool = False, width: int = WIDTH
) -> list[str]:
    """`head = body`, broken over lines when longer than `width`."""
    one_line = body_text(body) if is_measure else expr_text(body)
    if len(head) + 3 + len(one_line) <= width:
        return [f"{head} = {one_line}"]
    if is_measure and isinstance(body, (nodes.Aggregate, nodes.NestedAggregate)):
        return [f"{head} =", f"{INDENT}{one_line}"]
    return [f"{head} =", *wrapped_lines(body, OR, INDENT, "", width, one_line)]


def wrapped_lines(
    node: nodes.Expr,
    level: int,
    indent: str,
    prefix: str,
    width: int,
    text: str | None = None,
) -> list[str]:
    """`indent + prefix + node` in lines of at most `width` where it can break: at each
    `and`/`or` of a chain (`and x` under the first operand), inside the parentheses of
    a nested chain, after `not (`. Other conditions stay whole on their line."""
    if text is None:
        text = expr_text(node, level)
    line = f"{indent}{prefix}{text}"
    if len(line) <= width:
        return [line]
    chain = _chain(node)
    if chain is not None:
        op, operands = chain
        if (AND if op == "and" else OR) < level:  # parenthesised here: break inside
            inner = _chain_lines(op, operands, indent + INDENT, "", width)
            return [f"{indent}{prefix}(", *inner, f"{indent})"]
        return _chain_lines(op, operands, indent, prefix, width)
    if (
        isinstance(node, nodes.Not)
        and level <= NOT
        and isinstance(node.operand, (nodes.And, nodes.Or))
    ):
        return wrapped_lines(node.operand, ATOM, indent, f"{prefix}not ", width)
    return [line]


def _chain_lines(
    op: str, operands: list[nodes.Expr], indent: str, prefix: str, width: int
) -> list[str]:
    level, next_level = (AND, NOT) if op == "and" else (OR, AND)
    lines = wrapped_lines(operands[0], level, indent, prefix, width)
    for operand in operands[1:]:
        lines += wrapped_lines(operand, next_level, indent, f"{op} ", width)
    return lines


# ------------------------------------------------------------------ statements
def _meta_text(meta: nodes.Metadata) -> str:
    parts = []
    if meta.description is not None:
        parts.append(string_text(meta.description))
    if meta.owner is not None:
        parts.append(f"owner {string_text(meta.owner)}")
    if meta.tags:
        parts.append("tags [" + ", ".join(string_text(tag) for tag in meta.tags) + "]")
    return "".join(f" {p}" for p in parts)


def _source_text(parts: Sequence[str]) -> str:
    return ".".join(
        p if _NAME_RE.match(p) and p not in keywords() else string_text(p) for p in parts
    )


def member_text(member: nodes.Member) -> str:
    match member:
        case nodes.KeyMember():
            suffix = f": {name_text(member.type.text)}" if member.type else ""
            rely = " rely" if member.rely else ""
            return f"key {name_text(member.column.text)}{suffix}{rely}"
        case nodes.LinkMember():
            target = name_text(member.target.text)
            if member.target_column is not None:
                target += f".{name_text(member.target_column.text)}"
            rely = " rely" if member.rely else ""
            return f"link {name_text(member.column.text)} to {target}{rely}"
        case nodes.TimeMember():
            suffix = f": {name_text(member.storage.text)}" if member.storage else ""
            return f"time {name_text(member.column.text)}{suffix}"
        case nodes.PartitionMember():
            return f"partition by {name_text(member.column.text)}"
        case nodes.ColumnMember():
            text = f"{name_text(member.name.text)}: {name_text(member.type.text)}"
            if member.physical is not None:
                physical = member.physical
                safe = _NAME_RE.match(physical) and physical not in keywords()
                text += f" from {physical if safe else string_text(physical)}"
            return text
        case _:
            assert_never(member)


@dataclass
class _Item:
    """A printable line group with the comments attached to it."""

    lines: list[str]
    leading: list[str] = field(default_factory=list)
    trailing: str | None = None


def statement_items(
    statement: nodes.Statement, width: int = WIDTH
) -> tuple[str, list[_Item], str | None]:
    """The statement's header line, its block members (if a block), and closing line.

    A member's lines are relative to the member's indentation."""
    match statement:
        case nodes.EntityDecl() | nodes.TableDecl():
            word = "entity" if isinstance(statement, nodes.EntityDecl) else "table"
            head = (
                f"{word} {name_text(statement.name.text)} from {_source_text(statement.source)} {{"
            )
            return head, [_Item([member_text(m)]) for m in statement.members], "}"
        case nodes.GroupedTableDecl():
            head = (
                f"table {name_text(statement.name.text)} = {name_text(statement.base.text)}"
                f" per {name_text(statement.by.text)} {{"
            )
            return head, [_Item([group_column_text(c)]) for c in statement.columns], "}"
        case nodes.ClassifierDecl():
            head = f"classifier {name_text(statement.name.text)}{_meta_text(statement.meta)} {{"
            rules = [_Item(_rule_lines(r, width)) for r in statement.rules]
            rules.append(_Item([f"else {name_text(statement.else_label.text)}"]))
            return head, rules, "}"
        case nodes.SplitDecl():
            head = f"split {name_text(statement.name.text)}{_meta_text(statement.meta)}"
            if statement.of is not None:
                head += f" of {name_text(statement.of.text)}"
            if statement.seed is not None:
                head += f" seed {string_text(statement.seed)}"
            buckets = [
                _Item([f"{name_text(b.label.text)} {number_text(b.percent)}%"])
                for b in statement.buckets
            ]
            return head + " {", buckets, "}"
        case _:
            return "", [], None


def group_column_text(column: nodes.GroupColumn) -> str:
    """`value = sum(amount)`, `days = count`, `products = count distinct(sku)`."""
    text = f"{name_text(column.name.text)} = {column.func}"
    if column.arg is not None:
        distinct = " distinct" if column.distinct else ""
        text += f"{distinct}({expr_text(column.arg)})"
    return text


def _rule_lines(rule: nodes.Rule, width: int) -> list[str]:
    """`label when condition`, the condition broken below it when too long."""
    head = f"{name_text(rule.label.text)} when"
    condition = expr_text(rule.condition)
    if len(INDENT) + len(head) + 1 + len(condition) <= width:
        return [f"{head} {condition}"]
    # relative to the member's indentation, which the caller adds
    lines = wrapped_lines(rule.condition, OR, INDENT * 2, "", width, condition)
    return [head, *(line[len(INDENT) :] for line in lines)]


def simple_statement_lines(statement: nodes.Statement, width: int = WIDTH) -> list[str]:
    match statement:
        case nodes.DerivedTableDecl():
            head = (
                f"table {name_text(statement.name.text)} = {name_text(statement.base.text)} where"
            )
            where = expr_text(statement.where)
            if len(head) + 1 + len(where) <= width:
                return [f"{head} {where}"]
            return [head, *wrapped_lines(statement.where, OR, INDENT, "", width, where)]
        case nodes.ParamDecl():
            text = f"param {name_text(statement.name.text)}: {name_text(statement.type.text)}"
            if statement.default is not None:
                text += f" = {expr_text(statement.default, UNARY)}"
            if statement.description is not None:
                text += f" {string_text(statement.description)}"
            return [text]
        case nodes.MeasureDecl():
            head = f"measure {name_text(statement.name.text)}"
            if statement.description is not None:
                head += f" {string_text(statement.description)}"
            return definition_lines(head, statement.body, is_measure=True, width=width)
        case nodes.SegmentDecl():
            head = f"segment {name_text(statement.name.text)}{_meta_text(statement.meta)}"
            return definition_lines(head, statement.condition, width=width)
        case _:
            raise AssertionError(f"not a simple statement: {statement!r}")


def _member_spans(statement: nodes.Statement) -> list[Span]:
    match statement:
        case nodes.EntityDecl() | nodes.TableDecl():
            return [m.span for m in statement.members]
        case nodes.GroupedTableDecl():
            return [c.span for c in statement.columns]
        case nodes.ClassifierDecl():
            return [r.span for r in statement.rules] + [statement.else_label.span]
        case nodes.SplitDecl():
            return [b.span for b in statement.buckets]
        case _:
            return []


class _CommentTest(Protocol):
    """A test on one comment.

    A protocol, not `Callable[[Comment], bool]`: the tests are lambdas binding loop variables
    through defaults (`lambda c, s=start: ...`), which mypy cannot match to that `Callable`.
    """

    def __call__(self, comment: nodes.Comment, /) -> bool: ...


def format_module(module: nodes.Module, text: str = "", width: int = WIDTH) -> str:
    """The canonical text of a module; `text` (its source) places comments and blank lines.

    Lines are broken to fit `width` where a condition can break."""
    lines_of_source = text.split("\n")

    def comment_lines(chosen: list[nodes.Comment], next_line: int, indent: str = "") -> list[str]:
        """Comments on their own lines, each followed by a blank line if the source had
        one before what comes next (a comment or the line `next_line`)."""
        lines: list[str] = []
        for position, comment in enumerate(chosen):
            lines.append(f"{indent}{comment.text}")
            following = chosen[position + 1].span.line if position + 1 < len(chosen) else next_line
            if _has_blank_between(lines_of_source, comment.span.line, following, ()):
                lines.append("")
        return lines

    def is_own_line(comment: nodes.Comment) -> bool:
        line = (
            lines_of_source[comment.span.line - 1]
            if comment.span.line - 1 < len(lines_of_source)
            else ""
        )
        return line[: comment.span.column - 1].strip() == ""

    comments = sorted(module.comments, key=lambda c: (c.span.line, c.span.column))
    remaining = list(comments)

    def take(predicate: _CommentTest) -> list[nodes.Comment]:
        chosen = [c for c in remaining if predicate(c)]
        for c in chosen:
            remaining.remove(c)
        return chosen

    out: list[str] = []
    previous_end = 0
    if module.version is not None:
        header_line = _header_line(lines_of_source) or 1
        header_comments = take(lambda c: c.span.line < header_line)
        out.extend(comment_lines(header_comments, header_line))
        header_trailing = take(lambda c: c.span.line == header_line)
        out.append(f"segdsl {module.version}" + "".join(f"  {c.text}" for c in header_trailing))
        previous_end = header_line
    for index, statement in enumerate(module.statements):
        start, end = statement.span.line, statement.span.end_line
        leading = take(lambda c, s=start: c.span.line < s)
        first_line = leading[0].span.line if leading else start
        blank_before = index > 0 or module.version is not None
        if text and index > 0:
            blank_before = _has_blank_between(lines_of_source, previous_end, first_line, ())
        if _is_block(statement) or (index > 0 and _is_block(module.statements[index - 1])):
            blank_before = blank_before or index > 0 or module.version is not None
        if blank_before and out and out[-1] != "":
            out.append("")
        out.extend(comment_lines(leading, start))
        head, members, close = statement_items(statement, width)
        if close is not None:
            member_spans = _member_spans(statement)
            head_trailing = take(lambda c, s=start: c.span.line == s and not is_own_line(c))
            out.append(head + (f"  {head_trailing[0].text}" if head_trailing else ""))
            for item, span in zip(members, member_spans, strict=False):
                before = take(lambda c, sp=span: c.span.line < sp.line)
                after = take(lambda c, sp=span: sp.line <= c.span.line <= sp.end_line)
                out.extend(comment_lines(before, span.line, INDENT))
                member_lines = [f"{INDENT}{line}" for line in item.lines]
                if after:
                    member_lines[-1] += "  " + "  ".join(c.text for c in after)
                out.extend(member_lines)
            inner = take(lambda c, e=end: c.span.line < e or (c.span.line == e and is_own_line(c)))
            out.extend(f"{INDENT}{c.text}" for c in inner)
            closing_trailing = take(lambda c, e=end: c.span.line == e)
            out.append(close + (f"  {closing_trailing[0].text}" if closing_trailing else ""))
        else:
            lines = simple_statement_lines(statement, width)
            interior = take(
                lambda c, s=start, e=end: (
                    s <= c.span.line < e or (c.span.line == e and is_own_line(c))
                )
            )
            trailing = take(lambda c, e=end: c.span.line == e)
            out.extend(c.text for c in interior)
            if trailing:
                lines[-1] += "  " + "  ".join(c.text for c in trailing)
            out.extend(lines)
        previous_end = end
    if remaining:
        if out and out[-1] != "":
            out.append("")
        out.extend(comment_lines(remaining, len(lines_of_source) + 1))
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def _is_block(statement: nodes.Statement) -> bool:
    return isinstance(
        statement,
        (
            nodes.EntityDecl,
            nodes.TableDecl,
            nodes.GroupedTableDecl,
            nodes.ClassifierDecl,
            nodes.SplitDecl,
        ),
    )


def _header_line(lines: list[str]) -> int:
    for number, line in enumerate(lines, start=1):
        if line.strip().startswith("segdsl"):
            return number
    return 0


def _has_blank_between(
    lines: list[str], previous_end: int, start: int, comments: Sequence[nodes.Comment]
) -> bool:
    """Whether the source had an empty line between two statements (comments don't count)."""
    return any(
        not lines[number - 1].strip()
        for number in range(previous_end + 1, start)
        if number - 1 < len(lines)
    )


def format_text(text: str, path: str = "<string>", width: int = WIDTH) -> str | None:
    """Format source text; None if it does not parse."""
    from segdsl.source import SourceFile
    from segdsl.syntax.parser import parse

    result = parse(SourceFile(path, text))
    if result.module is None:
        return None
    return format_module(result.module, text, width)
