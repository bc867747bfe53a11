"""The language server's parts without the protocol: salvaging half-typed files,
re-checking after an edit, rename, quick fixes, completion contexts and positions."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from lsprotocol import types

from segdsl.lsp import features
from segdsl.lsp.chunks import PieceCache
from segdsl.lsp.language import KEYWORDS, keyword_words
from segdsl.lsp.positions import offset, span_range
from segdsl.lsp.recovery import salvage
from segdsl.lsp.server import read_values
from segdsl.lsp.workspace import Projects, ProjectState
from segdsl.source import SourceFile, Span
from segdsl.syntax import nodes
from segdsl.syntax.parser import parse

EXAMPLES = Path(__file__).parent.parent / "examples"
EXAMPLE_FILES = sorted(EXAMPLES.glob("*.seg"))


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "examples"
    shutil.copytree(EXAMPLES, root)
    return root


def state_of(root: Path) -> ProjectState:
    return Projects().for_path(root / "model.seg")


def diagnostics_of(state: ProjectState) -> dict[str, object]:
    """The diagnostics by file, and each checked definition's type."""
    snap = state.snapshot()
    found: dict[str, object] = {
        path: [d.to_dict() for d in found] for path, found in snap.diagnostics.items()
    }
    found["definitions"] = {n: str(d.type) for n, d in snap.analysis.definitions.items()}
    return found


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """`text` with LSP edits applied (last first, so earlier offsets stay valid)."""
    source = SourceFile("x", text)
    spans = [
        (offset(source, e.range.start), offset(source, e.range.end), e.new_text) for e in edits
    ]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


# ------------------------------------------------------------------ the language's words
def test_every_keyword_of_the_grammar_has_a_line_of_reference() -> None:
    assert set(keyword_words()) == set(KEYWORDS)


# ------------------------------------------------------------------ salvaging
def test_a_broken_definition_leaves_the_others_parsed() -> None:
    text = (
        "segdsl 1\nsegment a = x > 1\nsegment b = y >\nsegment c = z < 2\n"
        "measure d =\nsegment e = w = 1\n"
    )
    salvaged = salvage(SourceFile("f.seg", text))
    assert salvaged.diagnostics == parse(SourceFile("f.seg", text)).diagnostics
    assert salvaged.module is not None
    assert [s.name.text for s in salvaged.module.statements] == ["a", "c", "e"]
    assert salvaged.broken_names == {"b", "d"}
    c = salvaged.module.statements[1]
    assert (c.span.line, c.span.column, c.span.start) == (4, 1, text.index("segment c"))


JUNK = st.text(alphabet='x1 ()[]"=@&,.:{}#`-', min_size=1, max_size=6)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(EXAMPLE_FILES), st.floats(0, 1), JUNK)
@example(EXAMPLES / "model.seg", 0.970703125, "1")  # `table 1form_submits`: lost every statement
def test_junk_typed_anywhere_loses_at_most_its_statement_and_the_one_before(
    file: Path, where: float, junk: str
) -> None:
    """Generator: junk inserted at any point of an example file. The parser's own
    diagnostics are reported unchanged, and every other statement is still there."""
    original = file.read_text()
    position = int(where * len(original))
    text = original[:position] + junk + original[position:]
    salvaged = salvage(SourceFile(str(file), text))
    assert salvaged.diagnostics == parse(SourceFile(str(file), text)).diagnostics
    before = parse(SourceFile(str(file), original)).module
    assert before is not None
    statements = before.statements
    # the statement the junk extends: the last one starting before it (or the first)
    touched = max([i for i, s in enumerate(statements) if s.span.start <= position] or [0])
    nearby = {touched - 1, touched, touched + 1}
    kept = salvaged.module.statements if salvaged.module is not None else ()
    for i, statement in enumerate(statements):
        if i not in nearby and not touched_line(original, statement.span, position):
            assert statement in kept, (statement.name.text, junk, position)


