"""`seg lsp` end to end: pytest-lsp starts the server over stdio and talks to it as an
editor would. One server serves the module; each test works in its own project."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient
from typer.testing import CliRunner

from segdsl.cli.main import app

pytestmark = pytest.mark.asyncio(loop_scope="module")

MODEL = """\
segdsl 1

entity customer from shop.customers {
  key id
  city: string
}

table orders from shop.orders {
  link customer_id to customer
  time ordered_at
  amount: money
  status: string
}

table events from shop.events {
  link customer_id to customer
  time occurred_at
  name: string from event_name
  page_category: string
}

table cart_events = events where name = "add_to_cart"
"""

MEASURES = """\
segdsl 1

measure cart_adds "Cart additions in 30 days" = count cart_events during last 30d
measure paid = count orders where status = "paid"
"""

USES = """\
segdsl 1

segment carters = cart_adds >= 2 and city = "Moscow"
segment buyers = paid > 0 or cart_adds > 5
"""

WAIT = 20  # seconds; a generous bound for a slow machine, not a timing assertion


def make_project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir(parents=True)
    (root / "seg.toml").write_text('as_of = "2025-07-01"\n')
    for name, text in files.items():
        (root / name).write_text(text)
    return root


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("lsp")


@pytest_lsp.fixture(
    scope="module",
    config=ClientServerConfig(
        server_command=[sys.executable, "-m", "segdsl", "lsp"],
    ),
)
async def client(lsp_client: LanguageClient, workspace: Path) -> AsyncIterator[None]:
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=pytest_lsp.client_capabilities("visual-studio-code"),
            root_uri=workspace.as_uri(),
        )
    )
    yield
    await lsp_client.shutdown_session()


# ------------------------------------------------------------------ helpers
def open_file(client: LanguageClient, path: Path, text: str | None = None) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri, "seg", 1, path.read_text() if text is None else text)
        )
    )
    return uri


def change(client: LanguageClient, uri: str, version: int, text: str) -> None:
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            [types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


async def diagnostics_until(
    client: LanguageClient,
    uri: str,
    condition: Callable[[Sequence[types.Diagnostic]], bool],
) -> Sequence[types.Diagnostic]:
    """Wait for the server to publish diagnostics for `uri` that satisfy `condition`."""

    async def wait() -> Sequence[types.Diagnostic]:
        while uri not in client.diagnostics or not condition(client.diagnostics[uri]):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return client.diagnostics[uri]

    return await asyncio.wait_for(wait(), WAIT)


def position_of(text: str, needle: str, shift: int = 0) -> types.Position:
    """The position of the first `needle` in `text` (plus `shift` characters)."""
    offset = text.index(needle) + shift
    line = text.count("\n", 0, offset)
    return types.Position(line, offset - (text.rfind("\n", 0, offset) + 1))


def validate_json(root: Path) -> list[dict[str, object]]:
    result = CliRunner().invoke(app, ["validate", str(root), "--format", "json"])
    found: list[dict[str, object]] = json.loads(result.stdout)["diagnostics"]
    return found


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


# ------------------------------------------------------------------ diagnostics
async def test_a_typo_gives_the_validate_diagnostic_at_its_range_and_the_fix_clears_it(
    client: LanguageClient, workspace: Path
) -> None:
    broken = USES.replace("cart_adds >= 2", "cart_adz >= 2")
    root = make_project(
        workspace / "typo", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": broken}
    )
    uri = open_file(client, root / "uses.seg")
    found = await diagnostics_until(client, uri, lambda d: len(d) > 0)
    assert [(d.code, d.range) for d in found] == [
        (
            "SEG101",
            types.Range(types.Position(2, 18), types.Position(2, 26)),
        )
    ]
    assert found[0].message == "unknown name `cart_adz`\nhelp: did you mean `cart_adds`?"
    # the same code, place and help as `seg validate` (1-based lines and columns there)
    [expected] = validate_json(root)
    assert (expected["code"], expected["line"], expected["column"], expected["end_column"]) == (
        "SEG101",
        3,
        19,
        27,
    )
    assert expected["help"] == "did you mean `cart_adds`?"

    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            doc(uri), found[0].range, types.CodeActionContext(diagnostics=list(found))
        )
    )
    assert actions is not None
    fixes = [a for a in actions if isinstance(a, types.CodeAction) and a.edit is not None]
    assert fixes[0].edit is not None and fixes[0].edit.changes is not None
    assert list(fixes[0].edit.changes[uri]) == [types.TextEdit(found[0].range, "cart_adds")]

    change(client, uri, 2, USES)
    assert list(await diagnostics_until(client, uri, lambda d: len(d) == 0)) == []


async def test_an_edit_in_one_file_shows_the_breakage_in_an_unopened_file(
    client: LanguageClient, workspace: Path
) -> None:
    root = make_project(
        workspace / "cross", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": USES}
    )
    uri = open_file(client, root / "measures.seg")
    uses = (root / "uses.seg").as_uri()
    await diagnostics_until(client, uri, lambda d: len(d) == 0)
    change(client, uri, 2, MEASURES.replace("measure cart_adds", "measure cart_additions"))
    found = await diagnostics_until(client, uses, lambda d: len(d) == 2)
    assert {d.code for d in found} == {"SEG101"}
    assert [d.range.start.line for d in found] == [2, 3]
    # the disk did not change: the open document's text overrode it
    assert (root / "measures.seg").read_text() == MEASURES


async def test_a_syntax_error_does_not_hide_the_other_definitions_problems(
    client: LanguageClient, workspace: Path
) -> None:
    text = USES.replace("cart_adds >= 2 and", "cart_adds >= 2 and (") + (
        "segment third = paid > 0 and zzz = 1\n"
    )
    root = make_project(
        workspace / "halftyped", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": text}
    )
    uri = open_file(client, root / "uses.seg")
    found = await diagnostics_until(client, uri, lambda d: len(d) >= 2)
    codes = [(d.code, d.range.start.line) for d in found]
    assert codes[0][0] == "SEG001"
    assert ("SEG101", 4) in codes  # `zzz`, in a definition after the broken one


# ------------------------------------------------------------------ requests
async def test_completion_after_where_lists_the_tables_columns(
    client: LanguageClient, workspace: Path
) -> None:
    root = make_project(workspace / "complete", {"model.seg": MODEL, "measures.seg": MEASURES})
    text = MEASURES + "measure big = count orders where "
    uri = open_file(client, root / "measures.seg", text)
    result = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc(uri), position=position_of(text, "where ", 6))
    )
    assert isinstance(result, types.CompletionList)
    labels = {item.label for item in result.items}
    assert {"amount", "status", "ordered_at"} <= labels
    assert "page_category" not in labels  # a column of another table
    assert "cart_adds" not in labels  # a measure: not allowed in a table's filter

    units = await client.text_document_completion_async(
        types.CompletionParams(text_document=doc(uri), position=position_of(text, "last 30d", 7))
    )
    assert isinstance(units, types.CompletionList)
    assert {"30d", "30min", "30mo"} <= {item.label for item in units.items}


async def test_rename_updates_every_file_and_refuses_taken_names(
    client: LanguageClient, workspace: Path
) -> None:
    root = make_project(
        workspace / "rename", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": USES}
    )
    uri = open_file(client, root / "uses.seg")
    at = position_of(USES, "cart_adds", 2)
    edit = await client.text_document_rename_async(
        types.RenameParams(text_document=doc(uri), position=at, new_name="adds")
    )
    assert edit is not None and edit.changes is not None
    measures = (root / "measures.seg").as_uri()
    assert sorted(edit.changes) == sorted([uri, measures])
    assert [e.range.start for e in edit.changes[uri]] == [
        position_of(USES, "cart_adds"),
        position_of(USES, "cart_adds > 5"),
    ]
    assert [e.range.start for e in edit.changes[measures]] == [position_of(MEASURES, "cart_adds")]
    assert all(e.new_text == "adds" for e in [*edit.changes[uri], *edit.changes[measures]])

    for taken in ("paid", "city", "not a name", "segment"):
        with pytest.raises(Exception, match=r"already|not a valid name"):
            await client.text_document_rename_async(
                types.RenameParams(text_document=doc(uri), position=at, new_name=taken)
            )


async def test_hover_definition_references_symbols(client: LanguageClient, workspace: Path) -> None:
    root = make_project(
        workspace / "hover", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": USES}
    )
    uri = open_file(client, root / "uses.seg")
    at = position_of(USES, "cart_adds", 1)
    hover = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=at)
    )
    assert hover is not None and isinstance(hover.contents, types.MarkupContent)
    text = hover.contents.value
    assert text.startswith("measure `cart_adds`: **integer**")
    assert "Cart additions in 30 days" in text
    # the window, resolved at the project's as-of time
    assert "after 2025-06-01 00:00, up to and including 2025-07-01 00:00" in text

    column = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(USES, "city", 1))
    )
    assert column is not None and isinstance(column.contents, types.MarkupContent)
    assert column.contents.value == "attribute `city` of entity `customer`: **string**"

    keyword = await client.text_document_hover_async(
        types.HoverParams(text_document=doc(uri), position=position_of(USES, "segment"))
    )
    assert keyword is not None and isinstance(keyword.contents, types.MarkupContent)
    assert keyword.contents.value.startswith("`segment NAME")

    location = await client.text_document_definition_async(
        types.DefinitionParams(text_document=doc(uri), position=at)
    )
    assert isinstance(location, types.Location)
    assert location.uri == (root / "measures.seg").as_uri()
    assert location.range.start == position_of(MEASURES, "cart_adds")

    refs = await client.text_document_references_async(
        types.ReferenceParams(
            context=types.ReferenceContext(include_declaration=True),
            text_document=doc(uri),
            position=at,
        )
    )
    assert refs is not None and len(refs) == 3

    symbols = await client.text_document_document_symbol_async(types.DocumentSymbolParams(doc(uri)))
    assert symbols is not None
    assert [(s.name, s.kind) for s in symbols] == [
        ("carters", types.SymbolKind.Boolean),
        ("buyers", types.SymbolKind.Boolean),
    ]


async def test_formatting_equals_seg_fmt(client: LanguageClient, workspace: Path) -> None:
    messy = 'segdsl 1\nmeasure   paid2 "Paid"=count orders   where status="paid"\n\n\n\n' + (
        "segment  s2 = paid2>0 and   (city = 'Moscow' or city='Kazan')  # a comment\n"
    )
    root = make_project(workspace / "fmt", {"model.seg": MODEL, "messy.seg": messy})
    uri = open_file(client, root / "messy.seg")
    edits = await client.text_document_formatting_async(
        types.DocumentFormattingParams(
            text_document=doc(uri), options=types.FormattingOptions(tab_size=2, insert_spaces=True)
        )
    )
    assert edits is not None and len(edits) == 1
    assert edits[0].range.start == types.Position(0, 0)
    result = CliRunner().invoke(app, ["fmt", str(root / "messy.seg")])
    assert result.exit_code == 0
    assert edits[0].new_text == (root / "messy.seg").read_text() != messy


async def test_explain_command_gives_words_and_sql(client: LanguageClient, workspace: Path) -> None:
    root = make_project(
        workspace / "explain", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": USES}
    )
    uri = open_file(client, root / "uses.seg")
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="seg.explain", arguments=[uri, {"line": 2, "character": 10}]
        )
    )
    assert result["name"] == "carters"
    assert result["kind"] == "segment"
    assert result["sql"].startswith("WITH")
    assert any("Moscow" in line for line in result["words"])
    assert result["size"] is None  # no database configured


async def test_explain_command_gives_the_size_when_a_database_is_configured(
    client: LanguageClient, workspace: Path
) -> None:
    import duckdb

    root = make_project(
        workspace / "sized", {"model.seg": MODEL, "measures.seg": MEASURES, "uses.seg": USES}
    )
    database = root / "warehouse.duckdb"
    with duckdb.connect(str(database)) as connection:
        connection.execute("create schema shop")
        connection.execute("create table shop.customers (id integer, city varchar)")
        connection.execute(
            "insert into shop.customers values (1, 'Moscow'), (2, 'Moscow'), (3, 'Kazan')"
        )
        connection.execute(
            "create table shop.orders (customer_id integer, ordered_at timestamp,"
            " amount decimal(10, 2), status varchar)"
        )
        connection.execute(
            "create table shop.events (customer_id integer, occurred_at timestamp,"
            " event_name varchar, page_category varchar)"
        )
        # two cart additions in the 30 days before the as-of time: only customer 1 in Moscow
        connection.execute(
            "insert into shop.events values (1, '2025-06-20', 'add_to_cart', 'x'), "
            "(1, '2025-06-21', 'add_to_cart', 'x'), (2, '2025-06-21', 'add_to_cart', 'x'), "
            "(2, '2025-01-01', 'add_to_cart', 'x'), (3, '2025-06-20', 'add_to_cart', 'x'), "
            "(3, '2025-06-22', 'add_to_cart', 'x')"
        )
    (root / "seg.toml").write_text(f'as_of = "2025-07-01"\ndatabase = "duckdb:///{database}"\n')
    uri = open_file(client, root / "uses.seg")
    result = await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            command="seg.explain", arguments=[uri, {"line": 2, "character": 10}]
        )
    )
    assert (result["name"], result["size"]) == ("carters", 1)
