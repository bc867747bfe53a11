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


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategies.modules, st.integers(min_value=40, max_value=120))
def test_wrapping_at_any_width_keeps_the_tree_and_is_idempotent(
    module: nodes.Module, width: int
) -> None:
    text = format_module(module, width=width)
    assert reparse(text) == module
    assert format_text(text, width=width) == text
    for line in text.splitlines():
        if len(line) > width:  # only what cannot break: no `and`/`or` outside brackets
            assert not _breakable(line.strip()), (width, line)


def _breakable(line: str) -> bool:
    """A line of a long chain that the formatter should have broken: an ` and ` or ` or `
    at bracket depth 0 after its first word (strings and aggregates' `where` aside)."""
    depth, words, in_string = 0, [], False
    for index, char in enumerate(line):
        if char == '"' and (index == 0 or line[index - 1] != "\\"):
            in_string = not in_string
        elif not in_string and char in "([":
            depth += 1
        elif not in_string and char in ")]":
            depth -= 1
        elif not in_string and depth == 0 and char == " ":
            words.append(line[index + 1 : index + 5])
    tail = line.split(" ", 1)[1] if " " in line else ""
    tail = f" {tail}"  # a line may start with the operand of `between`
    simple = " where " not in tail and " between " not in tail and "then" not in tail
    return simple and any(w.startswith(("and ", "or ")) for w in words[1:])


@st.composite
def commented_modules(draw: st.DrawFn) -> tuple[nodes.Module, str, list[tuple[str, bool]]]:
    """A formatted module with comment lines inserted above statements, some followed by
    a blank line; returns the module, the text, and each comment with its blank."""
    module = draw(strategies.modules)
    lines = format_module(module).split("\n")
    out: list[str] = []
    comments: list[tuple[str, bool]] = []
    starts = ("segment", "measure", "table", "entity", "classifier", "split", "param")
    for line in lines:
        if line.startswith(starts) and draw(st.booleans()):
            for _ in range(draw(st.integers(min_value=1, max_value=2))):
                comment = f"# note {len(comments)}"
                blank = draw(st.booleans())
                out.append(comment)
                if blank:
                    out.append("")
                comments.append((comment, blank))
        out.append(line)
    return module, "\n".join(out), comments


@st.composite
def tail_commented_modules(draw: st.DrawFn) -> tuple[nodes.Module, str, list[str]]:
    """A formatted module with comments at the end of some one-line statements."""
    module = draw(strategies.modules)
    lines = format_module(module, width=draw(st.integers(min_value=60, max_value=200)))
    out: list[str] = []
    tails: list[str] = []
    starts = ("segment", "measure", "table", "param")
    for line in lines.split("\n"):
        if line.startswith(starts) and not line.endswith(("=", "where")) and draw(st.booleans()):
            tails.append(f"# tail {len(tails)}")
            line += f"  {tails[-1]}"
        out.append(line)
    return module, "\n".join(out), tails


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tail_commented_modules(), st.integers(min_value=40, max_value=120))
def test_end_of_line_comments_survive_wrapping(
    case: tuple[nodes.Module, str, list[str]], width: int
) -> None:
    module, text, tails = case
    formatted = format_text(text, width=width)
    assert formatted is not None
    assert reparse(formatted).statements == module.statements
    assert format_text(formatted, width=width) == formatted
    kept = [c.text for c in reparse(formatted).comments]
    assert kept == tails


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(commented_modules(), st.integers(min_value=40, max_value=120))
def test_comments_and_the_blank_lines_after_them_are_kept(
    case: tuple[nodes.Module, str, list[tuple[str, bool]]], width: int
) -> None:
    module, text, comments = case
    formatted = format_text(text, width=width)
    assert formatted is not None
    assert reparse(formatted).statements == module.statements
    assert format_text(formatted, width=width) == formatted
    lines = formatted.split("\n")
    assert [line for line in lines if line.startswith("# note")] == [c for c, _ in comments]
    for comment, blank in comments:
        after = lines[lines.index(comment) + 1]
        assert (after == "") == blank, (comment, formatted)


def test_blank_line_after_a_comment_survives() -> None:
    text = "segdsl 1\n\n# Section: lifecycle\n\n# buyers\nsegment b = true\n"
    assert format_text(text) == text  # the blank after `# Section` was lost


def _counting_expr(monkeypatch: Any) -> list[int]:
    """calls[0] counts the printer's node function; past calls[1] it fails at once (an
    exponential printer would otherwise run for hours)."""
    from segdsl.syntax import printer

    calls = [0, 10**9]
    original = printer._expr

    def counted(node: nodes.Expr) -> tuple[str, int]:
        calls[0] += 1
        assert calls[0] <= calls[1], f"more than {calls[1]} node visits"
        return original(node)

    monkeypatch.setattr(printer, "_expr", counted)
    return calls


def test_nested_not_formats_in_linear_time(monkeypatch: Any) -> None:
    """Printing a `not` printed its operand twice: 2^n node visits (20 levels: 18 s)."""
    calls = _counting_expr(monkeypatch)
    for depth in (50, 150):  # under the 200-level nesting limit (SEG006)
        calls[0], calls[1] = 0, 4 * (depth + 3)
        text = "segdsl 1\nsegment s = " + "not " * depth + "(a = 1 or b = 2)\n"
        formatted = format_text(text, width=100)
        assert formatted is not None and formatted.count("not") == depth
        assert reparse(formatted).statements == reparse(text).statements


def test_long_chains_wrap_in_linear_time(monkeypatch: Any) -> None:
    calls = _counting_expr(monkeypatch)
    calls[1] = 3 * 4 * 300
    operands = [f"x{i} = {i}" for i in range(300)]
    text = "segdsl 1\nsegment s = " + " and ".join(operands) + "\n"
    formatted = format_text(text)
    assert formatted is not None and len(formatted.splitlines()) == 3 + 300
    # each node is printed on one line once, then once more where its line is broken


def test_nested_groups_wrap_inside_their_parentheses() -> None:
    inner = " or ".join(f'source = "channel_{i}"' for i in range(8))
    text = f"segdsl 1\nsegment s = a and not ({inner}) and b\n"
    formatted = format_text(text, width=60)
    assert formatted is not None
    assert formatted.splitlines()[2:] == [
        "segment s =",
        "  a",
        "  and not (",
        '    source = "channel_0"',
        *[f'    or source = "channel_{i}"' for i in range(1, 8)],
        "  )",
        "  and b",
    ]
    assert reparse(formatted).statements == reparse(text).statements
