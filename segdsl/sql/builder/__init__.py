"""Plan + IR → sqlglot expression trees: `QueryBuilder` and its parts."""

from segdsl.sql.builder.common import table_ref
from segdsl.sql.builder.query import QueryBuilder

__all__ = ["QueryBuilder", "table_ref"]
