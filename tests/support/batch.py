"""Many segments in one query, for engines where each query costs seconds (Spark).

`members_by_segment` runs every segment's own members query (the same SQL `seg run
--members` sends) as one ``UNION ALL``, each branch tagged with its segment's name, so
the members' code paths (inner joins, HAVING, anti-joins, candidates) are all executed
with one round trip and one query plan.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlglot
from sqlglot import exp

from segdsl.compiler import AsOfInput, Compiler
from tests.support.runners import Runner

SEGMENT_COLUMN = "segment__"


def members_union_sql(
    compiler: Compiler, names: Sequence[str], dialect: str, as_of: AsOfInput
) -> str:
    """One query: (segment name, member key) for every segment of ``names``."""
    branches: list[exp.Query] = []
    for name in names:
        query = sqlglot.parse_one(
            compiler.members_sql(name, dialect=dialect, as_of=as_of), read=dialect
        )
        assert isinstance(query, exp.Query)
        key = query.selects[0].alias_or_name
        subquery = exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("m")))
        branches.append(
            exp.select(
                exp.alias_(exp.Literal.string(name), SEGMENT_COLUMN),
                exp.column(key, table="m", quoted=True),
            ).from_(subquery)
        )
    union: exp.Query = branches[0]
    for branch in branches[1:]:
        union = exp.union(union, branch, distinct=False)
    return union.sql(dialect=dialect, identify=True)


def members_by_segment(
    compiler: Compiler, runner: Runner, names: Sequence[str], as_of: AsOfInput
) -> dict[str, frozenset[object]]:
    """Each segment's members, from one query on ``runner``."""
    rows = runner.query(members_union_sql(compiler, names, runner.name, as_of))
    found: dict[str, list[object]] = {name: [] for name in names}
    for name, key in rows:
        found[str(name)].append(key)
    for name, keys in found.items():
        assert len(keys) == len(set(keys)), f"duplicate members of {name} from {runner.name}"
    return {name: frozenset(keys) for name, keys in found.items()}
