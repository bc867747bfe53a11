"""Text → AST. Wraps the Lark LALR parser; Lark errors become diagnostics.

Lark types stay inside `segdsl.syntax`: callers get a `ParseResult` holding a
`nodes.Module` (or `None`) and a list of diagnostics.
"""

from __future__ import annotations

import datetime as dt
import gc
import hashlib
import re
import sys
import threading
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import cast

import lark
from lark import Lark, Token, UnexpectedCharacters, UnexpectedInput, UnexpectedToken
from lark.exceptions import UnexpectedEOF
from lark.grammar import Rule

from segdsl.cache import ensure_cache_folder
from segdsl.diagnostics import Diagnostic
from segdsl.source import MAX_SOURCE_BYTES, SourceFile, Span, too_large
from segdsl.syntax import nodes
from segdsl.syntax.lark_loops import inlined, use_lean_loops
from segdsl.syntax.nesting import nesting_problems
from segdsl.syntax.transformer import AstValue, Reduced, ToAst

LANGUAGE_VERSION = 1
MAX_SYNTAX_ERRORS = 50
STATEMENT_KEYWORDS = ("entity", "table", "param", "measure", "segment", "classifier", "split")
_STATEMENT_START = re.compile(r"^(?:{})\b".format("|".join(STATEMENT_KEYWORDS)), re.MULTILINE)

_TERMINAL_WORDS = {
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "PERCENT": "a percentage",
    "DATE": "a date such as 2025-03-01",
    "TIMESTAMP": "a timestamp such as 2025-03-01T09:30:00",
    "DURATION": "a duration such as 30d",
    "COMPARE": "a comparison (=, !=, <, <=, >, >=)",
    "ADD_OP": "`+` or `-`",
    "MUL_OP": "`*` or `/`",
    "STARTS_WITH": "`starts with`",
    "ENDS_WITH": "`ends with`",
    "$END": "the end of the file",
}


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source checkout, from grammar/."""
    packaged = resources.files("segdsl").joinpath("grammar/segdsl.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return (Path(__file__).resolve().parents[2] / "grammar" / "segdsl.lark").read_text(
        encoding="utf-8"
    )


# One builder serves every parse; the lock keeps parses in different threads apart.
_BUILDER = ToAst()
_PARSING = threading.Lock()


class _AstLark(Lark):
    """Lark that builds the AST as it reduces rules, instead of a parse tree to transform.

    Each node's span covers every token of its rule, as lark's `propagate_positions`
    would give a tree: that bookkeeping and the separate tree walk took about a sixth
    of the parsing time (docs/performance.md).
    """

    def _prepare_callbacks(self) -> None:
        # lark's hook for its per-rule callbacks, run on a fresh build and on a cache load
        super()._prepare_callbacks()
        for rule, build in list(self._callbacks.items()):
            if isinstance(rule, Rule):
                name = str(rule.alias or rule.origin.name)
                self._callbacks[rule] = _BUILDER.reducer(name, inlined(rule), build)


def _ast_lark(*, strict: bool = False) -> Lark:
    """The grammar's parser, building the AST as it reduces, with lark's own loops.

    ``strict`` makes a shift/reduce conflict in the grammar an error; it needs the
    test-only package ``interegular``, so the grammar's test builds it that way and
    the runtime does not (tests/test_grammar.py).
    """
    text = grammar_text()
    return _AstLark(
        text,
        parser="lalr",
        start=["start", "param_value"],
        maybe_placeholders=True,
        strict=strict,
        cache=False if strict else _cache_file(text),
    )


def _cache_file(grammar: str) -> str | bool:
    """Where lark keeps the built parser: a file of the per-user cache folder.

    Lark stores the grammar's hash in the file and rebuilds (and rewrites it) when the
    hash differs or the file is unreadable, so a stale or broken cache only costs the
    build. Without a writable cache folder, nothing is cached.
    """
    folder = ensure_cache_folder()
    if folder is None:
        return False
    digest = hashlib.sha256(grammar.encode()).hexdigest()[:16]
    version = f"lark{lark.__version__}-py{sys.version_info[0]}{sys.version_info[1]}"
    return str(folder / f"grammar-{version}-{digest}.lark-cache")


@cache
def _lark() -> Lark:
    return use_lean_loops(_ast_lark())


def _parse_with_lark(
    source: SourceFile, text: str, start: str
) -> tuple[AstValue, list[Diagnostic]]:
    """The AST of `text` (all of `source`, or the rest of it when resynchronising) and
    the literals in it that do not exist."""
    with _PARSING, _no_garbage_collection():
        _BUILDER.reset(source)
        reduced = cast(Reduced, _lark().parse(text, start=start))  # what the callbacks return
        return reduced.value, _BUILDER.literal_problems


@contextmanager
def _no_garbage_collection() -> Iterator[None]:
    """A parse only allocates (the AST holds no cycles), but each full collection walks
    every node built so far: on a 1 MB file that was 40% of the time, growing with size."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@cache
