"""Every command output shown in docs/cli.md is real; every `seg` command of README.md runs.

docs/cli.md: each ```console block runs as one bash script in a sandbox (its own
temporary folder), and each command's output (standard output and error interleaved, as
a terminal shows them) is compared with the output shown under it; a block fails once,
with a unified diff of all its mismatches. ``…`` cuts are honoured (see
tests/support/console.py). The doc is the expectation: nothing here knows an output.

The sandbox stands in for what the doc names:

- the repository root is a folder holding a copy of ``examples/`` (the current folder);
- ``/tmp/clidoc`` is a folder of the sandbox (rewritten in commands, and back in outputs),
  holding a copy of the demo warehouse (tests/support/demo_copies.py: built once per session,
  per xdist worker) at the scale the doc uses (``seg demo``'s default);
- the Postgres database ``clidoc`` is a uniquely named database, created for the session
  with the demo at scale 0.1 and dropped afterwards; the BigQuery emulator's address is
  the one of an emulator started for the session (tests/engines/bqemu.py);
- ``HOME``, ``XDG_CACHE_HOME`` (with the demo as its default warehouse) and ``TMPDIR``
  are sandbox folders; ``NO_COLOR=1``, ``COLUMNS=80``, ``TERM=dumb``; `seg` and
  `pre-commit` come from this interpreter's bin folder.

What else a block needs (a broken file, a git history, a project that drifted from the
warehouse, ...) is chosen by the commands of the block, through ``SETUPS``. Commands that
cannot run here are in ``UNRUNNABLE`` with the reason; every other command runs.

``SEGDSL_UPDATE_DOCS=1 python -m pytest tests/test_cli_docs.py`` rewrites the outputs in
docs/cli.md instead of comparing (keeping the doc's ``…`` cuts; an output that still
matches is left as it is, so a second run changes nothing). Read the diff before
committing it: a block whose setup is missing here shows the error it then gives.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import fcntl
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segdsl.demo.postgres_copy import copy_to_postgres
from tests.engines import bqemu
from tests.support.availability import require_postgres, running_in_ci
from tests.support.console import (
    Block,
    Command,
    clean,
    console_blocks,
    is_gap,
    matches,
    regenerate,
    render,
    replace_block,
    shell_commands,
)
from tests.support.demo_copies import DemoCopies
from tests.support.runners import DEFAULT_POSTGRES_DSN

ROOT = Path(__file__).resolve().parents[1]
CLI_DOC = ROOT / "docs" / "cli.md"
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
BIN = Path(sys.executable).parent
UPDATE = os.environ.get("SEGDSL_UPDATE_DOCS", "").strip().lower() not in ("", "0", "false", "no")

DOC_TMP = "/tmp/clidoc"  # the doc's scratch folder
DOC_PG_DB = "clidoc"  # the doc's Postgres database, on 127.0.0.1:5432
DOC_BQ_ENDPOINT = "127.0.0.1:19050"  # the doc's BigQuery emulator

# Commands that cannot run here, by a regular expression on the command, with the reason.
# Their shown output is left alone. Keep this list short: each entry is a gap in the proof.
UNRUNNABLE: dict[str, str] = {}

# What a block needs besides the sandbox, by a regular expression searched in its commands
# (one a line, re.MULTILINE): every matching rule's setups are made, in this order.
SETUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (r"127\.0\.0\.1:5432/clidoc\b", ("postgres",)),
    (r"api_endpoint=http://127\.0\.0\.1:19050", ("bigquery_emulator",)),
    (r"clickhouse:////tmp/clidoc/ch\b", ("clickhouse_demo",)),
    (r"/tmp/clidoc/broken\.duckdb", ("broken_warehouse",)),
    (r"/tmp/clidoc/mat\.duckdb", ("writable_warehouse",)),
    (r"/tmp/clidoc/daily\.duckdb", ("history_warehouse",)),
    (r"/tmp/clidoc/syntax\.seg", ("syntax_error_file",)),
    (r"/tmp/clidoc/warehouse\.json", ("schema_file",)),
    # the broken promo.seg the doc shows: the failing validation and its json/github forms
    (
        r"\Aseg validate examples\necho \$\?\Z|\Aseg validate examples --format (json|github)\Z",
        ("promo_file",),
    ),
    (r"^seg validate \. --schema ", ("drifted_model",)),
    (r"^seg run \. ", ("drifted_settings",)),
    (r"^seg fmt .*\bexamples/?$", ("unformatted_lifecycle",)),
    (r"^git (log|diff)\b|^seg diff HEAD~1 HEAD\b", ("git_history",)),
    (r"^seg diff HEAD --path\b", ("git_history", "working_tree_change")),
    (r"^git add\b", ("git_repository",)),
    (r"\$SEG_DATABASE_URL\b", ("database_url_env",)),
    (r"--schema warehouse\.json\b", ("schema_file_here",)),
    (r"^pre-commit run\b", ("pre_commit_project",)),
    (r"^seg compile \. ", ("stray_file",)),
    (r"^seg validate examples --format sarif\b", ("promo_file", "git_repository")),
    (r"^seg validate examples/lifecycle\.seg$", ("promo_file",)),
    (r"^seg run shop ", ("unpinned_shop",)),
    (r"^seg run examples --db postgresql://postgres@127\.0\.0\.1/shop$", ("no_postgres_driver",)),
    (r"^seg test examples -s cart_reminder_2h\b", ("wrong_test",)),
)

# Fixed identities and dates: the commits of the `seg diff` history get the same ids on
# every run (so `git log --oneline` is reproducible).
GIT_ENV = {
    "GIT_AUTHOR_NAME": "Docs",
    "GIT_AUTHOR_EMAIL": "docs@example.com",
    "GIT_COMMITTER_NAME": "Docs",
    "GIT_COMMITTER_EMAIL": "docs@example.com",
    "GIT_AUTHOR_DATE": "2025-07-01T12:00:00+00:00",
    "GIT_COMMITTER_DATE": "2025-07-01T12:00:00+00:00",
    "GIT_CONFIG_NOSYSTEM": "1",
}


# ---------------------------------------------------------------- the documents


def _cli_blocks() -> list[Block]:
    return console_blocks(CLI_DOC.read_text(encoding="utf-8"))


def _readme_seg_commands() -> list[str]:
    """The `seg` commands of README.md's ```sh blocks (a `&&` chain's seg part), as `seg …`."""
    found = []
    for _line, command in shell_commands(README.read_text(encoding="utf-8")):
        for part in command.split("&&"):
            words = part.split(maxsplit=1)
            if words and re.fullmatch(r"(\S*/)?seg", words[0]):
                found.append(" ".join(["seg", *words[1:]]))
    return found


def _unrunnable(command: str) -> str | None:
    return next((why for pattern, why in UNRUNNABLE.items() if re.search(pattern, command)), None)


def _setups_for(block: Block) -> list[str]:
    names: list[str] = []
    for pattern, needs in SETUPS:
        if re.search(pattern, block.script, re.MULTILINE):
            names.extend(name for name in needs if name not in names)
    return names


# ---------------------------------------------------------------- session resources


@pytest.fixture(scope="session")
def resources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for this session's (xdist worker's) shared files."""
    return tmp_path_factory.mktemp("clidoc-session")


