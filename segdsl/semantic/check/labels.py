"""Classifiers and splits: definitions whose values are labels."""

from __future__ import annotations

from decimal import Decimal

from segdsl import ir
from segdsl import types as t
from segdsl.semantic.check.base import (
    ENTITY,
    CheckerBase,
)
from segdsl.syntax import nodes


class Labels(CheckerBase):
    """`classifier … { … }` and `split … { … }`."""

    def classifier(self, decl: nodes.ClassifierDecl) -> ir.Expr:
        labels = tuple(dict.fromkeys([r.label.text for r in decl.rules] + [decl.else_label.text]))
        label_type = t.Type(t.Kind.LABEL, labels)
        whens = tuple(
            (self.condition(rule.condition, ENTITY), ir.Const(rule.label.text, label_type))
            for rule in decl.rules
        )
        default = ir.Const(decl.else_label.text, label_type, span=decl.else_label.span)
        return ir.Case(whens, default, label_type, span=decl.name.span)

    def split(self, decl: nodes.SplitDecl) -> ir.Expr:
        population: ir.Expr | None = None
        if decl.of is not None:
            population = self.condition(nodes.Name((decl.of,), span=decl.of.span), ENTITY)
        labels: list[str] = []
        bounds: list[int] = []
        total = Decimal(0)
        for bucket in decl.buckets:
            if bucket.label.text in labels:
                self.error(
                    "SEG208", f"the bucket `{bucket.label.text}` appears twice", bucket.label.span
                )
            basis = bucket.percent * 100
            if bucket.percent <= 0 or basis != basis.to_integral_value():
                self.error(
                    "SEG208",
                    "bucket sizes must be positive with at most two decimals, "
                    f"not {bucket.percent}%",
                    bucket.span,
                )
            total += bucket.percent
            labels.append(bucket.label.text)
            bounds.append(int(total * 100))
        if total != 100:
            self.error(
                "SEG208",
                f"the buckets of `{decl.name.text}` add up to {total}%, not 100%",
                decl.name.span,
                "adjust the percentages so that every member lands in exactly one bucket",
            )
        label_type = t.Type(t.Kind.LABEL, tuple(labels))
        spec = ir.SplitSpec(
            decl.name.text, decl.seed or decl.name.text, population, tuple(labels), tuple(bounds)
        )
        return ir.SplitRef(spec, label_type, span=decl.name.span)
