"""Properties of the parser and the formatter, checked on generated input."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.project import Project
from segdsl.source import SourceFile
from segdsl.syntax import nodes
from segdsl.syntax.parser import parse
from segdsl.syntax.printer import format_module, format_text
from tests import strategies

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


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
@example("segment s = (((")
@example('segment s = "unterminated')
@example("measure m = count orders where")
@example("segdsl 99\nsegment s = x")
@example("segment s = 2025-02-30 < x")
def test_arbitrary_text_never_crashes_the_compiler(text: str) -> None:
    compiler = Compiler(Project.from_text(text))
    assert all(d.code.startswith("SEG") for d in compiler.diagnostics)


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


def test_corpus_files_are_formatted() -> None:
    for path in sorted((Path(__file__).parent / "corpus").glob("*.seg")):
        text = path.read_text()
        assert format_text(text, str(path)) == text, path
