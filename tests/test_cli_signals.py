"""SIGTERM during an export cleans up like Ctrl-C: no hidden `.part` file, exit 143."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.support.demo_copies import DemoCopies

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def endless(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    """A demo warehouse whose `orders` is a view no query over it finishes: a cross
    join with a billion rows, filtered by a test the optimiser cannot push down."""
    path = tmp_path_factory.mktemp("endless") / "demo.duckdb"
    demo_copies.copy(path, scale=0.01)
    with duckdb.connect(str(path)) as con:
        con.execute("ALTER TABLE shop.orders RENAME TO orders_stored")
        con.execute(
            "CREATE VIEW shop.orders AS SELECT o.* FROM shop.orders_stored AS o, "
            "range(1000000000) AS r(n) WHERE r.n % 1000000007 = 0"
        )
    return path


def wait_for(condition: object, process: subprocess.Popen[bytes], limit: float = 60) -> None:
    """Poll `condition` until it holds (bounded); fail early if the process ended."""
    deadline = time.monotonic() + limit
    while not condition():  # type: ignore[operator]
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the export never started"
        time.sleep(0.01)


@pytest.mark.parametrize("attempt", range(3))  # the signal lands at a different point each time
def test_sigterm_during_export_removes_the_part_file(
    endless: Path, tmp_path: Path, attempt: int
) -> None:
    target = tmp_path / "out" / "loyal.csv"
    target.parent.mkdir()
    process = subprocess.Popen(
        [sys.executable, "-m", "segdsl", "run", "examples", "-s", "loyal",
         "--db", f"duckdb:///{endless}", "--output", str(target)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "CI": "1"},
    )  # fmt: skip
    try:
        wait_for(lambda: any(target.parent.glob(".loyal.csv.*.part")), process)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143, stderr
    assert list(target.parent.iterdir()) == []  # no .part, no half file
    assert b"terminated" in stderr and b"Traceback" not in stderr