def touched_line(text: str, span: object, position: int) -> bool:
    """True when the edit is on a line of a statement (a `#` there hides the rest)."""
    line = text.count("\n", 0, position) + 1
    return bool(getattr(span, "line", 0) <= line <= getattr(span, "end_line", 0))


def exactly(node: object) -> object:
    """A tree as nested tuples, spans included (node equality ignores spans)."""
    if isinstance(node, Span):
        return (
            node.path,
            node.line,
            node.column,
            node.end_line,
            node.end_column,
            node.start,
            node.end,
        )
    if isinstance(node, tuple):
        return tuple(exactly(item) for item in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return (
            type(node).__name__,
            *(exactly(getattr(node, f.name)) for f in dataclasses.fields(node)),
        )
    return node


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(EXAMPLE_FILES),
    st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 30),
            JUNK | st.sampled_from(["\n", "segment x = 1\n", "  and y > 2", ""]),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_parsing_in_pieces_gives_the_whole_files_parse(
    file: Path, edits: list[tuple[float, int, str]]
) -> None:
    """Generator: edits (text deleted and inserted anywhere) of an example file, parsed
    after the original by the piece cache: the module, spans included, and the
    diagnostics are those of a parse of the whole file."""
    pieces = PieceCache()
    text = file.read_text()
    pieces.parse(SourceFile(str(file), text))
    for where, deleted, inserted in edits:
        at = int(where * len(text))
        text = text[:at] + inserted + text[at + deleted :]
        source = SourceFile(str(file), text)
        whole, cut = parse(source), pieces.parse(source)
        assert cut.diagnostics == whole.diagnostics
        assert exactly(cut.module) == exactly(whole.module)


# ------------------------------------------------------------------ incremental checking
NAMES = st.sampled_from(
    ["cart_adds", "cart_add", "revenue", "orders_90d", "city", "recency", "zzz", "paid_orders"]
)
LITERALS = st.sampled_from(['"text"', "5", "2.5", "true", "2025-01-01", "30d", "city"])
EDITS = st.one_of(
    st.tuples(st.just("name"), st.sampled_from(EXAMPLE_FILES), st.floats(0, 1), NAMES),
    st.tuples(st.just("body"), st.sampled_from(EXAMPLE_FILES), st.floats(0, 1), LITERALS),
)


def edited(text: str, path: str, kind: str, where: float, new: str) -> str:
    """`text` with one name replaced (`name`) or one measure's body replaced (`body`)."""
    if kind == "name":
        words = list(re.finditer(r"(?<=[=(\s])[a-z_][a-z0-9_]*\b", text))
        if not words:
            return text
        word = words[int(where * (len(words) - 1))]
        return text[: word.start()] + new + text[word.end() :]
    module = parse(SourceFile(path, text)).module
    measures = [s for s in module.statements if isinstance(s, nodes.MeasureDecl)] if module else []
    if not measures:
        return text
    body = measures[int(where * (len(measures) - 1))].body.span
    return text[: body.start] + new + text[body.end :]


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(st.lists(EDITS, min_size=1, max_size=4))
def test_re_checking_after_edits_gives_what_a_full_check_gives(
    tmp_path_factory: pytest.TempPathFactory, edits: list[tuple[str, Path, float, str]]
) -> None:
    """Generator: a series of edits of the examples, each replacing a name in a
    definition (by a known name, an unknown one, a table…) or a measure's body (by a
    literal of some type, so its users' types change). After each, the incremental
    analysis gives exactly the diagnostics and types of a fresh, full one."""
    root = tmp_path_factory.mktemp("inc") / "examples"
    shutil.copytree(EXAMPLES, root)
    state = state_of(root)
    texts = {str(f.resolve()): f.read_text() for f in root.glob("*.seg")}
    state.snapshot()
    for kind, file, where, new in edits:
        path = str((root / file.name).resolve())
        texts[path] = edited(texts[path], path, kind, where, new)
        state.set_text(path, texts[path])
        fresh = state_of(root)
        for other, other_text in texts.items():
            fresh.set_text(other, other_text)
        assert diagnostics_of(state) == diagnostics_of(fresh)


