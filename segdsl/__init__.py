"""segdsl: customer segments as code, compiled to SQL for DuckDB, Postgres and BigQuery.

The public API:

>>> from segdsl import load_project, Compiler
>>> compiler = Compiler(load_project("examples"))
>>> compiler.analysis.ok
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from segdsl.compiler import Compiler, check, compile_segment
    from segdsl.diagnostics import CompileError, Diagnostic, Severity
    from segdsl.project import Project, load_project
    from segdsl.settings import Settings
    from segdsl.timeline import AsOf

__version__ = "0.1.0"

# Imported on first use: `seg validate` and `seg fmt` never load sqlglot this way.
_EXPORTS = {
    "AsOf": "segdsl.timeline",
    "CompileError": "segdsl.diagnostics",
    "Compiler": "segdsl.compiler",
    "Diagnostic": "segdsl.diagnostics",
    "Project": "segdsl.project",
    "Settings": "segdsl.settings",
    "Severity": "segdsl.diagnostics",
    "check": "segdsl.compiler",
    "compile_segment": "segdsl.compiler",
    "load_project": "segdsl.project",
}


def __getattr__(name: str) -> object:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'segdsl' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


__all__ = [
    "AsOf",
    "CompileError",
    "Compiler",
    "Diagnostic",
    "Project",
    "Settings",
    "Severity",
    "__version__",
    "check",
    "compile_segment",
    "load_project",
]
