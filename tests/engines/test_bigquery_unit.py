"""BigQuery pieces that need no server: parameters, the cost guard, job configs, error kinds."""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import pytest
from google.api_core import exceptions as google_errors
from google.cloud import bigquery

from segdsl.engines import EngineError, connect
from segdsl.engines.bigquery_engine import (
    BigQueryEngine,
    _classify,
    check_cost,
    format_bytes,
    query_parameter,
)


def _api_error(kind: type[Exception], message: str, **details: Any) -> Exception:
    return kind(message, **details)


LOCAL = "bigquery://test-proj/ds?api_endpoint=http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (True, "BOOL"),
        (7, "INT64"),
        (1.5, "FLOAT64"),
        (decimal.Decimal("1.25"), "NUMERIC"),
        ("x", "STRING"),
        (b"\x00", "BYTES"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "TIMESTAMP"),
        (dt.datetime(2024, 1, 1), "DATETIME"),
        (dt.date(2024, 1, 1), "DATE"),
        (dt.time(12, 30), "TIME"),
    ],
)
def test_parameter_types_follow_python_values(value: object, kind: str) -> None:
    parameter = query_parameter("p", value)
    assert isinstance(parameter, bigquery.ScalarQueryParameter)
    assert (parameter.name, parameter.type_, parameter.value) == ("p", kind, value)


def test_array_parameters() -> None:
    parameter = query_parameter("ids", [1, 2, 3])
    assert isinstance(parameter, bigquery.ArrayQueryParameter)
    assert (parameter.array_type, parameter.values) == ("INT64", [1, 2, 3])


@pytest.mark.parametrize("value", [None, [], [1, "x"], object()])
def test_parameters_that_cannot_be_typed(value: object) -> None:
    with pytest.raises(EngineError) as caught:
        query_parameter("p", value)
    assert caught.value.kind == "invalid_query"


@pytest.mark.parametrize(
    ("estimate", "limit", "refused"),
    [
        (10, None, False),
        (None, 10, False),
        (10, 10, False),
        (11, 10, True),
        (0, 0, False),
        (5 * 2**30, 2**30, True),
    ],
)
def test_cost_guard_decision(estimate: int | None, limit: int | None, refused: bool) -> None:
    if refused:
        with pytest.raises(EngineError) as caught:
            check_cost(estimate, limit)
        assert caught.value.kind == "too_expensive"
        assert "maximum_bytes_billed" in str(caught.value)
    else:
        check_cost(estimate, limit)


def test_format_bytes() -> None:
    assert [format_bytes(n) for n in (0, 1023, 1536, 5 * 2**30)] == [
        "0 B",
        "1023 B",
        "1.5 KiB",
        "5.0 GiB",
    ]


def test_job_configs_carry_labels_limits_and_the_default_dataset() -> None:
    with connect(LOCAL + "&maximum_bytes_billed=5000", maximum_bytes_billed=9000) as engine:
        assert isinstance(engine, BigQueryEngine)
        assert engine.maximum_bytes_billed == 5000  # the stricter limit wins
        real = engine.job_config(dry_run=False, params={"n": 1})
        dry = engine.job_config(dry_run=True)
    assert real.labels == {"tool": "segdsl"}
    assert real.maximum_bytes_billed == 5000
    assert int(real.job_timeout_ms) == 300_000
    assert real.default_dataset is not None
    assert str(real.default_dataset) == "test-proj.ds"
    assert [p.name for p in real.query_parameters] == ["n"]
    assert real.use_legacy_sql is False
    assert dry.dry_run is True
    assert dry.use_query_cache is False
    assert dry.labels == {"tool": "segdsl"}


def test_custom_labels() -> None:
    with connect(LOCAL, labels={"tool": "segdsl", "segment": "vip"}) as engine:
        assert engine.job_config(dry_run=False).labels == {"tool": "segdsl", "segment": "vip"}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (_api_error(google_errors.NotFound, "Not found: Table p:d.t"), "not_found"),
        (
            _api_error(
                google_errors.BadRequest,
                "POST https://bigquery.googleapis.com/x: Unrecognized name: nope at [1:8]",
                errors=[{"reason": "invalidQuery", "message": "Unrecognized name: nope at [1:8]"}],
            ),
            "not_found",
        ),
        (
            _api_error(
                google_errors.BadRequest,
                "Syntax error",
                errors=[{"reason": "invalidQuery", "message": "Syntax error: x"}],
            ),
            "invalid_query",
        ),
        (
            _api_error(
                google_errors.Forbidden,
                "Query exceeded limit for bytes billed: 1000. 10485760 or higher required.",
                errors=[{"reason": "bytesBilledLimitExceeded", "message": "Query exceeded limit"}],
            ),
            "too_expensive",
        ),
        (
            _api_error(
                google_errors.Forbidden,
                "Access Denied",
                errors=[{"reason": "accessDenied", "message": "Access Denied"}],
            ),
            "permission",
        ),
        (
            _api_error(
                google_errors.Forbidden,
                "Quota",
                errors=[{"reason": "quotaExceeded", "message": "Quota exceeded"}],
            ),
            "other",
        ),
        (
            _api_error(
                google_errors.BadRequest,
                "Job timed out",
                errors=[
                    {
                        "reason": "timeout",
                        "message": "Job execution was cancelled: Job timed out after 1s",
                    }
                ],
            ),
            "timeout",
        ),
        (_api_error(google_errors.ServiceUnavailable, "down"), "unreachable"),
        (ConnectionRefusedError(111, "Connection refused"), "unreachable"),
    ],
)
def test_error_kinds(error: BaseException, kind: str) -> None:
    found, detail = _classify(error)
    assert found == kind
    assert "https://" not in detail


