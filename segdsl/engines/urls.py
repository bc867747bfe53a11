"""Database URL text → a typed `DuckDBURL` / `PostgresURL` / `BigQueryURL`; `mask` hides secrets.

Accepted forms (SQLAlchemy's convention for file paths: three slashes and a
relative path, four slashes for an absolute one):

- ``duckdb://``, ``duckdb:///:memory:``, ``duckdb://:memory:`` — an in-memory database;
- ``duckdb:///relative/file.duckdb`` — relative to the current folder;
- ``duckdb:////abs/path/file.duckdb`` — absolute; ``?key=value`` become DuckDB config
  options, resource limits only (``memory_limit``, ``threads``, ...: `DUCKDB_OPTIONS`);
  anything that could open files, the network or extensions is refused;
- ``postgresql://user:pass@host:port/db?sslmode=require`` (also ``postgres://``,
  ``postgresql+psycopg://``); several hosts as ``h1:5432,h2:5433``; every query
  parameter is a libpq connection keyword;
- ``bigquery://project/dataset?location=EU&maximum_bytes_billed=1000000000&api_endpoint=...``
  (project and dataset optional; unknown parameters are refused so a misspelt
  cost guard is never silently ignored); ``credentials=anonymous`` talks to an
  emulator without Google credentials (automatic for a loopback endpoint),
  ``credentials=default`` always uses application default credentials.
- ``spark://local`` — a Spark session in this process (pyspark, local mode);
  ``sc://host:port`` (with Spark Connect's ``/;key=value`` parameters) — a Spark
  Connect server.
- ``clickhouse://user:pass@host:8123/database?secure=true`` — a ClickHouse server over
  HTTP(S) (clickhouse-connect); ``clickhouse:///relative/folder`` and
  ``clickhouse:////absolute/folder`` (also ``chdb://`` in place of ``clickhouse://``) —
  the embedded ClickHouse (chdb) on a data folder; ``clickhouse://`` — a private, empty
  database in this process's embedded ClickHouse, dropped at the end.

Percent-encoding is decoded in user names, passwords, database names and paths.
The ``repr``/``str`` of every parsed URL masks its passwords. This module
imports no database driver.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, unquote, urlsplit

__all__ = [
    "BigQueryURL",
    "ClickHouseURL",
    "DatabaseURL",
    "DuckDBURL",
    "PostgresURL",
    "SparkURL",
    "URLError",
    "mask",
    "parse_url",
    "redact",
]

MASK = "***"
_SECRET_PARAMS = frozenset({"password", "sslpassword", "pass", "passwd", "secret", "token"})
_BIGQUERY_PARAMS = frozenset({"location", "maximum_bytes_billed", "api_endpoint", "credentials"})
BIGQUERY_CREDENTIALS = ("anonymous", "default")
"""Values of a bigquery URL's ``credentials`` option."""
DUCKDB_OPTIONS = frozenset(
    {
        "memory_limit",
        "max_memory",
        "threads",
        "worker_threads",
        "max_temp_directory_size",
        "preserve_insertion_order",
    }
)
"""The DuckDB settings a URL may set: resources only, never access to files or extensions."""


class URLError(ValueError):
    """A database URL that cannot be used; the message never contains a password."""


class _MaskedRepr:
    """``repr``/``str`` of a parsed URL: its masked text, never a password."""

    raw: str

    def __repr__(self) -> str:
        return f"{type(self).__name__}({mask(self.raw)!r})"

    __str__ = __repr__


@dataclass(frozen=True, repr=False)
class DuckDBURL(_MaskedRepr):
    """A DuckDB database: a file path, or ``None`` for an in-memory database."""

    path: Path | None
    config: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    @property
    def in_memory(self) -> bool:
        return self.path is None


@dataclass(frozen=True, repr=False)
class PostgresURL(_MaskedRepr):
    """Decoded libpq connection keywords (host, port, user, password, dbname, ...)."""

    host: str | None
    port: str | None
    user: str | None
    password: str | None
    dbname: str | None
    params: dict[str, str] = field(default_factory=dict)
    raw: str = ""

    def connect_kwargs(self) -> dict[str, str]:
        """Keyword arguments for ``psycopg.connect`` (None values left out)."""
        base = {
            "host": self.host,
            "port": self.port,
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }
        kwargs = {key: value for key, value in base.items() if value is not None}
        kwargs.update(self.params)
        return kwargs


