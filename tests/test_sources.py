"""Reading `.seg` files: only regular files, bounded, UTF-8 (a BOM allowed); the same
diagnostic however a file is reached; parsing in bounded memory and work; escapes."""

from __future__ import annotations

import os
import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from segdsl.cli.main import app
from segdsl.compiler import Compiler
from segdsl.diagnostics import Diagnostic
from segdsl.project import Project, load_project
from segdsl.source import MAX_SOURCE_BYTES, SourceFile, read_source
from segdsl.syntax import parser as parser_module
from segdsl.syntax.parser import ESCAPES, MAX_SYNTAX_ERRORS, parse, parse_value
from segdsl.syntax.transformer import unescape_string

MODEL = "entity customer from customers {\n  key id\n  city: string\n}\n"


def codes(project: Project) -> list[str]:
    return [d.code for d in project.diagnostics]


def finishes(action: Callable[[], object]) -> object:
    """`action`'s result; fails (instead of hanging the suite) if it blocks."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(action()), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert result, "blocked"
    return result[0]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_a_named_pipe_is_refused_not_waited_for(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "p.seg")
    (tmp_path / "ok.seg").write_text(MODEL)
    project = finishes(lambda: load_project(tmp_path))
    assert isinstance(project, Project)
    assert codes(project) == ["SEG507"]
    problem = finishes(lambda: read_source(tmp_path / "p.seg"))
    assert isinstance(problem, Diagnostic) and problem.code == "SEG507"


def test_a_link_to_a_device_is_refused(tmp_path: Path) -> None:
    if not Path("/dev/zero").exists():
        pytest.skip("no /dev/zero here")
    (tmp_path / "z.seg").symlink_to("/dev/zero")
    assert codes(load_project(tmp_path)) == ["SEG507"]


def test_a_file_over_the_limit_is_refused_without_reading_it_all(tmp_path: Path) -> None:
    big = tmp_path / "big.seg"
    big.write_text("# filler\n" * (MAX_SOURCE_BYTES // 9 + 1))
    reads: list[int] = []
    real_read = os.fdopen

    def recording_fdopen(*args: Any, **kwargs: Any) -> Any:
        stream = real_read(*args, **kwargs)
        original = stream.read
        stream.read = lambda size=-1: reads.append(size) or original(size)  # type: ignore[method-assign]
        return stream

    with mock.patch("segdsl.source.os.fdopen", recording_fdopen):
        problem = read_source(big)
    assert isinstance(problem, Diagnostic) and problem.code == "SEG506"
    assert reads == [MAX_SOURCE_BYTES + 1]
    assert codes(load_project(tmp_path)) == ["SEG506"]
    assert [
        d.code for d in parse(SourceFile("t.seg", "#" * (MAX_SOURCE_BYTES + 1))).diagnostics
    ] == ["SEG506"]


def test_a_file_at_the_limit_is_read(tmp_path: Path) -> None:
    text = MODEL + "#" * (MAX_SOURCE_BYTES - len(MODEL) - 1) + "\n"
    (tmp_path / "m.seg").write_text(text)
    assert codes(load_project(tmp_path)) == []


def test_non_utf8_is_a_diagnostic_at_the_bad_byte(tmp_path: Path) -> None:
    (tmp_path / "bad.seg").write_bytes(MODEL.encode() + b'segment s = city = "\xff"\n')
    (problem,) = load_project(tmp_path).diagnostics
    assert problem.code == "SEG508"
    assert (problem.span.line, problem.span.column) == (5, 21)


def test_fmt_of_a_non_utf8_file_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "bad.seg").write_bytes(b"segment s = \xff\n")
    result = CliRunner().invoke(app, ["fmt", str(tmp_path)])
    assert "SEG508" in result.output and "SEG901" not in result.output
    assert result.exit_code != 0 and isinstance(result.exception, SystemExit | None)


def test_a_byte_order_mark_is_dropped_and_columns_stay_right(tmp_path: Path) -> None:
    path = tmp_path / "bom.seg"
    path.write_bytes("\ufeff".encode() + (MODEL + "segment s = nope = 1\n").encode())
    compiler = Compiler(load_project(tmp_path))
    (problem,) = compiler.diagnostics
    assert (problem.code, problem.span.line, problem.span.column) == ("SEG101", 5, 13)


def test_an_unreadable_file_gives_one_code_however_it_is_named(tmp_path: Path) -> None:
    (tmp_path / "ok.seg").write_text(MODEL)
    locked = tmp_path / "locked.seg"
    locked.write_text(MODEL)
    real_open = os.open

    def refusing(path: Any, *args: Any, **kwargs: Any) -> int:
        if str(path).endswith("locked.seg"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    with mock.patch("segdsl.source.os.open", refusing):
        in_folder = codes(load_project(tmp_path))
        named = codes(load_project([tmp_path / "ok.seg", locked]))
        formatted = CliRunner().invoke(app, ["fmt", "--check", str(locked)])
    assert in_folder == named == ["SEG504"]
    assert "SEG504" in formatted.output and "SEG901" not in formatted.output


# ---------------------------------------------------------------- parsing work and memory
def test_an_unterminated_string_is_lexed_in_constant_memory() -> None:
    text = 'segment s = city = "' + "a" * 300_000
    source = SourceFile("long.seg", text)
    tracemalloc.start()
    try:
        result = parse(source)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert [d.code for d in result.diagnostics] == ["SEG002"]
    # a regular expression that kept a backtracking point per character took 160 bytes each
    assert peak < 10 * len(text)


def test_a_file_full_of_errors_is_parsed_a_bounded_number_of_times() -> None:
    text = "segment s = x > > 1\n" * 5_000
    calls: list[int] = []
    real = parser_module._parse_with_lark

    def counting(source: SourceFile, text: str, start: str) -> Any:
        calls.append(len(text))
        return real(source, text, start)

    with mock.patch.object(parser_module, "_parse_with_lark", counting):
        result = parse(SourceFile("errors.seg", text))
    assert len(result.diagnostics) == MAX_SYNTAX_ERRORS
    assert len(calls) == MAX_SYNTAX_ERRORS


# ---------------------------------------------------------------- escapes
@pytest.mark.parametrize("escape", ["\\x00", "\\d", "\\u0041", "\\0", "\\ "])
def test_an_unknown_escape_is_an_invalid_literal(escape: str) -> None:
    text = f'{MODEL}segment s = city = "a{escape}"\n'
    result = parse(SourceFile("e.seg", text))
    (problem,) = result.diagnostics
    assert problem.code == "SEG004" and f"`{escape[:2]}`" in problem.message
    assert (problem.span.line, problem.span.column) == (5, 22)
    assert result.module is None


def test_the_documented_escapes_are_the_accepted_ones() -> None:
    docs = (Path(__file__).parent.parent / "docs" / "language.md").read_text()
    for escape in ESCAPES:
        assert f"`\\{escape}`" in docs
    text = MODEL + 'segment s = city = "' + "".join(f"\\{e}" for e in ESCAPES) + '"\n'
    assert parse(SourceFile("ok.seg", text)).diagnostics == ()
    assert unescape_string('"\\\\\\"\\n\\t"') == '\\"\n\t'


def test_an_unknown_escape_in_a_parameter_value_is_reported() -> None:
    value, problem = parse_value('"\\q"')
    assert value is None and problem is not None and problem.code == "SEG004"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab\\\"'nt\n x0")), max_size=40))
def test_string_literals_parse_or_give_a_diagnostic(body: str) -> None:
    result = parse(SourceFile("s.seg", f'{MODEL}segment s = city = "{body}"\n'))
    if result.module is None:
        assert {d.code for d in result.diagnostics} <= {"SEG001", "SEG002", "SEG004", "SEG005"}
