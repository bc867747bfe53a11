"""pygls glue: the protocol's requests and notifications → `features` on a project snapshot.

Run with `seg lsp` (stdio). Diagnostics are published for every file of the project
of each open document, open or not, after each change.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidRequest
from pygls.lsp.server import LanguageServer

from segdsl import __version__
from segdsl.lsp import features
from segdsl.lsp.explain import explain_at
from segdsl.lsp.positions import offset, path_uri, span_range, uri_path
from segdsl.lsp.workspace import Projects, ProjectState, Snapshot

EXPLAIN_COMMAND = "seg.explain"


class SegLanguageServer(LanguageServer):
    """The server and its per-project state."""

    def __init__(self) -> None:
        super().__init__("seg-lsp", __version__)
        self.projects = Projects()
        self.published: dict[str, list[types.Diagnostic]] = {}
        self.schema_file: Path | None = None
        self._values: tuple[Path, float, features.SchemaValues] | None = None

    # -------------------------------------------------------------- state
    def project_of(self, uri: str) -> tuple[ProjectState, str] | None:
        path = uri_path(uri)
        if path is None:
            return None
        path = path.resolve()
        return self.projects.for_path(path), str(path)

    def snapshot_of(self, uri: str) -> tuple[Snapshot, str] | None:
        found = self.project_of(uri)
        if found is None:
            return None
        state, path = found
        if path not in state.overrides:  # a request on a file the editor has not opened
            document = self.workspace.get_text_document(uri)
            state.set_text(path, document.source)
        snap = state.snapshot()
        return (snap, path) if path in snap.sources else None

    def publish(self, state: ProjectState) -> None:
        """Send the diagnostics of every file of the project that changed since last time."""
        snap = state.snapshot()
        paths = set(snap.sources) | set(snap.diagnostics)
        if state.settings_path is not None:
            paths.add(str(state.settings_path))
        for path in sorted(paths):
            if not Path(path).is_absolute():  # `<parameters>` and the like: no document
                continue
            source = snap.sources.get(path)
            found = [features.diagnostic(source, d) for d in snap.diagnostics.get(path, [])]
            uri = path_uri(path)
            if self.published.get(uri) == found:
                continue
            self.published[uri] = found
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, diagnostics=found)
            )

    def schema_values(self, state: ProjectState) -> features.SchemaValues | None:
        """Column values from a `seg schema pull` file: the client's, else `warehouse.json`."""
        candidates = [self.schema_file] if self.schema_file else []
        folder = state.root if state.root.is_dir() else state.root.parent
        candidates.append(folder / "warehouse.json")
        for file in candidates:
            if file is None or not file.is_file():
                continue
            stamp = file.stat().st_mtime
            if self._values and self._values[0] == file and self._values[1] == stamp:
                return self._values[2]
            values = read_values(file)
            self._values = (file, stamp, values)
            return values
        return None