@dataclass(frozen=True, repr=False)
class BigQueryURL(_MaskedRepr):
    """A BigQuery project (None: the credentials' default) and optional default dataset."""

    project: str | None
    dataset: str | None
    location: str | None = None
    maximum_bytes_billed: int | None = None
    api_endpoint: str | None = None
    raw: str = ""
    credentials: str | None = None  # "anonymous", "default" or None (decided by the host)

    @property
    def is_local_emulator(self) -> bool:
        """True when ``api_endpoint`` points at a loopback address (no credentials needed)."""
        return self.api_endpoint is not None and is_loopback(self.api_endpoint)

    def anonymous(self, endpoint: str | None) -> bool:
        """Whether to connect without Google credentials to ``endpoint`` (the URL's
        ``api_endpoint``, else ``BIGQUERY_EMULATOR_HOST``; None: Google's own):
        ``credentials=anonymous`` says so, ``credentials=default`` says not; without
        either, only a loopback endpoint (an emulator on this machine) is anonymous."""
        if self.credentials is not None:
            return self.credentials == "anonymous"
        return endpoint is not None and is_loopback(endpoint)


def is_loopback(endpoint: str) -> bool:
    """``http://127.0.0.1:9050``, ``http://localhost:9050``, ``http://[::1]:9050``: this
    machine. A host name such as ``emulator`` is not (it may resolve anywhere)."""
    host = urlsplit(endpoint if "//" in endpoint else f"//{endpoint}").hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name: `emulator`, `127.0.0.1.example.com`
        return False


@dataclass(frozen=True, repr=False)
class SparkURL(_MaskedRepr):
    """A local Spark session (``remote`` None) or a Spark Connect server (``sc://…``)."""

    remote: str | None
    raw: str = ""

    @property
    def is_local(self) -> bool:
        return self.remote is None


@dataclass(frozen=True, repr=False)
class ClickHouseURL(_MaskedRepr):
    """A ClickHouse server (``host`` set), or the embedded ClickHouse (chdb) on the data
    folder ``path`` (neither: a private database in this process's embedded server)."""

    host: str | None = None
    port: int | None = None
    user: str | None = None
    password: str | None = None
    database: str | None = None
    secure: bool = False
    path: Path | None = None
    raw: str = ""

    @property
    def embedded(self) -> bool:
        return self.host is None


DatabaseURL = DuckDBURL | PostgresURL | BigQueryURL | SparkURL | ClickHouseURL


def parse_url(url: str) -> DatabaseURL:
    """Parse a database URL; raise `URLError` (with a masked message) if it is unusable."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        raise URLError(
            f"not a database URL: {mask(text)!r} "
            "(expected duckdb://, postgresql://, bigquery://, clickhouse://, spark://local or sc://)"
        )
    scheme = scheme.lower()
    if scheme == "duckdb":
        return _parse_duckdb(text, rest)
    if scheme in ("postgresql", "postgres", "postgresql+psycopg", "postgresql+psycopg2"):
        return _parse_postgres(text, rest)
    if scheme == "bigquery":
        return _parse_bigquery(text, rest)
    if scheme in ("spark", "sc"):
        return _parse_spark(text, scheme, rest)
    if scheme in ("clickhouse", "chdb"):
        return _parse_clickhouse(text, rest, embedded=scheme == "chdb")
    raise URLError(
        f"unsupported database URL scheme {scheme!r} in {mask(text)!r} "
        "(expected duckdb://, postgresql://, bigquery://, clickhouse://, spark://local or sc://)"
    )


def _split_query(rest: str) -> tuple[str, dict[str, str]]:
    base, _, query = rest.partition("?")
    base = base.partition("#")[0]
    query = query.partition("#")[0]
    return base, dict(parse_qsl(query, keep_blank_values=True))


def _parse_duckdb(raw: str, rest: str) -> DuckDBURL:
    base, params = _split_query(rest)
    host, slash, path = base.partition("/")
    if host not in ("", ":memory:"):
        raise URLError(
            f"a duckdb URL has no host: {mask(raw)!r} "
            "(use duckdb:///relative.duckdb or duckdb:////absolute/path.duckdb)"
        )
    if host == ":memory:" or not slash or path in ("", ":memory:"):
        if host == ":memory:" and path:
            raise URLError(f"unexpected path after :memory: in {mask(raw)!r}")
        return DuckDBURL(path=None, config=_duckdb_options(params, raw), raw=raw)
    return DuckDBURL(path=Path(unquote(path)), config=_duckdb_options(params, raw), raw=raw)


def _duckdb_options(params: dict[str, str], raw: str) -> dict[str, str]:
    """The URL's DuckDB options, if all are resource settings (`DUCKDB_OPTIONS`)."""
    refused = sorted(key for key in params if key.lower() not in DUCKDB_OPTIONS)
    if refused:
        raise URLError(
            f"duckdb URL option(s) {', '.join(refused)} not allowed in {mask(raw)!r} "
            f"(a URL may set only {', '.join(sorted(DUCKDB_OPTIONS))})"
        )
    return {key.lower(): value for key, value in params.items()}


