"""Demo e-commerce warehouse: a scale factor → a deterministic DuckDB file (schema ``shop``).

``build_demo_database(path, scale=1.0)`` writes ``customers``, ``orders``, ``order_items`` and
``events`` covering the two years before :data:`DEMO_AS_OF`. Scale 1 is 10,000 customers and
about 200,000 events; everything grows linearly with the scale. All rows are generated
inside DuckDB from ``range()`` and integer hashing (see ``_sqlgen``), so the same scale gives
the same table contents on every run and machine. ``copy_to_postgres`` streams the result
into a PostgreSQL schema.

The data is shaped so that the product's example segments are non-empty: lifecycle groups
(prospects, new, loyal, active monthly big spenders, churn risk, sleeping), December peaks,
pet-food replenishment, cart abandonment, e-mail engagement, heavy mobile-app users, B2B
company-size bands, and a planted "woman, 35-45, Moscow, bought twice in the last month,
added a carpet to the cart but did not buy it, opened 3 e-mails" group. A few rows sit
exactly on boundaries (midnight, month ends, exactly 30 days before the as-of time).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import duckdb

from segdsl.demo import _catalog as cat
from segdsl.demo._sqlgen import (
    MACROS,
    below,
    day_number,
    lit,
    str_list,
    total_weight,
    weighted,
)

__all__ = [
    "DEMO_AS_OF",
    "DEMO_SCHEMA",
    "DEMO_TABLES",
    "DemoSummary",
    "build_demo_database",
    "copy_to_postgres",
    "customers_for_scale",
]

DEMO_AS_OF: datetime = datetime(2025, 7, 1, 0, 0, 0)
"""The as-of time of the demo data (naive, UTC wall clock); every row is strictly before it."""

DEMO_SCHEMA = "shop"
DEMO_TABLES: tuple[str, ...] = ("customers", "orders", "order_items", "events")
CUSTOMERS_PER_SCALE = 10_000
# DuckDB spills sorts and joins to disk beyond this; scale 100 needs no more.
_MEMORY_LIMIT = "2GB"

_AS_OF_DATE = DEMO_AS_OF.date()
_AS_OF_EPOCH = int((DEMO_AS_OF - datetime(1970, 1, 1)).total_seconds())
_DAY = 86_400


def connect_quietly(path: str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that draws no progress bar (it writes to stdout on long
    statements, as a large demo's)."""
    con = duckdb.connect(path, read_only=read_only)
    con.execute("SET enable_progress_bar = false")
    return con


def _d(day: date) -> int:
    return day_number(day, _AS_OF_DATE)


_FIRST_DAY = _d(date(2023, 7, 1))  # -731: the data starts at this midnight
_DEC23 = (_d(date(2023, 12, 1)), _d(date(2024, 1, 1)))
_DEC24 = (_d(date(2024, 12, 1)), _d(date(2025, 1, 1)))
_APR25, _MAY25, _JUN25 = _d(date(2025, 4, 1)), _d(date(2025, 5, 1)), _d(date(2025, 6, 1))
_BLACK_FRIDAY = (_d(date(2024, 11, 25)), _d(date(2024, 12, 3)))


@dataclass(frozen=True)
class DemoSummary:
    """What ``build_demo_database`` wrote."""

    path: Path
    scale: float
    row_counts: dict[str, int]
    seconds: float


def copy_to_postgres(
    duckdb_path: Path | str, dsn: str, schema: str = "shop", *, batch_rows: int = 100_000
) -> dict[str, int]:
    """Copy the demo warehouse into a Postgres schema (see `postgres_copy.copy_to_postgres`).

    Imported on use: the Postgres driver is an extra (``segdsl[postgres]``).
    """
    from segdsl.demo import postgres_copy

    return postgres_copy.copy_to_postgres(duckdb_path, dsn, schema, batch_rows=batch_rows)


def copy_to_clickhouse(duckdb_path: Path | str, url: str, database: str = "shop") -> dict[str, int]:
    """Copy the demo warehouse into a ClickHouse database (see
    `clickhouse_copy.copy_to_clickhouse`); ``url`` is a ``clickhouse://`` URL (a server, or
    the embedded chdb on a folder).

    Imported on use: the ClickHouse clients are extras (``segdsl[clickhouse]``, ``[chdb]``).
    """
    from segdsl.demo import clickhouse_copy
    from segdsl.engines import connect
    from segdsl.engines.clickhouse_engine import ClickHouseEngine

    with connect(url) as engine:
        if not isinstance(engine, ClickHouseEngine):
            raise ValueError(f"not a ClickHouse URL: {url}")
        return clickhouse_copy.copy_to_clickhouse(duckdb_path, engine, database)


def customers_for_scale(scale: float) -> int:
    """Number of customers generated for ``scale`` (10,000 per unit, at least 1)."""
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be a positive finite number, got {scale!r}")
    return max(1, round(CUSTOMERS_PER_SCALE * scale))


def build_demo_database(
    path: Path | str,
    *,
    scale: float = 1.0,
    progress: Callable[[str], None] | None = None,
) -> DemoSummary:
    """Generate the demo warehouse into the DuckDB file ``path``.

    An existing file is replaced atomically: the data is built in a temporary file next to
    it and renamed over it at the end.
    """
    started = time.perf_counter()
    n_customers = customers_for_scale(scale)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.building")
    _remove_db_files(tmp)
    say = progress or (lambda _msg: None)
    try:
        con = connect_quietly(str(tmp))
        try:
            counts = _generate(con, n_customers, say)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        # a stale WAL next to the target would be replayed into the new file
        with contextlib.suppress(FileNotFoundError):
            os.remove(f"{target}.wal")
        os.replace(tmp, target)
    finally:
        _remove_db_files(tmp)
    seconds = time.perf_counter() - started
    say(f"done in {seconds:.1f}s: {target}")
    return DemoSummary(path=target, scale=scale, row_counts=counts, seconds=seconds)


