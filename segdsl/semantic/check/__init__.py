"""AST expressions → typed IR: name resolution, type checking and lowering.

One module per construct; `checker.Checker` combines them.
"""

from segdsl.semantic.check.base import (
    ENTITY,
    CheckedDefinition,
    EntityScope,
    RowScope,
    Scope,
)
from segdsl.semantic.check.calls import FUNCTIONS
from segdsl.semantic.check.checker import Checker

__all__ = [
    "ENTITY",
    "FUNCTIONS",
    "CheckedDefinition",
    "Checker",
    "EntityScope",
    "RowScope",
    "Scope",
]
