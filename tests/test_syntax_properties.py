"""Properties of the parser and the formatter, checked on generated input."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.diagnostics import CompileError
from segdsl.project import Project
from segdsl.source import SourceFile
from segdsl.syntax import lark_loops, nodes
from segdsl.syntax import parser as parser_module
from segdsl.syntax.parser import parse
from segdsl.syntax.printer import format_module, format_text
from tests import strategies
from tests.support.stack import python_default_stack

CORPUS_TEXTS = [p.read_text() for p in sorted((Path(__file__).parent / "corpus").glob("*.seg"))]


def reparse(text: str) -> nodes.Module:
    result = parse(SourceFile("<printed>", text))
    assert result.module is not None, (text, result.diagnostics)
    return result.module


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.modules)
def test_printing_then_parsing_gives_the_same_tree(module: nodes.Module) -> None:
    text = format_module(module)
    assert reparse(text) == module


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.modules)
def test_formatting_is_idempotent(module: nodes.Module) -> None:
    once = format_module(module)
    assert format_text(once) == once


ADVERSARIAL_MODEL = (
    "entity customer from customers {\n  key id\n  x: integer\n  d: date\n}\n"
    "table orders from orders {\n  link customer_id to customer\n  time at\n  amount: money\n}\n"
)
# pieces of the inputs that crashed or hung the compiler once (docs/testing.md)
ADVERSARIAL_PIECES = [
    "not ",
    "(",
    ")",
    " and ",
    " or ",
    " + ",
    " - ",
    " / ",
    "-",
    "x > 1",
    "x in []",
    "x in [1, 2]",
    "exists orders during last 9999y",
    "exists orders during since 9999-12-31",
    "exists orders during last 99999999 calendar months",
    "d < 0001-01-01",
    "age(d) > 99999999999999999999",
    "time since d > 999999999d",
    "(count orders where amount > ",
    '"\\x00"',
    '"unterminated',
    "\ufeff",
    "\x00",
    "segment ",
    "s",
    " = ",
    "\n",
    "#",
    "`",
]


@st.composite
def adversarial_texts(draw: st.DrawFn) -> str:
    """The model, then a segment made of pieces of known attacks, some repeated many times."""
    parts = []
    for _ in range(draw(st.integers(min_value=1, max_value=8))):
        piece = draw(st.sampled_from(ADVERSARIAL_PIECES))
        parts.append(piece * draw(st.sampled_from([1, 1, 2, 5, 150, 400])))
    return ADVERSARIAL_MODEL + "segment s = " + "".join(parts) + "\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=300), adversarial_texts()))
@example("segment s = (((")
@example('segment s = "unterminated')
@example("measure m = count orders where")
@example("segdsl 99\nsegment s = x")
@example("segment s = 2025-02-30 < x")
@example(ADVERSARIAL_MODEL + "segment s = " + "not " * 500 + "x > 1")
@example(ADVERSARIAL_MODEL + "segment s = " + " and ".join(["x > 1"] * 600))
@example(ADVERSARIAL_MODEL + "segment s = " + " + ".join(["x"] * 600) + " > 1")
@example(ADVERSARIAL_MODEL + "segment s = x in []")
@example("segment s = true")
@example(ADVERSARIAL_MODEL + 'segment s = "\\x00" = "a"')
def test_arbitrary_text_never_crashes_the_compiler(text: str) -> None:
    with python_default_stack():
        compiler = Compiler(Project.from_text(text))
        if compiler.analysis.ok and "s" in compiler.analysis.definitions:
            for dialect in ("duckdb", "postgres", "bigquery"):
                try:
                    compiler.members_sql("s", dialect=dialect, as_of="2025-07-01")
                except CompileError as error:
                    assert "SEG901" not in {d.code for d in error.diagnostics}
    assert all(d.code.startswith("SEG") and d.code != "SEG901" for d in compiler.diagnostics)


def _children(node: object) -> Iterator[object]:
    """The nodes directly inside `node` (through tuples and spanless records)."""
    values = [getattr(node, f.name) for f in dataclasses.fields(node)]  # type: ignore[arg-type]
    while values:
        value = values.pop()
        if isinstance(value, tuple):
            values.extend(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            span = getattr(value, "span", None)
            if span is None or span.path != "<printed>":
                values.extend(getattr(value, f.name) for f in dataclasses.fields(value))
            else:
                yield value


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.modules)
def test_every_node_spans_its_own_text_inside_its_parent(module: nodes.Module) -> None:
    text = format_module(module)
    parsed = reparse(text)
    for statement in parsed.statements:
        covered = text[statement.span.start : statement.span.end]
        keyword = type(statement).__name__.removesuffix("Decl").lower()
        assert covered.split()[0] in (keyword, "table"), covered  # derived tables too
        assert covered == covered.strip()
    pending: list[object] = [parsed]
    while pending:
        parent = pending.pop()
        for child in _children(parent):
            outer, inner = parent.span, child.span  # type: ignore[attr-defined]
            assert outer.start <= inner.start <= inner.end <= outer.end, (parent, child)
            pending.append(child)


def test_spans_cover_keywords_and_brackets_but_not_a_parenthesised_expression() -> None:
    text = "segment s = not (a or b) and x in [1, 2] and count orders during last 30d > 0\n"
    module = reparse(text)
    definition = module.statements[0]
    assert isinstance(definition, nodes.SegmentDecl)

    def covered(node: Any) -> str:
        return text[node.span.start : node.span.end]

    assert covered(definition) == text.strip()
    conjunction = definition.condition
    assert isinstance(conjunction, nodes.And) and isinstance(conjunction.left, nodes.And)
    negation, membership = conjunction.left.left, conjunction.left.right
    assert isinstance(negation, nodes.Not)
    assert covered(negation) == "not (a or b)"
    assert covered(negation.operand) == "a or b"  # the parentheses belong to the parent
    assert covered(membership) == "x in [1, 2]"
    comparison = conjunction.right
    assert isinstance(comparison, nodes.Compare)
    assert covered(comparison.left) == "count orders during last 30d"


def test_parsing_in_threads_gives_what_parsing_in_turn_gives() -> None:
    sources = [SourceFile(f"f{i}.seg", text) for i, text in enumerate(CORPUS_TEXTS * 3)]
    in_turn = [parse(source) for source in sources]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(parse, sources)) == in_turn


@st.composite
def mutated_corpus(draw: st.DrawFn) -> str:
    """A corpus file with a few characters deleted, duplicated or replaced."""
    text = draw(st.sampled_from(CORPUS_TEXTS))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        index = draw(st.integers(min_value=0, max_value=max(0, len(text) - 1)))
        action = draw(st.sampled_from(["delete", "duplicate", "replace"]))
        if action == "delete":
            text = text[:index] + text[index + 1 :]
        elif action == "duplicate":
            text = text[:index] + text[index : index + 5] + text[index:]
        else:
            text = (
                text[:index]
                + draw(st.sampled_from(list("()[]=<>\"'#.,x1 \n`")))
                + text[index + 1 :]
            )
    return text


@settings(max_examples=300, deadline=None)
@given(mutated_corpus())
def test_mutated_files_give_diagnostics_not_crashes(text: str) -> None:
    compiler = Compiler(Project.from_text(text))
    for diagnostic in compiler.diagnostics:
        assert diagnostic.code.startswith("SEG")
        assert diagnostic.span.line >= 1 and diagnostic.span.column >= 1


_LARKS_OWN_LOOPS = cache(parser_module._ast_lark)


def _spans(result: object) -> list[object]:
    pending, spans = [result], []
    while pending:
        value = pending.pop()
        if isinstance(value, tuple):
            pending.extend(value)
        elif dataclasses.is_dataclass(value) and not isinstance(value, type):
            spans.append(getattr(value, "span", None))
            pending.extend(getattr(value, f.name) for f in dataclasses.fields(value))
    return spans


def test_the_lean_lark_loops_are_the_ones_parsing() -> None:
    lark = parser_module._lark()
    assert isinstance(lark.parser.parser.parser, lark_loops._LeanParser)
    parse(SourceFile("warm.seg", CORPUS_TEXTS[0]))
    # lark builds a state's lexer on first use; every one built so far must be lean
    used = [lexer for lexer in lark.parser.lexer.lexers.values() if lexer._scanner is not None]
    assert used and all(type(lexer) is lark_loops._LeanLexer for lexer in used)
    assert all(lexer._pattern is not None for lexer in used)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        strategies.modules.map(format_module),
        mutated_corpus(),
        st.text(alphabet=st.sampled_from(list("segmnt =<>()[]'\"#.,x1-d%\n`abc")), max_size=80),
    )
)
@example("segment s = count orders during last 30d > 2 and not (x in [1, 2])\n")
@example('segment s = "unterminated\nsegment t = a or b\n')
def test_lean_loops_parse_exactly_as_larks_own(text: str) -> None:
    """Same trees, spans and diagnostics as lark's own parser and lexer loops give."""
    source = SourceFile("t.seg", text)
    lean = parse(source)
    with mock.patch.object(parser_module, "_lark", _LARKS_OWN_LOOPS):
        own = parse(source)
    assert lean == own
    assert _spans(lean) == _spans(own)


def test_corpus_files_are_formatted() -> None:
    for path in sorted((Path(__file__).parent / "corpus").glob("*.seg")):
        text = path.read_text()
        assert format_text(text, str(path)) == text, path
