"""The corpus fixture: a small shop where each customer is a story.

As-of time for every corpus test: 2025-07-01T00:00:00, project time zone UTC.

 1 Anna    loyal Moscow buyer, turns 40 on the as-of date, mobile app user
 2 Boris   one order in Nov 2024 (sleeping), cart add in June never followed
 3 Clara   prospect, leap-day birthday, carpets viewed 3×, cart add at 20:00 on June 30
 4 Dmitri  new customer (first order June 14), cart add answered within 2 h; no city, no birth date
 5 Eva     ordered in each of the last 3 calendar months, coupons, opens emails but never clicks
 6 Felix   signed up after the as-of time: not in the population
 7 Greta   B2B 600 employees, churn risk, dog food every ~6 weeks, Sunday orders
 8 Hugo    cart add exactly 2 h before the as-of time; another exactly 30 days before
 9 Ira     turns 35 on the as-of date, Moscow, 2 orders in June, carpet in cart but bought lamps
10 Jan     B2B 49 employees, only a cancelled order, an event without a time
11 Kira    December buyer in 2023 and 2024
12 Leo     nothing known: every attribute missing, no rows anywhere
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from tests.support.tables import TableSpec, table

AS_OF = "2025-07-01T00:00:00"
UTC = dt.UTC


def _d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def _ts(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def _tz(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _m(text: str) -> Decimal:
    return Decimal(text)


CUSTOMERS = table(
    "customers",
    {
        "id": "integer",
        "email": "string",
        "gender": "string",
        "birth_date": "date",
        "city": "string",
        "country": "string",
        "signed_up_at": "timestamptz",
        "source": "string",
        "company_size": "integer",
    },
    [
        (
            1,
            "anna@mail.ru",
            "female",
            _d("1985-07-01"),
            "Moscow",
            "RU",
            _tz("2023-01-10T09:00"),
            "instagram_ads",
            None,
        ),
        (
            2,
            "boris@gmail.com",
            "male",
            _d("1990-02-28"),
            "Kazan",
            "RU",
            _tz("2023-05-01T00:00"),
            "google_ads",
            None,
        ),
        (
            3,
            "clara@web.de",
            "female",
            _d("1988-02-29"),
            "Berlin",
            "DE",
            _tz("2024-02-29T12:00"),
            "organic",
            None,
        ),
        (
            4,
            "dmitri@yandex.ru",
            "male",
            None,
            None,
            "RU",
            _tz("2025-06-10T08:00"),
            "instagram_ads",
            None,
        ),
        (
            5,
            "eva@gmail.com",
            "female",
            _d("1980-07-02"),
            "Moscow",
            "RU",
            _tz("2022-03-03T03:03"),
            "email",
            None,
        ),
        (
            6,
            "felix@example.co.uk",
            "male",
            _d("2000-01-01"),
            "London",
            "GB",
            _tz("2025-08-01T00:00"),
            "organic",
            None,
        ),
        (
            7,
            "greta@example.de",
            None,
            _d("1979-12-31"),
            "Munich",
            "DE",
            _tz("2021-01-01T00:00"),
            "referral",
            600,
        ),
        (
            8,
            "hugo@example.com",
            "male",
            _d("1995-06-30"),
            "New York",
            "US",
            _tz("2025-05-05T05:05"),
            "facebook_ads",
            None,
        ),
        (
            9,
            "ira@corp.ru",
            "female",
            _d("1990-07-01"),
            "Moscow",
            "RU",
            _tz("2024-09-09T09:09"),
            "google_ads",
            50,
        ),
        (
            10,
            "jan@example.com",
            "male",
            None,
            "Austin",
            "US",
            _tz("2024-12-12T12:12"),
            "direct",
            49,
        ),
        (
            11,
            "kira@mail.ru",
            "female",
            _d("1986-03-15"),
            "Moscow",
            "RU",
            _tz("2023-11-11T11:11"),
            "instagram_ads",
            None,
        ),
        (12, None, None, None, None, None, None, None, None),
    ],
)

ORDERS = table(
    "orders",
    {
        "id": "integer",
        "customer_id": "integer",
        "ordered_at": "timestamp",
        "amount": "decimal",
        "coupon": "string",
        "status": "string",
        "channel": "string",
    },
    [
        (101, 1, _ts("2024-08-05T10:00"), _m("120.00"), None, "paid", "web"),
        (102, 1, _ts("2024-10-10T10:00"), _m("300.00"), None, "paid", "web"),
        (103, 1, _ts("2024-12-20T10:00"), _m("450.00"), "XMAS", "paid", "app"),
        (104, 1, _ts("2025-02-14T10:00"), _m("80.00"), None, "paid", "app"),
        (105, 1, _ts("2025-04-18T10:00"), _m("210.00"), None, "paid", "web"),
        (106, 1, _ts("2025-06-20T10:00"), _m("500.00"), None, "paid", "store"),
        (201, 2, _ts("2024-11-15T15:00"), _m("99.90"), None, "paid", "web"),
        (401, 4, _ts("2025-06-14T11:30"), _m("60.00"), "WELCOME10", "paid", "app"),
        (501, 5, _ts("2025-04-03T09:00"), _m("250.00"), "SPRING", "paid", "web"),
        (502, 5, _ts("2025-05-31T23:59:59"), _m("300.00"), "SPRING", "paid", "web"),
        (503, 5, _ts("2025-06-01T00:00"), _m("220.00"), None, "paid", "app"),
        (601, 6, _ts("2025-08-02T10:00"), _m("1000.00"), None, "paid", "web"),
        (701, 7, _ts("2025-01-05T10:00"), _m("100.00"), None, "paid", "store"),
        (702, 7, _ts("2025-02-10T10:00"), _m("100.00"), None, "paid", "store"),
        (703, 7, _ts("2025-03-15T10:00"), _m("100.00"), None, "paid", "store"),
        (704, 7, _ts("2025-03-30T10:00"), _m("100.00"), None, "paid", "store"),
        (705, 7, _ts("2025-05-10T10:00"), _m("100.00"), None, "paid", "store"),
        (801, 8, None, _m("999.00"), None, "paid", "web"),
        (901, 9, _ts("2025-06-05T12:00"), _m("150.00"), None, "paid", "web"),
        (902, 9, _ts("2025-06-25T12:00"), _m("175.50"), None, "paid", "web"),
        (1001, 10, _ts("2025-03-03T03:03"), _m("500.00"), None, "cancelled", "web"),
        (1101, 11, _ts("2023-12-10T10:00"), _m("80.00"), None, "paid", "web"),
        (1102, 11, _ts("2024-12-24T18:00"), _m("95.00"), None, "paid", "web"),
    ],
)

ORDER_ITEMS = table(
    "order_items",
    {
        "order_id": "integer",
        "line_no": "integer",
        "product": "string",
        "category": "string",
        "price": "decimal",
    },
    [
        (101, 1, "Lamp", "lighting", _m("120.00")),
        (102, 1, "Wool carpet", "carpets", _m("300.00")),
        (103, 1, "Sofa", "furniture", _m("450.00")),
        (104, 1, "Candle", "decor", _m("80.00")),
        (105, 1, "Kettle", "kitchen", _m("210.00")),
        (106, 1, "Armchair", "furniture", _m("500.00")),
        (201, 1, "Dog food 10kg", "pet_food", _m("99.90")),
        (401, 1, "Dog food 10kg", "pet_food", _m("60.00")),
        (501, 1, "Rug", "carpets", _m("250.00")),
        (502, 1, "Curtains", "textiles", _m("300.00")),
        (503, 1, "Dog food 10kg", "pet_food", _m("220.00")),
        (701, 1, "Dog food 10kg", "pet_food", _m("100.00")),
        (702, 1, "Dog food 10kg", "pet_food", _m("100.00")),
        (703, 1, "Dog food 10kg", "pet_food", _m("100.00")),
        (704, 1, "Dog food 10kg", "pet_food", _m("100.00")),
        (705, 1, "Dog food 10kg", "pet_food", _m("100.00")),
        (901, 1, "Lamp", "lighting", _m("150.00")),
        (902, 1, "Floor lamp", "lighting", _m("175.50")),
        (1001, 1, "Sofa", "furniture", _m("500.00")),
        (1101, 1, "Garland", "decor", _m("80.00")),
        (1102, 1, "Garland", "decor", _m("95.00")),
    ],
)

EVENTS = table(
    "events",
    {
        "customer_id": "integer",
        "occurred_at": "timestamptz",
        "name": "string",
        "page_category": "string",
        "device": "string",
    },
    [
        (1, _tz("2025-05-10T08:00"), "session_start", None, "mobile_app"),
        (1, _tz("2025-06-01T08:00"), "session_start", None, "mobile_app"),
        (1, _tz("2025-06-20T09:00"), "session_start", None, "mobile_app"),
        (1, _tz("2025-06-20T09:30"), "view_item", "furniture", "mobile_app"),
        (1, _tz("2025-06-20T09:45"), "add_to_cart", "furniture", "mobile_app"),
        (1, _tz("2025-06-20T10:00"), "purchase", "furniture", "mobile_app"),
        (2, _tz("2025-06-10T09:00"), "add_to_cart", "pet_food", "desktop"),
        (2, _tz("2025-07-01T00:00"), "page_view", "home", "desktop"),
        (2, _tz("2025-07-01T00:00:01"), "page_view", "home", "desktop"),
        (3, _tz("2025-06-10T10:00"), "page_view", "services", "desktop"),
        (3, _tz("2025-06-28T12:00"), "view_item", "carpets", "desktop"),
        (3, _tz("2025-06-28T12:05"), "view_item", "carpets", "desktop"),
        (3, _tz("2025-06-29T08:00"), "view_item", "carpets", "desktop"),
        (3, _tz("2025-06-30T20:00"), "add_to_cart", "carpets", "desktop"),
        (4, _tz("2025-06-14T10:00"), "add_to_cart", "pet_food", "mobile_web"),
        (4, _tz("2025-06-14T11:30"), "purchase", "pet_food", "mobile_web"),
        (5, _tz("2025-05-05T10:00"), "form_submit", "services", "desktop"),
        (5, _tz("2025-06-05T07:00"), "email_open", None, "mobile_web"),
        (5, _tz("2025-06-15T07:00"), "email_open", None, "mobile_web"),
        (5, _tz("2025-06-25T07:00"), "email_open", None, "mobile_web"),
        (7, _tz("2025-06-02T07:00"), "session_start", None, "mobile_app"),
        (8, _tz("2025-06-01T00:00"), "add_to_cart", "decor", "desktop"),
        (8, _tz("2025-06-15T15:00"), "page_view", "services", "desktop"),
        (8, _tz("2025-06-30T22:00"), "add_to_cart", "carpets", "desktop"),
        (9, _tz("2025-06-10T08:00"), "email_open", None, "mobile_web"),
        (9, _tz("2025-06-12T08:00"), "email_open", None, "mobile_web"),
        (9, _tz("2025-06-20T08:00"), "email_open", None, "mobile_web"),
        (9, _tz("2025-06-20T10:00"), "email_click", None, "mobile_web"),
        (9, _tz("2025-06-24T10:00"), "add_to_cart", "carpets", "desktop"),
        (9, _tz("2025-06-25T12:00"), "purchase", "lighting", "desktop"),
        (10, None, "page_view", "home", "desktop"),
        (11, _tz("2025-03-01T09:00"), "email_open", None, "desktop"),
    ],
)

VISITS = table(
    "visits",
    {"customer_id": "integer", "visit_date": "date", "channel": "string"},
    [
        (2, _d("2025-06-01"), "store"),
        (3, _d("2025-06-02"), "store"),
        (5, _d("2025-07-01"), "store"),
        (11, _d("2025-02-28"), "store"),
        (11, _d("2024-02-29"), "store"),
    ],
)

TABLES: tuple[TableSpec, ...] = (CUSTOMERS, ORDERS, ORDER_ITEMS, EVENTS, VISITS)
POPULATION = frozenset({1, 2, 3, 4, 5, 7, 8, 9, 10, 11, 12})