def _remove_db_files(path: Path) -> None:
    for p in (path, Path(f"{path}.wal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _generate(
    con: duckdb.DuckDBPyConnection, n_customers: int, say: Callable[[str], None]
) -> dict[str, int]:
    con.execute(f"SET memory_limit = '{_MEMORY_LIMIT}'")
    for macro in MACROS:
        con.execute(macro)
    con.execute(
        f"CREATE OR REPLACE TEMP MACRO ts_rel(r) AS "
        f"make_timestamp((({_AS_OF_EPOCH}::BIGINT + (r)) * 1000000)::BIGINT)"
    )
    con.execute(_catalog_sql())
    steps: Sequence[tuple[str, str]] = (
        ("customer traits", _customer_traits_sql(n_customers)),
        ("order plan", _order_plan_sql()),
        ("order slots", _order_slots_sql()),
        ("orders (draft)", _order_draft_sql()),
        ("order items (draft)", _order_items_draft_sql()),
        ("sessions", _sessions_sql()),
        ("e-mails", _emails_sql()),
    )
    for label, sql in steps:
        t = time.perf_counter()
        con.execute(sql)
        say(f"{label}: {time.perf_counter() - t:.1f}s")
    con.execute(f"CREATE SCHEMA {DEMO_SCHEMA}")
    counts: dict[str, int] = {}
    for table, ddl, insert in _final_tables():
        t = time.perf_counter()
        con.execute(ddl)
        con.execute(insert)
        row = con.execute(f"SELECT count(*) FROM {DEMO_SCHEMA}.{table}").fetchone()
        counts[table] = int(row[0]) if row else 0
        say(f"{DEMO_SCHEMA}.{table}: {counts[table]:,} rows in {time.perf_counter() - t:.1f}s")
    return counts


# ----------------------------------------------------------------------------- catalog

_POOLS = cat.product_pools()


def _catalog_sql() -> str:
    rows = [
        f"({lit(pool)}, {i}, {lit(p.name)}, {lit(p.category)}, {p.price_cents})"
        for pool, products in _POOLS.items()
        for i, p in enumerate(products)
    ]
    return (
        "CREATE TEMP TABLE g_catalog AS SELECT * FROM (VALUES "
        + ", ".join(rows)
        + ") AS t(pool, idx, product, category, price_cents)"
    )


def _pool_size(pool_expr: str) -> str:
    arms = " ".join(f"WHEN {lit(pool)} THEN {len(ps)}" for pool, ps in _POOLS.items())
    return f"(CASE {pool_expr} {arms} END)"


def _hour_sec(name: str, *keys: str, last_hour: int = 23) -> str:
    """Second of the day: an hour drawn by ``HOUR_WEIGHTS`` plus a uniform offset."""
    hours = [(str(h), w) for h, w in enumerate(cat.HOUR_WEIGHTS[: last_hour + 1])]
    hour = weighted(below(total_weight(hours), name + ".h", *keys), hours)
    span = 3600 if last_hour == 23 else 3000  # sessions end before midnight of the last day
    return f"(({hour}) * 3600 + {below(span, name + '.s', *keys)})"


def _pick(name: str, choices: Sequence[tuple[str, int]], *keys: str) -> str:
    """A weighted choice among string constants."""
    lits = [(lit(v), w) for v, w in choices]
    return weighted(below(total_weight(lits), name, *keys), lits)


# ----------------------------------------------------------------------------- customers

# persona → per mille share (golden is also planted on every id ≡ 7 mod 500)
_PERSONAS: tuple[tuple[str, int], ...] = (
    ("golden", 3),
    ("prospect", 250),
    ("new", 60),
    ("loyal", 80),
    ("active", 30),
    ("churn", 50),
    ("sleeping", 160),
    ("regular", 367),
)
# persona → signup day range [lo, hi] relative to the as-of date
_SIGNUP: dict[str, tuple[int, int]] = {
    "golden": (_FIRST_DAY, -90),
    "prospect": (_FIRST_DAY, -1),
    "new": (-150, -31),
    "loyal": (_FIRST_DAY, -300),
    "active": (_FIRST_DAY, -150),
    "churn": (_FIRST_DAY, -250),
    "sleeping": (_FIRST_DAY, -260),
    "regular": (_FIRST_DAY, -10),
}
_EDGE_SIGNUP = (_FIRST_DAY, -600)
_AGE_BANDS: tuple[tuple[int, int, int], ...] = (  # (lowest age, width, weight)
    (18, 7, 12),
    (25, 10, 26),
    (35, 10, 24),
    (45, 10, 18),
    (55, 10, 12),
    (65, 16, 8),
)
_LEAP_YEARS = tuple(y for y in range(1948, 2005, 4))


def _customer_traits_sql(n: int) -> str:
    k = "id"
    persona = weighted(below(1000, "persona", k), [(lit(p), w) for p, w in _PERSONAS])
    signup = " ".join(
        f"WHEN {lit(p)} THEN {lo} + {below(hi - lo + 1, 'signup.day', k)}"
        for p, (lo, hi) in _SIGNUP.items()
    )
    edge_lo, edge_hi = _EDGE_SIGNUP
    city_idx = weighted(
        below(1000, "city", k), [(str(i + 1), c[3]) for i, c in enumerate(cat.CITIES)]
    )
    band = weighted(
        below(total_weight([("", b[2]) for b in _AGE_BANDS]), "age.band", k),
        [(str(i + 1), b[2]) for i, b in enumerate(_AGE_BANDS)],
    )
    band_lo = "[" + ", ".join(str(b[0]) for b in _AGE_BANDS) + "]"
    band_w = "[" + ", ".join(str(b[1]) for b in _AGE_BANDS) + "]"
    return f"""
CREATE TEMP TABLE g_cust AS
WITH d AS (
  SELECT id,
    id % 500 = 7 AS planted_golden,
    id % 97 = 13 AS edge,
    {persona} AS drawn_persona,
    {below(100, "ghost", k)} AS r_ghost,
    {below(100, "b2b", k)} AS r_b2b,
    {below(100, "optin", k)} AS r_optin,
    {below(100, "email.level", k)} AS r_email,
    {below(100, "app.heavy", k)} AS r_app,
    {below(100, "recent.cart", k)} AS r_cart,
    {below(100, "pet", k)} AS r_pet,
    {below(100, "pet.stop", k)} AS r_pet_stop,
    {below(71, "pet.stop.day", k)} AS r_pet_stop_day,
    {below(100, "coupon.lover", k)} AS r_coupon,
    {_pick("device", [("desktop", 45), ("mobile_web", 35), ("mobile_app", 20)], k)} AS drawn_device,
    {_pick("acquisition", cat.ACQUISITION_WEIGHTS, k)} AS acquisition_source,
    {below(86400, "signup.sec", k)} AS signup_sec,
    {below(edge_hi - edge_lo + 1, "edge.signup", k)} AS r_edge_signup,
    {city_idx} AS drawn_city,
    {below(100, "gender", k)} AS r_gender,
    {band} AS age_band,
    {below(1_000_000, "age", k)} AS r_age,
    {below(365, "birth.day", k)} AS r_birth_day,
    {below(100, "birth.null", k)} AS r_birth_null,
    {below(200, "birth.leap", k)} AS r_leap,
    {below(len(_LEAP_YEARS), "birth.leap.year", k)} AS r_leap_year,
    {below(100, "income", k)} AS r_income,
    {below(100, "company.band", k)} AS r_cband,
    {below(1_000_000, "company.size", k)} AS r_csize,
    {below(len(cat.INDUSTRIES), "industry", k)} AS r_industry,
    {below(1000, "name", k)} AS r_name,
    {below(3, "domain", k)} AS r_domain
  FROM (SELECT i + 1 AS id FROM range({n}) t(i))
), p AS (
  SELECT *,
    CASE WHEN planted_golden THEN 'golden'
         WHEN edge AND drawn_persona <> 'golden' THEN 'regular'
         ELSE drawn_persona END AS persona
  FROM d
), q AS (
  SELECT *,
    persona = 'prospect' AND r_ghost < 14 AND NOT edge AS ghost,
    persona = 'golden' AS golden,
    persona <> 'golden' AND r_b2b < 8 AS is_b2b,
    persona = 'golden' OR r_optin < 65 AS marketing_opt_in,
    CASE WHEN edge AND persona <> 'golden' THEN {edge_lo} + r_edge_signup
         ELSE CASE persona {signup} END END AS signup_day,
    CASE WHEN persona = 'golden' THEN 35 + r_age % 11
         ELSE {band_lo}[age_band] + r_age % {band_w}[age_band] END AS age,
    CASE WHEN persona = 'golden' THEN 1 ELSE drawn_city END AS city_idx
  FROM p
)
SELECT *,
  NOT ghost AND persona <> 'sleeping' AND r_app < 6 AS app_heavy,
  golden OR (NOT ghost AND persona <> 'sleeping' AND r_cart < 12) AS recent_cart,
  persona IN ('regular', 'loyal') AND r_pet < 12 AS pet,
  CASE WHEN r_pet_stop < 30 THEN -110 + r_pet_stop_day ELSE 0 END AS pet_stop_day,
  r_coupon < 10 AS coupon_lover,
  CASE WHEN NOT ghost AND persona <> 'sleeping' AND r_app < 6 THEN 'mobile_app'
       ELSE drawn_device END AS device_pref,
  CASE WHEN NOT marketing_opt_in OR ghost THEN 'none'
       WHEN golden THEN 'golden'
       WHEN r_email < 15 THEN 'engaged'
       WHEN r_email < 60 THEN 'casual'
       ELSE 'unengaged' END AS email_level,
  {str_list([c[0] for c in cat.CITIES])}[city_idx] AS city,
  {str_list([c[1] for c in cat.CITIES])}[city_idx] AS region,
  {str_list([c[2] for c in cat.CITIES])}[city_idx] AS country
FROM q
"""


def _first_name_sql() -> str:
    arms: list[str] = []
    for country in cat.COUNTRIES:
        for gender in ("female", "male"):
            names = cat.FIRST_NAMES[(country, gender)]
            arms.append(
                f"WHEN country = {lit(country)} AND name_gender = {lit(gender)} "
                f"THEN {str_list(names)}[1 + r_name % {len(names)}]"
            )
    return f"CASE {' '.join(arms)} END"


def _email_domain_sql() -> str:
    arms = " ".join(
        f"WHEN {lit(country)} THEN {str_list(domains)}[1 + r_domain]"
        for country, domains in cat.EMAIL_DOMAINS.items()
    )
    return f"CASE country {arms} END"


def _customers_select() -> str:
    leap_years = "[" + ", ".join(str(y) for y in _LEAP_YEARS) + "]"
    return f"""
SELECT id, lower(first_name) || '.' || id || '@' ||
    CASE WHEN is_b2b THEN replace(industry, ' ', '') || '-co' || (id % 400) || '.com'
         ELSE {_email_domain_sql()} END AS email,
  first_name, gender, birth_date, city, region, country,
  ts_rel(signup_day * {_DAY} + signup_sec) AS signed_up_at,
  acquisition_source, is_b2b, company_size, industry, income_band, marketing_opt_in
FROM (
  SELECT *, {_first_name_sql()} AS first_name
  FROM (
    SELECT *,
      CASE WHEN golden THEN 'female'
           WHEN r_gender < 3 THEN NULL
           WHEN r_gender < 55 THEN 'female' ELSE 'male' END AS gender,
      CASE WHEN golden THEN 'female'
           WHEN r_gender < 3 THEN CASE WHEN r_name % 2 = 0 THEN 'female' ELSE 'male' END
           WHEN r_gender < 55 THEN 'female' ELSE 'male' END AS name_gender,
      CASE WHEN NOT golden AND r_birth_null < 5 THEN NULL
           WHEN NOT golden AND r_leap = 0 THEN make_date({leap_years}[1 + r_leap_year], 2, 29)
           ELSE (DATE '{_AS_OF_DATE.isoformat()}' - to_years(age::INTEGER)
                 - to_days(r_birth_day::INTEGER))::DATE END AS birth_date,
      CASE WHEN NOT is_b2b THEN NULL
           WHEN r_cband < 5 THEN [49, 50, 500, 501][1 + r_csize % 4]
           WHEN r_cband < 45 THEN 1 + r_csize % 49
           WHEN r_cband < 85 THEN 50 + r_csize % 451
           ELSE 501 + (r_csize % 150) * (r_csize % 130) END::INTEGER AS company_size,
      CASE WHEN is_b2b THEN {str_list(cat.INDUSTRIES)}[1 + r_industry] END AS industry,
      CASE WHEN r_income < 10 THEN NULL WHEN r_income < 40 THEN 'low'
           WHEN r_income < 85 THEN 'middle' ELSE 'high' END AS income_band
    FROM g_cust
  )
)
ORDER BY id
"""


# ----------------------------------------------------------------------------- orders


# Order groups (grp): 0 spread over the customer's life, 1 the persona's anchor orders,
# 2 churn-risk tail, 3/4/5 April/May/June 2025 for active buyers, 6 pet-food replenishment.
def _order_plan_sql() -> str:
    k = "id"
    main_n = f"""CASE persona
      WHEN 'loyal' THEN 4 + {below(6, "n.main", k)}
      WHEN 'active' THEN {below(4, "n.main", k)}
      WHEN 'churn' THEN {below(3, "n.main", k)}
      WHEN 'sleeping' THEN 1 + {below(4, "n.main", k)}
      WHEN 'regular' THEN {weighted(below(100, "n.main", k), [("1", 55), ("2", 30), ("3", 15)])}
      WHEN 'golden' THEN {below(3, "n.main", k)}
      ELSE 0 END"""
    main_end = """CASE persona WHEN 'active' THEN -91 WHEN 'churn' THEN -180
      WHEN 'sleeping' THEN -200 WHEN 'golden' THEN -60 ELSE 0 END"""
    anchor = f"""CASE persona
      WHEN 'loyal' THEN {{'n': 1, 'a': -85, 'b': 0}}
      WHEN 'new' THEN {{'n': 1 + ({below(100, "n.new", k)} < 25)::INTEGER, 'a': -29, 'b': 0}}
      WHEN 'golden' THEN {{'n': 2, 'a': -28, 'b': -2}}
      WHEN 'churn' THEN {{'n': 4 + {below(3, "n.churn", k)}, 'a': -180, 'b': -90}}
      END"""
    pet_a = f"signup_day + 5 + {below(30, 'pet.start', k)}"
    pet_step = f"46 + {below(13, 'pet.step', k)}"
    return f"""
CREATE TEMP TABLE g_plan AS
SELECT customer_id, grp, n, a, b, step FROM (
  SELECT id AS customer_id, 0 AS grp, {main_n} AS n, signup_day + 2 AS a, {main_end} AS b,
         0 AS step FROM g_cust
  UNION ALL
  SELECT customer_id, 1, x.n, x.a, x.b, 0 FROM (SELECT id AS customer_id, {anchor} AS x FROM g_cust)
  WHERE x IS NOT NULL
  UNION ALL
  SELECT id, 2, {below(2, "n.tail", k)}, -90, 0, 0 FROM g_cust WHERE persona = 'churn'
  UNION ALL
  SELECT id, 3, 1, {_APR25}, {_MAY25}, 0 FROM g_cust WHERE persona = 'active'
  UNION ALL
  SELECT id, 4, 1, {_MAY25}, {_JUN25}, 0 FROM g_cust WHERE persona = 'active'
  UNION ALL
  SELECT id, 5, 1, {_JUN25}, 0, 0 FROM g_cust WHERE persona = 'active'
  UNION ALL
  SELECT customer_id, 6,
         CASE WHEN b - 4 > a THEN (b - 4 - a) // step + 1 ELSE 0 END, a, b, step
  FROM (SELECT id AS customer_id, {pet_a} AS a, pet_stop_day AS b, {pet_step} AS step
        FROM g_cust WHERE pet)
)
WHERE n > 0 AND a < b
"""


def _order_slots_sql() -> str:
    keys = ("customer_id", "grp * 32 + j")
    d23a, d23b = _DEC23
    d24a, d24b = _DEC24
    return f"""
CREATE TEMP TABLE g_slot AS
SELECT customer_id, grp, j,
  CASE
    WHEN grp = 6 THEN a + j * step + r_jitter - 3
    WHEN grp = 0 AND r_bump < 18 AND greatest(a, {d23a}) < least(b, {d23b})
         AND (r_year = 0 OR greatest(a, {d24a}) >= least(b, {d24b}))
      THEN greatest(a, {d23a}) + r_day % (least(b, {d23b}) - greatest(a, {d23a}))
    WHEN grp = 0 AND r_bump < 18 AND greatest(a, {d24a}) < least(b, {d24b})
      THEN greatest(a, {d24a}) + r_day % (least(b, {d24b}) - greatest(a, {d24a}))
    ELSE a + r_day % (b - a)
  END AS day,
  sec
FROM (
  SELECT *,
    {below(7, "slot.jitter", *keys)} AS r_jitter,
    {below(100, "slot.bump", *keys)} AS r_bump,
    {below(2, "slot.year", *keys)} AS r_year,
    {below(1 << 30, "slot.day", *keys)} AS r_day,
    {_hour_sec("slot.sec", *keys)} AS sec
  FROM (SELECT *, unnest(range(n)) AS j FROM g_plan)
)
"""


_COUPON_PCT: dict[str, int] = {
    "BF2024": 30,
    "SUMMER25": 25,
    "XMAS15": 15,
    "WELCOME10": 10,
    "LOYAL5": 5,
}


def _order_draft_sql() -> str:
    keys = ("customer_id", "grp * 32 + j")
    bf_a, bf_b = _BLACK_FRIDAY
    channel_app = _pick("order.channel", [("app", 65), ("web", 25), ("store", 10)], *keys)
    channel_web = _pick("order.channel", [("web", 68), ("app", 14), ("store", 18)], *keys)
    n_items = weighted(
        below(100, "order.items", *keys), [("1", 50), ("2", 28), ("3", 15), ("4", 7)]
    )
    return f"""
CREATE TEMP TABLE g_order AS
SELECT row_number() OVER (ORDER BY rel, customer_id, grp, j) AS id, *,
  CASE WHEN NOT has_coupon THEN NULL
       WHEN day >= {bf_a} AND day < {bf_b} THEN 'BF2024'
       WHEN month(ts_rel(rel)) IN (6, 7, 8) AND r_coupon_kind < 50 THEN 'SUMMER25'
       WHEN month(ts_rel(rel)) = 12 AND r_coupon_kind < 60 THEN 'XMAS15'
       WHEN r_coupon_kind < 60 THEN 'WELCOME10'
       ELSE 'LOYAL5' END AS coupon
FROM (
  SELECT s.customer_id, s.grp, s.j, s.day, s.day * {_DAY} + s.sec AS rel,
    c.persona, c.is_b2b, c.device_pref, c.signup_day,
    CASE WHEN c.device_pref = 'mobile_app' THEN {channel_app} ELSE {channel_web} END AS channel,
    CASE WHEN s.grp <> 0 THEN 'paid'
         ELSE {_pick("order.status", [("paid", 90), ("cancelled", 6), ("refunded", 4)], *keys)}
         END AS status,
    {below(100, "order.coupon", *keys)} < CASE WHEN c.coupon_lover THEN 75 ELSE 25 END
      AS has_coupon,
    {below(100, "order.coupon.kind", *keys)} AS r_coupon_kind,
    CASE WHEN s.grp = 6 THEN 1 + ({below(10, "order.pet.items", *keys)} < 3)::INTEGER
         ELSE {n_items} END AS n_items,
    {below(1 << 30, "order.product", *keys)} AS r_product,
    {below(1 << 30, "order.pet.staple", "s.customer_id")} AS r_staple
  FROM g_slot s JOIN g_cust c ON c.id = s.customer_id
)
"""


def _order_items_draft_sql() -> str:
    keys = ("order_id", "line_no")
    qty = weighted(below(100, "item.qty", *keys), [("1", 82), ("2", 13), ("3", 5)])
    return f"""
CREATE TEMP TABLE g_item AS
SELECT l.order_id, l.line_no, c.product, c.category, c.price_cents, l.quantity
FROM (
  SELECT *,
    CASE WHEN pool = 'pet' THEN r_staple ELSE r_product + (line_no - 1) * 7 END
      % {_pool_size("pool")} AS idx
  FROM (
    SELECT order_id, line_no, r_product, r_staple,
      CASE WHEN grp = 6 AND line_no = 1 THEN 'pet'
           WHEN grp = 6 THEN 'pet_food'
           WHEN persona = 'golden' THEN 'no_carpet'
           WHEN persona = 'active' AND line_no = 1 THEN 'premium'
           ELSE 'any' END AS pool,
      CASE WHEN grp = 6 THEN 1 + ({below(3, "item.pet.qty", *keys)} = 0)::INTEGER
           WHEN is_b2b THEN 1 + {below(6, "item.b2b.qty", *keys)}
           ELSE {qty} END AS quantity
    FROM (SELECT id AS order_id, grp, persona, is_b2b, r_product, r_staple,
                 unnest(range(1, n_items + 1)) AS line_no FROM g_order)
  )
) l JOIN g_catalog c ON c.pool = l.pool AND c.idx = l.idx
"""


def _coupon_pct_sql(expr: str) -> str:
    arms = " ".join(f"WHEN {lit(c)} THEN {p}" for c, p in _COUPON_PCT.items())
    return f"(CASE {expr} {arms} ELSE 0 END)"


# ----------------------------------------------------------------------------- sessions


# Session kinds: 0 browsing over the customer's life, 1 a recent cart visit (added, left),
# 2 heavy mobile-app use in the last 60 days.
def _sessions_sql() -> str:
    k = "id"
    browse_n = f"""CASE WHEN ghost THEN 0
      WHEN persona = 'sleeping' THEN 1 + {below(3, "sess.n", k)}
      WHEN persona = 'prospect' THEN 1 + {below(4, "sess.n", k)}
      ELSE {below(3, "sess.n", k)} END"""
    keys = ("customer_id", "kind * 64 + j")
    other_device = _pick(
        "sess.device.other", [("desktop", 50), ("mobile_web", 35), ("mobile_app", 15)], *keys
    )
    shop_cat = weighted(
        below(len(cat.SHOP_CATEGORIES), "sess.cat", *keys),
        [(lit(c), 1) for c in cat.SHOP_CATEGORIES],
    )
    add_flag = """(kind = 1 OR (focus NOT IN ('services', 'blog')
      AND (kind = 0 AND r_add < 12 OR kind = 2 AND r_add < 10)))"""
    return f"""
CREATE TEMP TABLE g_sess AS
SELECT customer_id, kind, j, rel, source, r_product, device, focus,
  CASE WHEN focus IN ('services', 'blog') THEN NULL ELSE focus END AS pool,
  {add_flag} AS add_flag,
  CASE WHEN kind = 2 THEN 1 + {below(2, "sess.pages", *keys)}
       WHEN kind = 1 THEN 2 + {below(3, "sess.pages", *keys)}
       WHEN {add_flag} THEN 2 + {below(4, "sess.pages", *keys)}
       ELSE 1 + {below(4, "sess.pages", *keys)} END AS n_pages,
  focus = 'services' AND {below(100, "sess.form", *keys)} < 35 AS form_flag
FROM (
  SELECT customer_id, kind, j, day * {_DAY} + sec AS rel, source, r_product, r_add,
    CASE WHEN kind = 2 THEN 'mobile_app'
         WHEN r_device < 80 THEN device_pref
         ELSE {other_device} END AS device,
    CASE WHEN kind = 1 AND golden THEN 'carpets'
         WHEN kind = 0 AND r_focus < CASE WHEN is_b2b THEN 35 ELSE 10 END THEN 'services'
         WHEN kind = 0 AND r_focus >= 90 THEN 'blog'
         WHEN pet AND r_focus % 4 = 0 THEN 'pet_food'
         ELSE {shop_cat} END AS focus
  FROM (
    SELECT p.*, c.device_pref, c.golden, c.is_b2b, c.pet,
      p.a + {below(1 << 30, "sess.day", *keys)} % (p.b - p.a) AS day,
      {_hour_sec("sess.sec", *keys, last_hour=22)} AS sec,
      CASE WHEN {below(100, "sess.src.own", *keys)} < 35 THEN c.acquisition_source
           ELSE {_pick("sess.src", cat.SESSION_SOURCE_WEIGHTS, *keys)} END AS source,
      {below(100, "sess.device", *keys)} AS r_device,
      {below(100, "sess.focus", *keys)} AS r_focus,
      {below(100, "sess.add", *keys)} AS r_add,
      {below(1 << 30, "sess.product", *keys)} AS r_product
    FROM (SELECT *, unnest(range(n)) AS j FROM (
      SELECT id AS customer_id, 0 AS kind, {browse_n} AS n, signup_day + 1 AS a,
             CASE WHEN persona = 'sleeping' THEN -61 ELSE 0 END AS b FROM g_cust
      UNION ALL
      SELECT id, 1, 1, greatest(signup_day + 1, -29), 0 FROM g_cust WHERE recent_cart
      UNION ALL
      SELECT id, 2, 8 + {below(13, "sess.app.n", k)}, greatest(signup_day + 1, -60), 0
      FROM g_cust WHERE app_heavy
    ) WHERE n > 0 AND a < b) p
    JOIN g_cust c ON c.id = p.customer_id
  )
)
"""


# ----------------------------------------------------------------------------- e-mails


# Campaign c (0 = newest) is sent on day -7c-3 at 08:00; opens follow within 47 hours.
def _emails_sql() -> str:
    k = "id"
    # the newest campaign sent after the signup day (-1: none); `//` truncates toward zero
    cmax = "CASE WHEN signup_day > -4 THEN -1 ELSE least(103, (-4 - signup_day) // 7) END"
    keys = ("customer_id", "kind * 64 + j")
    return f"""
CREATE TEMP TABLE g_mail AS
SELECT customer_id, kind, j, rel,
  {_pick("mail.device", [("mobile_web", 55), ("desktop", 45)], *keys)} AS device,
  CASE WHEN kind IN (0, 4) THEN j < 1 + {below(2, "mail.click.recent", *keys)}
       ELSE {below(100, "mail.click", *keys)} < 20 END AS clicked,
  {below(1140, "mail.click.delay", *keys)} AS r_click
FROM (
  SELECT *, (-7 * c - 3) * {_DAY} + 28800 + {below(47 * 3600, "mail.delay", *keys)} AS rel
  FROM (
    SELECT *, lo + {below("hi - lo + 1", "mail.campaign", *keys)} AS c
    FROM (SELECT *, unnest(range(n)) AS j FROM (
      SELECT id AS customer_id, 0 AS kind, 3 + {below(4, "mail.n0", k)} AS n, 0 AS lo,
             least(3, {cmax}) AS hi FROM g_cust WHERE email_level = 'engaged'
      UNION ALL
      SELECT id, 1, {below(9, "mail.n1", k)}, 4, {cmax} FROM g_cust WHERE email_level = 'engaged'
      UNION ALL
      SELECT id, 2, 1 + {below(6, "mail.n2", k)}, 0, {cmax} FROM g_cust
      WHERE email_level = 'casual'
      UNION ALL
      SELECT id, 3, {below(5, "mail.n3", k)}, 13, {cmax} FROM g_cust
      WHERE email_level = 'unengaged'
      UNION ALL
      SELECT id, 4, 3, 0, least(3, {cmax}) FROM g_cust WHERE email_level = 'golden'
    ) WHERE n > 0 AND lo <= hi)
  )
)
"""


# ----------------------------------------------------------------------------- final tables

# (timestamp, event_name, page_category, product) planted for the edge-case customers
_EDGE_EVENTS: tuple[tuple[str, str, str | None, str | None], ...] = (
    ("2024-01-31 00:00:00", "session_start", None, None),
    ("2024-01-31 00:00:00", "page_view", "home", None),
    ("2024-01-31 23:59:59", "view_item", "lighting", "Floor lamp Arc"),
    ("2024-02-28 00:00:00", "page_view", "blog", None),
    ("2024-02-29 00:00:00", "page_view", "services", None),
    ("2024-02-29 23:59:59", "view_item", "decor", "Wall clock"),
    ("2024-12-31 23:59:59", "view_item", "decor", "Scented candle"),
    ("2025-01-01 00:00:00", "session_start", None, None),
    ("2025-04-02 00:00:00", "page_view", "home", None),
    ("2025-05-02 00:00:00", "view_item", "kitchen", "Cast iron pan"),
    ("2025-06-01 00:00:00", "add_to_cart", "carpets", "Jute runner 80x250"),
    ("2025-06-30 23:59:59", "page_view", "home", None),
)


def _edge_values() -> str:
    def opt(v: str | None) -> str:
        return "NULL::VARCHAR" if v is None else lit(v)

    return ", ".join(
        f"(TIMESTAMP '{ts}', {lit(ev)}, {opt(pc)}, {opt(pr)})" for ts, ev, pc, pr in _EDGE_EVENTS
    )


def _events_select() -> str:
    okeys = ("id",)
    funnel_source = _pick("funnel.src", cat.SESSION_SOURCE_WEIGHTS, *okeys)
    return f"""
WITH first_item AS (
  SELECT order_id, product, category FROM g_item WHERE line_no = 1
), funnel AS (
  SELECT o.id, o.customer_id, o.rel, o.status, o.channel, o.day, o.signup_day,
    fi.product, fi.category,
    CASE o.channel WHEN 'app' THEN 'mobile_app' WHEN 'store' THEN NULL
         ELSE CASE WHEN o.device_pref = 'mobile_app' THEN 'mobile_web' ELSE o.device_pref END
         END AS device,
    CASE WHEN o.channel = 'store' THEN 'direct' ELSE {funnel_source} END AS source,
    400 + {below(1400, "funnel.len", *okeys)} AS len,
    {below(120, "funnel.gap", *okeys)} AS gap,
    {below(100, "funnel.research", *okeys)} AS r_research,
    86600 + {below(2 * _DAY - 400, "funnel.research.gap", *okeys)} AS research_gap
  FROM g_order o JOIN first_item fi ON fi.order_id = o.id
), funnel_events AS (
  SELECT customer_id,
    CASE WHEN channel = 'store' THEN rel
         ELSE CASE e WHEN 0 THEN rel - len WHEN 1 THEN rel - len + len // 4
                     WHEN 2 THEN rel - len // 2 WHEN 3 THEN rel - 60 - gap ELSE rel END
         END AS rel,
    CASE WHEN channel = 'store' THEN 'purchase'
         ELSE ['session_start', 'view_item', 'add_to_cart', 'begin_checkout', 'purchase'][e + 1]
         END AS event_name,
    CASE WHEN channel <> 'store' AND e = 0 THEN NULL ELSE category END AS page_category,
    CASE WHEN channel <> 'store' AND e = 0 THEN NULL ELSE product END AS product,
    device, source,
    CASE WHEN channel = 'store' THEN NULL ELSE 'o' || id END AS session_id
  FROM (SELECT *, unnest(range(CASE WHEN channel = 'store' THEN
                                      CASE WHEN status = 'paid' THEN 1 ELSE 0 END
                                    WHEN status = 'paid' THEN 5 ELSE 4 END)) AS e
        FROM funnel)
), research_events AS (
  SELECT customer_id, rel - research_gap + e * 50 + (e = 2)::INTEGER * 10 AS rel,
    ['session_start', 'view_item', 'add_to_cart'][e + 1] AS event_name,
    CASE WHEN e = 0 THEN NULL ELSE category END AS page_category,
    CASE WHEN e = 0 THEN NULL ELSE product END AS product,
    device, source, 'r' || id AS session_id
  FROM (SELECT *, unnest(range(3)) AS e FROM funnel
        WHERE status = 'paid' AND channel <> 'store' AND r_research < 25
          AND day >= signup_day + 4)
), session_events AS (
  SELECT s.customer_id, s.rel + s.e * 75 + s.r_off AS rel, s.event_name,
    CASE WHEN s.event_name = 'session_start' THEN NULL
         WHEN s.event_name = 'form_submit' THEN 'services'
         WHEN s.focus IN ('services', 'blog') THEN s.focus
         WHEN s.event_name = 'page_view' AND s.r_home THEN 'home'
         ELSE s.focus END AS page_category,
    c.product, s.device, s.source,
    ['b', 'c', 'a'][s.kind + 1] || s.customer_id || '-' || s.j AS session_id
  FROM (
    SELECT *,
      CASE WHEN e = 0 THEN 'session_start'
           WHEN e <= n_pages AND (pool IS NULL OR e = 1 AND n_pages > 1 AND NOT add_flag)
             THEN 'page_view'
           WHEN e <= n_pages THEN 'view_item'
           WHEN form_flag THEN 'form_submit'
           ELSE 'add_to_cart' END AS event_name,
      CASE WHEN pool IS NULL OR e = 0 THEN NULL
           ELSE (r_product + least(e, n_pages)) % {_pool_size("pool")} END AS idx,
      {below(60, "sess.ev.off", "customer_id", "kind * 64 + j", "e")} AS r_off,
      {below(2, "sess.ev.home", "customer_id", "kind * 64 + j")} = 0 AS r_home
    FROM (SELECT *, unnest(range(1 + n_pages + (add_flag OR form_flag)::INTEGER)) AS e
          FROM g_sess)
  ) s LEFT JOIN g_catalog c ON c.pool = s.pool AND c.idx = s.idx
    AND s.event_name IN ('view_item', 'add_to_cart')
), mail_events AS (
  SELECT customer_id, CASE WHEN e = 0 THEN rel ELSE rel + 60 + r_click END AS rel,
    CASE WHEN e = 0 THEN 'email_open' ELSE 'email_click' END AS event_name,
    NULL::VARCHAR AS page_category, NULL::VARCHAR AS product, device,
    'email' AS source, NULL::VARCHAR AS session_id
  FROM (SELECT *, unnest(range(1 + clicked::INTEGER)) AS e FROM g_mail)
), edge_events AS (
  SELECT c.id AS customer_id, x.ts, x.event_name, x.page_category, x.product,
    'desktop' AS device, 'direct' AS source,
    'e' || c.id || '-' || strftime(x.ts, '%Y%m%d') AS session_id
  FROM g_cust c CROSS JOIN (VALUES {_edge_values()}) AS x(ts, event_name, page_category, product)
  WHERE c.edge AND NOT c.ghost
    AND x.ts > ts_rel(c.signup_day * {_DAY} + c.signup_sec)
)
SELECT customer_id, occurred_at, event_name, page_category, product, device, source, session_id
FROM (
  SELECT customer_id, ts_rel(rel) AS occurred_at, event_name, page_category, product, device,
         source, session_id FROM funnel_events
  UNION ALL
  SELECT customer_id, ts_rel(rel), event_name, page_category, product, device, source,
         session_id FROM research_events
  UNION ALL
  SELECT customer_id, ts_rel(rel), event_name, page_category, product, device, source,
         session_id FROM session_events
  UNION ALL
  SELECT customer_id, ts_rel(rel), event_name, page_category, product, device, source,
         session_id FROM mail_events
  UNION ALL
  SELECT customer_id, ts, event_name, page_category, product, device, source, session_id
  FROM edge_events
)
ORDER BY occurred_at, customer_id, session_id NULLS FIRST, event_name
"""


def _final_tables() -> list[tuple[str, str, str]]:
    s = DEMO_SCHEMA
    pct = _coupon_pct_sql("o.coupon")
    return [
        (
            "customers",
            f"""CREATE TABLE {s}.customers (id BIGINT PRIMARY KEY, email VARCHAR,
  first_name VARCHAR, gender VARCHAR, birth_date DATE, city VARCHAR, region VARCHAR,
  country VARCHAR, signed_up_at TIMESTAMP, acquisition_source VARCHAR, is_b2b BOOLEAN,
  company_size INTEGER, industry VARCHAR, income_band VARCHAR, marketing_opt_in BOOLEAN)""",
            f"INSERT INTO {s}.customers {_customers_select()}",
        ),
        (
            "orders",
            f"""CREATE TABLE {s}.orders (id BIGINT PRIMARY KEY, customer_id BIGINT,
  ordered_at TIMESTAMP, amount DECIMAL(12,2), discount DECIMAL(12,2), coupon VARCHAR,
  channel VARCHAR, status VARCHAR)""",
            f"""INSERT INTO {s}.orders
SELECT id, customer_id, ts_rel(rel), ((subtotal - discount) * 0.01)::DECIMAL(12,2),
  (discount * 0.01)::DECIMAL(12,2), coupon, channel, status
FROM (
  SELECT o.id, o.customer_id, o.rel, o.coupon, o.channel, o.status, t.subtotal,
    (t.subtotal * {pct} + 50) // 100 AS discount
  FROM g_order o JOIN (SELECT order_id, sum(price_cents * quantity) AS subtotal
                       FROM g_item GROUP BY order_id) t ON t.order_id = o.id
)
ORDER BY id""",
        ),
        (
            "order_items",
            f"""CREATE TABLE {s}.order_items (order_id BIGINT, line_no INTEGER,
  product VARCHAR, category VARCHAR, price DECIMAL(12,2), quantity INTEGER)""",
            f"""INSERT INTO {s}.order_items
SELECT order_id, line_no, product, category, (price_cents * 0.01)::DECIMAL(12,2), quantity
FROM g_item ORDER BY order_id, line_no""",
        ),
        (
            "events",
            f"""CREATE TABLE {s}.events (customer_id BIGINT, occurred_at TIMESTAMP,
  event_name VARCHAR, page_category VARCHAR, product VARCHAR, device VARCHAR,
  source VARCHAR, session_id VARCHAR)""",
            f"INSERT INTO {s}.events {_events_select()}",
        ),
    ]
