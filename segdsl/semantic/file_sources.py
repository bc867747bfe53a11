"""Entity and table sources naming files or URLs → checked against `[files] allow`, made absolute.

DuckDB reads a table name such as ``"data/orders.parquet"``, ``"*.csv"`` or
``"https://…"`` as a file or URL. A definition may read only files under the
folders the settings allow (``[files] allow = ["data/parquet"]``, relative to
seg.toml); a relative path in a `.seg` file also starts at seg.toml's folder and
is rewritten to the absolute path the engine's allow list names. URLs and
files elsewhere are errors (SEG510, SEG511). The engine refuses them too: this
check gives the diagnostic with a position, the engine is the real guard.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePath

from segdsl.diagnostics import Diagnostic
from segdsl.settings import Settings
from segdsl.syntax import nodes

__all__ = ["check_sources", "looks_like_file", "looks_like_url"]

# what DuckDB (or one of its extensions) reads when a table name ends so
_FILE_SUFFIXES = frozenset(
    re.findall(
        r"\w+",
        "arrow avro csv db duckdb feather gz ipc json jsonl ndjson orc parquet pq sqlite "
        "sqlite3 tbl tsv txt xls xlsx zst zstd",
    )
)
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:(//|[^\\/])")
_PATH_CHARACTERS = frozenset("/\\*?[]{}~")


def looks_like_url(part: str) -> bool:
    """``s3://b/k``, ``https://h/x.csv``, ``md:db``: a scheme before a colon."""
    return bool(_URL.match(part.strip()))


def looks_like_file(part: str) -> bool:
    """A path, a glob, or a name ending in a file suffix DuckDB reads."""
    text = part.strip()
    if any(char in _PATH_CHARACTERS for char in text) or text.startswith("."):
        return True
    suffix = text.rpartition(".")[2].lower() if "." in text else ""
    return suffix in _FILE_SUFFIXES


def _under(path: Path, folders: tuple[Path, ...]) -> bool:
    return any(path == folder or folder in path.parents for folder in folders)


def _glob_root(path: Path) -> Path:
    """The part of a path before its first glob character (what a glob can reach)."""
    parts: list[str] = []
    for part in path.parts:
        if any(char in part for char in "*?[]{}"):
            break
        parts.append(part)
    return Path(*parts) if parts else Path(path.anchor or ".")


def _resolve(text: str, root: Path) -> Path:
    path = Path(text).expanduser()
    absolute = path if path.is_absolute() else root / path
    # normalise `..` without following links in the glob part
    return Path(PurePath(*_normalised(absolute.parts)))


def _normalised(parts: tuple[str, ...]) -> list[str]:
    kept: list[str] = []
    for part in parts:
        if part == "..":
            if len(kept) > 1:
                kept.pop()
        elif part not in (".", ""):
            kept.append(part)
    return kept


def check_sources(
    modules: list[nodes.Module], settings: Settings
) -> tuple[list[nodes.Module], list[Diagnostic]]:
    """Modules with file sources made absolute, and a diagnostic per source not allowed."""
    problems: list[Diagnostic] = []
    result: list[nodes.Module] = []
    for module in modules:
        statements: list[nodes.Statement] = []
        for statement in module.statements:
            if isinstance(statement, nodes.EntityDecl | nodes.TableDecl):
                source, problem = _checked(statement, settings)
                if problem is not None:
                    problems.append(problem)
                if source != statement.source:
                    statement = dataclasses.replace(statement, source=source)
            statements.append(statement)
        result.append(dataclasses.replace(module, statements=tuple(statements)))
    return result, problems


def _checked(
    decl: nodes.EntityDecl | nodes.TableDecl, settings: Settings
) -> tuple[tuple[str, ...], Diagnostic | None]:
    span = decl.name.span
    kind = "entity" if isinstance(decl, nodes.EntityDecl) else "table"
    for part in decl.source:
        if looks_like_url(part):
            return decl.source, Diagnostic(
                "SEG511",
                f"the {kind} `{decl.name.text}` reads from `{part}`: a URL, not a table",
                span,
                "definitions read tables of the database they run on; load the data into it",
            )
    if not any(looks_like_file(part) for part in decl.source):
        return decl.source, None
    allow = settings.read_folders
    help_ = (
        'allow its folder in seg.toml: `[files]` `allow = ["folder"]`'
        if not allow
        else "allowed folders: " + ", ".join(str(folder) for folder in allow)
    )
    if len(decl.source) != 1:
        return decl.source, Diagnostic(
            "SEG510",
            f"the {kind} `{decl.name.text}` names a file inside a table name: "
            f"`{'.'.join(decl.source)}`",
            span,
            "write a file source as one quoted path",
        )
    path = _resolve(decl.source[0], settings.root)
    if not _under(_glob_root(path), allow):
        return decl.source, Diagnostic(
            "SEG510",
            f"the {kind} `{decl.name.text}` reads the file `{decl.source[0]}` "
            "outside the folders seg.toml allows",
            span,
            help_,
        )
    return (str(path),), None
