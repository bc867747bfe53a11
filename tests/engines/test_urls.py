"""Database URL parsing and password masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from segdsl.engines.urls import (
    BigQueryURL,
    DuckDBURL,
    PostgresURL,
    URLError,
    mask,
    parse_url,
    redact,
)


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("duckdb://", None),
        ("duckdb:///:memory:", None),
        ("duckdb://:memory:", None),
        ("duckdb:///shop.duckdb", Path("shop.duckdb")),
        ("duckdb:///data/shop.duckdb", Path("data/shop.duckdb")),
        ("duckdb:////abs/path/shop.duckdb", Path("/abs/path/shop.duckdb")),
        ("duckdb:////abs/my%20shop.duckdb", Path("/abs/my shop.duckdb")),
        ("DUCKDB:///x.duckdb", Path("x.duckdb")),
    ],
)
def test_duckdb_paths_follow_sqlalchemy(url: str, path: Path | None) -> None:
    parsed = parse_url(url)
    assert isinstance(parsed, DuckDBURL)
    assert parsed.path == path
    assert parsed.in_memory == (path is None)


def test_duckdb_query_parameters_become_config() -> None:
    parsed = parse_url("duckdb:///x.duckdb?memory_limit=1GB&threads=2")
    assert isinstance(parsed, DuckDBURL)
    assert parsed.config == {"memory_limit": "1GB", "threads": "2"}


@pytest.mark.parametrize("url", ["duckdb://host/x.duckdb", "duckdb://:memory:/x"])
def test_duckdb_bad_urls(url: str) -> None:
    with pytest.raises(URLError):
        parse_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://user:pass@db.example:6543/shop",
            {
                "host": "db.example",
                "port": "6543",
                "user": "user",
                "password": "pass",
                "dbname": "shop",
            },
        ),
        (
            "postgres://user@localhost/shop?sslmode=require&application_name=x",
            {
                "host": "localhost",
                "user": "user",
                "dbname": "shop",
                "sslmode": "require",
                "application_name": "x",
            },
        ),
        (
            "postgresql://us%40er:p%40ss%3Aw%2Ford@127.0.0.1:5432/my%20db",
            {
                "host": "127.0.0.1",
                "port": "5432",
                "user": "us@er",
                "password": "p@ss:w/ord",
                "dbname": "my db",
            },
        ),
        (
            # an unencoded @ in the password: the last @ ends the user info
            "postgresql://u:p@ss@h/db",
            {"host": "h", "user": "u", "password": "p@ss", "dbname": "db"},
        ),
        (
            "postgresql://u@h1:5432,h2:5433/db",
            {"host": "h1,h2", "port": "5432,5433", "user": "u", "dbname": "db"},
        ),
        ("postgresql://[::1]:5432/db", {"host": "::1", "port": "5432", "dbname": "db"}),
        (
            "postgresql:///db?host=/var/run/postgresql",
            {"host": "/var/run/postgresql", "dbname": "db"},
        ),
        (
            "postgresql+psycopg://u@h/db?password=s3cret",
            {"host": "h", "user": "u", "password": "s3cret", "dbname": "db"},
        ),
    ],
)
def test_postgres_urls(url: str, expected: dict[str, str]) -> None:
    parsed = parse_url(url)
    assert isinstance(parsed, PostgresURL)
    assert parsed.connect_kwargs() == expected


def test_postgres_bad_port() -> None:
    with pytest.raises(URLError, match="port"):
        parse_url("postgresql://u:secret@h:notaport/db")


def test_bigquery_url() -> None:
    parsed = parse_url(
        "bigquery://my-project/analytics?location=EU&maximum_bytes_billed=1_000_000_000"
        "&api_endpoint=http://127.0.0.1:9050"
    )
    assert parsed == BigQueryURL(
        project="my-project",
        dataset="analytics",
        location="EU",
        maximum_bytes_billed=1_000_000_000,
        api_endpoint="http://127.0.0.1:9050",
        raw=parsed.raw,
    )
    assert isinstance(parsed, BigQueryURL)
    assert parsed.is_local_emulator


@pytest.mark.parametrize(
    ("url", "project", "dataset", "local"),
    [
        ("bigquery://", None, None, False),
        ("bigquery://p", "p", None, False),
        ("bigquery://p/", "p", None, False),
        ("bigquery://p/d?api_endpoint=https://bigquery.googleapis.com", "p", "d", False),
        ("bigquery://p/d?api_endpoint=http://localhost:9050", "p", "d", True),
        ("bigquery://p/d?api_endpoint=http://emulator:9050", "p", "d", False),
        ("bigquery://p/d?api_endpoint=http://[::1]:9050", "p", "d", True),
        ("bigquery://p/d?api_endpoint=http://127.0.0.1.example.com:9050", "p", "d", False),
    ],
)
def test_bigquery_url_parts(
    url: str, project: str | None, dataset: str | None, local: bool
) -> None:
    parsed = parse_url(url)
    assert isinstance(parsed, BigQueryURL)
    assert (parsed.project, parsed.dataset, parsed.is_local_emulator) == (project, dataset, local)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("bigquery://p/d?maximum_byte_billed=10", "unknown bigquery URL parameter"),
        ("bigquery://p/d?maximum_bytes_billed=lots", "whole number"),
        ("bigquery://p/d?credentials=none", "credentials must be anonymous or default"),
        ("bigquery://p/d/t", "expected bigquery://project/dataset"),
        ("mysql://u:pw@h/db", "unsupported database URL scheme"),
        ("shop.duckdb", "not a database URL"),
    ],
)
def test_unusable_urls(url: str, message: str) -> None:
    with pytest.raises(URLError, match=message):
        parse_url(url)


def test_url_errors_never_show_passwords() -> None:
    with pytest.raises(URLError) as caught:
        parse_url("mysql://admin:Sup3rS3cret@h/db")
    assert "Sup3rS3cret" not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
        ("postgres://u:p%40ss%3Aw0rd!@h/db", "postgres://u:***@h/db"),
        ("postgresql://u:p@ss@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u:p:a/s#s@h/db?sslmode=require", "postgresql://u:***@h/db?sslmode=require"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("postgresql://u:@h/db", "postgresql://u:***@h/db"),
        (
            "postgresql://h/db?user=u&password=pw&sslmode=x",
            "postgresql://h/db?user=u&password=***&sslmode=x",
        ),
        ("postgresql://h/db?sslpassword=pw", "postgresql://h/db?sslpassword=***"),
        ("host=h password=pw dbname=db", "host=h password=*** dbname=db"),
        ("host=h password='p w' dbname=db", "host=h password=*** dbname=db"),
        ("bigquery://p/d?location=EU", "bigquery://p/d?location=EU"),
        ("duckdb:////tmp/x.duckdb", "duckdb:////tmp/x.duckdb"),
        (
            "failed: postgresql://a:b1@h/db and postgresql://c:d2@h/db",
            "failed: postgresql://a:***@h/db and postgresql://c:***@h/db",
        ),
    ],
)
def test_mask(text: str, masked: str) -> None:
    assert mask(text) == masked


def test_redact_replaces_known_secrets_in_any_form() -> None:
    secret = "p@ss w0rd/!"
    text = "auth failed for p@ss w0rd/! (p%40ss%20w0rd%2F%21)"
    assert redact(text, (secret,)) == "auth failed for *** (***)"


def test_redact_leaves_short_secrets_to_url_masking() -> None:
    assert redact("a table name", ("a",)) == "a table name"
    assert redact("postgresql://u:a@h/db", ("a",)) == "postgresql://u:***@h/db"


# ---------------------------------------------------------------- repr/str never show a password

from urllib.parse import quote  # noqa: E402

from hypothesis import assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from segdsl.engines import EngineError, connect  # noqa: E402
from segdsl.engines.urls import secrets_of  # noqa: E402

PASSWORDS = st.text(st.characters(exclude_categories=("Cs", "Cc", "Zs")), min_size=6, max_size=24)


def _shown(value: object) -> str:
    return repr(value) + str(value) + f"{value}" + f"{value!r}"


def test_the_reported_repr_is_masked() -> None:
    parsed = parse_url("postgresql://admin:hunter2hunter2@db/shop")
    assert "hunter2hunter2" not in repr(parsed)
    assert repr(parsed) == "PostgresURL('postgresql://admin:***@db/shop')"
    assert "hunter2hunter2" not in str([parsed])  # containers use repr


@settings(max_examples=300, deadline=None)
@given(
    password=PASSWORDS,
    form=st.sampled_from(["userinfo", "query", "sslpassword", "bigquery-endpoint"]),
)
def test_no_parsed_url_shows_its_password(password: str, form: str) -> None:
    encoded = quote(password, safe="")
    url = {
        "userinfo": f"postgresql://someone:{encoded}@db.example:5432/shop?sslmode=require",
        "query": f"postgresql://someone@db.example/shop?password={encoded}",
        "sslpassword": f"postgres://someone@db.example/shop?sslpassword={encoded}",
        "bigquery-endpoint": f"bigquery://proj/ds?api_endpoint=http://u:{encoded}@127.0.0.1:9050",
    }[form]
    # the text around the password: a password that is part of it cannot be told apart
    rest = url.replace(encoded, "") + " ".join(
        ["EngineError('unreachable', 'postgres : cannot connect to ')", "PostgresURL BigQueryURL"]
    )
    assume(password not in rest and encoded not in rest.replace("***", ""))
    parsed = parse_url(url)
    for shown in (_shown(parsed), _shown([parsed]), _shown({"url": parsed})):
        assert password not in shown and encoded not in shown
    secrets = secrets_of(parsed)
    error = EngineError("unreachable", f"postgres {url}: cannot connect to {url}", secrets=secrets)
    for shown in (error.message, str(error), repr(error)):
        assert password not in shown and encoded not in shown


@settings(max_examples=25, deadline=None)
@given(password=PASSWORDS)
def test_a_failed_connection_does_not_show_the_password(password: str) -> None:
    encoded = quote(password, safe="")
    url = f"postgresql://nobody:{encoded}@127.0.0.1:1/shop?connect_timeout=2"
    assume(password not in url.replace(encoded, "") and "127.0.0.1" not in password)
    with pytest.raises(EngineError) as caught:
        connect(url, connect_timeout=2)
    for shown in (caught.value.message, repr(caught.value)):
        assert password not in shown and encoded not in shown
