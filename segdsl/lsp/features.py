"""Editor requests answered from a project snapshot: hover, go to definition,
references, rename, completion, symbols, folding, code actions and formatting.

Everything here is plain functions of a `Snapshot`; `server` passes them the
request and sends back what they return.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from lsprotocol import types

from segdsl.diagnostics import Diagnostic, Severity
from segdsl.explain.words import Describer
from segdsl.lsp.index import Occurrence, Target, at
from segdsl.lsp.language import (
    CALENDAR_UNIT_NAMES,
    FUNCTION_NAMES,
    KEYWORDS,
    TYPE_NAMES,
    UNITS,
    keyword_words,
)
from segdsl.lsp.positions import offset_range, path_uri, span_range
from segdsl.lsp.workspace import Snapshot
from segdsl.semantic.check import Checker
from segdsl.semantic.check.grouped import UNITS as CALENDAR_UNITS
from segdsl.semantic.declarations import TableInfo
from segdsl.source import SourceFile, Span
from segdsl.syntax import nodes
from segdsl.syntax.parser import STATEMENT_KEYWORDS, parse
from segdsl.syntax.printer import format_module, keywords, name_text
from segdsl.timeline import AsOf

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_DURATION = re.compile(r"(\d+)(min|mo|s|h|d|w|y)(?![A-Za-z0-9_])")
_STATEMENT = re.compile(r"^(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.MULTILINE)
_DID_YOU_MEAN = re.compile(r"did you mean `([^`]+)`\?")
# `table purchase_days = paid_orders per |`: a calendar unit or a column of the base table
_GROUPED_PER = re.compile(r"^table\s+\w+\s*=\s*\w+\s+per\s+\w*$")
_AGGREGATE_OPEN = re.compile(r"\b(?:sum|avg|min|max|count(?:\s+distinct)?|first|last|nth)\s*\($")


class RenameRefused(Exception):
    """A rename that would break the project (the message says why)."""


def diagnostic(source: SourceFile | None, found: Diagnostic) -> types.Diagnostic:
    """A diagnostic as the editor shows it: the code, the message, then the help line."""
    message = found.message + (f"\nhelp: {found.help}" if found.help else "")
    severity = (
        types.DiagnosticSeverity.Error
        if found.severity is Severity.ERROR
        else types.DiagnosticSeverity.Warning
    )
    return types.Diagnostic(
        range=span_range(source, found.span),
        message=message,
        severity=severity,
        code=found.code,
        source="seg",
        data={"help": found.help} if found.help else None,
    )


# ------------------------------------------------------------------ names
def _declaration(snap: Snapshot, target: Target) -> Occurrence | None:
    if target[0] == "name" and target[1] in snap.analysis.decls.spans:
        span = snap.analysis.decls.spans[target[1]]
        return Occurrence(span, target, True)
    for path in snap.sources:
        for occurrence in snap.index(path):
            if occurrence.target == target and occurrence.declaration:
                return occurrence
    return None


def _occurrences(snap: Snapshot, target: Target) -> Iterator[Occurrence]:
    for path in snap.sources:
        for occurrence in snap.index(path):
            if occurrence.target == target:
                yield occurrence


def definition(snap: Snapshot, path: str, offset: int) -> types.Location | None:
    found = at(snap.index(path), offset)
    if found is None:
        return None
    declared = _declaration(snap, found.target)
    if declared is None:
        return None
    return _location(snap, declared.span)


def references(
    snap: Snapshot, path: str, offset: int, include_declaration: bool
) -> list[types.Location]:
    found = at(snap.index(path), offset)
    if found is None:
        return []
    return [
        _location(snap, o.span)
        for o in _occurrences(snap, found.target)
        if include_declaration or not o.declaration
    ]


def _location(snap: Snapshot, span: Span) -> types.Location:
    return types.Location(path_uri(span.path), span_range(snap.sources.get(span.path), span))


# ------------------------------------------------------------------ rename
def rename_target(snap: Snapshot, path: str, offset: int) -> Occurrence:
    """The name under the cursor, if it can be renamed (else RenameRefused)."""
    found = at(snap.index(path), offset)
    if found is None:
        raise RenameRefused("there is no name of the project here")
    if found.target[0] == "label":
        raise RenameRefused("labels are compared as strings; rename them by hand")
    decls = snap.analysis.decls
    entity = decls.entity
    if found.target[0] == "name" and entity is not None:
        name = found.target[1]
        if name == entity.key.name or (entity.time and name == entity.time.name):
            raise RenameRefused(f"`{name}` is the warehouse column's name; it cannot be renamed")
    if found.target[0] == "column":
        member = _column_member(snap, found.target)
        if isinstance(member, nodes.TimeMember):
            raise RenameRefused(
                f"`{found.target[2]}` is the warehouse column's name; it cannot be renamed"
            )
    return found


def rename(
    snap: Snapshot, path: str, offset: int, new_name: str
) -> dict[str, list[types.TextEdit]]:
    """Edits per file renaming the name under the cursor everywhere it is used."""
    found = rename_target(snap, path, offset)
    target = found.target
    if not _NAME.match(new_name) or new_name in keywords():
        raise RenameRefused(f"`{new_name}` is not a valid name")
    decls = snap.analysis.decls
    if target[0] == "name":
        entity = decls.entity
        taken = {*decls.spans, *decls.params, *([entity.key.name] if entity else [])}
        if new_name in taken and new_name != target[1]:
            raise RenameRefused(f"`{new_name}` is already defined")
    else:
        table = decls.tables.get(target[1])
        taken = {name for (_, name) in table.columns} if table else set()
        if new_name in taken and new_name != target[2]:
            raise RenameRefused(f"`{target[1]}` already has a column `{new_name}`")
    edits: dict[str, list[types.TextEdit]] = {}
    for occurrence in _occurrences(snap, target):
        source = snap.sources[occurrence.span.path]
        edits.setdefault(occurrence.span.path, []).append(
            types.TextEdit(span_range(source, occurrence.span), name_text(new_name))
        )
    member = _column_member(snap, target)
    if isinstance(member, nodes.ColumnMember) and member.physical is None:
        # the warehouse column keeps its name: `email: string` → `mail: string from email`
        span = member.type.span
        source = snap.sources[span.path]
        end = offset_range(source, span.end, span.end)
        edits.setdefault(span.path, []).append(types.TextEdit(end, f" from {member.name.text}"))
    return edits


def _column_member(snap: Snapshot, target: Target) -> nodes.Member | None:
    """The member declaring a column of a table (or an attribute of the entity)."""
    if target[0] == "name":
        owner_kind: type = nodes.EntityDecl
        owner, column = None, target[1]
        if target[1] not in snap.analysis.decls.attributes:
            return None
    else:
        owner_kind, owner, column = nodes.TableDecl, target[1], target[2]
    for parsed in snap.parsed.values():
        if parsed.module is None:
            continue
        for statement in parsed.module.statements:
            if not isinstance(statement, owner_kind):
                continue
            assert isinstance(statement, (nodes.EntityDecl, nodes.TableDecl))
            if owner is not None and statement.name.text != owner:
                continue
            for member in statement.members:
                if isinstance(member, nodes.ColumnMember) and member.name.text == column:
                    return member
                if isinstance(member, nodes.TimeMember) and member.column.text == column:
                    return member
    return None


# ------------------------------------------------------------------ hover
def hover(snap: Snapshot, path: str, offset: int) -> types.Hover | None:
    source = snap.sources[path]
    found = at(snap.index(path), offset)
    if found is not None:
        text = describe(snap, found.target)
        if text:
            return _hover(text, span_range(source, found.span))
    word = _word_at(source.text, offset)
    if word is None:
        return None
    start, end, token = word
    duration = _DURATION.fullmatch(token)
    if duration:
        amount, unit = int(duration.group(1)), UNITS[duration.group(2)]
        noun = unit.split(" ")[0] + ("s" if amount != 1 else "")
        rest = unit[len(unit.split(" ")[0]) :]
        line = f"duration: {amount} {noun}{rest}"
    elif token in KEYWORDS:
        line = KEYWORDS[token]
    elif token in CALENDAR_UNIT_NAMES:
        line = f"`{token}` — a calendar unit (`this {token}`, `last 3 calendar {token}`)"
    elif token in FUNCTION_NAMES and source.text[end : end + 1] == "(":
        line = f"`{token}(…)` — a function of the language"
    elif token in TYPE_NAMES:
        line = f"`{token}` — a type"
    else:
        return None
    return _hover(line, offset_range(source, start, end))


def _hover(text: str, where: types.Range) -> types.Hover:
    return types.Hover(types.MarkupContent(types.MarkupKind.Markdown, text), where)


def _word_at(text: str, offset: int) -> tuple[int, int, str] | None:
    for match in re.finditer(r"[A-Za-z0-9_]+", text[max(0, offset - 100) : offset + 100]):
        base = max(0, offset - 100)
        start, end = base + match.start(), base + match.end()
        if start <= offset <= end:
            return start, end, match.group()
    return None


def as_of(snap: Snapshot) -> AsOf:
    zone = snap.settings.zone
    if snap.settings.as_of:
        try:
            return AsOf.parse(snap.settings.as_of, zone)
        except ValueError:
            pass
    return AsOf.now(zone)


def describe(snap: Snapshot, target: Target) -> str | None:
    """Markdown for a name: what it is, its type, and (for definitions) what it means."""
    decls = snap.analysis.decls
    if target[0] == "column":
        table = decls.tables.get(target[1])
        if table is None or ("", target[2]) not in table.columns:
            return None
        _, column = table.columns[("", target[2])]
        physical = f" (warehouse column `{column.name}`)" if column.name != target[2] else ""
        return f"column `{target[2]}` of table `{target[1]}`: **{column.type}**{physical}"
    if target[0] == "label":
        return f"label `{target[2]}` of `{target[1]}`"
    name = target[1]
    if name in decls.definitions:
        return _describe_definition(snap, name, decls.definitions[name])
    if name in decls.tables:
        return _describe_table(decls.tables[name])
    if name in decls.params:
        param = decls.params[name]
        text = f"param `{name}`: **{decls.param_types[name]}**"
        if name in snap.analysis.params:
            text += f" = {_value(snap, param)}"
        if param.description:
            text += f"\n\n{param.description}"
        return text
    entity = decls.entity
    if name in decls.attributes:
        owner = f" of entity `{entity.name}`" if entity else ""
        return f"attribute `{name}`{owner}: **{decls.attributes[name].type}**"
    if entity is not None and name == entity.name:
        return f"entity `{name}` from `{'.'.join(entity.source)}`, key `{entity.key.name}`"
    if entity is not None and name == entity.key.name:
        return f"key `{name}` of entity `{entity.name}`: **{entity.key.type}**"
    return None


def _value(snap: Snapshot, param: nodes.ParamDecl) -> str:
    default = param.default
    if default is None:
        return "(no default)"
    source = snap.sources.get(default.span.path)
    return f"`{source.text[default.span.start : default.span.end]}`" if source else ""


def _describe_table(table: TableInfo) -> str:
    hop = table.source.hops[0]
    origin = f"`{table.base}` where …" if table.base else f"`{'.'.join(hop.source)}`"
    if table.grouped is not None:
        origin = f"`{table.grouped_base}` per {table.grouped.by.text}"
    columns = sorted(name for (qualifier, name) in table.columns if not qualifier)
    return f"table `{table.name}` from {origin}\n\ncolumns: " + ", ".join(f"`{c}`" for c in columns)


def _describe_definition(snap: Snapshot, name: str, decl: nodes.Statement) -> str:
    checked = snap.analysis.definitions.get(name)
    kind = {
        nodes.MeasureDecl: "measure",
        nodes.SegmentDecl: "segment",
        nodes.ClassifierDecl: "classifier",
        nodes.SplitDecl: "split",
    }.get(type(decl), "definition")
    type_text = f": **{checked.type}**" if checked else " (has errors)"
    parts = [f"{kind} `{name}`{type_text}"]
    meta = getattr(decl, "meta", None)
    description = decl.description if isinstance(decl, nodes.MeasureDecl) else None
    if isinstance(meta, nodes.Metadata):
        description = meta.description
        if meta.owner:
            parts.append(f"owner: {meta.owner}")
        if meta.tags:
            parts.append("tags: " + ", ".join(meta.tags))
    if description:
        parts.insert(1, description)
    source = snap.sources.get(decl.span.path)
    if source is not None:
        parts.append("```seg\n" + source.text[decl.span.start : decl.span.end] + "\n```")
    if checked is not None:
        words = _words(snap, decl)
        if words:
            parts.append(f"as of {as_of(snap)}:\n\n" + "\n".join(words))
    return "\n\n".join(parts)


def _words(snap: Snapshot, decl: nodes.Statement) -> list[str]:
    analysis = snap.analysis
    describer = Describer(Checker(analysis.decls, analysis.params, snap.settings.zone), as_of(snap))
    match decl:
        case nodes.MeasureDecl():
            return [describer.text(decl.body)]
        case nodes.SegmentDecl():
            return ["    " + line for line in describer.lines(decl.condition)]
        case _:
            return []


# ------------------------------------------------------------------ completion
@dataclass(frozen=True)
class SchemaValues:
    """Known values of warehouse columns: source path (lower case) → column → values."""

    tables: dict[tuple[str, ...], dict[str, list[str]]]

    def of(self, source: tuple[str, ...], column: str) -> list[str]:
        wanted = [part.lower() for part in source]
        for parts, columns in self.tables.items():
            if list(parts[-len(wanted) :]) == wanted or wanted[-len(parts) :] == list(parts):
                return columns.get(column, [])
        return []


def completion(
    snap: Snapshot, path: str, offset: int, values: SchemaValues | None = None
) -> list[types.CompletionItem]:
    source = snap.sources[path]
    text = source.text
    before = text[:offset]
    starts = [m.start() for m in _STATEMENT.finditer(text) if m.start() < offset]
    statement = before[starts[-1] if starts else 0 :]
    if re.search(r"#[^\n]*$", before) and not re.search(r"\"[^\"\n]*$", before):
        return []
    duration = re.search(r"(?<![\w.])(\d+)([a-z]*)$", before)
    if duration:
        return _unit_items(source, offset, duration)
    table = _table_in_context(snap, statement, text[offset:])
    value = re.search(
        r"([A-Za-z_]\w*)\s*(?:!?=|(?:not\s+)?in\s*\[[^\]]*?)\s*(\"[^\"]*)?$", statement
    )
    if value and table is not None and values is not None:
        key = ("", value.group(1))
        if key in table.columns and table.source.grouping is None:
            hop, column = table.columns[key]
            found = values.of(table.source.hops[hop].source, column.name)
            if found:
                start = offset - len(value.group(2) or "")
                where = offset_range(source, start, offset)
                return [
                    types.CompletionItem(
                        label=f'"{v}"',
                        kind=types.CompletionItemKind.Value,
                        detail=f"a value of {value.group(1)}",
                        text_edit=types.TextEdit(where, '"' + v.replace('"', '\\"') + '"'),
                    )
                    for v in found
                ]
    kinds = types.CompletionItemKind
    items: list[types.CompletionItem] = []
    decls = snap.analysis.decls
    if _GROUPED_PER.search(statement):
        for unit in CALENDAR_UNITS:
            detail = f"a group per {unit} of the base table's time, in the project time zone"
            items.append(_ranked(0, unit, kinds.Unit, detail))
    if table is not None:
        for (qualifier, name), (hop, column) in sorted(table.columns.items()):
            if not qualifier:
                owner = table.source.hops[hop].table
                items.append(_ranked(0, name, kinds.Field, f"{column.type} — column of {owner}"))
    else:
        for name, decl in decls.definitions.items():
            checked = snap.analysis.definitions.get(name)
            kind = type(decl).__name__.removesuffix("Decl").lower()
            detail = f"{kind}: {checked.type}" if checked else kind
            icon = kinds.Function if kind == "measure" else kinds.Variable
            items.append(_ranked(1, name, icon, detail))
        for name, attribute in decls.attributes.items():
            items.append(_ranked(1, name, kinds.Field, f"{attribute.type} — attribute"))
        items += [_ranked(2, name, kinds.Class, "table") for name in decls.tables]
        items += [_ranked(3, name, kinds.Method, "function") for name in FUNCTION_NAMES]
    for name, type_ in decls.param_types.items():
        items.append(_ranked(1, name, kinds.Constant, f"param: {type_}"))
    for word in keyword_words():
        items.append(_ranked(4, word, kinds.Keyword, KEYWORDS[word].split(" — ")[-1][:80]))
    return items


def _ranked(
    rank: int, label: str, kind: types.CompletionItemKind, detail: str
) -> types.CompletionItem:
    """A completion item listed in groups: columns (0) before definitions, attributes and
    parameters (1), tables (2), functions (3) and keywords (4)."""
    return types.CompletionItem(label=label, kind=kind, detail=detail, sort_text=f"{rank}{label}")


def _unit_items(
    source: SourceFile, offset: int, match: re.Match[str]
) -> list[types.CompletionItem]:
    amount = match.group(1)
    where = offset_range(source, match.start(), offset)
    return [
        types.CompletionItem(
            label=f"{amount}{unit}",
            kind=types.CompletionItemKind.Unit,
            detail=meaning,
            text_edit=types.TextEdit(where, f"{amount}{unit}"),
        )
        for unit, meaning in UNITS.items()
    ]


def _table_in_context(snap: Snapshot, statement: str, after: str) -> TableInfo | None:
    """The table whose columns can be named at the end of `statement` (else None)."""
    tables = snap.analysis.decls.tables
    if _AGGREGATE_OPEN.search(statement) or re.search(r"\([^()]*$", statement):
        inside = re.match(r"[^()]*\)\s*of\s+([A-Za-z_]\w*)", after)
        if (
            inside
            and inside.group(1) in tables
            and _AGGREGATE_OPEN.search(statement[: statement.rfind("(") + 1])
        ):
            return tables[inside.group(1)]
    last = None
    for keyword in re.finditer(r"\b(?:where|per)\b", statement):
        last = keyword
    if last is None:
        return None
    depth = 0
    for char in statement[last.end() :]:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return None
    for word in reversed(_WORD.findall(statement[: last.start()])):
        if word in tables:
            return tables[word]
    return None


# ------------------------------------------------------------------ outline, folding
_SYMBOL_KINDS: dict[type, types.SymbolKind] = {
    nodes.EntityDecl: types.SymbolKind.Class,
    nodes.TableDecl: types.SymbolKind.Struct,
    nodes.DerivedTableDecl: types.SymbolKind.Struct,
    nodes.GroupedTableDecl: types.SymbolKind.Struct,
    nodes.ParamDecl: types.SymbolKind.Constant,
    nodes.MeasureDecl: types.SymbolKind.Function,
    nodes.SegmentDecl: types.SymbolKind.Boolean,
    nodes.ClassifierDecl: types.SymbolKind.Enum,
    nodes.SplitDecl: types.SymbolKind.Enum,
}


def symbols(snap: Snapshot, path: str) -> list[types.DocumentSymbol]:
    module = snap.module(path)
    source = snap.sources[path]
    if module is None:
        return []
    found = []
    for statement in module.statements:
        children = []
        if isinstance(statement, (nodes.EntityDecl, nodes.TableDecl)):
            for member in statement.members:
                ident = getattr(member, "name", None) or getattr(member, "column", None)
                if isinstance(ident, nodes.Ident):
                    children.append(
                        types.DocumentSymbol(
                            name=ident.text,
                            kind=types.SymbolKind.Field,
                            range=span_range(source, member.span),
                            selection_range=span_range(source, ident.span),
                        )
                    )
        kind = type(statement).__name__.removesuffix("Decl").lower()
        found.append(
            types.DocumentSymbol(
                name=statement.name.text,
                kind=_SYMBOL_KINDS[type(statement)],
                detail=kind.replace("derivedtable", "table").replace("groupedtable", "table"),
                range=span_range(source, statement.span),
                selection_range=span_range(source, statement.name.span),
                children=children or None,
            )
        )
    return found


def folding(snap: Snapshot, path: str) -> list[types.FoldingRange]:
    module = snap.module(path)
    if module is None:
        return []
    ranges = [
        types.FoldingRange(s.span.line - 1, s.span.end_line - 1)
        for s in module.statements
        if s.span.end_line > s.span.line
    ]
    run: list[nodes.Comment] = []
    for comment in [*module.comments, None]:
        if comment is not None and run and comment.span.line == run[-1].span.line + 1:
            run.append(comment)
            continue
        if len(run) > 1:
            ranges.append(
                types.FoldingRange(
                    run[0].span.line - 1, run[-1].span.line - 1, kind=types.FoldingRangeKind.Comment
                )
            )
        run = [comment] if comment is not None else []
    return ranges


# ------------------------------------------------------------------ code actions
def code_actions(
    snap: Snapshot, path: str, uri: str, diagnostics: list[types.Diagnostic]
) -> list[types.CodeAction]:
    """Quick fixes: take the did-you-mean suggestion; quote a bare word as a string."""
    source = snap.sources[path]
    actions = []
    for found in diagnostics:
        help_ = (found.data or {}).get("help") if isinstance(found.data, dict) else None
        text = found.message + "\n" + (help_ or "")
        suggestion = _DID_YOU_MEAN.search(text)
        if suggestion:
            fix = suggestion.group(1)
            actions.append(
                types.CodeAction(
                    title=f"Change to `{fix}`",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=[found],
                    is_preferred=True,
                    edit=types.WorkspaceEdit(changes={uri: [types.TextEdit(found.range, fix)]}),
                )
            )
        if found.code in ("SEG101", "SEG105") and found.range.start.line == found.range.end.line:
            line = source.line_text(found.range.start.line + 1)
            word = line[found.range.start.character : found.range.end.character]
            head = line[: found.range.start.character]
            if _NAME.match(word) and re.search(r"(!?=|\[|,|contains|with)\s*$", head):
                actions.append(
                    types.CodeAction(
                        title=f'Quote `{word}` as a string: "{word}"',
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[found],
                        edit=types.WorkspaceEdit(
                            changes={uri: [types.TextEdit(found.range, f'"{word}"')]}
                        ),
                    )
                )
    return actions


# ------------------------------------------------------------------ formatting
def formatting(source: SourceFile) -> list[types.TextEdit]:
    """The whole document as `seg fmt` writes it (nothing while it has syntax errors)."""
    result = parse(source)
    if result.module is None:
        return []
    formatted = format_module(result.module, source.text)
    if formatted == source.text:
        return []
    end = offset_range(source, len(source.text), len(source.text)).end
    return [types.TextEdit(types.Range(types.Position(0, 0), end), formatted)]
