"""Start-up: `seg --help`, `--version` and every command's `--help` load no front end.

The command modules import their implementation inside the command functions, so what a
command does not run is never imported. This is a structural test (which modules a fresh
process has loaded), not a timing one; benchmarks/startup.py measures the time.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# the parser, the SQL generator and the engines: each costs tens of milliseconds to import
HEAVY = ("lark", "sqlglot", "duckdb", "pyarrow", "psycopg", "segdsl.project", "segdsl.ir")

PROBE = """
import json, sys
sys.argv = ["seg", *json.loads(sys.argv[1])]
from segdsl.cli.main import main
try:
    main()
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def loaded_after(*args: str) -> set[str]:
    """The modules a fresh `seg ARGS` process has loaded when it ends."""
    result = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(list(args))],
        capture_output=True,
        text=True,
        check=False,
    )
    return set(json.loads(result.stderr.strip().splitlines()[-1]))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_heavy_modules_are_what_this_test_thinks() -> None:
    """The probe sees the front end when a command does use it (the test can fail)."""
    assert {"lark", "segdsl.project"} <= set(heavy(loaded_after("validate", "examples")))


@pytest.mark.parametrize("args", [["--help"], ["--version"], []])
def test_root_loads_no_front_end(args: list[str]) -> None:
    assert heavy(loaded_after(*args)) == []


def test_no_command_help_loads_the_front_end() -> None:
    from typer.main import get_command

    from segdsl.cli.main import app

    group = get_command(app)
    names = sorted(group.commands)  # type: ignore[attr-defined]
    assert {"validate", "compile", "run", "list"} <= set(names)
    for name in names:
        assert heavy(loaded_after(name, "--help")) == [], name
