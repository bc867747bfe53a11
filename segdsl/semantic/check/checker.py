"""The checker: definitions checked on demand, memoised, cycles reported.

Every problem becomes a diagnostic and an `ir.Invalid` placeholder, so one run
reports all errors. Each construct is checked by its own part (a mixin in this
package, on `base.CheckerBase`); `Checker` combines them.
"""

from __future__ import annotations

from typing import assert_never

from segdsl import ir
from segdsl import types as t
from segdsl.semantic.check.aggregates import Aggregates
from segdsl.semantic.check.arithmetic import Arithmetic
from segdsl.semantic.check.base import ENTITY, CheckedDefinition
from segdsl.semantic.check.calls import Calls
from segdsl.semantic.check.comparisons import Comparisons
from segdsl.semantic.check.conditionals import Conditionals
from segdsl.semantic.check.expressions import Expressions
from segdsl.semantic.check.grouped import Grouped
from segdsl.semantic.check.labels import Labels
from segdsl.semantic.check.names import Names
from segdsl.semantic.check.rankings import Rankings
from segdsl.semantic.check.sequences import Sequences
from segdsl.semantic.check.windows import Windows
from segdsl.source import Span
from segdsl.syntax import nodes

MAX_CHAIN = 40  # definitions checked inside one another; each takes a dozen stack frames


class Checker(
    Expressions,
    Names,
    Calls,
    Arithmetic,
    Comparisons,
    Conditionals,
    Windows,
    Aggregates,
    Grouped,
    Rankings,
    Sequences,
    Labels,
):
    """Checks definitions against the declarations; collects diagnostics."""

    def definition(self, name: str) -> CheckedDefinition | None:
        """The checked definition called `name`, or None if it has errors."""
        if name in self.checked:
            return self.checked[name]
        decl = self.decls.definitions[name]
        if len(self.in_progress) >= MAX_CHAIN:  # a long cycle: checked in order, chains are short
            self.error(
                "SEG006",
                f"`{name}` is reached through more than {MAX_CHAIN} definitions using each other",
                decl.name.span,
                "definitions that refer to each other in a loop cannot be computed",
            )
            self.checked[name] = None
            return None
        self.in_progress.append(name)
        try:
            result = self._check_definition(decl)
        finally:
            self.in_progress.pop()
        self.checked[name] = result
        return result

    def _check_definition(
        self,
        decl: nodes.MeasureDecl | nodes.SegmentDecl | nodes.ClassifierDecl | nodes.SplitDecl,
    ) -> CheckedDefinition | None:
        errors_before = len(self.diagnostics)
        name = decl.name.text
        match decl:
            case nodes.MeasureDecl():
                body = self.expr(decl.body, ENTITY)
                result = CheckedDefinition(
                    "measure",
                    name,
                    ir.Named("measure", name, body, span=decl.name.span),
                    decl.span,
                    decl.description,
                )
            case nodes.SegmentDecl():
                body = self.condition(decl.condition, ENTITY)
                result = CheckedDefinition(
                    "segment",
                    name,
                    ir.Named("segment", name, body, span=decl.name.span),
                    decl.span,
                    decl.meta.description,
                    decl.meta.owner,
                    decl.meta.tags,
                )
            case nodes.ClassifierDecl():
                result = CheckedDefinition(
                    "classifier",
                    name,
                    ir.Named("classifier", name, self.classifier(decl), span=decl.name.span),
                    decl.span,
                    decl.meta.description,
                    decl.meta.owner,
                    decl.meta.tags,
                )
            case nodes.SplitDecl():
                result = CheckedDefinition(
                    "split",
                    name,
                    ir.Named("split", name, self.split(decl), span=decl.name.span),
                    decl.span,
                    decl.meta.description,
                    decl.meta.owner,
                    decl.meta.tags,
                )
            case _:
                assert_never(decl)
        return result if len(self.diagnostics) == errors_before else None

    def reference(self, name: str, span: Span) -> ir.Expr:
        """A use of a definition inside another one."""
        if name in self.in_progress:
            cycle = [*self.in_progress[self.in_progress.index(name) :], name]
            return self.error(
                "SEG103",
                "definitions refer to each other in a loop: "
                + " → ".join(f"`{step}`" for step in cycle),
                span,
                "a segment or measure cannot depend on itself",
            )
        checked = self.definition(name)
        if checked is None:
            decl = self.decls.definitions[name]
            return ir.Invalid(self._declared_type(decl), span=span)
        return ir.Named(checked.expr.kind, name, checked.expr.expr, span=span)

    def _declared_type(
        self, decl: nodes.MeasureDecl | nodes.SegmentDecl | nodes.ClassifierDecl | nodes.SplitDecl
    ) -> t.Type:
        if isinstance(decl, nodes.SegmentDecl):
            return t.BOOLEAN
        return t.ERROR
