"""A definition → what `seg explain` and `seg why` show: words, dependencies, SQL,
funnel steps and the per-condition tree for one member.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from segdsl import ir
from segdsl import types as t
from segdsl.compiler import AsOfInput, Compiler
from segdsl.diagnostics import CompileError, Diagnostic
from segdsl.explain.dependencies import Dependency, dependency_tree, render_tree
from segdsl.explain.words import Describer
from segdsl.semantic.check import ENTITY, Checker
from segdsl.source import Span
from segdsl.syntax import nodes
from segdsl.syntax.printer import NOT, body_text, expr_text
from segdsl.timeline import AsOf


@dataclass
class Explanation:
    name: str
    kind: str
    location: str
    as_of: AsOf
    dialect: str
    description: str | None
    owner: str | None
    tags: tuple[str, ...]
    definition: str
    words: list[str]
    dependencies: list[str]
    sql: str
    dependency_tree: Dependency | None = None  # what `dependencies` draws, for other layouts


def checker_for(compiler: Compiler) -> Checker:
    """A checker over the analysed project, for checking parts of definitions on their own."""
    analysis = compiler.analysis
    return Checker(analysis.decls, analysis.params, compiler.project.settings.zone)


def explain(
    compiler: Compiler, name: str, *, dialect: str | None = None, as_of: AsOfInput = None
) -> Explanation:
    """Everything `seg explain` prints about one definition."""
    definition = compiler.definition(name)
    decl = compiler.analysis.decls.definitions[name]
    moment = compiler.as_of(as_of)
    # the SQL first: it reports the times the as-of moment puts out of range (SEG211)
    if definition.kind == "segment":
        sql = compiler.members_sql(name, dialect=dialect, as_of=moment)
    else:
        sql = compiler.table_sql([name], dialect=dialect, as_of=moment)
    describer = Describer(checker_for(compiler), moment)
    body, words = _definition_words(decl, describer)
    tree = dependency_tree(compiler.analysis.decls, name)
    return Explanation(
        name=name,
        kind=definition.kind,
        location=str(decl.span),
        as_of=moment,
        dialect=compiler.dialect(dialect).name,
        description=definition.description,
        owner=definition.owner,
        tags=definition.tags,
        definition=body,
        words=words,
        dependencies=render_tree(tree),
        sql=sql,
        dependency_tree=tree,
    )


def _definition_words(decl: nodes.Statement, describer: Describer) -> tuple[str, list[str]]:
    match decl:
        case nodes.SegmentDecl():
            return expr_text(decl.condition), describer.lines(decl.condition)
        case nodes.MeasureDecl():
            return body_text(decl.body), [describer.text(decl.body)]
        case nodes.ClassifierDecl():
            lines = ["the first rule that holds gives the label:"]
            for rule in decl.rules:
                lines.append(f"  {rule.label.text}: when {describer.text(rule.condition)}")
            lines.append(f"  {decl.else_label.text}: everyone else")
            return "; ".join(
                f"{r.label.text} when {expr_text(r.condition)}" for r in decl.rules
            ), lines
        case nodes.SplitDecl():
            who = f"members of {decl.of.text}" if decl.of else "everyone"
            buckets = ", ".join(f"{b.label.text} {b.percent}%" for b in decl.buckets)
            seed = decl.seed or decl.name.text
            return buckets, [f'{who}, split by MD5 of "{seed}:<key>" into {buckets}']
        case _:
            raise AssertionError(decl)


# ------------------------------------------------------------------ funnel
def funnel_steps(compiler: Compiler, name: str) -> list[tuple[str, ir.Expr]]:
    """Cumulative conditions of a segment: its top-level `and` parts, one more at each step."""
    definition = compiler.definition(name)
    decl = compiler.analysis.decls.definitions[name]
    if definition.kind != "segment" or not isinstance(decl, nodes.SegmentDecl):
        raise CompileError(
            [
                Diagnostic(
                    "SEG502",
                    f"`{name}` is a {definition.kind}; a funnel needs a segment",
                    decl.span,
                )
            ],
            {},
        )
    checker = checker_for(compiler)
    parts = _and_chain(decl.condition)
    steps: list[tuple[str, ir.Expr]] = []
    conditions: list[ir.Expr] = []
    for index, part in enumerate(parts):
        conditions.append(checker.condition(part, ENTITY))
        label = expr_text(part, NOT) if index == 0 else f"and {expr_text(part, NOT)}"
        steps.append((label, conditions[0] if len(conditions) == 1 else ir.And(tuple(conditions))))
    return steps


def funnel_sql(
    compiler: Compiler, name: str, *, dialect: str | None = None, as_of: AsOfInput = None
) -> tuple[str, list[str]]:
    """One query counting the population and the members left after each step."""
    steps = funnel_steps(compiler, name)
    outputs = [(f"step_{i + 1}", expr) for i, (_, expr) in enumerate(steps)]
    builder = compiler.builder(outputs, dialect, as_of)
    return builder.dialect.render(builder.counts(outputs)), [label for label, _ in steps]


def _and_chain(node: nodes.Expr) -> list[nodes.Expr]:
    parts: list[nodes.Expr] = []
    while isinstance(node, nodes.And):  # a loop: a chain may be hundreds of `and`s long
        parts.append(node.right)
        node = node.left
    return [node, *reversed(parts)]


# ------------------------------------------------------------------ why
@dataclass
class WhyNode:
    """One condition of a segment for one member.

    Its value, the values it compares, and its sub-conditions.
    """

    text: str
    expr: ir.Expr
    values: list[tuple[str, ir.Expr]] = field(default_factory=list)
    children: list[WhyNode] = field(default_factory=list)
    result: bool | None = None
    shown: list[tuple[str, object]] = field(default_factory=list)
    # a classifier's root: the label the member got; one of its rules: the label it gives
    label: str | None = None
    sequence: ir.SequenceSpec | None = None  # a sequence condition: its steps are shown
    step_tables: tuple[str, str] = ("", "")  # the tables of its two steps, as written
    steps: list[SequenceStep] = field(default_factory=list)
    ranking: ir.PopulationSpec | None = None  # a ranking condition: the member's standing
    score: object = None  # the value ranked, for the member
    standing: Standing | None = None


@dataclass(frozen=True)
class SequenceStep:
    """One row of a sequence's first step for the member, and what followed it."""

    at: object  # the row's time
    next_at: object  # the first row of the next step after it (within the limit), or None
    decided: bool  # the time limit has passed by the as-of time (always, without a limit)
    matches: bool  # this row makes the condition true