_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]*\]|[^:]*)(?::(?P<port>[^:]*))?$")


def _parse_postgres(raw: str, rest: str) -> PostgresURL:
    base, params = _split_query(rest)
    netloc, _, path = base.partition("/")
    userinfo, at, hostlist = netloc.rpartition("@")
    if not at:
        userinfo, hostlist = "", netloc
    user: str | None = None
    password: str | None = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    hosts: list[str] = []
    ports: list[str] = []
    for item in hostlist.split(",") if hostlist else []:
        match = _HOST_PORT.match(item)
        if match is None:
            raise URLError(f"cannot read host and port {item!r} in {mask(raw)!r}")
        host = match["host"]
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        port = match["port"] or ""
        if port and not port.isdigit():
            raise URLError(f"port {port!r} is not a number in {mask(raw)!r}")
        hosts.append(unquote(host))
        ports.append(port)
    dbname = unquote(path) if path else None
    for key in ("host", "port", "user", "password", "dbname"):
        if key in params:
            value = params.pop(key)
            if key == "host":
                hosts = [value]
            elif key == "port":
                ports = [value]
            elif key == "user":
                user = value
            elif key == "password":
                password = value
            else:
                dbname = value
    return PostgresURL(
        host=",".join(hosts) if any(hosts) else None,
        port=",".join(ports) if any(ports) else None,
        user=user,
        password=password,
        dbname=dbname,
        params=params,
        raw=raw,
    )


def _parse_bigquery(raw: str, rest: str) -> BigQueryURL:
    base, params = _split_query(rest)
    project, _, dataset = base.partition("/")
    dataset = dataset.strip("/")
    if "/" in dataset:
        raise URLError(f"expected bigquery://project/dataset, got {mask(raw)!r}")
    unknown = sorted(set(params) - _BIGQUERY_PARAMS)
    if unknown:
        raise URLError(
            f"unknown bigquery URL parameter(s) {', '.join(unknown)} in {mask(raw)!r} "
            f"(known: {', '.join(sorted(_BIGQUERY_PARAMS))})"
        )
    limit: int | None = None
    if "maximum_bytes_billed" in params:
        text = params["maximum_bytes_billed"].replace("_", "")
        if not text.isdigit() or int(text) < 1:
            raise URLError(
                f"maximum_bytes_billed must be a whole number of bytes, at least 1, "
                f"in {mask(raw)!r}"
            )
        limit = int(text)
    credentials = params.get("credentials") or None
    if credentials is not None and credentials not in BIGQUERY_CREDENTIALS:
        raise URLError(
            f"credentials must be {' or '.join(BIGQUERY_CREDENTIALS)}, not {credentials!r}, "
            f"in {mask(raw)!r}"
        )
    return BigQueryURL(
        project=unquote(project) or None,
        dataset=unquote(dataset) or None,
        location=params.get("location") or None,
        maximum_bytes_billed=limit,
        api_endpoint=params.get("api_endpoint") or None,
        raw=raw,
        credentials=credentials,
    )


