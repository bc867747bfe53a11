"""segdsl: customer segments as code, compiled to SQL for DuckDB, Postgres and BigQuery.

The public API:

>>> from segdsl import load_project, Compiler
>>> compiler = Compiler(load_project("examples"))
>>> compiler.analysis.ok
True
"""

from segdsl.compiler import Compiler, check, compile_segment
from segdsl.diagnostics import CompileError, Diagnostic, Severity
from segdsl.project import Project, load_project
from segdsl.settings import Settings
from segdsl.timeline import AsOf

__version__ = "0.1.0"

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
