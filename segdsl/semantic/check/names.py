"""Names: attributes, definitions and parameters of the population; a table's columns."""

from __future__ import annotations

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic import windows
from segdsl.semantic.check.base import (
    CheckerBase,
    RowScope,
    Scope,
)
from segdsl.semantic.declarations import TableInfo
from segdsl.syntax import nodes

AS_OF = "as_of"  # the as-of time, unless a declared name is called so


class Names(CheckerBase):
    """A name to what it means in its scope."""

    def name(self, node: nodes.Name, scope: Scope) -> ir.Expr:
        if isinstance(scope, RowScope):
            return self.row_name(node, scope.table)
        text = node.dotted
        first = node.parts[0].text
        if len(node.parts) == 2 and self.decls.entity and first == self.decls.entity.name:
            text = node.parts[1].text
        elif len(node.parts) > 1:
            return self.error(
                "SEG101",
                f"unknown name `{text}`",
                node.span,
                "dotted names are for table columns inside an aggregate's `where`",
            )
        if text in self.params:
            const = self.params[text]
            return ir.Const(const.value, const.type, span=node.span)
        if text in self.decls.param_types:
            return ir.Invalid(self.decls.param_types[text], span=node.span)  # reported by params
        if text in self.decls.attributes:
            if not self.require_entity(node.span):
                return ir.Invalid(t.ERROR, span=node.span)
            return ir.EntityColumn(self.decls.attributes[text], text, span=node.span)
        if text in self.decls.definitions:
            return self.reference(text, node.span)
        entity = self.decls.entity
        if entity is not None and text == entity.key.name:
            return ir.EntityColumn(entity.key, text, span=node.span)
        if text in self.decls.tables:
            return self.error(
                "SEG113",
                f"`{text}` is a table, not a value",
                node.span,
                f"aggregate its rows, e.g. `count {text}` or `exists {text}`",
            )
        if text == AS_OF:
            return ir.TimePoint(windows.NOW, t.TIMESTAMP, span=node.span)
        candidates = [*self.decls.attributes, *self.decls.definitions, *self.decls.param_types]
        return self.error(
            "SEG101", f"unknown name `{text}`", node.span, did_you_mean(text, candidates)
        )

    def row_name(self, node: nodes.Name, table: TableInfo) -> ir.Expr:
        if len(node.parts) == 1 and node.parts[0].text in self.params:
            const = self.params[node.parts[0].text]
            return ir.Const(const.value, const.type, span=node.span)
        if len(node.parts) == 1 and node.parts[0].text in self.decls.param_types:
            return ir.Invalid(self.decls.param_types[node.parts[0].text], span=node.span)
        key = (
            ("", node.parts[0].text)
            if len(node.parts) == 1
            else (node.parts[0].text, node.parts[1].text)
        )
        found = table.columns.get(key) if len(node.parts) <= 2 else None
        if found is not None:
            hop, column = found
            return ir.RowColumn(hop, column, span=node.span)
        text = node.dotted
        if text == AS_OF:
            return ir.TimePoint(windows.NOW, t.TIMESTAMP, span=node.span)
        if len(node.parts) == 1 and (
            text in self.decls.attributes or text in self.decls.definitions
        ):
            return self.error(
                "SEG113",
                f"`{text}` is not a column of `{table.name}`",
                node.span,
                f"a filter on `{table.name}` can use its columns and parameters only; "
                "combine measures in a segment instead",
            )
        candidates = [name if not q else f"{q}.{name}" for q, name in table.columns]
        return self.error(
            "SEG105",
            f"`{table.name}` has no column `{text}`",
            node.span,
            did_you_mean(text, candidates)
            or f"its columns: {', '.join(sorted(n for q, n in table.columns if not q))}",
        )
