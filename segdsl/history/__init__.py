"""Segments over time: membership history in the warehouse, and who entered and left.

- `membership`: the membership of many definitions at one as-of time as
  (key, definition, label) rows, from one query of the ordinary compiler, and each
  definition's hash (its meaning: the analysed IR, the kind and the time zone).
- `tables`: the two tables `seg snapshot` keeps in a schema (`segdsl_history`: validity
  intervals; `segdsl_runs`: one row per definition and run), and how they are marked.
- `snapshot`: records one as-of time in one write transaction under a lock.
- `changes`: the keys that entered and left between two times, from the history or from
  evaluating both as-of times in one query.

Everything is built as sqlglot trees; the engines only run finished SQL.
"""