def test_the_client_is_anonymous_only_for_a_local_endpoint() -> None:
    with connect(LOCAL) as engine:
        credentials = engine.client._credentials  # type: ignore[attr-defined]
    assert type(credentials).__name__ == "AnonymousCredentials"


# ---------------------------------------------------------------- credentials (issue 18.15)

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from google.auth import exceptions as auth_errors  # noqa: E402

from segdsl.engines import URLError, parse_url  # noqa: E402


def _credentials_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None
) -> EngineError:
    key = tmp_path / "key.json"
    if content is not None:
        key.write_bytes(content)
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(key))
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT", raising=False)
    with pytest.raises(EngineError) as caught:
        connect("bigquery://some-project/ds")
    return caught.value


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (None, "which does not exist"),
        (b"not json at all {", "which is not JSON"),
        (b"\xff\xfe\x00binary", "which is not JSON"),
        (json.dumps({"hello": "world"}).encode(), "not a Google credentials file (no `type`"),
        (json.dumps({"type": "banana"}).encode(), "not a Google credentials file (type 'banana'"),
        (json.dumps(["a", "list"]).encode(), "not a Google credentials file"),
    ],
)
def test_a_bad_credentials_file_says_what_is_wrong(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes | None, says: str
) -> None:
    error = _credentials_error(tmp_path, monkeypatch, content)
    assert error.kind == "permission"
    assert str(tmp_path / "key.json") in error.message and says in error.message
    assert "set GOOGLE_APPLICATION_CREDENTIALS" not in error.message


def test_a_credentials_file_the_library_refuses_shows_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = {"type": "service_account", "client_email": "x@y"}  # no private key
    error = _credentials_error(tmp_path, monkeypatch, json.dumps(broken).encode())
    assert error.kind == "permission"
    assert (
        "points at" in error.message and "set GOOGLE_APPLICATION_CREDENTIALS" not in error.message
    )


@pytest.mark.parametrize(
    "error",
    [
        auth_errors.TransportError("Failed to retrieve token: connection refused"),
        auth_errors.RefreshError("token fetch failed"),
    ],
)
def test_a_network_failure_fetching_a_token_is_unreachable(error: Exception) -> None:
    if isinstance(error, auth_errors.RefreshError):  # refused because the network failed
        error.__cause__ = ConnectionRefusedError(111, "Connection refused")
    kind, detail = _classify(error)
    assert kind == "unreachable" and "access token" in detail


def test_a_refused_token_is_still_permission() -> None:
    kind, _ = _classify(auth_errors.RefreshError("invalid_grant: Bad Request"))
    assert kind == "permission"


@pytest.mark.parametrize("limit", [0, -1, -(10**12)])
def test_max_bytes_must_be_positive(limit: int) -> None:
    with pytest.raises(EngineError) as caught:
        connect(LOCAL, maximum_bytes_billed=limit)
    assert caught.value.kind == "other"
    assert "--max-bytes" in caught.value.message and str(limit) in caught.value.message


@pytest.mark.parametrize("value", ["0", "-5", "0_000", "1.5", ""])
def test_the_url_limit_must_be_positive(value: str) -> None:
    with pytest.raises(URLError, match="at least 1"):
        parse_url(f"bigquery://p/d?maximum_bytes_billed={value}")


# ---------------------------------------------------------------- emulators by name (issue 22.6)


def _no_google_credentials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No application default credentials anywhere: only anonymous clients can be made."""
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.delenv("BIGQUERY_EMULATOR_HOST", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "gcloud"))  # no gcloud login

    def no_default(*args: object, **kwargs: object) -> None:  # as on a machine without any
        raise auth_errors.DefaultCredentialsError("Your default credentials were not found.")

    monkeypatch.setattr("google.auth.default", no_default)


@pytest.mark.parametrize(
    ("url", "environment"),
    [
        ("bigquery://test-proj/ds?api_endpoint=http://emulator:9050&credentials=anonymous", None),
        ("bigquery://test-proj/ds?credentials=anonymous", "http://emulator:9050"),
        ("bigquery://test-proj/ds", "http://127.0.0.1:9050"),
    ],
)
def test_an_emulator_by_name_is_anonymous_when_the_url_says_so(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    url: str,
    environment: str | None,
) -> None:
    _no_google_credentials(tmp_path, monkeypatch)
    if environment is not None:
        monkeypatch.setenv("BIGQUERY_EMULATOR_HOST", environment)
    with connect(url) as engine:
        assert isinstance(engine, BigQueryEngine) and engine.emulator
        credentials = engine.client._credentials  # type: ignore[attr-defined]
        endpoint = engine.client._connection.API_BASE_URL  # type: ignore[attr-defined]
    assert type(credentials).__name__ == "AnonymousCredentials"
    assert endpoint == (environment or "http://emulator:9050")


def test_an_emulator_by_name_without_the_option_asks_for_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_google_credentials(tmp_path, monkeypatch)
    with pytest.raises(EngineError) as caught:
        connect("bigquery://test-proj/ds?api_endpoint=http://emulator:9050")
    assert caught.value.kind == "permission"
    assert "add credentials=anonymous to the URL" in caught.value.message


def test_credentials_default_is_never_anonymous(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _no_google_credentials(tmp_path, monkeypatch)
    with pytest.raises(EngineError) as caught:
        connect(LOCAL + "&credentials=default")
    assert caught.value.kind == "permission"


def test_anonymous_needs_an_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _no_google_credentials(tmp_path, monkeypatch)
    with pytest.raises(EngineError) as caught:
        connect("bigquery://test-proj/ds?credentials=anonymous")
    assert "credentials=anonymous is for an emulator" in caught.value.message