def test_an_edit_re_checks_only_the_files_definitions_and_their_users(project: Path) -> None:
    state = state_of(project)
    total = len(state.snapshot().analysis.definitions)
    path = str((project / "value.seg").resolve())
    text = (project / "value.seg").read_text()
    state.set_text(path, text.replace("r_score = 5", "r_score = 4", 1))
    state.snapshot()
    assert state._checked is not None
    assert 0 < state._checked.checked_again < total / 2


# ------------------------------------------------------------------ rename
def test_renaming_a_column_keeps_its_warehouse_name(project: Path) -> None:
    state = state_of(project)
    snap = state.snapshot()
    behaviour = str((project / "behaviour.seg").resolve())
    text = snap.sources[behaviour].text
    edits = features.rename(snap, behaviour, text.index("page_category") + 1, "section")
    model = str((project / "model.seg").resolve())
    new_model = apply(snap.sources[model].text, edits[model])
    assert "  section: string from page_category\n" in new_model
    for path, found in edits.items():
        state.set_text(path, apply(snap.sources[path].text, found))
    after = state.snapshot()
    assert after.diagnostics == {}
    assert "page_category" not in after.sources[behaviour].text


def test_rename_refuses_key_and_time_columns_and_labels(project: Path) -> None:
    snap = state_of(project).snapshot()
    model = str((project / "model.seg").resolve())
    text = snap.sources[model].text
    for needle in ("key id", "time signed_up_at", "time ordered_at"):
        at = text.index(needle) + len(needle) - 1
        with pytest.raises(features.RenameRefused, match="warehouse column"):
            features.rename(snap, model, at, "other")


# ------------------------------------------------------------------ quick fixes, completion
def test_a_bare_word_compared_with_a_string_can_be_quoted(project: Path) -> None:
    state = state_of(project)
    path = str((project / "audience.seg").resolve())
    text = (project / "audience.seg").read_text().replace('city = "Moscow"', "city = Moscow")
    state.set_text(path, text)
    snap = state.snapshot()
    source = snap.sources[path]
    [found] = snap.diagnostics[path]
    diagnostic = features.diagnostic(source, found)
    actions = features.code_actions(snap, path, "file:///x", [diagnostic])
    titles = [a.title for a in actions]
    assert 'Quote `Moscow` as a string: "Moscow"' in titles
    quote = next(a for a in actions if a.title.startswith("Quote"))
    assert quote.edit is not None and quote.edit.changes is not None
    assert (
        apply(text, list(quote.edit.changes["file:///x"])) == (project / "audience.seg").read_text()
    )


def test_completion_offers_a_columns_values_from_the_schema_file(
    project: Path, tmp_path: Path
) -> None:
    schema = tmp_path / "warehouse.json"
    schema.write_text(
        json.dumps(
            {
                "version": 1,
                "dialect": "duckdb",
                "tables": {},
                "values": {"shop.events": {"event_name": ["page_view", "add_to_cart"]}},
            }
        )
    )
    state = state_of(project)
    path = str((project / "behaviour.seg").resolve())
    text = 'segdsl 1\nmeasure n = count events where name = "'
    state.set_text(path, text)
    snap = state.snapshot()
    items = features.completion(snap, path, len(text), read_values(schema))
    assert [i.label for i in items] == ['"page_view"', '"add_to_cart"']
    inside = features.completion(snap, path, len(text) - 1, read_values(schema))  # before `"`
    assert '"page_view"' in [i.label for i in inside]


def test_completion_after_per_in_a_grouped_table_offers_units_and_columns(
    project: Path,
) -> None:
    state = state_of(project)
    path = str((project / "behaviour.seg").resolve())
    text = "segdsl 1\ntable order_days = paid_orders per "
    state.set_text(path, text)
    items = features.completion(state.snapshot(), path, len(text))
    units = [item.label for item in items if item.kind == types.CompletionItemKind.Unit]
    assert sorted(units) == ["day", "month", "quarter", "week", "year"]
    columns = {item.label for item in items if item.kind == types.CompletionItemKind.Field}
    assert {"amount", "channel", "status"} <= columns  # the base table's
    text = "segdsl 1\nsegment s = max count events per "
    state.set_text(path, text)
    measure = features.completion(state.snapshot(), path, len(text))
    assert not [item for item in measure if item.kind == types.CompletionItemKind.Unit]
    assert "page_category" in {item.label for item in measure}  # a `per` group's column


