"""`seg run`, `explain`, `why`, `overlap`, `schema`, `demo` as a user runs them, on a small
demo warehouse; numbers are checked against SQL written by hand in the tests.
"""

from __future__ import annotations

import csv
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from tests.support.demo_copies import DemoCopies

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
AS_OF = "TIMESTAMP '2025-07-01 00:00:00'"
runner = CliRunner()

# Paid buyers, by hand.
BUYERS_SQL = f"""
SELECT DISTINCT customer_id FROM shop.orders o JOIN shop.customers c ON c.id = o.customer_id
WHERE o.status = 'paid' AND o.ordered_at <= {AS_OF}
  AND (c.signed_up_at <= {AS_OF} OR c.signed_up_at IS NULL)
"""
POPULATION_SQL = (
    f"SELECT id FROM shop.customers WHERE signed_up_at <= {AS_OF} OR signed_up_at IS NULL"
)
LOYAL_SQL = f"""
SELECT customer_id FROM shop.orders WHERE status = 'paid' AND ordered_at <= {AS_OF}
GROUP BY customer_id
HAVING COUNT(*) >= 5 AND MAX(ordered_at) > {AS_OF} - INTERVAL 90 DAY
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.05)
    return path


@pytest.fixture(autouse=True)
def _use_demo(demo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SEGDSL_DEMO_DB", str(demo))
    monkeypatch.delenv("SEG_DATABASE_URL", raising=False)


def ids(demo: Path, sql: str) -> set[int]:
    with duckdb.connect(str(demo), read_only=True) as con:
        return {row[0] for row in con.execute(sql).fetchall()}


def invoke(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def test_sizes_match_hand_written_counts(demo: Path) -> None:
    result = invoke("run", str(EXAMPLES), "--format", "json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert payload["population"] == len(ids(demo, POPULATION_SQL))
    assert payload["segments"]["buyers"] == len(ids(demo, BUYERS_SQL))
    assert payload["segments"]["loyal"] == len(ids(demo, LOYAL_SQL))
    lifecycle = payload["labels"]["lifecycle"]
    assert sum(lifecycle.values()) == payload["population"]  # every member exactly one label
    assert set(lifecycle) <= {"prospect", "new", "active", "at_risk", "churned"}
    reminder = payload["labels"]["reminder_test"]
    assert set(reminder) <= {"target", "control"}
    assert sum(reminder.values()) == payload["segments"]["cart_reminder_2h"]
    assert payload["unlabelled"] == {
        "reminder_test": payload["population"] - payload["segments"]["cart_reminder_2h"]
    }


def test_text_sizes() -> None:
    result = invoke("run", str(EXAMPLES), "-s", "buyers", "-s", "lifecycle")
    assert result.exit_code == 0
    text = result.stdout
    assert "as of 2025-07-01 00:00:00 UTC on duckdb: population" in text
    assert "buyers" in text and "prospect" in text


def test_overlap_refuses_what_is_not_a_segment() -> None:
    result = invoke("overlap", str(EXAMPLES), "-s", "loyal", "-s", "lifecycle")
    assert result.exit_code == 2 and "`lifecycle` is a classifier" in result.output


def test_a_measure_has_no_size() -> None:
    result = invoke("run", str(EXAMPLES), "-s", "revenue")
    assert result.exit_code == 2 and "--members" in result.output


def test_members_with_attributes_and_limit(demo: Path) -> None:
    result = invoke(
        "run",
        str(EXAMPLES),
        "-s",
        "loyal",
        "--members",
        "--attributes",
        "city,email",
        "--limit",
        "3",
    )
    lines = result.stdout.splitlines()
    assert lines[0] == "id\tcity\temail"
    assert len(lines) == 4
    # the first three members by key, so repeated runs list the same customers
    assert [int(line.split("\t")[0]) for line in lines[1:]] == sorted(ids(demo, LOYAL_SQL))[:3]


def test_members_of_rankings_with_attributes(demo: Path) -> None:
    """Members in every ranking (no join back to the population) still carry attributes."""
    result = invoke(
        "run", str(EXAMPLES), "-s", "champions", "--members", "--attributes", "city,email"
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "id\tcity\temail"
    rows = {int(line.split("\t")[0]): line.split("\t")[1:] for line in lines[1:]}
    members = invoke("run", str(EXAMPLES), "-s", "champions", "--members").stdout.splitlines()
    assert set(rows) == {int(key) for key in members[1:]} and rows
    with duckdb.connect(str(demo), read_only=True) as con:
        found = con.execute("SELECT id, city, email FROM shop.customers").fetchall()
    by_key = {key: [city or "", email or ""] for key, city, email in found}
    assert all(rows[key] == by_key[key] for key in rows)


def test_unknown_attribute_is_an_error() -> None:
    result = invoke("run", str(EXAMPLES), "-s", "loyal", "--members", "--attributes", "cty")
    assert result.exit_code == 1 and "did you mean `city`?" in result.stderr
    result = invoke("run", str(EXAMPLES), "-s", "loyal", "--members", "--attributes", "qqqqqq")
    assert result.exit_code == 1 and "attributes: acquisition_source, birth_date" in result.stderr


@pytest.mark.parametrize("suffix", ["csv", "parquet", "jsonl"])
def test_exports(demo: Path, tmp_path: Path, suffix: str) -> None:
    target = tmp_path / f"loyal.{suffix}"
    result = invoke("run", str(EXAMPLES), "-s", "loyal", "--output", str(target))
    assert result.exit_code == 0, result.output
    if suffix == "csv":
        with target.open() as stream:
            keys = {int(row["id"]) for row in csv.DictReader(stream)}
    elif suffix == "parquet":
        keys = set(pq.read_table(target).column("id").to_pylist())
    else:
        keys = {json.loads(line)["id"] for line in target.read_text().splitlines()}
    assert keys == ids(demo, LOYAL_SQL)


def test_membership_table_in_one_pass(demo: Path, tmp_path: Path) -> None:
    target = tmp_path / "all.parquet"
    assert invoke("run", str(EXAMPLES), "--all", "--output", str(target)).exit_code == 0
    table = pq.read_table(target)
    assert table.num_rows == len(ids(demo, POPULATION_SQL))
    rows = table.to_pylist()
    assert {r["id"] for r in rows if r["loyal"]} == ids(demo, LOYAL_SQL)
    assert {r["lifecycle"] for r in rows} <= {"prospect", "new", "active", "at_risk", "churned"}


def test_materialize_table_and_view(demo: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy.duckdb"
    shutil.copy(demo, copy)
    url = f"duckdb:///{copy}"
    assert (
        invoke(
            "run", str(EXAMPLES), "-s", "loyal", "--db", url, "--materialize", "main.loyal_now"
        ).exit_code
        == 0
    )
    assert (
        invoke(
            "run", str(EXAMPLES), "-s", "buyers", "--db", url, "--materialize", "buyers_v", "--view"
        ).exit_code
        == 0
    )
    assert ids(copy, "SELECT id FROM main.loyal_now") == ids(demo, LOYAL_SQL)
    assert ids(copy, "SELECT id FROM buyers_v") == ids(demo, BUYERS_SQL)


def test_queries_are_read_only(demo: Path) -> None:
    before = demo.stat().st_mtime_ns
    invoke("run", str(EXAMPLES), "-s", "loyal", "--members")
    assert demo.stat().st_mtime_ns == before


def test_unreachable_database_is_one_clean_line() -> None:
    result = invoke(
        "run", str(EXAMPLES), "-s", "loyal", "--db", "postgresql://ana:s3cret@127.0.0.1:1/test"
    )
    assert result.exit_code == 1
    assert "error (unreachable)" in result.output and "s3cret" not in result.output
    assert "***" in result.output


def test_missing_table_is_reported(tmp_path: Path) -> None:
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    result = invoke("run", str(EXAMPLES), "-s", "loyal", "--db", f"duckdb:///{empty}")
    assert result.exit_code == 1 and "error (not_found)" in result.output


# ------------------------------------------------------------------ explain and why
FUNNEL_SQL = [
    # carpet_hesitators, step by step, by hand
    """SELECT id FROM shop.customers WHERE gender = 'female'
        AND 2025 - EXTRACT(YEAR FROM birth_date)
            - CASE WHEN EXTRACT(MONTH FROM birth_date) * 100 + EXTRACT(DAY FROM birth_date) > 701
                   THEN 1 ELSE 0 END
            BETWEEN 35 AND 45""",
    "SELECT id FROM shop.customers WHERE city = 'Moscow'",
    """SELECT customer_id FROM shop.orders WHERE status = 'paid'
       AND ordered_at >= TIMESTAMP '2025-06-01' AND ordered_at < TIMESTAMP '2025-07-01'
       GROUP BY customer_id HAVING COUNT(*) >= 2""",
    f"""SELECT customer_id FROM shop.events WHERE event_name = 'add_to_cart'
        AND page_category = 'carpets' AND occurred_at <= {AS_OF}""",
    f"""SELECT id FROM shop.customers EXCEPT SELECT o.customer_id FROM shop.order_items i
        JOIN shop.orders o ON o.id = i.order_id
        WHERE i.category = 'carpets' AND o.ordered_at <= {AS_OF}""",
    f"""SELECT customer_id FROM shop.events WHERE event_name = 'email_open'
        AND occurred_at > TIMESTAMP '2025-06-01' AND occurred_at <= {AS_OF}
        GROUP BY customer_id HAVING COUNT(*) >= 3""",
]


def test_explain_funnel_matches_hand_written_counts(demo: Path) -> None:
    result = invoke(
        "explain",
        str(EXAMPLES),
        "-s",
        "carpet_hesitators",
        "--db",
        f"duckdb:///{demo}",
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    population = ids(demo, POPULATION_SQL)
    remaining = set(population)
    expected = [len(remaining)]
    for sql in FUNNEL_SQL:
        remaining &= ids(demo, sql)
        expected.append(len(remaining))
    assert [step["members"] for step in payload["funnel"]] == expected
    assert payload["funnel"][0]["step"] == "population"
    assert payload["sql"].startswith("WITH")
    assert any("2025-06-01 00:00" in line for line in payload["words"])


def test_explain_text_shows_words_tree_windows_and_sql() -> None:
    result = invoke(
        "explain",
        str(EXAMPLES),
        "-s",
        "cart_abandoners",
        "--dialect",
        "bigquery",
        "--as-of",
        "2025-07-01",
    )
    text = result.stdout
    assert result.exit_code == 0
    for part in (
        "In words",
        "Depends on",
        "SQL (bigquery)",
        "after 2025-06-01 00:00",
        "recent (parameter)",
        "`shop`",
    ):
        assert part in text, part


def test_explain_plan(demo: Path) -> None:
    result = invoke("explain", str(EXAMPLES), "-s", "loyal", "--db", f"duckdb:///{demo}", "--plan")
    assert result.exit_code == 0 and "Plan" in result.stdout


def test_why_explains_each_condition(demo: Path) -> None:
    member = min(ids(demo, LOYAL_SQL))
    result = invoke("why", str(member), str(EXAMPLES), "-s", "loyal", "--format", "json")
    payload = json.loads(result.stdout)
    assert payload["member"] is True
    conditions = {child["condition"]: child for child in payload["children"]}
    assert conditions["orders_count >= 5"]["passed"] is True
    orders = int(conditions["orders_count >= 5"]["values"]["orders_count"])
    assert orders >= 5
    outsider = min(ids(demo, POPULATION_SQL) - ids(demo, LOYAL_SQL))
    text = invoke("why", str(outsider), str(EXAMPLES), "-s", "loyal").stdout
    assert text.startswith(f"{outsider} is NOT in loyal") and "✗" in text


def test_why_unknown_key() -> None:
    result = invoke("why", "99999999", str(EXAMPLES), "-s", "loyal")
    assert result.exit_code == 1 and "not in the population" in result.output


def test_overlap_matches_hand_written_intersections(demo: Path) -> None:
    result = invoke("overlap", str(EXAMPLES), "-s", "loyal", "-s", "buyers", "--format", "json")
    matrix = json.loads(result.stdout)["overlap"]
    loyal, buyers = ids(demo, LOYAL_SQL), ids(demo, BUYERS_SQL)
    assert matrix["loyal"]["loyal"] == len(loyal)
    assert matrix["loyal"]["buyers"] == matrix["buyers"]["loyal"] == len(loyal & buyers)


# ------------------------------------------------------------------ schema
def test_schema_pull_then_validate_offline(demo: Path, tmp_path: Path) -> None:
    recorded = tmp_path / "warehouse.json"
    result = invoke(
        "schema", "pull", str(EXAMPLES), "--db", f"duckdb:///{demo}", "-o", str(recorded)
    )
    assert result.exit_code == 0, result.output
    assert invoke("validate", str(EXAMPLES), "--schema", str(recorded)).exit_code == 0
    schema = json.loads(recorded.read_text())
    orders = schema["tables"]["shop.orders"]
    orders["ordered_at"] = "VARCHAR"  # (an untyped time takes TIMESTAMP WITH TIME ZONE)
    orders["coupon_code"] = orders.pop("coupon")
    orders["discount"] = "VARCHAR"
    del schema["tables"]["shop.order_items"]
    recorded.write_text(json.dumps(schema))
    result = invoke("validate", str(EXAMPLES), "--schema", str(recorded), "--format", "json")
    found = {(d["code"], d["message"]) for d in json.loads(result.stdout)["diagnostics"]}
    codes = sorted(code for code, _ in found)
    assert result.exit_code == 1
    assert codes == ["SEG401", "SEG402", "SEG403", "SEG403"]
    assert any("declared `timestamp`" in message for _, message in found)


def test_schema_pull_a_whole_schema(demo: Path, tmp_path: Path) -> None:
    recorded = tmp_path / "warehouse.json"
    result = invoke(
        "schema",
        "pull",
        str(EXAMPLES),
        "--db",
        f"duckdb:///{demo}",
        "--schema",
        "shop",
        "-o",
        str(recorded),
    )
    assert result.exit_code == 0, result.output
    tables = json.loads(recorded.read_text())["tables"]
    assert sorted(tables) == ["shop.customers", "shop.events", "shop.order_items", "shop.orders"]
    assert invoke("validate", str(EXAMPLES), "--schema", str(recorded)).exit_code == 0


def test_validate_against_live_database(demo: Path) -> None:
    assert invoke("validate", str(EXAMPLES), "--db", f"duckdb:///{demo}").exit_code == 0


def test_validate_check_data_counts_rows_that_break_rely(demo: Path, tmp_path: Path) -> None:
    clean = invoke("validate", str(EXAMPLES), "--db", f"duckdb:///{demo}", "--check-data")
    assert clean.exit_code == 0, clean.output
    broken = tmp_path / "broken.duckdb"
    shutil.copy(demo, broken)
    with duckdb.connect(str(broken)) as con:
        con.execute(
            "UPDATE shop.orders SET customer_id = -1 WHERE id IN (SELECT min(id) FROM shop.orders)"
        )
        con.execute(
            "UPDATE shop.events SET occurred_at = TIMESTAMP '2000-01-01'"
            " WHERE rowid IN (SELECT rowid FROM shop.events LIMIT 2)"
        )
        orders, events = (
            con.execute(f"SELECT count(*) FROM shop.{name}").fetchone()[0]  # type: ignore[index]
            for name in ("orders", "events")
        )
    result = invoke(
        "validate", str(EXAMPLES), "--db", f"duckdb:///{broken}", "--check-data", "--format", "json"
    )
    assert result.exit_code == 1
    found = json.loads(result.stdout)["diagnostics"]
    assert {(d["code"], d["line"], d["message"]) for d in found} == {
        (
            "SEG404",
            23,
            f"`orders` links to `customer` with `rely`, but of its {orders:,} rows, "
            "1 has no customer",
        ),
        (
            "SEG404",
            43,
            f"`events` links to `customer` with `rely`, but of its {events:,} rows, "
            "2 are older than their customer",
        ),
    }
    assert invoke("validate", str(EXAMPLES), "--check-data").exit_code == 2  # needs --db
    recorded = tmp_path / "warehouse.json"
    recorded.write_text("{}")
    with_schema = ("--db", f"duckdb:///{demo}", "--schema", str(recorded), "--check-data")
    assert invoke("validate", str(EXAMPLES), *with_schema).exit_code == 2  # rows, not a file


# ------------------------------------------------------------------ demo
def test_demo_postgres_errors_are_one_line_and_masked(tmp_path: Path) -> None:
    target = tmp_path / "small.duckdb"
    result = invoke("demo", "--path", str(target), "--postgres", "duckdb:///x.duckdb")
    assert result.exit_code == 2 and not target.exists()  # refused before building anything
    url = "postgresql+psycopg://postgres:pw123456@127.0.0.1:5432/no_such_database"
    result = invoke("demo", "--path", str(target), "--scale", "0.01", "--postgres", url)
    assert result.exit_code == 1
    assert "no_such_database" in result.output and "Traceback" not in result.output
    assert "pw123456" not in result.output


def test_demo_command(tmp_path: Path) -> None:
    target = tmp_path / "small.duckdb"
    result = invoke("demo", "--path", str(target), "--scale", "0.01")
    assert result.exit_code == 0 and target.exists()
    assert "customers 100" in result.stdout


@pytest.fixture
def fresh_demo_location(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    location = tmp_path / "cache" / "demo.duckdb"
    monkeypatch.setenv("SEGDSL_DEMO_DB", str(location))
    yield location


def test_run_builds_the_demo_on_first_use(
    fresh_demo_location: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import segdsl.demo

    built: list[float] = []
    original = segdsl.demo.build_demo_database

    def small(path: Path, *, scale: float = 1.0, progress: object = None) -> object:
        built.append(scale)
        return original(path, scale=0.01)

    monkeypatch.setattr(segdsl.demo, "build_demo_database", small)
    result = invoke("run", str(EXAMPLES), "-s", "buyers")
    assert result.exit_code == 0 and built == [1.0] and fresh_demo_location.exists()