def _terminal_words() -> dict[str, str]:
    words = dict(_TERMINAL_WORDS)
    for terminal in _lark().terminals:
        if terminal.name not in words and terminal.pattern.type == "str":
            words[terminal.name] = f"`{terminal.pattern.value}`"
    return words


@dataclass(frozen=True)
class ParseResult:
    module: nodes.Module | None
    diagnostics: tuple[Diagnostic, ...]


def parse(source: SourceFile) -> ParseResult:
    """Parse one file. On syntax errors, the errors found by resynchronising are reported
    (up to MAX_SYNTAX_ERRORS: each one parses the rest of the file again)."""
    if len(source.text) > MAX_SOURCE_BYTES:  # text given directly: a character per byte
        return ParseResult(None, (too_large(source.path),))
    diagnostics: list[Diagnostic] = []
    literal_problems: list[Diagnostic] = []
    module: nodes.Module | None = None
    offset: int | None = 0
    while offset is not None and len(diagnostics) < MAX_SYNTAX_ERRORS:
        text = source.text[offset:]
        try:
            value, problems = _parse_with_lark(source, text, "start")
        except UnexpectedInput as error:
            position = offset + _error_offset(error, text)
            diagnostics.append(_syntax_diagnostic(error, source, position, text))
            offset = _next_statement(source.text, position)
            continue
        if offset == 0:  # after a resynchronisation, the offsets of the rest are off
            assert isinstance(value, nodes.Module)
            module = _with_comments(value, source)
            literal_problems = problems + _escape_problems(source)
        offset = None
    if diagnostics:
        return ParseResult(None, tuple(diagnostics))
    if module is not None:
        diagnostics.extend(literal_problems)
        diagnostics.extend(_version_problems(module, source))
        too_deep = nesting_problems(module)
        diagnostics.extend(too_deep)
        if too_deep:
            return ParseResult(None, tuple(diagnostics))
    return ParseResult(None if literal_problems else module, tuple(diagnostics))


def parse_value(
    text: str, path: str = "<param>"
) -> tuple[nodes.Expr | tuple[nodes.Expr, ...] | None, Diagnostic | None]:
    """Parse a value given outside a file (a parameter override): an expression or a list."""
    source = SourceFile(path, text)
    try:
        value, problems = _parse_with_lark(source, text, "param_value")
    except UnexpectedInput as error:
        return None, _syntax_diagnostic(error, source, _error_offset(error, text), text)
    problems = problems + _escape_problems(source)
    if problems:
        return None, problems[0]
    assert not isinstance(value, nodes.Module)
    return value, None


def _with_comments(module: nodes.Module, source: SourceFile) -> nodes.Module:
    comments = tuple(_comments(source))
    return nodes.Module(module.version, module.statements, comments, span=module.span)


def _comments(source: SourceFile) -> list[nodes.Comment]:
    """Comments by scanning tokens: a '#' outside strings and backticks starts one."""
    found: list[nodes.Comment] = []
    for match in _COMMENT_SCAN.finditer(source.text):
        if match.group("comment") is not None:
            start, end = match.span("comment")
            found.append(nodes.Comment(match.group("comment"), span=source.span(start, end)))
    return found


def _escape_problems(source: SourceFile) -> list[Diagnostic]:
    """An error for each backslash in a string that starts no escape of the language."""
    problems: list[Diagnostic] = []
    for match in _COMMENT_SCAN.finditer(source.text):
        literal = match.group("string")
        if literal is None or "\\" not in literal or literal.startswith("`"):
            continue
        for escape in _ESCAPE.finditer(literal):
            if escape.group(1) not in ESCAPES:
                start = match.start() + escape.start()
                problems.append(
                    Diagnostic(
                        "SEG004",
                        f"unknown escape `{escape.group()}` in a string",
                        source.span(start, start + 2),
                        help="the escapes are \\\\, \\\", \\', \\n and \\t; "
                        "write a backslash as \\\\",
                    )
                )
    return problems


