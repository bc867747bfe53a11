"""Project settings from `seg.toml` or `[tool.segdsl]` in pyproject.toml."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from segdsl.diagnostics import Diagnostic, did_you_mean
from segdsl.source import Span

DIALECT_NAMES: tuple[str, ...] = ("duckdb", "postgres", "bigquery", "spark", "clickhouse")
KNOWN_KEYS: tuple[str, ...] = (
    "dialect",
    "time_zone",
    "database_url_env",
    "database",
    "as_of",
    "statement_timeout",
    "include",
    "exclude",
    "format",
    "files",  # [files] allow = [...]: see `_read_folders`
    "spark",  # [spark] tables = {...}: see `_spark_tables`
)
DEFAULT_INCLUDE = ("**/*.seg",)
FORMAT_KEYS = ("line-width",)


@dataclass(frozen=True)
class Settings:
    """What a project may configure; every field has a default."""

    dialect: str = "duckdb"
    time_zone: str = "UTC"
    database_url_env: str = "SEG_DATABASE_URL"
    database: str | None = None  # a default database URL (must not contain secrets)
    as_of: str | None = None  # pin the as-of time (e.g. for a demo dataset)
    statement_timeout: int = 300  # seconds
    include: tuple[str, ...] = DEFAULT_INCLUDE  # globs relative to the settings' folder
    exclude: tuple[str, ...] = ()
    line_width: int = 100  # `[format] line-width`: where `seg fmt` wraps
    path: Path | None = field(default=None, compare=False)
    # [files] allow = ["data/parquet"]: folders whose files a definition may read as tables
    read_folders: tuple[Path, ...] = ()
    # [spark] tables = {orders = "data/orders.parquet"}: Parquet read as Spark temporary views
    spark_tables: tuple[tuple[str, Path], ...] = ()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def root(self) -> Path:
        """The folder that relative paths in the settings and in `.seg` file sources start from."""
        return (self.path.parent if self.path is not None else Path.cwd()).resolve()


def find_settings(start: Path) -> Path | None:
    """The nearest seg.toml, or pyproject.toml with [tool.segdsl], at or above `start`.

    The path keeps the form of `start` (relative stays relative: `../seg.toml`).
    """
    directory = start if start.is_dir() else start.parent
    for folder in ancestors(directory):
        found = settings_in(folder)
        if found is not None:
            return found
    return None


def settings_in(folder: Path) -> Path | None:
    """The settings file that makes `folder` a project's root, if any."""
    candidate = folder / "seg.toml"
    if candidate.is_file():
        return candidate
    pyproject = folder / "pyproject.toml"
    try:
        if pyproject.is_file() and "[tool.segdsl]" in pyproject.read_text(encoding="utf-8"):
            return pyproject
    except (OSError, UnicodeDecodeError):
        return None
    return None


def ancestors(folder: Path) -> list[Path]:
    """`folder` and every folder above it, written relative to `folder` when it is relative."""
    chain = [folder]
    resolved = folder.resolve()
    for _ in resolved.parents:
        chain.append(Path(os.path.normpath(chain[-1] / "..")))
    return chain


