"""Rankings that only filter: which rankings a query may compute as the first rows of
their order (`ORDER BY … LIMIT`) instead of numbering every member under a window.

A `top`/`bottom` ranking's value is whether the entity is among the first N (or N %) of
its order, so it is always such a cut. An `ntile` is one when the members' condition
only tests it against a constant (`r_score = 5`, `r_score <= 2`): its first buckets are
a prefix of the ascending order, its last ones a prefix of the reverse order. Ties are
broken by the key, as in the window functions, so the same members come out.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from segdsl import ir
from segdsl.plan import Plan
from segdsl.sql.builder.narrowing import _conjuncts
from segdsl.sql.dialects import Dialect


@dataclasses.dataclass(frozen=True)
class Cut:
    """Who is in a ranking, as the first rows of an order: for `top`/`bottom` its own
    order; for an `ntile`, buckets 1 to `to_bucket` (the ascending order) or buckets
    `from_bucket` to the last (the reverse order)."""

    from_bucket: int | None = None
    to_bucket: int | None = None


def ranking_cuts(
    plan: Plan, members_of: ir.Expr | None, required: set[object], dialect: Dialect
) -> tuple[dict[ir.PopulationSpec, Cut], list[ir.Expr]]:
    """The rankings computed as cuts, and the parts of `members_of` that the (inner)
    join with an `ntile`'s cut already enforces."""
    cuts: dict[ir.PopulationSpec, Cut] = {}
    for layer in plan.layers:
        for _, spec in layer:
            if spec.func in ("top", "bottom") and (
                spec.count is not None or dialect.limit_takes_subquery
            ):
                cuts[spec] = Cut()
    enforced: list[ir.Expr] = []
    if members_of is None or not dialect.limit_takes_subquery:
        return cuts, enforced
    tests: dict[ir.PopulationSpec, list[tuple[ir.Expr, Cut]]] = {}
    for part in _conjuncts(members_of):
        found = _bucket_test(part)
        # a required ranking is in the last layer and inner-joined there
        if found is not None and found[0] in required:
            tests.setdefault(found[0], []).append((part, found[1]))
    for spec, tested in tests.items():
        # the test is the only read of the ranking: nothing else needs its buckets
        read_elsewhere = any(
            _uses(output.expr, spec)
            for output in plan.outputs
            if ir.unwrap(output.expr) != ir.unwrap(members_of)
        )
        if len(tested) == 1 and _uses(members_of, spec) == 1 and not read_elsewhere:
            part, cut = tested[0]
            cuts[spec] = cut
            enforced.append(part)
    return cuts, enforced


def _bucket_test(part: ir.Expr) -> tuple[ir.PopulationSpec, Cut] | None:
    """`ntile … op k` (or `k op ntile …`) as the buckets it keeps; None if not such a
    test, or it keeps buckets in the middle (`= 3` of 5)."""
    if not isinstance(part, ir.Compare) or part.op == "!=":
        return None
    left, right = ir.unwrap(part.left), ir.unwrap(part.right)
    op: ir.CompareOp = part.op
    if isinstance(left, ir.Const):
        left, right, op = right, left, ir.FLIPPED[op]
    if not (
        isinstance(left, ir.PopulationRef)
        and left.spec.func == "ntile"
        and left.spec.buckets is not None
        and isinstance(right, ir.Const)
        and isinstance(right.value, int | Decimal)
        and not isinstance(right.value, bool)
        and right.value == int(right.value)
    ):
        return None
    spec, k, last = left.spec, int(right.value), left.spec.buckets
    if op == "=":
        if k == last:
            return spec, Cut(from_bucket=last)
        if k == 1:
            return spec, Cut(to_bucket=1)
        if not 1 <= k <= last:  # no bucket
            return spec, Cut(from_bucket=last + 1)
        return None
    if op in (">", ">="):
        first = k + 1 if op == ">" else k
        return spec, Cut(from_bucket=max(1, min(first, last + 1)))
    upto = k - 1 if op == "<" else k
    return spec, Cut(to_bucket=max(0, min(upto, last)))


def _uses(expr: ir.Expr, spec: ir.PopulationSpec) -> int:
    """How often `expr` reads the ranking `spec`."""
    own = 1 if isinstance(expr, ir.PopulationRef) and expr.spec == spec else 0
    return own + sum(_uses(child, spec) for child in ir.children(expr))