def test_positions_count_utf16_units_like_the_editor() -> None:
    text = 'segment s = name = "😀" and zzz = 1\n'
    source = SourceFile("f.seg", text)
    span = source.span(text.index("zzz"), text.index("zzz") + 3)
    where = span_range(source, span)
    # the emoji is one code point but two UTF-16 units
    assert (where.start.character, where.end.character) == (
        text.index("zzz") + 1,
        text.index("zzz") + 4,
    )
    assert offset(source, where.start) == text.index("zzz")


def test_a_file_outside_any_project_is_its_own_project(tmp_path: Path) -> None:
    (tmp_path / "a.seg").write_text("segdsl 1\nsegment s = x > 1\n")
    (tmp_path / "b.seg").write_text("segdsl 1\nsegment s = y > 1\n")
    state = Projects().for_path(tmp_path / "a.seg")
    snap = state.snapshot()
    assert list(snap.sources) == [str((tmp_path / "a.seg").resolve())]
    assert all(d.code != "SEG102" for found in snap.diagnostics.values() for d in found)


def test_seg_starts_without_loading_the_language_server() -> None:
    code = (
        "import sys, segdsl.cli.main; print(sorted(m for m in sys.modules"
        " if m.startswith(('pygls', 'lsprotocol', 'segdsl.lsp'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_outline_and_folding_follow_the_statements_and_comment_blocks(project: Path) -> None:
    snap = state_of(project).snapshot()
    model = str((project / "model.seg").resolve())
    symbols = features.symbols(snap, model)
    orders = next(s for s in symbols if s.name == "orders")
    assert orders.kind == types.SymbolKind.Struct
    assert [c.name for c in orders.children or []][:3] == ["customer_id", "ordered_at", "id"]
    text = snap.sources[model].text
    folds = {(f.start_line, f.end_line) for f in features.folding(snap, model)}
    head = text.index("table orders")
    start, end = text.count("\n", 0, head), text.count("\n", 0, text.index("}", head))
    assert (start, end) in folds


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.sampled_from(EXAMPLE_FILES),
    st.floats(0, 1),
    JUNK | st.sampled_from(["", "where ", "sum(", " 30", '= "', "\n"]),
    st.lists(st.floats(0, 1), min_size=1, max_size=5),
)
def test_every_request_anywhere_in_a_half_typed_file_gets_an_answer(
    tmp_path_factory: pytest.TempPathFactory,
    file: Path,
    where: float,
    junk: str,
    cursors: list[float],
) -> None:
    """Generator: junk typed into an example file, then hover, definition, references,
    completion, rename, symbols, folding, formatting and code actions at random places:
    each answers (or refuses a rename) without an exception."""
    root = tmp_path_factory.mktemp("any") / "examples"
    shutil.copytree(EXAMPLES, root)
    state = state_of(root)
    path = str((root / file.name).resolve())
    text = file.read_text()
    at = int(where * len(text))
    state.set_text(path, text[:at] + junk + text[at:])
    snap = state.snapshot()
    source = snap.sources[path]
    for cursor in cursors:
        position = int(cursor * len(source.text))
        features.hover(snap, path, position)
        features.definition(snap, path, position)
        features.references(snap, path, position, True)
        features.completion(snap, path, position)
        with contextlib.suppress(features.RenameRefused):
            features.rename(snap, path, position, "renamed")
    features.symbols(snap, path)
    features.folding(snap, path)
    features.formatting(source)
    diagnostics = [features.diagnostic(source, d) for d in snap.diagnostics.get(path, [])]
    features.code_actions(snap, path, "file:///x", diagnostics)