def load_settings(path: Path | None) -> tuple[Settings, list[Diagnostic]]:
    """Read and validate settings; problems are diagnostics, defaults fill the gaps."""
    if path is None:
        return Settings(), []
    span = Span(str(path), 1, 1, 1, 1)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        return Settings(path=path), [Diagnostic("SEG501", f"cannot read settings: {error}", span)]
    table = data.get("tool", {}).get("segdsl", {}) if path.name == "pyproject.toml" else data
    if path.name == "seg.toml" and "segdsl" in table and isinstance(table["segdsl"], dict):
        table = table["segdsl"]
    problems: list[Diagnostic] = []
    values: dict[str, object] = {}
    for key, value in table.items():
        if key not in KNOWN_KEYS:
            problems.append(
                Diagnostic(
                    "SEG501", f"unknown setting `{key}`", span, did_you_mean(key, KNOWN_KEYS)
                )
            )
            continue
        values[key] = value
    settings = Settings(path=path)
    dialect = values.get("dialect", settings.dialect)
    if dialect not in DIALECT_NAMES:
        problems.append(
            Diagnostic(
                "SEG501",
                f"unknown dialect `{dialect}`",
                span,
                did_you_mean(str(dialect), DIALECT_NAMES) or "use " + ", ".join(DIALECT_NAMES),
            )
        )
        values.pop("dialect")
    zone = values.get("time_zone", settings.time_zone)
    try:
        ZoneInfo(str(zone))
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            Diagnostic(
                "SEG501",
                f"unknown time zone `{zone}`",
                span,
                "use an IANA name such as `Europe/Berlin`",
            )
        )
        values.pop("time_zone")
    timeout = values.get("statement_timeout", settings.statement_timeout)
    if not isinstance(timeout, int) or timeout <= 0:
        problems.append(
            Diagnostic("SEG501", "`statement_timeout` must be a positive number of seconds", span)
        )
        values.pop("statement_timeout", None)
    for key in ("database_url_env", "database", "as_of"):
        if key in values and not isinstance(values[key], str):
            problems.append(Diagnostic("SEG501", f"`{key}` must be a string", span))
            values.pop(key)
    for key in ("include", "exclude"):
        if key not in values:
            continue
        globs = values.pop(key)
        if isinstance(globs, list) and all(isinstance(g, str) and g for g in globs):
            values[key] = tuple(globs)
        else:
            problems.append(
                Diagnostic(
                    "SEG501",
                    f"`{key}` must be a list of globs",
                    span,
                    f'e.g. {key} = ["segments/**"]',
                )
            )
    if "format" in values:
        width, format_problems = _line_width(values.pop("format"), span)
        problems.extend(format_problems)
        if width is not None:
            values["line_width"] = width
    # ---- [files]: the folders a definition may read files from
    if "files" in values:
        folders, file_problems = _read_folders(values.pop("files"), path, span)
        problems.extend(file_problems)
        values["read_folders"] = folders
    if "spark" in values:
        tables, spark_problems = _spark_tables(values.pop("spark"), path, span)
        problems.extend(spark_problems)
        values["spark_tables"] = tables
    return Settings(path=path, **values), problems  # type: ignore[arg-type]


def _line_width(table: object, span: Span) -> tuple[int | None, list[Diagnostic]]:
    """The `[format]` table: only `line-width`, a number of characters (40 or more)."""
    if not isinstance(table, dict):
        return None, [Diagnostic("SEG501", "`format` must be a table", span, "[format]")]
    problems = [
        Diagnostic(
            "SEG501", f"unknown setting `format.{key}`", span, did_you_mean(key, FORMAT_KEYS)
        )
        for key in table
        if key not in FORMAT_KEYS
    ]
    width = table.get("line-width")
    if width is None:
        return None, problems
    if isinstance(width, bool) or not isinstance(width, int) or width < 40:
        problems.append(
            Diagnostic("SEG501", "`format.line-width` must be a number of 40 or more", span)
        )
        return None, problems
    return width, problems


def _read_folders(
    table: object, path: Path, span: Span
) -> tuple[tuple[Path, ...], list[Diagnostic]]:
    """``[files] allow = [...]`` → absolute folders (relative ones start at the settings file)."""
    usage = 'write `[files]` with `allow = ["folder", ...]`, folders relative to this file'
    if not isinstance(table, dict) or set(table) - {"allow"}:
        return (), [Diagnostic("SEG501", "`files` takes only `allow`", span, usage)]
    allowed = table.get("allow", [])
    if not isinstance(allowed, list) or not all(isinstance(item, str) and item for item in allowed):
        return (), [Diagnostic("SEG501", "`files.allow` must be a list of folders", span, usage)]
    root = path.parent.resolve()
    return tuple((root / Path(item).expanduser()).resolve() for item in allowed), []


def _spark_tables(
    table: object, path: Path, span: Span
) -> tuple[tuple[tuple[str, Path], ...], list[Diagnostic]]:
    """``[spark] tables = {name = "file.parquet"}`` → (view name, absolute path) pairs."""
    usage = '[spark]\ntables = { orders = "data/orders.parquet" }  # paths relative to this file'
    if not isinstance(table, dict) or set(table) - {"tables"}:
        return (), [Diagnostic("SEG501", "`spark` takes only `tables`", span, usage)]
    tables = table.get("tables", {})
    if not isinstance(tables, dict) or not all(
        isinstance(name, str) and name and isinstance(item, str) and item
        for name, item in tables.items()
    ):
        return (), [
            Diagnostic("SEG501", "`spark.tables` must map names to Parquet paths", span, usage)
        ]
    root = path.parent.resolve()
    return tuple(
        (name, (root / Path(item).expanduser()).resolve()) for name, item in tables.items()
    ), []