def _parse_spark(raw: str, scheme: str, rest: str) -> SparkURL:
    if scheme == "spark":
        if rest.strip("/") != "local":
            raise URLError(
                f"expected spark://local (a local session) or sc://host:port (Spark Connect), "
                f"got {mask(raw)!r}"
            )
        return SparkURL(remote=None, raw=raw)
    host = rest.partition("/")[0]
    match = _HOST_PORT.match(host)
    port = match["port"] if match else None
    if not host or match is None or not match["host"] or (port and not port.isdigit()):
        raise URLError(f"expected sc://host:port for Spark Connect, got {mask(raw)!r}")
    return SparkURL(remote=raw, raw=raw)


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def _parse_clickhouse(raw: str, rest: str, *, embedded: bool) -> ClickHouseURL:
    base, params = _split_query(rest)
    netloc, slash, path = base.partition("/")
    if embedded or not netloc:
        if params:
            raise URLError(f"an embedded ClickHouse URL takes no parameters: {mask(raw)!r}")
        if netloc:
            raise URLError(
                f"a chdb URL has no host: {mask(raw)!r} "
                "(use chdb:///relative/folder or chdb:////absolute/folder)"
            )
        folder = unquote(path) if slash else ""
        return ClickHouseURL(path=Path(folder) if folder else None, raw=raw)
    unknown = sorted(set(params) - {"secure"})
    if unknown:
        raise URLError(
            f"unknown clickhouse URL parameter(s) {', '.join(unknown)} in {mask(raw)!r} "
            "(known: secure)"
        )
    secure_text = params.get("secure", "").lower()
    if secure_text not in _TRUE + _FALSE:
        raise URLError(f"secure must be true or false in {mask(raw)!r}")
    userinfo, at, hostport = netloc.rpartition("@")
    user: str | None = None
    password: str | None = None
    if at:
        name, colon, secret = userinfo.partition(":")
        user = unquote(name) or None
        password = unquote(secret) if colon else None
    match = _HOST_PORT.match(hostport)
    if match is None or not match["host"]:
        raise URLError(f"cannot read host and port in {mask(raw)!r}")
    port_text = match["port"] or ""
    if port_text and not port_text.isdigit():
        raise URLError(f"port {port_text!r} is not a number in {mask(raw)!r}")
    host = match["host"].strip("[]")
    database = unquote(path.strip("/")) or None
    return ClickHouseURL(
        host=unquote(host),
        port=int(port_text) if port_text else None,
        user=user,
        password=password,
        database=database,
        secure=secure_text in _TRUE,
        raw=raw,
    )


# ---------------------------------------------------------------- masking

_USERINFO = re.compile(
    r"(?P<prefix>\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s:/@?#]*:)(?P<secret>[^\s]*)@(?=[^\s@]*(?:\s|$))"
)
_SECRET_NAMES = "|".join(sorted(_SECRET_PARAMS))
_QUERY_SECRET = re.compile(
    r"(?P<prefix>[?&;](?:" + _SECRET_NAMES + r")=)(?P<secret>[^&\s#]*)", re.IGNORECASE
)
_KEYWORD_SECRET = re.compile(  # libpq "key=value" strings
    r"(?P<prefix>(?<![?&;\w])(?:" + _SECRET_NAMES + r")\s*=\s*)"
    r"(?P<secret>'(?:[^'\\]|\\.)*'|[^\s']+)",
    re.IGNORECASE,
)


def mask(url: str) -> str:
    """``url`` (or any text holding URLs) with every password replaced by ``***``.

    Handles ``user:password@`` (the password may itself hold ``@`` or ``:``; the last
    ``@`` before the host ends it), ``?password=`` style query parameters and
    libpq ``password=...`` keywords. Never raises.
    """
    text = _USERINFO.sub(lambda m: m["prefix"] + MASK + "@", url)
    text = _QUERY_SECRET.sub(lambda m: m["prefix"] + MASK, text)
    return _KEYWORD_SECRET.sub(lambda m: m["prefix"] + MASK, text)


_MIN_SECRET_LENGTH = 4


def redact(text: str, secrets: tuple[str | None, ...] = ()) -> str:
    """`mask` applied to ``text``, then every known secret value replaced by ``***``.

    Secrets shorter than four characters are left to the URL-shaped masking, so a
    password such as ``a`` does not garble every message.
    """
    result = mask(text)
    for secret in secrets:
        if not secret or len(secret) < _MIN_SECRET_LENGTH:
            continue
        for form in {secret, quote(secret, safe=""), quote(secret)}:
            result = result.replace(form, MASK)
    return result


def secrets_of(url: DatabaseURL) -> tuple[str | None, ...]:
    """The secret values a parsed URL holds (for `redact`)."""
    if isinstance(url, PostgresURL):
        return (url.password, *(v for k, v in url.params.items() if k in _SECRET_PARAMS))
    if isinstance(url, ClickHouseURL):
        return (url.password,)
    return ()
