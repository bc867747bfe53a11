"""Reading test files: TOML documents of `[[test]]` cases → `TestCase`s and diagnostics.

as_of = "2025-07-01"                    # the default for the file's cases

[[test]]
name = "a cart add with no purchase since is a member"
segment = "recent_cart_no_purchase"     # or classifier = "…" / split = "…"
[test.given]
events = [{ customer_id = 1, occurred_at = 2025-06-30T10:00:00, name = "add_to_cart" }]
[test.expect]
members = [1]                           # classifiers: labels = { "1" = "gold" }
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from segdsl.diagnostics import Diagnostic
from segdsl.source import SourceFile, Span, read_source

Row = dict[str, object]

_KINDS = ("segment", "classifier", "split")
_CASE_KEYS = {"name", "as_of", "given", "expect", *_KINDS}
_HEADER = re.compile(r"^[ \t]*\[\[[ \t]*test[ \t]*\]\]", re.MULTILINE)


@dataclass(frozen=True)
class TestCase:
    """One case: rows per table, a definition, and what it should give at `as_of`."""

    name: str
    definition: str
    kind: str  # the kind the case says the definition is: segment, classifier or split
    as_of: str | None
    given: dict[str, list[Row]]  # declared table (or entity) name → rows of column values
    members: list[object] | None = None  # segments: the expected members' keys
    labels: dict[str, str] | None = None  # classifiers and splits: key → label
    span: Span = field(default_factory=lambda: Span("<test>", 1, 1, 1, 1))
    text: str = field(default="", repr=False, compare=False)  # the file's text, for `place`

    __test__ = False  # not a pytest test class

    def place(self, table: str, column: str | None = None) -> Span:
        """Where a given table (or a column of its rows) is written, else the case's header."""
        found = _find(self.text, table, self.span.line, self.span.path)
        if found is not None and column is not None:
            found = _find(self.text, column, found.line, self.span.path) or found
        return found or self.span


@dataclass
class TestFile:
    """The cases of one file and what is wrong with it."""

    source: SourceFile
    cases: list[TestCase] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)

    __test__ = False


def test_files(root: Path) -> list[Path]:
    """The test files of the project whose settings live in `root`: `tests/**/*.toml`."""
    folder = root / "tests"
    return sorted(folder.rglob("*.toml")) if folder.is_dir() else []


test_files.__test__ = False  # type: ignore[attr-defined]


def read_test_file(path: Path) -> TestFile:
    """Read and check the shape of one test file (names are checked against the model later)."""
    where = str(path)
    read = read_source(path)
    if isinstance(read, Diagnostic):
        return TestFile(SourceFile(where, ""), diagnostics=[read])
    source = read
    result = TestFile(source)
    try:
        document = tomllib.loads(source.text)
    except tomllib.TOMLDecodeError as error:
        line, column = _position(str(error))
        result.diagnostics.append(
            Diagnostic(
                "SEG580",
                f"not a valid TOML file: {str(error).split(' (at')[0]}",
                Span(where, line, column, line, column + 1),
                "test files are TOML: `[[test]]` tables with name, segment, given and expect",
            )
        )
        return result
    headers = [source.text.count("\n", 0, m.start()) + 1 for m in _HEADER.finditer(source.text)]
    cases = document.get("test")
    if not isinstance(cases, list) or not cases:
        result.diagnostics.append(
            _problem(where, 1, "no `[[test]]` cases in this file", "start a case with `[[test]]`")
        )
        return result
    default_as_of = document.get("as_of")
    for index, case in enumerate(cases):
        line = headers[index] if index < len(headers) else 1
        found = _case(case, where, line, default_as_of, source.text)
        if isinstance(found, Diagnostic):
            result.diagnostics.append(found)
        else:
            result.cases.append(found)
    return result


def _case(
    case: Mapping[str, object], where: str, line: int, default_as_of: object, text: str
) -> TestCase | Diagnostic:
    span = Span(where, line, 1, line, 1 + len("[[test]]"))
    unknown = sorted(set(case) - _CASE_KEYS)
    if unknown:
        return Diagnostic(
            "SEG580",
            f"unknown key `{unknown[0]}` in a test case",
            _find(text, unknown[0], line, where) or span,
            "a case has name, segment (or classifier, split), as_of, given and expect",
        )
    name = case.get("name")
    if not isinstance(name, str) or not name:
        return Diagnostic("SEG580", "a test case needs a `name`", span, 'add name = "…"')
    kinds = [kind for kind in _KINDS if kind in case]
    if len(kinds) != 1 or not isinstance(case[kinds[0]], str):
        return Diagnostic(
            "SEG580",
            f"test `{name}` must name exactly one segment, classifier or split",
            span,
            'e.g. segment = "cart_abandoners"',
        )
    kind = kinds[0]
    as_of = case.get("as_of", default_as_of)
    if as_of is not None and not isinstance(as_of, str):
        as_of = str(as_of).replace(" ", "T")  # a TOML date or datetime value
    given = case.get("given", {})
    if not isinstance(given, dict) or not all(
        isinstance(rows, list) and all(isinstance(row, dict) for row in rows)
        for rows in given.values()
    ):
        return Diagnostic(
            "SEG580",
            f"test `{name}`: `given` maps table names to lists of rows",
            _find(text, "given", line, where) or span,
            "e.g. events = [{ customer_id = 1, occurred_at = 2025-06-30T10:00:00 }]",
        )
    expect = case.get("expect")
    wanted = "members" if kind == "segment" else "labels"
    if not isinstance(expect, dict) or set(expect) != {wanted}:
        example = "members = [1, 2]" if kind == "segment" else 'labels = { "1" = "gold" }'
        return Diagnostic(
            "SEG580",
            f"test `{name}`: `expect` must give the {wanted} of the {kind}",
            _find(text, "expect", line, where) or span,
            f"e.g. [test.expect] {example}",
        )
    members: list[object] | None = None
    labels: dict[str, str] | None = None
    if kind == "segment":
        if not isinstance(expect["members"], list):
            return Diagnostic(
                "SEG580", f"test `{name}`: `members` is a list of keys", span, "e.g. [1, 2]"
            )
        members = list(expect["members"])
    else:
        if not isinstance(expect["labels"], dict) or not all(
            isinstance(label, str) for label in expect["labels"].values()
        ):
            return Diagnostic(
                "SEG580",
                f"test `{name}`: `labels` maps keys to labels",
                span,
                'e.g. labels = { "1" = "gold", "2" = "silver" }',
            )
        labels = dict(expect["labels"])
    return TestCase(
        name,
        str(case[kind]),
        kind,
        as_of,
        {table: [dict(row) for row in rows] for table, rows in given.items()},
        members,
        labels,
        span,
        text,
    )


def _problem(where: str, line: int, message: str, help: str) -> Diagnostic:
    return Diagnostic("SEG580", message, Span(where, line, 1, line, 2), help)


def _find(text: str, word: str, after_line: int, where: str) -> Span | None:
    """The first occurrence of `word` as a key at or after `after_line` (for a caret)."""
    lines = text.splitlines()
    pattern = re.compile(rf"(^|[\s\[.{{,]){re.escape(word)}\s*[=\].]")
    for number in range(after_line, len(lines) + 1):
        match = pattern.search(lines[number - 1])
        if match:
            column = match.start() + len(match.group(1)) + 1
            return Span(where, number, column, number, column + len(word))
    return None


def _position(message: str) -> tuple[int, int]:
    match = re.search(r"line (\d+), column (\d+)", message)
    return (int(match.group(1)), int(match.group(2))) if match else (1, 1)
