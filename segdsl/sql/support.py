"""What each dialect can express, checked before generating SQL (SEG301)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from segdsl.diagnostics import Diagnostic
from segdsl.semantic.declarations import Declarations
from segdsl.source import Span

if TYPE_CHECKING:
    from segdsl.project import Project
    from segdsl.semantic.analyze import Analysis

# How many dotted parts a table reference may have.
MAX_TABLE_PARTS = {
    "duckdb": 3,  # catalog.schema.table
    "postgres": 2,  # schema.table: Postgres cannot query another database
    "bigquery": 3,  # project.dataset.table
    "spark": 3,  # catalog.database.table
    "clickhouse": 2,  # database.table
}
EXAMPLES = {
    "duckdb": "shop.orders or catalog.shop.orders",
    "postgres": "shop.orders",
    "bigquery": "dataset.orders or project.dataset.orders",
    "spark": "shop.orders or catalog.shop.orders",
    "clickhouse": "shop.orders",
}


def dialect_diagnostics(decls: Declarations, dialect: str) -> list[Diagnostic]:
    """Constructs of the project that `dialect` cannot express."""
    problems: list[Diagnostic] = []
    sources: list[tuple[str, tuple[str, ...], Span]] = []
    if decls.entity is not None and decls.entity_span is not None:
        sources.append((decls.entity.name, decls.entity.source, decls.entity_span))
    for name, info in decls.tables.items():
        if info.base is None and info.grouped is None:  # a grouped table reads its base
            sources.append((name, info.source.hops[0].source, info.span))
    limit = MAX_TABLE_PARTS[dialect]
    for name, source, span in sources:
        if len(source) > limit:
            problems.append(
                Diagnostic(
                    "SEG301",
                    f"`{name}` reads `{'.'.join(source)}`, which has {len(source)} parts; "
                    f"{dialect} table references have at most {limit}",
                    span,
                    f"write it as {EXAMPLES[dialect]}",
                )
            )
    return problems


def project_diagnostics(project: Project, analysis: Analysis, dialect: str) -> list[Diagnostic]:
    """The analysis' diagnostics and, when every file parsed, what `dialect` cannot express."""
    diagnostics = list(analysis.diagnostics)
    if not project.has_syntax_errors:
        diagnostics.extend(dialect_diagnostics(analysis.decls, dialect))
    return diagnostics