@dataclass(frozen=True)
class Standing:
    """Where the member stands in a ranking's population."""

    position: int  # 1 = first in the ranking's order (descending for top and shares)
    members: int  # members of the ranking's population with a value
    cut_off: int | None  # top/bottom N or N%: how many are in


def why_tree(compiler: Compiler, name: str) -> WhyNode:
    """The conditions of a segment (or the rules of a classifier) as a tree to fill in."""
    definition = compiler.definition(name)
    decl = compiler.analysis.decls.definitions[name]
    checker = checker_for(compiler)
    if isinstance(decl, nodes.ClassifierDecl):
        rules = [_rule(rule, checker, compiler) for rule in decl.rules]
        fallback = WhyNode(f"else {decl.else_label.text}", ir.Const(True, t.BOOLEAN))
        fallback.label = decl.else_label.text
        return WhyNode(
            f"{name}: the first rule that holds", definition.expr, children=[*rules, fallback]
        )
    if not isinstance(decl, nodes.SegmentDecl):
        raise CompileError(
            [
                Diagnostic(
                    "SEG502",
                    f"`{name}` is a {definition.kind}; `seg why` explains segments and "
                    "classifiers (a split's label comes from a hash of the key)",
                    decl.span,
                )
            ],
            {},
        )
    root = _why(decl.condition, checker, compiler, set())
    root.text = f"{name}: {root.text}" if root.children else root.text
    return root


def _rule(rule: nodes.Rule, checker: Checker, compiler: Compiler) -> WhyNode:
    node = _why(rule.condition, checker, compiler, set())
    if node.children:
        node = WhyNode(f"{rule.label.text} when", node.expr, children=[node])
    else:
        node.text = f"{rule.label.text} when {node.text}"
    node.label = rule.label.text
    return node


def _why(node: nodes.Expr, checker: Checker, compiler: Compiler, expanded: set[str]) -> WhyNode:
    expr = checker.condition(node, ENTITY)
    text = expr_text(node)
    if isinstance(node, (nodes.And, nodes.Or)):
        word = "all of" if isinstance(node, nodes.And) else "any of"
        parts = _chain(node, type(node))
        return WhyNode(word, expr, children=[_why(p, checker, compiler, expanded) for p in parts])
    if isinstance(node, nodes.Not):
        return WhyNode("not", expr, children=[_why(node.operand, checker, compiler, expanded)])
    if isinstance(node, nodes.Name) and len(node.parts) == 1:
        name = node.parts[0].text
        decl = compiler.analysis.decls.definitions.get(name)
        if isinstance(decl, nodes.SegmentDecl) and name not in expanded:
            child = _why(decl.condition, checker, compiler, expanded | {name})
            return WhyNode(f"{name} (segment)", expr, children=[child])
    result = WhyNode(text, expr)
    result.sequence = _sequence_in(expr)
    if isinstance(node, nodes.Sequence):
        result.step_tables = (node.first.table.text, node.then.table.text)
    result.ranking = _ranking_in(expr)
    for operand in _operands(node):
        if _is_literal(operand):
            continue
        value = checker.expr(operand, ENTITY)
        if value.type.kind is not t.Kind.ERROR:
            result.values.append((expr_text(operand), value))
    return result