def read_values(file: Path) -> features.SchemaValues:
    """The optional `values` of a schema file: {"shop.events": {"event_name": [...]}}."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
        raw = data.get("values", {}) if isinstance(data, dict) else {}
        tables = {
            tuple(str(table).lower().split(".")): {
                str(column): [str(v) for v in found if isinstance(v, (str, int, float))]
                for column, found in columns.items()
                if isinstance(found, list)
            }
            for table, columns in raw.items()
            if isinstance(columns, dict)
        }
    except (OSError, ValueError, AttributeError):
        tables = {}
    return features.SchemaValues(tables)


server = SegLanguageServer()


# ------------------------------------------------------------------ lifecycle
@server.feature(types.INITIALIZE)
def initialize(ls: SegLanguageServer, params: types.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("schema"), str):
        ls.schema_file = Path(options["schema"]).expanduser()


@server.feature(types.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: SegLanguageServer, params: types.DidOpenTextDocumentParams) -> None:
    found = ls.project_of(params.text_document.uri)
    if found is not None:
        state, path = found
        state.set_text(path, params.text_document.text)
        ls.publish(state)


@server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: SegLanguageServer, params: types.DidChangeTextDocumentParams) -> None:
    found = ls.project_of(params.text_document.uri)
    if found is not None:  # pygls has applied the change to its document already
        state, path = found
        state.set_text(path, ls.workspace.get_text_document(params.text_document.uri).source)
        ls.publish(state)


@server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: SegLanguageServer, params: types.DidCloseTextDocumentParams) -> None:
    found = ls.project_of(params.text_document.uri)
    if found is not None:  # the disk's text counts again
        state, path = found
        state.close(path)
        state.rescan()
        ls.publish(state)


@server.feature(types.TEXT_DOCUMENT_DID_SAVE)
def did_save(ls: SegLanguageServer, params: types.DidSaveTextDocumentParams) -> None:
    found = ls.project_of(params.text_document.uri)
    if found is not None:
        state, _ = found
        state.rescan()
        ls.publish(state)


@server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def watched_files(ls: SegLanguageServer, params: types.DidChangeWatchedFilesParams) -> None:
    for state in ls.projects.all():
        state.rescan()
        ls.publish(state)


# ------------------------------------------------------------------ requests
def _at(ls: SegLanguageServer, uri: str, where: types.Position) -> tuple[Snapshot, str, int] | None:
    found = ls.snapshot_of(uri)
    if found is None:
        return None
    snap, path = found
    return snap, path, offset(snap.sources[path], where)


@server.feature(types.TEXT_DOCUMENT_HOVER)
def hover(ls: SegLanguageServer, params: types.HoverParams) -> types.Hover | None:
    found = _at(ls, params.text_document.uri, params.position)
    return features.hover(*found) if found else None


@server.feature(types.TEXT_DOCUMENT_DEFINITION)
def definition(ls: SegLanguageServer, params: types.DefinitionParams) -> types.Location | None:
    found = _at(ls, params.text_document.uri, params.position)
    return features.definition(*found) if found else None


@server.feature(types.TEXT_DOCUMENT_REFERENCES)
def references(ls: SegLanguageServer, params: types.ReferenceParams) -> list[types.Location]:
    found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return []
    return features.references(*found, params.context.include_declaration)


@server.feature(types.TEXT_DOCUMENT_PREPARE_RENAME)
def prepare_rename(
    ls: SegLanguageServer, params: types.PrepareRenameParams
) -> types.PrepareRenamePlaceholder | None:
    found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snap, path, where = found
    try:
        target = features.rename_target(snap, path, where)
    except features.RenameRefused as refused:
        raise JsonRpcInvalidRequest(str(refused)) from None
    source = snap.sources[path]
    return types.PrepareRenamePlaceholder(
        range=span_range(source, target.span),
        placeholder=source.text[target.span.start : target.span.end].strip("`"),
    )


@server.feature(types.TEXT_DOCUMENT_RENAME)
def rename(ls: SegLanguageServer, params: types.RenameParams) -> types.WorkspaceEdit | None:
    found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    try:
        edits = features.rename(*found, params.new_name)
    except features.RenameRefused as refused:
        raise JsonRpcInvalidRequest(str(refused)) from None
    return types.WorkspaceEdit(changes={path_uri(path): e for path, e in edits.items()})


@server.feature(
    types.TEXT_DOCUMENT_COMPLETION,
    types.CompletionOptions(trigger_characters=[" ", '"', "(", "["]),
)
def completion(ls: SegLanguageServer, params: types.CompletionParams) -> types.CompletionList:
    found = _at(ls, params.text_document.uri, params.position)
    if found is None:
        return types.CompletionList(is_incomplete=False, items=[])
    snap, path, where = found
    state = ls.projects.for_path(Path(path))
    items = features.completion(snap, path, where, ls.schema_values(state))
    return types.CompletionList(is_incomplete=False, items=items)


@server.feature(types.TEXT_DOCUMENT_FORMATTING)
def formatting(
    ls: SegLanguageServer, params: types.DocumentFormattingParams
) -> list[types.TextEdit]:
    found = ls.snapshot_of(params.text_document.uri)
    if found is None:
        return []
    snap, path = found
    return features.formatting(snap.sources[path])


@server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
def document_symbol(
    ls: SegLanguageServer, params: types.DocumentSymbolParams
) -> list[types.DocumentSymbol]:
    found = ls.snapshot_of(params.text_document.uri)
    return features.symbols(*found) if found else []


@server.feature(types.TEXT_DOCUMENT_FOLDING_RANGE)
def folding_range(
    ls: SegLanguageServer, params: types.FoldingRangeParams
) -> list[types.FoldingRange]:
    found = ls.snapshot_of(params.text_document.uri)
    return features.folding(*found) if found else []


@server.feature(
    types.TEXT_DOCUMENT_CODE_ACTION,
    types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
)
def code_action(ls: SegLanguageServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    found = ls.snapshot_of(params.text_document.uri)
    if found is None:
        return []
    snap, path = found
    return features.code_actions(
        snap, path, params.text_document.uri, list(params.context.diagnostics)
    )


@server.command(EXPLAIN_COMMAND)
def explain_command(ls: SegLanguageServer, *args: Any) -> dict[str, object] | None:
    """`seg.explain URI {line, character}`: the words and SQL of the definition there."""
    if len(args) < 2 or not isinstance(args[0], str):
        raise JsonRpcInvalidRequest("seg.explain expects a document URI and a position")
    raw = args[1]
    line = raw.get("line", 0) if isinstance(raw, dict) else getattr(raw, "line", 0)
    character = raw.get("character", 0) if isinstance(raw, dict) else getattr(raw, "character", 0)
    found = _at(ls, args[0], types.Position(int(line), int(character)))
    if found is None:
        return None
    return explain_at(*found)


def serve() -> None:
    """Answer the editor on stdin/stdout until it exits."""
    server.start_io()
