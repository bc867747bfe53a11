"""Membership of many definitions at one as-of time, as (key, definition, label) rows.

One query of the ordinary compiler computes a column per definition for every entity
(`QueryBuilder.table`); the rows are then unpivoted by a cross join with the list of
definition names, so the data is read once however many definitions there are. A
segment gives a row per member with a NULL label; a classifier or split a row per
entity with a label.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlglot import exp

from segdsl import ir
from segdsl.compiler import AsOfInput, Compiler
from segdsl.diagnostics import CompileError, Diagnostic
from segdsl.source import Span

KEY = "key"
DEFINITION = "definition"
LABEL = "label"
KINDS = ("segment", "classifier", "split")


def definition_hash(compiler: Compiler, name: str) -> str:
    """What a definition means, as 16 hex digits: its kind, the project's time zone and
    the analysed IR (spans left out), so reformatting changes nothing while editing a
    measure it uses changes the hash."""
    definition = compiler.definition(name)
    text = "\n".join(
        (definition.kind, compiler.project.settings.zone.key, repr(definition.expr.expr))
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def check_kinds(compiler: Compiler, names: Sequence[str], code: str = "SEG560") -> None:
    """Measures have values, not members: refuse them (a usage error)."""
    for name in names:
        definition = compiler.definition(name)
        if definition.kind not in KINDS:
            raise CompileError(
                [
                    Diagnostic(
                        code,
                        f"`{name}` is a {definition.kind}: it has values, not members",
                        definition.span,
                        "history and changes are kept for segments, classifiers and splits",
                    )
                ],
                compiler.project.source_map,
            )


def label_of(compiler: Compiler, name: str) -> bool:
    """True when the definition labels its members (classifiers and splits)."""
    return compiler.definition(name).kind != "segment"


def membership_query(
    compiler: Compiler, names: Sequence[str], dialect: str, as_of: AsOfInput
) -> exp.Select:
    """(key, definition, label) for every member of every named definition at `as_of`.

    The key column has the entity key's own type; definition and label are text.
    """
    check_kinds(compiler, names)
    columns = {name: f"c{index}" for index, name in enumerate(names, start=1)}
    outputs: list[tuple[str, ir.Expr]] = [
        (columns[name], compiler.definition(name).expr) for name in names
    ]
    builder = compiler.builder(outputs, dialect, as_of)
    table = builder.table(outputs)
    ctes = table.args.get("with")
    table.set("with", None)
    key_name = builder.entity.key.name
    text = exp.DataType.build("TEXT")

    def m(column: str) -> exp.Column:
        return exp.column(column, table="m", quoted=True)

    def is_name(name: str) -> exp.Expr:
        return exp.EQ(this=exp.column(DEFINITION, table="d", quoted=True), expression=_s(name))

    names_list: exp.Query | None = None
    for name in names:
        one = exp.select(exp.alias_(_s(name), DEFINITION, quoted=True))
        names_list = one if names_list is None else exp.union(names_list, one, distinct=False)
    assert names_list is not None
    kept = exp.Case(
        ifs=[
            exp.If(
                this=is_name(name),
                true=m(columns[name])
                if not label_of(compiler, name)
                else exp.Not(this=exp.Is(this=m(columns[name]), expression=exp.Null())),
            )
            for name in names
        ],
        default=exp.false(),
    )
    labelled = [name for name in names if label_of(compiler, name)]
    label: exp.Expr = exp.cast(exp.Null(), text)
    if labelled:
        label = exp.Case(
            ifs=[
                exp.If(this=is_name(name), true=exp.cast(m(columns[name]), text))
                for name in labelled
            ],
            default=exp.cast(exp.Null(), text),
        )
    select = (
        exp.select(
            exp.alias_(m(key_name), KEY, quoted=True),
            exp.alias_(exp.column(DEFINITION, table="d", quoted=True), DEFINITION, quoted=True),
            exp.alias_(label, LABEL, quoted=True),
        )
        .from_(table.subquery("m", copy=False), copy=False)
        .join(names_list.subquery("d", copy=False), join_type="CROSS", copy=False)
        .where(kept, copy=False)
    )
    if ctes is not None:
        select.set("with", ctes)
    return select


def single_membership(compiler: Compiler, name: str, dialect: str, as_of: AsOfInput) -> exp.Select:
    """(key, label) of one definition's members at `as_of` (label NULL for a segment).

    A segment uses the members query (its inner joins and anti-joins); the others the
    membership table with a label.
    """
    check_kinds(compiler, [name])
    definition = compiler.definition(name)
    text = exp.DataType.build("TEXT")
    if definition.kind == "segment":
        builder = compiler.builder(
            [(name, definition.expr)], dialect, as_of, members_of=definition.expr
        )
        inner = builder.members(definition.expr)
        label: exp.Expr = exp.cast(exp.Null(), text)
        where: exp.Expr | None = None
    else:
        output: list[tuple[str, ir.Expr]] = [("c1", definition.expr)]
        builder = compiler.builder(output, dialect, as_of)
        inner = builder.table(output)
        label = exp.cast(exp.column("c1", table="m", quoted=True), text)
        where = exp.Not(
            this=exp.Is(this=exp.column("c1", table="m", quoted=True), expression=exp.Null())
        )
    key = exp.column(builder.entity.key.name, table="m", quoted=True)
    select = exp.select(
        exp.alias_(key, KEY, quoted=True), exp.alias_(label, LABEL, quoted=True)
    ).from_(inner.subquery("m", copy=False), copy=False)
    if where is not None:
        select = select.where(where, copy=False)
    return select


def _s(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def request_error(
    code: str, message: str, help_text: str, where: str = "<request>"
) -> CompileError:
    """A user error about the command's inputs (no source position to point at)."""
    return CompileError([Diagnostic(code, message, Span(where, 1, 1, 1, 1), help_text)], {})
