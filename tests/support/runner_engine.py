"""A test runner seen as an execution engine: what `segdsl.execute` reads (`dialect`,
`query(sql).to_pylist()`), with each row a dict keyed by the result's column names as
the SQL spells them — so two columns of one name collapse, as in the engines' dicts."""

from __future__ import annotations

from dataclasses import dataclass

import sqlglot

from tests.support.runners import Runner


@dataclass(frozen=True)
class Rows:
    rows: list[dict[str, object]]

    def to_pylist(self) -> list[dict[str, object]]:
        return self.rows


@dataclass(frozen=True)
class RunnerEngine:
    runner: Runner

    @property
    def dialect(self) -> str:
        return self.runner.name

    def reserve(self, sqls: object) -> None:
        """Nothing is billed: every query may be sent (`Engine.reserve`)."""

    def query(self, sql: str) -> Rows:
        names = sqlglot.parse_one(sql, read=self.dialect).named_selects
        return Rows([dict(zip(names, row, strict=True)) for row in self.runner.query(sql)])
