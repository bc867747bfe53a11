"""The demo warehouse for Spark: the DuckDB file's ``shop`` tables → one Parquet file each.

A local Spark session (``spark://local``) reads them as the external tables
``shop.<name>`` (segdsl/engines/spark_engine.py). The export is written once next to
the DuckDB file and again only when that file is newer. DuckDB's ``TIMESTAMP`` is
stored without a zone, so Spark reads it as ``TIMESTAMP_NTZ``, a wall-clock time.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

from segdsl.demo.warehouse import connect_quietly

__all__ = ["export_parquet", "parquet_folder"]

SOURCE_SCHEMA = "shop"


def parquet_folder(duckdb_path: Path) -> Path:
    """Where the Parquet export of the demo file ``duckdb_path`` lives."""
    return duckdb_path.with_name(duckdb_path.stem + "-parquet")


def export_parquet(duckdb_path: Path) -> Path:
    """The folder of ``<table>.parquet`` files for the demo file, exported if missing or
    older than the file. The export is written to a temporary folder and renamed."""
    folder = parquet_folder(duckdb_path)
    stamp = folder / ".source-mtime"
    source_mtime = str(duckdb_path.stat().st_mtime_ns)
    if stamp.is_file() and stamp.read_text(encoding="utf-8") == source_mtime:
        return folder
    building = folder.with_name(f".{folder.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}")
    building.mkdir(parents=True)
    try:
        with connect_quietly(str(duckdb_path), read_only=True) as source:
            names = [
                str(row[0])
                for row in source.execute(
                    "SELECT table_name FROM duckdb_tables() WHERE schema_name = ? ORDER BY 1",
                    [SOURCE_SCHEMA],
                ).fetchall()
            ]
            for name in names:
                relation = source.table(f'"{SOURCE_SCHEMA}"."{name}"')
                relation.write_parquet(str(building / f"{name}.parquet"))
        (building / ".source-mtime").write_text(source_mtime, encoding="utf-8")
        if folder.exists():
            shutil.rmtree(folder)
        building.rename(folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    return folder
