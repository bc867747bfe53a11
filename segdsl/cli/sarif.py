"""Diagnostics as SARIF 2.1.0, the format GitHub code scanning uploads read."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from segdsl import __version__
from segdsl.codes import CODES
from segdsl.diagnostics import Diagnostic

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
ROOT_ID = "%SRCROOT%"


def repository_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding `.git`, else `start` itself."""
    start = start.resolve()
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return start


def sarif_log(diagnostics: Sequence[Diagnostic], root: Path) -> dict[str, object]:
    """One run of the `segdsl` tool; locations relative to `root` (the repository)."""
    codes = sorted(CODES)
    index = {code: i for i, code in enumerate(codes)}
    rules = [
        {
            "id": code,
            "name": _rule_name(CODES[code].title),
            "shortDescription": {"text": CODES[code].title},
            "fullDescription": {"text": CODES[code].explanation},
        }
        for code in codes
    ]
    results = [_result(d, index[d.code], root) for d in diagnostics]
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "segdsl",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": rules,
            }
        },
        "originalUriBaseIds": {ROOT_ID: {"uri": root.resolve().as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    return {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}


def _rule_name(title: str) -> str:
    """A rule name in the PascalCase SARIF suggests: `unknown name` → `UnknownName`."""
    return "".join(word[:1].upper() + word[1:] for word in title.replace("`", "").split())


def _result(diagnostic: Diagnostic, rule_index: int, root: Path) -> dict[str, object]:
    span = diagnostic.span
    text = diagnostic.message + (f"\nhelp: {diagnostic.help}" if diagnostic.help else "")
    result: dict[str, object] = {
        "ruleId": diagnostic.code,
        "ruleIndex": rule_index,
        "level": "error" if diagnostic.is_error else "warning",
        "message": {"text": text},
    }
    if span.path.startswith("<"):  # a command-line value, not a file
        return result
    region = {
        "startLine": span.line,
        "startColumn": span.column,
        "endLine": max(span.end_line, span.line),
        "endColumn": max(span.end_column, span.column + 1)
        if span.end_line <= span.line
        else span.end_column,
    }
    result["locations"] = [
        {"physicalLocation": {"artifactLocation": _artifact(span.path, root), "region": region}}
    ]
    return result


def _artifact(path: str, root: Path) -> dict[str, object]:
    absolute = Path(path).resolve()
    relative = os.path.relpath(absolute, root.resolve())
    if relative.startswith(".."):
        return {"uri": absolute.as_uri()}
    return {"uri": Path(relative).as_posix(), "uriBaseId": ROOT_ID}