def _sequence_in(expr: ir.Expr) -> ir.SequenceSpec | None:
    while isinstance(expr, ir.Named):
        expr = expr.expr
    return expr.sequence if isinstance(expr, ir.SequenceRef) else None


def _ranking_in(expr: ir.Expr) -> ir.PopulationSpec | None:
    """The ranking a condition tests (`x in top 10%`, `ntile(5) of x = 5`), if it is one."""
    while isinstance(expr, ir.Named):
        expr = expr.expr
    if isinstance(expr, ir.Compare):
        found = [_ranking_in(side) for side in (expr.left, expr.right)]
        return next((spec for spec in found if spec is not None), None)
    if isinstance(expr, ir.PopulationRef) and expr.spec.func not in _AGGREGATE_FUNCS:
        return expr.spec
    return None


# population figures (`avg x among buyers`): the same for everyone, nothing to rank
_AGGREGATE_FUNCS = ("sum", "avg", "min", "max", "count")


def _chain(node: nodes.Expr, kind: type[nodes.And] | type[nodes.Or]) -> list[nodes.Expr]:
    if isinstance(node, kind):
        return [*_chain(node.left, kind), *_chain(node.right, kind)]
    return [node]


def _operands(node: nodes.Expr) -> list[nodes.Expr]:
    match node:
        case nodes.Compare():
            return [node.left, node.right]
        case nodes.Between():
            return [node.operand, node.low, node.high]
        case (
            nodes.InList() | nodes.InWindow() | nodes.Presence() | nodes.Rank() | nodes.TextMatch()
        ):
            return [node.operand]
        case _:
            return []


def _is_literal(node: nodes.Expr) -> bool:
    return isinstance(node, nodes.Literal_)


def walk(root: WhyNode) -> list[WhyNode]:
    """The node and all below it, depth first."""
    out = [root]
    for child in root.children:
        out.extend(walk(child))
    return out


def why_sql(
    compiler: Compiler,
    root: WhyNode,
    key: object,
    *,
    dialect: str | None = None,
    as_of: AsOfInput = None,
) -> tuple[str, list[tuple[WhyNode, str | None, str]]]:
    """One query returning every condition and value of the tree for the member `key`."""
    entity = compiler.analysis.entity
    assert entity is not None
    outputs: list[tuple[str, ir.Expr]] = []
    columns: list[tuple[WhyNode, str | None, str]] = []
    for index, node in enumerate(walk(root)):
        column = f"c{index}"
        outputs.append((column, node.expr))
        columns.append((node, None, column))
        for position, (label, value) in enumerate(node.values):
            value_column = f"c{index}_{position}"
            outputs.append((value_column, value))
            columns.append((node, label, value_column))
        if node.ranking is not None:
            outputs.append((f"c{index}_score", node.ranking.value))
            columns.append((node, _SCORE, f"c{index}_score"))
    key_value = key_const(key, entity.key.type)
    where = ir.Compare("=", ir.EntityColumn(entity.key, entity.key.name), key_value)
    builder = compiler.builder(outputs, dialect, as_of)
    return builder.dialect.render(builder.table(outputs, where=where)), columns


def key_const(key: object, type_: t.Type) -> ir.Const:
    if type_.is_numeric:
        try:
            return ir.Const(Decimal(str(key)), type_)
        except ArithmeticError:
            pass
        raise CompileError(
            [
                Diagnostic(
                    "SEG503",
                    f"`{key}` is not a valid key: keys are numbers",
                    Span("<key>", 1, 1, 1, 1),
                )
            ],
            {},
        )
    return ir.Const(str(key), t.STRING)


_SCORE = ""  # the column of a ranking's score (no condition's text is empty)


def fill_why(
    root: WhyNode, columns: list[tuple[WhyNode, str | None, str]], row: dict[str, object]
) -> None:
    """Put one member's query row into the tree: results on nodes, values beside them."""
    for node, label, column in columns:
        value = row[column]
        if label is None:
            if node.expr.type.labels:  # a classifier: the label the member got
                node.label = None if value is None else str(value)
            node.result = value is not None if node.expr.type.labels else bool(value)
            continue
        if label == _SCORE:
            node.score = value
            continue
        kind = dict(node.values)[label].type.kind
        node.shown.append(
            (label, duration_text_of(value) if kind is t.Kind.DURATION else _display(value))
        )


def duration_text_of(seconds: object) -> object:
    """Seconds → `12d 3h 5min` (missing stays missing)."""
    if not isinstance(seconds, (int, float, Decimal)):
        return seconds
    remaining = int(seconds)
    sign = "-" if remaining < 0 else ""
    remaining = abs(remaining)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        amount, remaining = divmod(remaining, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return sign + (" ".join(parts) or "0s")


def _display(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