_COMMENT_SCAN = re.compile(
    r"""(?P<string>"[^"\\\n]*(?:\\.[^"\\\n]*)*"|'[^'\\\n]*(?:\\.[^'\\\n]*)*'|`[^`\n]*`)"""
    r"""|(?P<comment>\#[^\n]*)"""
)
_ESCAPE = re.compile(r"\\(.)")
ESCAPES = ("\\", '"', "'", "n", "t")


def _version_problems(module: nodes.Module, source: SourceFile) -> list[Diagnostic]:
    if module.version is None or module.version == LANGUAGE_VERSION:
        return []
    return [
        Diagnostic(
            "SEG003",
            f"language version {module.version} is not supported",
            module.span if module.span.path == source.path else source.span(0, 0),
            help=f"this compiler reads `segdsl {LANGUAGE_VERSION}`",
        )
    ]


def _error_offset(error: UnexpectedInput, text: str) -> int:
    if isinstance(error, UnexpectedToken) and error.token.type == "$END":
        return len(text.rstrip())
    if isinstance(error, UnexpectedEOF):
        return len(text.rstrip())
    pos = getattr(error, "pos_in_stream", None)
    if pos is None and isinstance(error, UnexpectedToken):
        pos = error.token.start_pos
    return int(pos or 0)


def _next_statement(text: str, position: int) -> int | None:
    line_end = text.find("\n", position)
    if line_end == -1:
        return None
    match = _STATEMENT_START.search(text, line_end + 1)
    return match.start() if match else None


def _syntax_diagnostic(
    error: UnexpectedInput, source: SourceFile, position: int, text: str
) -> Diagnostic:
    if isinstance(error, UnexpectedCharacters):
        char: str = error.char  # the character at `error.pos_in_stream`, always inside `text`
        span = source.span(position, position + 1)
        return Diagnostic(
            "SEG002",
            f"unexpected character `{char}`",
            span,
            help=_character_help(char, text, error),
        )
    if isinstance(error, UnexpectedEOF) or (
        isinstance(error, UnexpectedToken) and error.token.type == "$END"
    ):
        return Diagnostic(
            "SEG005",
            "unexpected end of file",
            source.span(position, position),
            help=_expected_help(error.expected),
        )
    assert isinstance(error, UnexpectedToken)
    token = error.token
    span = source.span(position, position + max(1, len(str(token))))
    return Diagnostic(
        "SEG001",
        f"unexpected {_describe_token(token)}",
        span,
        help=_token_help(token, error, text) or _expected_help(error.expected),
    )


_TOKEN_KINDS = {
    "NAME": "name",
    "NUMBER": "number",
    "STRING": "string",
    "DATE": "date",
    "DURATION": "duration",
    "PERCENT": "percentage",
    "TIMESTAMP": "timestamp",
}


def _describe_token(token: Token) -> str:
    kind = _TOKEN_KINDS.get(token.type)
    return f"{kind} `{token}`" if kind else f"`{token}`"


def _expected_help(expected: Collection[str]) -> str | None:
    if expected and {name.lower() for name in expected} <= {*STATEMENT_KEYWORDS, "$end"}:
        return (
            "the definition before this point is complete; continue it with an operator "
            "(`and`, `or`, `=`, `+`, …) or start a new definition (`segment`, `measure`, …)"
        )
    words = _terminal_words()
    described = sorted({words.get(name, f"`{name.lower()}`") for name in expected})
    if not described:
        return None
    if len(described) > 10:
        described = [*described[:10], "…"]
    return "expected " + (
        described[0] if len(described) == 1 else "one of: " + ", ".join(described)
    )


def _token_help(token: Token, error: UnexpectedToken, text: str) -> str | None:
    start = token.start_pos or 0
    previous = text[max(0, start - 80) : start].rstrip()  # a token's worth is enough
    word = str(token)
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    before = text[line_start:start]
    after = text[start : len(text) if line_end == -1 else line_end].rstrip()
    if token.type == "NAME" and start > 0 and text[start - 1].isdigit():
        return (
            "durations are a number and a unit with no space: s, min, h, d, w, mo, y "
            "(e.g. `30d`, `45min`, `6mo`)"
        )
    spaced = _SPACED_DURATION.search(before)
    if token.type == "NAME" and spaced and word.lower() in _UNIT_WORDS:
        amount = spaced.group("amount")
        return (
            f"write the duration as `{amount}{_UNIT_WORDS[word.lower()]}`, a number and a "
            f"unit with no space (`last {amount} calendar {word}` is whole calendar periods)"
        )
    if word == "=" and previous.endswith("="):
        return "equality is a single `=`"
    if word in ("&", "|"):
        return "use `and` / `or`"
    if word == "where":
        return _where_help(text, start)
    operand = _LAST_OPERAND.search(before)
    if word in _WINDOW_WORDS and operand is not None:
        return f"test a value against a window with `in`: `{operand.group(1)} in {after}`"
    if word == "-" and _SOURCE_START.search(before):
        source = _SOURCE_START.search(before)
        assert source is not None
        written = source.group(1) + _source_tail(after)
        quoted = ".".join(f'"{part}"' if "-" in part else part for part in written.split("."))
        return f"quote a name with a hyphen in it: `from {quoted}`"
    return None