@pytest.fixture(scope="session")
def demo_warehouse(resources: Path, demo_copies: DemoCopies) -> Path:
    """The demo warehouse at `seg demo`'s default scale, built once per session."""
    return demo_copies.copy(resources / "demo.duckdb").path


@pytest.fixture(scope="session")
def grammar_cache(resources: Path) -> list[Path]:
    """Lark's cached parser, made once so that each sandbox starts with it."""
    assert (BIN / "seg").exists(), f"no `seg` next to {sys.executable}: pip install -e ."
    cache = resources / "cache"
    env = {**_base_env(resources), "XDG_CACHE_HOME": str(cache)}
    subprocess.run(
        ["seg", "validate", str(EXAMPLES)], env=env, capture_output=True, check=False, timeout=120
    )
    return sorted((cache / "segdsl").glob("*.lark-cache"))


@pytest.fixture(scope="session")
def schema_json(resources: Path, demo_warehouse: Path) -> Path:
    """`seg schema pull` of the examples on the demo warehouse."""
    target = resources / "warehouse.json"
    done = subprocess.run(
        ["seg", "schema", "pull", str(EXAMPLES), "--db", f"duckdb:///{demo_warehouse}"],
        env=_base_env(resources),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    target.write_text(done.stdout, encoding="utf-8")
    return target


@pytest.fixture(scope="session")
def broken_warehouse(resources: Path, demo_warehouse: Path) -> Path:
    """A copy of the demo where three orders lost their customer and one moved 3 years back."""
    import duckdb

    target = resources / "broken.duckdb"
    shutil.copyfile(demo_warehouse, target)
    con = duckdb.connect(str(target))
    try:
        ids = [
            row[0]
            for row in con.execute(
                "SELECT o.id FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id "
                "WHERE c.signed_up_at IS NOT NULL ORDER BY o.id LIMIT 4"
            ).fetchall()
        ]
        con.execute(
            "UPDATE shop.orders SET customer_id = -customer_id WHERE id IN (?, ?, ?)", ids[:3]
        )
        con.execute(
            "UPDATE shop.orders SET ordered_at = ordered_at - INTERVAL 3 YEAR WHERE id = ?",
            ids[3:],
        )
    finally:
        con.close()
    return target


@pytest.fixture(scope="session")
def clidoc_postgres(resources: Path, demo_copies: DemoCopies) -> Iterator[str]:
    """A fresh Postgres database with the demo at scale 0.1 (schema shop); its name."""
    require_postgres(DEFAULT_POSTGRES_DSN)
    name = f"clidoc_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        small = demo_copies.copy(resources / "demo-0.1.duckdb", scale=0.1).path
        copy_to_postgres(small, psycopg.conninfo.make_conninfo(DEFAULT_POSTGRES_DSN, dbname=name))
        yield name
    finally:
        with psycopg.connect(DEFAULT_POSTGRES_DSN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def clickhouse_demo(resources: Path, demo_copies: DemoCopies) -> Path:
    """A chdb folder with the demo at scale 0.1 (database shop), copied in a process of
    its own (chdb runs one folder per process), as `seg demo --clickhouse` copies it."""
    folder = resources / "clickhouse-demo"
    small = demo_copies.copy(resources / "demo-ch.duckdb", scale=0.1).path
    copy = "import sys; from segdsl.demo import copy_to_clickhouse as c; c(*sys.argv[1:])"
    done = subprocess.run(
        [sys.executable, "-c", copy, str(small), f"clickhouse:///{folder}"],
        env=_base_env(resources),
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return folder


# BigQuery types of the demo's DuckDB columns (naive TIMESTAMP is BigQuery's DATETIME)
BIGQUERY_TYPES = {
    "BIGINT": "INT64",
    "INTEGER": "INT64",
    "BOOLEAN": "BOOL",
    "DATE": "DATE",
    "TIMESTAMP": "DATETIME",
    "VARCHAR": "STRING",
}


def _bigquery_type(duckdb_type: str) -> str:
    return "NUMERIC" if duckdb_type.startswith("DECIMAL") else BIGQUERY_TYPES[duckdb_type]


def _json_value(value: object) -> object:
    if isinstance(value, dt.date):  # dates and datetimes
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


@pytest.fixture(scope="session")
def bigquery_demo(resources: Path, demo_copies: DemoCopies) -> Iterator[str]:
    """The BigQuery emulator with the demo at scale 0.1 in dataset `shop`; its host:port.

    Like tests/engines: the emulator's virtualenv is made on first use unless
    SEGDSL_BQEMU_SETUP=0; when it cannot run, the test fails in CI and skips elsewhere.
    """
    import duckdb
    from google.api_core.client_options import ClientOptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import bigquery

    setup = os.environ.get("SEGDSL_BQEMU_SETUP", "1").strip().lower() not in ("0", "no", "false")
    try:
        emulator = bqemu.start(bqemu.ensure_venv(create=setup), resources / "bqemu.log")
    except bqemu.EmulatorUnavailable as error:
        if running_in_ci():
            pytest.fail(f"BigQuery emulator unavailable (CI is set): {error}", pytrace=False)
        pytest.skip(f"BigQuery emulator unavailable: {error}")
    try:
        client = bigquery.Client(
            project=emulator.project,
            credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
            client_options=ClientOptions(api_endpoint=emulator.endpoint),
        )
        client.create_dataset("shop")
        small = demo_copies.copy(resources / "demo-bq.duckdb", scale=0.1).path
        source = duckdb.connect(str(small), read_only=True)
        try:
            tables = source.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = 'shop' ORDER BY 1"
            ).fetchall()
            for (table,) in tables:
                columns = source.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = 'shop' AND table_name = ? ORDER BY ordinal_position",
                    [table],
                ).fetchall()
                created = client.create_table(
                    bigquery.Table(
                        f"{emulator.project}.shop.{table}",
                        schema=[bigquery.SchemaField(n, _bigquery_type(t)) for n, t in columns],
                    )
                )
                rows = source.execute(f'SELECT * FROM shop."{table}"').fetchall()
                names = [name for name, _type in columns]
                for start in range(0, len(rows), 5000):
                    batch = [
                        {n: _json_value(v) for n, v in zip(names, row, strict=True)}
                        for row in rows[start : start + 5000]
                    ]
                    assert not client.insert_rows_json(created, batch)
        finally:
            source.close()
        client.close()  # type: ignore[no-untyped-call]
        yield emulator.endpoint.removeprefix("http://")
    finally:
        emulator.stop()


# ---------------------------------------------------------------- the sandbox


def _base_env(root: Path) -> dict[str, str]:
    """The environment of every command: nothing inherited but what is set here."""
    home = root / "home"
    return {
        "PATH": os.pathsep.join([str(BIN), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(home),
        "XDG_CACHE_HOME": str(home / ".cache"),
        "TMPDIR": str(root / "tmp"),
        "NO_COLOR": "1",
        "COLUMNS": "80",
        "TERM": "dumb",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "TZ": "UTC",
        # stdout unbuffered, so that it interleaves with stderr as on a terminal
        "PYTHONUNBUFFERED": "1",
        # a machine outside Google Cloud: no probing of a metadata server for credentials
        "NO_GCE_CHECK": "True",
        **GIT_ENV,
    }


@dataclass
class Sandbox:
    """One block's folders, environment and current folder, as the setups shape them."""

    root: Path
    request: pytest.FixtureRequest
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path = Path()
    # text in commands → text in this sandbox (outputs are rewritten back)
    names: dict[str, str] = field(default_factory=dict)

    @property
    def repo(self) -> Path:
        return self.root / "repo"

    @property
    def tmp(self) -> Path:
        """What /tmp/clidoc stands for."""
        return self.root / "clidoc"

    def fixture(self, name: str) -> object:
        return self.request.getfixturevalue(name)

    def git(self, *args: str, cwd: Path | None = None) -> None:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or self.repo,
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"

    def to_sandbox(self, text: str) -> str:
        for doc, real in self.names.items():
            text = text.replace(doc, real)
        return text

    def to_doc(self, text: str) -> str:
        for doc, real in sorted(self.names.items(), key=lambda item: -len(item[1])):
            text = text.replace(real, doc)
        return text


def _make_sandbox(root: Path, request: pytest.FixtureRequest) -> Sandbox:
    demo = request.getfixturevalue("demo_warehouse")
    grammar: list[Path] = request.getfixturevalue("grammar_cache")
    box = Sandbox(root=root, request=request, env=_base_env(root))
    shutil.copytree(EXAMPLES, box.repo / "examples")
    (root / "tmp").mkdir()
    box.tmp.mkdir()
    shutil.copyfile(demo, box.tmp / "demo.duckdb")
    cache = root / "home" / ".cache" / "segdsl"
    cache.mkdir(parents=True)
    shutil.copyfile(demo, cache / "demo.duckdb")  # the default warehouse, as after a first run
    for file in grammar:
        shutil.copyfile(file, cache / file.name)
    box.env["SEGDSL_DEMO_DB"] = str(cache / "demo.duckdb")
    box.cwd = box.repo
    box.names[DOC_TMP] = str(box.tmp)
    return box


def _edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in `path` (fail loudly when examples changed)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path}: expected one {old!r}; update the setup in {__file__}"
    path.write_text(text.replace(old, new), encoding="utf-8")


def _shown_file(name: str) -> str:
    """The content of a file the doc shows in a plain ``` block right after "`name`:"."""
    text = CLI_DOC.read_text(encoding="utf-8")
    shown = re.search(rf"`{re.escape(name)}`:\s*\n```\n(.*?)^```", text, re.M | re.S)
    if shown is None:
        raise LookupError(f"docs/cli.md shows no file {name}")
    return shown.group(1)


def _setup_postgres(box: Sandbox) -> None:
    name = box.fixture("clidoc_postgres")
    assert isinstance(name, str)
    box.names[f"127.0.0.1:5432/{DOC_PG_DB}"] = f"127.0.0.1:5432/{name}"


def _setup_bigquery_emulator(box: Sandbox) -> None:
    endpoint = box.fixture("bigquery_demo")
    assert isinstance(endpoint, str)
    box.names[DOC_BQ_ENDPOINT] = endpoint


def _setup_clickhouse_demo(box: Sandbox) -> None:
    # the database folders are relative symbolic links into store/: copied as links
    shutil.copytree(str(box.fixture("clickhouse_demo")), box.tmp / "ch", symlinks=True)


def _setup_broken_warehouse(box: Sandbox) -> None:
    shutil.copyfile(str(box.fixture("broken_warehouse")), box.tmp / "broken.duckdb")


def _setup_writable_warehouse(box: Sandbox) -> None:
    shutil.copyfile(box.tmp / "demo.duckdb", box.tmp / "mat.duckdb")


def _setup_history_warehouse(box: Sandbox) -> None:
    """A copy of the demo with daily snapshots of loyal, lifecycle and new_customers in
    schema `history`, 2025-06-24 to 2025-07-01 (what a daily `seg snapshot` records)."""
    import datetime as dt

    from segdsl.compiler import Compiler
    from segdsl.engines import connect
    from segdsl.history.snapshot import snapshot
    from segdsl.project import load_project

    target = box.tmp / "daily.duckdb"
    shutil.copyfile(box.tmp / "demo.duckdb", target)
    compiler = Compiler(load_project(box.repo / "examples"))
    with connect(f"duckdb:///{target}") as engine:
        for day in range(8):
            moment = compiler.as_of(dt.date(2025, 6, 24) + dt.timedelta(days=day))
            snapshot(compiler, engine, ["loyal", "lifecycle", "new_customers"], "history", moment)


def _setup_syntax_error_file(box: Sandbox) -> None:
    (box.tmp / "syntax.seg").write_text("segdsl 1\n\nsegment oops = orders_count >\n")


def _setup_schema_file(box: Sandbox) -> None:
    shutil.copyfile(str(box.fixture("schema_json")), box.tmp / "warehouse.json")


def _setup_schema_file_here(box: Sandbox) -> None:
    shutil.copyfile(str(box.fixture("schema_json")), box.cwd / "warehouse.json")


def _setup_promo_file(box: Sandbox) -> None:
    (box.repo / "examples" / "promo.seg").write_text(_shown_file("examples/promo.seg"))


def _setup_wrong_test(box: Sandbox) -> None:
    path = "examples/tests/wrong.toml"
    (box.repo / path).write_text(_shown_file(path))


def _setup_stray_file(box: Sandbox) -> None:
    """A `.seg` file outside any project beside examples/ (as tests/corpus/ in the repository)."""
    (box.repo / "notes.seg").write_text("segdsl 1\n")


def _setup_unpinned_shop(box: Sandbox) -> None:
    """A project without a pinned as-of time, and a copy of a warehouse whose data stops
    at 2025-07-01."""
    shop = box.repo / "shop"
    shutil.copytree(box.repo / "examples", shop)
    (shop / "seg.toml").write_text('dialect = "duckdb"\n')
    shutil.copyfile(box.tmp / "demo.duckdb", box.repo / "old-copy.duckdb")


def _setup_no_postgres_driver(box: Sandbox) -> None:
    """A machine with the base install only: importing psycopg fails."""
    hidden = box.root / "no-driver" / "psycopg"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text('raise ImportError("psycopg is not installed")\n')
    box.env["PYTHONPATH"] = str(hidden.parent)


def _setup_drifted_model(box: Sandbox) -> None:
    """The project declares a column the warehouse lacks and a wrong type (its own folder)."""
    model = box.repo / "examples" / "model.seg"
    _edit(model, "  income_band: string\n", "  income_band: string\n  loyalty_tier: string\n")
    _edit(model, "  coupon: string\n", "  coupon: integer\n")
    box.cwd = box.repo / "examples"


def _setup_drifted_settings(box: Sandbox) -> None:
    """A project folder whose seg.toml has a misspelt setting."""
    drift = box.tmp / "drift"
    drift.mkdir()
    (drift / "seg.toml").write_text(f'database_url = "duckdb:///{box.tmp}/demo.duckdb"\n')
    shutil.copy(box.repo / "examples" / "model.seg", drift / "model.seg")
    box.cwd = drift


# lifecycle.seg as a person might have typed it: what `seg fmt` then rewrites
UNFORMATTED = (
    (
        "segment buyers = orders_count > 0\n",
        "segment buyers =   orders_count>0   # anyone who paid\n",
    ),
    (
        "segment loyal = orders_count >= 5 and last_order_at in last 90d\n",
        "segment   loyal=orders_count>=5 and\n      last_order_at in last 90d\n",
    ),
)


def _format(box: Sandbox, folder: Path) -> None:
    """The story starts from formatted files (the examples are meant to be)."""
    done = subprocess.run(
        ["seg", "fmt", str(folder)], env=box.env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _setup_unformatted_lifecycle(box: Sandbox) -> None:
    _format(box, box.repo / "examples")
    for old, new in UNFORMATTED:
        _edit(box.repo / "examples" / "lifecycle.seg", old, new)


def _setup_git_repository(box: Sandbox) -> None:
    box.git("init", "-q", "-b", "main")


def _setup_git_history(box: Sandbox) -> None:
    """Two commits: the examples; then loyal from five orders to four and sleeping laid out."""
    _setup_git_repository(box)
    box.git("add", "-A")
    box.git("commit", "-q", "-m", "Example segments")
    lifecycle = box.repo / "examples" / "lifecycle.seg"
    _edit(
        lifecycle,
        "segment loyal = orders_count >= 5 and",
        "segment loyal = orders_count >= 4 and",
    )
    sleeping = re.search(r"^segment sleeping = (\w+) and (.+)$", lifecycle.read_text(), re.M)
    assert sleeping, "examples/lifecycle.seg: no `segment sleeping = X and Y`"
    _edit(
        lifecycle,
        sleeping.group(0),
        f"segment sleeping =\n  {sleeping.group(1)}\n"
        f"  and {sleeping.group(2)}  # nothing for half a year",
    )
    box.git("commit", "-q", "-a", "-m", "loyal: four orders are enough; lay out sleeping")


def _setup_working_tree_change(box: Sandbox) -> None:
    """Uncommitted: avg_check net of discounts, and a description for repeat_buyers."""
    _edit(box.repo / "examples" / "measures.seg", "avg(amount) of", "avg(amount - discount) of")
    _edit(
        box.repo / "examples" / "lifecycle.seg",
        "segment repeat_buyers =",
        'segment repeat_buyers "Two paid orders or more" =',
    )


def _setup_database_url_env(box: Sandbox) -> None:
    box.env["SEG_DATABASE_URL"] = f"duckdb:///{box.tmp / 'demo.duckdb'}"


def _setup_pre_commit_project(box: Sandbox) -> None:
    """A repository with its project in `segments/` (the examples, with a misspelt name and
    an unformatted line) whose .pre-commit-config.yaml uses this repository's seg-validate
    and seg-fmt-check hooks (as local hooks running the `seg` on PATH, not in a venv of
    their own)."""
    import yaml  # type: ignore[import-untyped]  # pre-commit's own dependency

    segments = box.repo / "segments"
    shutil.move(box.repo / "examples", segments)
    _format(box, segments)
    lifecycle = segments / "lifecycle.seg"
    _edit(lifecycle, "segment loyal = orders_count >= 5", "segment loyal = order_count >= 5")
    _edit(lifecycle, *UNFORMATTED[0])
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    chosen = {"seg-validate": {"args": ["segments/"]}, "seg-fmt-check": {}}
    local = [
        {**hook, **chosen[hook["id"]], "language": "system"}
        for hook in hooks
        if hook["id"] in chosen
    ]
    config = {"repos": [{"repo": "local", "hooks": local}]}
    (box.repo / ".pre-commit-config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    _setup_git_repository(box)
    box.git("add", "-A")
    # one hook run per hook, not one per CPU: the same output on every machine
    box.env["PRE_COMMIT_NO_CONCURRENCY"] = "1"


SETUP_FUNCTIONS: dict[str, Callable[[Sandbox], None]] = {
    "postgres": _setup_postgres,
    "bigquery_emulator": _setup_bigquery_emulator,
    "clickhouse_demo": _setup_clickhouse_demo,
    "broken_warehouse": _setup_broken_warehouse,
    "writable_warehouse": _setup_writable_warehouse,
    "history_warehouse": _setup_history_warehouse,
    "syntax_error_file": _setup_syntax_error_file,
    "schema_file": _setup_schema_file,
    "schema_file_here": _setup_schema_file_here,
    "promo_file": _setup_promo_file,
    "drifted_model": _setup_drifted_model,
    "drifted_settings": _setup_drifted_settings,
    "unformatted_lifecycle": _setup_unformatted_lifecycle,
    "git_repository": _setup_git_repository,
    "git_history": _setup_git_history,
    "working_tree_change": _setup_working_tree_change,
    "database_url_env": _setup_database_url_env,
    "pre_commit_project": _setup_pre_commit_project,
    "stray_file": _setup_stray_file,
    "unpinned_shop": _setup_unpinned_shop,
    "no_postgres_driver": _setup_no_postgres_driver,
    "wrong_test": _setup_wrong_test,
}


# ---------------------------------------------------------------- running a block


@dataclass(frozen=True)
class Ran:
    """A command's combined output (rewritten to the doc's names) and exit status."""

    command: str
    output: tuple[str, ...]
    status: int


_MARK = "\x1e"


def run_commands(box: Sandbox, commands: list[str], timeout: float = 300) -> list[Ran]:
    """Run the commands in order in one bash, as typed at a prompt: `$?` carries over."""
    lines = [
        'mark() { local rc=$?; printf \'\\036%s %s\\036\\n\' "$1" "$rc"; return $rc; }',
    ]
    for index, command in enumerate(commands):
        lines += [f"mark {index}", box.to_sandbox(command)]
    lines.append("mark end")
    done = subprocess.run(
        ["bash", "--noprofile", "--norc", "-c", "\n".join(lines)],
        cwd=box.cwd,
        env=box.env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=timeout,
        check=False,
    )
    text = done.stdout.decode("utf-8", errors="replace")
    parts = re.split(f"{_MARK}([^{_MARK}]*){_MARK}\n", text)
    # parts: [before, mark 0, out 0, mark 1, out 1, ..., mark end, after]
    marks, outputs = parts[1::2], parts[2::2]
    assert len(marks) == len(commands) + 1, f"the block did not run to its end:\n{text}"
    return [
        Ran(
            command,
            tuple(box.to_doc(output).splitlines()),
            int(marks[index + 1].split()[1]),
        )
        for index, (command, output) in enumerate(zip(commands, outputs, strict=False))
    ]


# never right in a doc, so never written into one: a Python traceback, an internal error
CRASH = re.compile(r"^Traceback \(most recent call last\)|internal error \[SEG901\]")


def _canon(line: str) -> str:
    """What may differ between runs: how long something took."""
    return re.sub(r"\(\d+(?:\.\d+)?s\)", "(<elapsed>s)", line)


def _write_back(block: Block, commands: list[Command]) -> None:
    """Put the block's new outputs into docs/cli.md (locked: xdist workers write too)."""
    with CLI_DOC.open("r+", encoding="utf-8") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        text = handle.read()
        updated = replace_block(text, block.script, block.occurrence, commands)
        if updated != text:
            handle.seek(0)
            handle.truncate()
            handle.write(updated)


BLOCKS = _cli_blocks()


@pytest.mark.parametrize("block", BLOCKS, ids=[block.key for block in BLOCKS])
def test_console_block(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    box = _make_sandbox(tmp_path, request)
    for name in _setups_for(block):
        SETUP_FUNCTIONS[name](box)
    runnable = [c.text for c in block.commands if _unrunnable(c.text) is None]
    ran = iter(run_commands(box, runnable))
    shown: list[Command] = []
    for command in block.commands:
        if _unrunnable(command.text) is not None:
            shown.append(command)
            continue
        real = next(ran)
        assert real.command == command.text
        crash = [line for line in real.output if CRASH.search(line)]
        assert not crash, f"`{command.text}` crashed (a bug, not a drift):\n" + "\n".join(
            real.output
        )
        shown.append(Command(command.text, tuple(regenerate(command.output, real.output, _canon))))
    if UPDATE:
        _write_back(block, shown)
        return
    expected = render([Command(c.text, tuple(clean(c.output))) for c in block.commands])
    actual = render(shown)
    failing = [
        c.text
        for c, s in zip(block.commands, shown, strict=True)
        if not matches(c.output, s.output, _canon)
    ]
    if failing:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                f"docs/cli.md:{block.line} (shown)",
                "real output (cut where the doc cuts)",
            )
        )
        pytest.fail(
            f"{len(failing)} of {len(block.commands)} outputs differ "
            f"(rewrite them with SEGDSL_UPDATE_DOCS=1):\n{diff}",
            pytrace=False,
        )


README_COMMANDS = _readme_seg_commands()


@pytest.mark.parametrize("command", README_COMMANDS)
def test_readme_command_runs(command: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    box = _make_sandbox(tmp_path, request)
    del box.env["SEGDSL_DEMO_DB"]  # the README's reader has the demo at its default place
    (real,) = run_commands(box, [command])
    output = "\n".join(real.output)
    assert real.status == 0, f"`{command}` exited {real.status}:\n{output}"


def test_every_example_is_checked() -> None:
    """No block or command is left out silently: all are parametrised or listed with a why."""
    cli = CLI_DOC.read_text(encoding="utf-8")
    assert len(BLOCKS) == len(re.findall(r"^```console\s*$", cli, re.MULTILINE)) > 0
    commands = [command.text for block in BLOCKS for command in block.commands]
    assert len(commands) == len(re.findall(r"^\$ ", cli, re.MULTILINE))
    for pattern, why in UNRUNNABLE.items():
        assert why, pattern
        assert any(re.search(pattern, command) for command in commands), (
            f"UNRUNNABLE entry {pattern!r} matches no command of docs/cli.md: remove it"
        )
    readme = README.read_text(encoding="utf-8")
    assert len(README_COMMANDS) >= len(re.findall(r"^\.venv/bin/seg ", readme, re.MULTILINE))
    for pattern, needs in SETUPS:
        assert all(name in SETUP_FUNCTIONS for name in needs), needs
        assert any(re.search(pattern, block.script, re.MULTILINE) for block in BLOCKS), (
            f"SETUPS rule {pattern!r} matches no block of docs/cli.md: remove it"
        )


# ---------------------------------------------------------------- the matcher itself


def test_cuts_match_any_lines_and_any_rest_of_a_line() -> None:
    assert matches(["a", "…", "z"], ["a", "b", "c", "z"])
    assert matches(["a", "  …", "z"], ["a", "z"])
    assert matches(["id\tx\t…", "…"], ["id\tx\ty\tz", "1", "2"])
    assert matches(["built at …/seg.sh"], ["built at /home/u/seg.sh"])
    assert not matches(["a", "…", "z"], ["a", "z", "b"])
    assert not matches(["a", "…", "m", "…", "z"], ["a", "b", "z"])
    assert not matches(["a"], ["a", "b"])
    assert not matches(["ab…"], ["a"])
    assert matches(["a  ", "", ""], ["a"])  # trailing spaces and blank lines are invisible


def test_regenerating_keeps_the_cuts() -> None:
    shown = ["head 1", "…", "  champions   233", "…", "tail 9"]
    real = ["head 2", "x", "  women   1", "  champions    234", "y", "tail 10"]
    assert regenerate(shown, real) == ["head 2", "…", "  champions    234", "…", "tail 10"]
    assert regenerate(["id\ta\tb\t…"], ["id\tc\td\te\tf"]) == ["id\tc\td\t…"]
    assert regenerate(["a", "…"], ["a", "b"]) == ["a", "…"]  # still true: left as it is


_LINE = st.text(alphabet="ab …\t", max_size=8)
_REAL_LINE = _LINE.filter(lambda line: not is_gap(line))  # a real `…` line reads as a cut


@given(
    shown=st.lists(st.one_of(_LINE, st.just("…")), max_size=8),
    real=st.lists(_REAL_LINE, max_size=10),
)
@settings(max_examples=400, deadline=None)
def test_regenerated_output_matches_and_is_stable(shown: list[str], real: list[str]) -> None:
    """Whatever the doc showed, its rewrite shows the real output, and a rewrite of the
    rewrite changes nothing (so regenerating the docs twice is a no-op)."""
    regenerated = regenerate(shown, real)
    assert matches(regenerated, real)
    assert regenerate(regenerated, real) == regenerated
    assert sum(map(is_gap, regenerated)) <= sum(map(is_gap, shown))


@given(real=st.lists(_REAL_LINE, min_size=1, max_size=10))
def test_a_cut_of_the_real_output_matches_it(real: list[str]) -> None:
    """Hiding any run of lines behind one `…` keeps the output shown as it is."""
    real = clean(real)
    for start in range(len(real)):
        for end in range(start, len(real) + 1):
            shown = [*real[:start], "…", *real[end:]]
            assert matches(shown, real)
            assert regenerate(shown, real) == shown
