"""Sequences: `orders then returns within 30d` and their event sets."""

from __future__ import annotations

from segdsl import ir
from segdsl import types as t
from segdsl.diagnostics import did_you_mean
from segdsl.semantic.check.base import CheckerBase
from segdsl.syntax import nodes


class Sequences(CheckerBase):
    """One set of rows followed (or not) by another."""

    def sequence(self, node: nodes.Sequence) -> ir.Expr:
        if not self.require_entity(node.span):
            return ir.Invalid(t.BOOLEAN, span=node.span)
        first = self.event_set(node.first)
        then = self.event_set(node.then)
        within = self.duration(node.within) if node.within is not None else None
        if within is not None and within.amount <= 0:
            self.error("SEG209", "the time limit must be positive", node.span)
            return ir.Invalid(t.BOOLEAN, span=node.span)
        if first is None or then is None:
            return ir.Invalid(t.BOOLEAN, span=node.span)
        spec = ir.SequenceSpec(first, then, node.negated, within)
        return ir.SequenceRef(spec, span=node.span)

    def event_set(self, node: nodes.EventSet) -> ir.EventSetSpec | None:
        table = self.decls.tables.get(node.table.text)
        if table is None:
            self.error(
                "SEG104",
                f"unknown table `{node.table.text}`",
                node.table.span,
                did_you_mean(node.table.text, self.decls.tables),
            )
            return None
        if table.source.time is None:
            self.error(
                "SEG108",
                f"a sequence needs the time of each row, but `{table.name}` has no time column",
                node.table.span,
            )
            return None
        return ir.EventSetSpec(
            table.source, self.rows_filter(table, node.window, node.where, node.span)
        )