# `last 60 days`: a number and a unit word apart
_SPACED_DURATION = re.compile(r"(?:last|within|between|and|than)\s+(?P<amount>\d+)\s+$")
_UNIT_WORDS = {
    **dict.fromkeys(("second", "seconds", "sec", "secs"), "s"),
    **dict.fromkeys(("minute", "minutes", "mins"), "min"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs"), "h"),
    **dict.fromkeys(("day", "days"), "d"),
    **dict.fromkeys(("week", "weeks"), "w"),
    **dict.fromkeys(("month", "months"), "mo"),
    **dict.fromkeys(("year", "years"), "y"),
}
# `last_order more than 60d ago`: a window after a value, without `in`
_WINDOW_WORDS = {"more", "since", "before", "after", "until", "this", "previous"}
_LAST_OPERAND = re.compile(r"([A-Za-z_][A-Za-z0-9_.]*|\))\s+$")
# `from demo-proj.shop.customers`: a hyphen in a warehouse name
_SOURCE_START = re.compile(r"\bfrom\s+([A-Za-z0-9_.]+)$")
_AGGREGATE_WORDS = re.compile(r"\b(count|sum|avg|min|max|exists|first|last|nth|ntile|percentile)\b")
_COMPARISON = re.compile(r"<=|>=|!=|=|<|>")


def _source_tail(after: str) -> str:
    """The rest of a warehouse name written with hyphens, up to the `{` or a space."""
    match = re.match(r"[A-Za-z0-9_.\-]+", after)
    return match.group(0) if match else ""


def _where_help(text: str, start: int) -> str:
    """Parentheses around the user's own aggregate with `where` (`(count orders where
    amount > 100) >= 2`), or an example when the aggregate cannot be told apart."""
    example = (
        "an aggregate with `where` inside a larger expression needs parentheses: "
        '`(count orders where status = "paid") >= 2`'
    )
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end == -1 else line_end
    head = text[line_start:start]
    found = list(_AGGREGATE_WORDS.finditer(head))
    if not found:
        return example
    first = len(found) - 1
    while first > 0 and not head[found[first - 1].end() : found[first].start()].strip():
        first -= 1  # `max count …`: the outer function belongs to the aggregate
    begin = found[first].start()
    rest = text[start:line_end].rstrip()
    comparisons = list(_COMPARISON.finditer(rest))
    if len(comparisons) >= 2:  # `where amount > 100 >= 2`: the last comparison is outside
        cut = comparisons[-1].start()
        inside, outside = rest[:cut].rstrip(), " " + rest[cut:]
    else:
        inside, outside = rest, ""
    prefix = head[:begin]  # the definition's own `=` comes first on its line
    lead = prefix.split("=", 1)[1].strip() if "=" in prefix else ""
    written = f"{lead} " if lead else ""
    return (
        "an aggregate with `where` inside a larger expression needs parentheses: "
        f"`{written}({head[begin:].rstrip()} {inside}){outside}`"
    )


def _character_help(char: str, text: str, error: UnexpectedCharacters) -> str | None:
    if char in "&|":
        return "use `and` / `or` to combine conditions"
    if char == "!":
        return "use `not` to negate a condition, `!=` for not equal"
    if char == "$":
        return "parameters are referred to by their bare name"
    if char in "\"'":
        return "strings must close on the same line"
    allowed = getattr(error, "allowed", None)
    return _expected_help(allowed) if allowed else None


def parse_date(text: str) -> dt.date | None:
    """A calendar date from `YYYY-MM-DD`, or None if it does not exist."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def parse_timestamp(text: str) -> dt.datetime | None:
    """A timestamp from the literal syntax, or None if it does not exist."""
    try:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def span_of(token: Token, source: SourceFile) -> Span:
    start = token.start_pos or 0
    end = token.end_pos or start
    return source.span(start, end)
