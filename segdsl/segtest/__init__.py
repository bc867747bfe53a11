"""Segment tests: a few rows per table and the members (or labels) expected at an as-of time.

A project's `tests/` folder holds TOML files of cases (`cases.py` reads them); each case
is loaded into a fresh, empty database (`fixtures.py`: in-memory DuckDB, or a schema
inside a transaction that is rolled back on Postgres) and its definition compiled and
run against it exactly as `seg run` would (`runner.py`).
"""
