"""Copies of the demo warehouse (segdsl/demo), each scale built once per test session.

A build costs seconds whatever the scale (DuckDB plans the generating queries), and many
test modules want a demo of their own: they get a copy of the session's build of that
scale (the build is deterministic: tests/test_demo_warehouse.py), theirs to change.
pytest-xdist workers are sessions of their own, so each builds what it uses.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

from segdsl.demo import DemoSummary, build_demo_database


class DemoCopies:
    """Builds the demo at most once per scale, into ``folder``; hands out copies."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._built: dict[float, DemoSummary] = {}

    def copy(self, target: Path | str, *, scale: float = 1.0) -> DemoSummary:
        """The demo at ``scale`` in the DuckDB file ``target`` (what `build_demo_database`
        would write there)."""
        built = self._built.get(scale)
        if built is None:
            built = build_demo_database(self._folder / f"demo-{scale}.duckdb", scale=scale)
            self._built[scale] = built
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built.path, path)
        return dataclasses.replace(built, path=path)
