"""`seg.explain`: the definition under the cursor in words and SQL, and its size when the
project configures a database (settings `database`)."""

from __future__ import annotations

from segdsl.diagnostics import CompileError
from segdsl.lsp.index import at
from segdsl.lsp.workspace import Snapshot
from segdsl.timeline import AsOf


def definition_at(snap: Snapshot, path: str, offset: int) -> str | None:
    """The definition named under the cursor, else the one whose text holds it."""
    definitions = snap.analysis.decls.definitions
    found = at(snap.index(path), offset)
    if found is not None and found.target[0] == "name" and found.target[1] in definitions:
        return found.target[1]
    for name, decl in definitions.items():
        span = decl.span
        if span.path == path and span.start <= offset <= span.end:
            return name
    return None


def explain_at(snap: Snapshot, path: str, offset: int) -> dict[str, object] | None:
    """{name, kind, as_of, dialect, words, sql, size} for the definition at `offset`."""
    from segdsl.compiler import Compiler  # sqlglot loads on the first request only
    from segdsl.explain.report import explain

    name = definition_at(snap, path, offset)
    if name is None:
        return None
    compiler = Compiler(snap.project)
    try:
        report = explain(compiler, name)
    except CompileError as error:
        return {"name": name, "errors": [d.message for d in error.diagnostics]}
    result: dict[str, object] = {
        "name": report.name,
        "kind": report.kind,
        "as_of": str(report.as_of),
        "dialect": report.dialect,
        "definition": report.definition,
        "words": report.words,
        "dependencies": report.dependencies,
        "sql": report.sql,
        "size": None,
    }
    if snap.settings.database and report.kind == "segment":
        result["size"] = _size(compiler, name, snap.settings.database, report.as_of)
    return result


def _size(compiler: object, name: str, url: str, as_of: AsOf) -> int | str:
    from segdsl.compiler import Compiler
    from segdsl.engines import EngineError, connect

    assert isinstance(compiler, Compiler)
    settings = compiler.project.settings
    try:
        with connect(url, statement_timeout=float(settings.statement_timeout)) as engine:
            sql = compiler.counts_sql([name], dialect=engine.dialect, as_of=as_of)
            row = engine.query(sql).to_pylist()[0]
    except EngineError as error:
        return f"error ({error.kind}): {error.message}"
    return int(row[name])
