"""A seeded generator of random, valid segment conditions over the example model
(examples/*.seg): attributes, measures, segments, the classifier and the split,
combined with and/or/not, comparisons, `between`, `in`, `is missing`, arithmetic,
text matches, windows, sequences, rankings and population aggregates.

Every condition it writes type-checks; `tests/test_fuzz.py` compiles each for every
dialect and runs it, so any exception other than a diagnostic is a bug.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

STRING_ATTRIBUTES = {
    "gender": ["female", "male"],
    "city": ["Moscow", "Kazan", "Saint Petersburg", "Berlin"],
    "country": ["Russia", "Germany"],
    "income_band": ["high", "low", "middle"],
    "acquisition_source": ["instagram_ads", "organic", "email"],
    "region": ["Tatarstan", "Moscow"],
    "industry": ["retail", "it"],
}
BOOLEAN_ATTRIBUTES = ["is_b2b", "marketing_opt_in"]
NUMBER_MEASURES = [
    "orders_count",
    "revenue",
    "avg_check",
    "orders_90d",
    "orders_prev_90d",
    "active_months_3",
    "coupon_orders",
]
RANK_MEASURES = ["r_score", "f_score", "m_score"]
TIME_MEASURES = ["first_order_at", "last_order_at", "last_visit_at"]
SEGMENTS = [
    "buyers",
    "prospects",
    "loyal",
    "sleeping",
    "women_35_45",
    "russian_cities",
    "cart_abandoners",
    "category_fans",
    "email_engaged",
    "champions",
    "abc_a",
    "high_value",
    "from_instagram",
    "cart_reminder_2h",
    "reminder_control",
    "lifecycle_at_risk",
]
POPULATIONS = ["buyers", "loyal", "repeat_buyers", "russian_cities"]


@dataclass(frozen=True)
class Table:
    name: str
    base: str  # the physical table whose columns it has
    numbers: tuple[str, ...]
    strings: dict[str, tuple[str, ...]]
    time: str


ORDER_STRINGS = {
    "status": ("paid", "cancelled"),
    "channel": ("web", "app"),
    "coupon": ("SPRING", "WELCOME10"),
}
EVENT_STRINGS = {
    "page_category": ("carpets", "services", "pets"),
    "device": ("mobile_app", "desktop"),
    "product": ("Dog food 10kg",),
    "source": ("email", "ads"),
}
ORDERS = ("amount", "discount")
TABLES = [
    Table("orders", "orders", ORDERS, ORDER_STRINGS, "ordered_at"),
    Table("paid_orders", "orders", ORDERS, ORDER_STRINGS, "ordered_at"),
    Table(
        "order_items",
        "order_items",
        ("price", "quantity"),
        {"category": ("carpets", "food"), "product": ("Dog food 10kg",)},
        "",
    ),
    Table("events", "events", (), EVENT_STRINGS, "occurred_at"),
    Table("cart_add_events", "events", (), EVENT_STRINGS, "occurred_at"),
    Table("purchase_events", "events", (), EVENT_STRINGS, "occurred_at"),
    Table("item_views", "events", (), EVENT_STRINGS, "occurred_at"),
    Table("email_opens", "events", (), EVENT_STRINGS, "occurred_at"),
    Table("service_visits", "events", (), EVENT_STRINGS, "occurred_at"),
]
TIMED_TABLES = [table for table in TABLES if table.time]
EVENT_TABLES = [table for table in TIMED_TABLES if table.base == "events"]
DURATIONS = [
    "1s",
    "90min",
    "2h",
    "1d",
    "3d",
    "7d",
    "30d",
    "45d",
    "1w",
    "1mo",
    "6mo",
    "1y",
    "recent",
]
WINDOWS = [
    "last {d}",
    "last {n} calendar months",
    "last {n} calendar weeks",
    "last {n} calendar days",
    "this month",
    "this year",
    "this quarter",
    "previous month",
    "previous week",
    "previous year",
    "between {d2} ago and {d} ago",
    "more than {d} ago",
    "since 2025-01-01",
    "before 2025-03-01",
    "after 2024-12-31T12:00:00",
    "until 2025-06-30",
    "from 2024-07-01 to 2025-06-30",
    "since previous month",
    "after {d} ago",
    "before this month",
]
COMPARE = ["=", "!=", "<", "<=", ">", ">="]

# Values at or past the edges of what dates, durations and lists can hold: each must
# give a diagnostic or run, never a crash.
EXTREME_DURATIONS = ["9999y", "99999y", "999999999d", "120000mo", "99999999999999999999s"]
EXTREME_WINDOWS = [
    "since 9999-12-31",
    "after 9999-12-31",
    "until 9999-12-31",
    "before 0001-01-01",
    "until 0001-01-01",
    "from 0001-01-01 to 9999-12-31",
    "last 99999999 calendar months",
    "last 5000 calendar years",
    "more than 3000y ago",
]
EXTREME_NUMBERS = ["99999999999999999999999", "0.000000000000000000001"]
EDGE_CHANCE = 0.02


class SegmentFuzzer:
    """Random valid conditions; `condition()` returns the text of one."""

    def __init__(self, seed: int, depth: int = 3) -> None:
        self.random = random.Random(seed)
        self.depth = depth
        self.edgy = False  # whether an extreme value was used (a diagnostic is then fine)

    def edge(self, options: list[str]) -> str | None:
        """Now and then one of the extreme `options`, remembered in `edgy`."""
        if self.chance(EDGE_CHANCE):
            self.edgy = True
            return self.pick(options)
        return None

    # -------------------------------------------------------------- small pieces
    def pick(self, options: list[T] | tuple[T, ...]) -> T:
        return self.random.choice(options)

    def chance(self, probability: float) -> bool:
        return self.random.random() < probability

    def duration(self) -> str:
        return self.edge(EXTREME_DURATIONS) or self.pick(DURATIONS)

    def window(self) -> str:
        extreme = self.edge(EXTREME_WINDOWS)
        if extreme:
            return extreme
        fixed = ["1d", "7d", "30d", "90d"]
        first = self.pick(fixed)
        later = fixed[fixed.index(first) :]
        template = self.pick(WINDOWS)
        return (
            template.replace("{d2}", self.pick(later[1:] or ["1y"]))
            .replace("{d}", first if "{d2}" in template or self.chance(0.5) else self.duration())
            .replace("{n}", str(self.random.randint(1, 4)))
        )

    def number(self) -> str:
        return self.edge(EXTREME_NUMBERS) or self.pick(
            ["0", "1", "2", "3", "5", "0.5", "100", "250.5", "1000", "-1", "0.001"]
        )

    def string_list(self, values: list[str] | tuple[str, ...]) -> str:
        if self.edge(["[]"]):
            return "[]"
        chosen = values[: self.random.randint(1, 3)]
        return "[" + ", ".join(f'"{value}"' for value in chosen) + "]"

    # -------------------------------------------------------------- table filters
    def row_condition(self, table: Table, depth: int = 1) -> str:
        choices = []
        for column, values in table.strings.items():
            choices += [
                f'{column} = "{self.pick(values)}"',
                f'{column} != "{self.pick(values)}"',
                f"{column} is {self.pick(['missing', 'present'])}",
                f"{column} {self.pick(['in', 'not in'])} {self.string_list(values)}",
                f'{column} {self.pick(["contains", "starts with", "ends with"])} "a"',
            ]
        for column in table.numbers:
            choices += [
                f"{column} {self.pick(COMPARE)} {self.number()}",
                f"{column} between {self.number()} and {self.number()}",
                f"{column} * 2 - 1 > {self.number()}",
            ]
        if table.time:
            choices += [
                f"{table.time} in {self.window()}",
                f"month({table.time}) = {self.random.randint(1, 12)}",
                f"weekday({table.time}) >= 6",
            ]
        text = self.pick(choices)
        if depth > 0 and self.chance(0.3):
            other = self.row_condition(table, depth - 1)
            text = (
                f"{text} {self.pick(['and', 'or'])} {'not ' if self.chance(0.3) else ''}({other})"
            )
        return text

    def during(self, table: Table) -> str:
        return f" during {self.window()}" if table.time and self.chance(0.5) else ""

    # -------------------------------------------------------------- values
    def aggregate(self) -> str:
        table = self.pick(TABLES)
        during = self.during(table)
        numeric = [f"sum({c}) of {table.name}" for c in table.numbers] + [
            f"{self.pick(['avg', 'min', 'max'])}({c}) of {table.name}" for c in table.numbers
        ]
        options = [f"count {table.name}", *numeric]
        if table.time:
            options.append(f"count distinct(month_start({table.time})) of {table.name}")
        if table.strings:
            column = self.pick(list(table.strings))
            options.append(f"count distinct({column}) of {table.name}")
            options.append(f"{self.pick(['max', 'min'])} count {table.name} per {column}")
        text = self.pick(options)
        if " per " not in text:
            text += during
        if " per " in text:
            return text
        if self.chance(0.4):
            return f"({text} where {self.row_condition(table)})"
        return text

    def numeric(self, depth: int) -> str:
        if self.chance(0.4):
            return self.aggregate()
        if depth > 0 and self.chance(0.25):
            return self.long_sum()
        options = [
            lambda: self.number(),
            lambda: self.pick(NUMBER_MEASURES),
            lambda: self.pick(RANK_MEASURES),
            lambda: "company_size",
            lambda: "age(birth_date)",
            lambda: self.aggregate(),
            lambda: "app_sessions",
            lambda: (
                f"ntile({self.random.randint(2, 5)}) of {self.pick(NUMBER_MEASURES)}"
                f" among {self.pick(POPULATIONS)}"
            ),
            lambda: (
                f"{self.pick(['avg', 'sum', 'min', 'max'])} {self.pick(NUMBER_MEASURES)}"
                f" among {self.pick(POPULATIONS)}"
            ),
            lambda: "revenue_share",
            lambda: (
                f"{self.pick(['first', 'last'])}({self.pick(['amount', 'discount'])}) of "
                f"{self.pick(['orders', 'paid_orders'])}"
            ),
            lambda: (
                f"cumulative share of {self.pick(NUMBER_MEASURES)} among {self.pick(POPULATIONS)}"
            ),
            lambda: f"ntile(3) of {self.pick(NUMBER_MEASURES)} among ({self.atom(0)})",
            lambda: f"percentile of {self.pick(NUMBER_MEASURES)} among {self.pick(POPULATIONS)}",
        ]
        if depth > 0:
            options += [
                lambda: self.long_sum(),
                lambda: (
                    f"{self.numeric(depth - 1)} {self.pick(['+', '-', '*', '/'])} "
                    f"{self.numeric(depth - 1)}"
                ),
                lambda: f"-({self.numeric(depth - 1)})",
                lambda: f"({self.numeric(depth - 1)})",
            ]
        return self.pick(options)()

    def long_sum(self) -> str:
        """Four to seven terms: long enough for the checker to regroup them."""
        text = self.pick(NUMBER_MEASURES)
        for _ in range(self.random.randint(3, 6)):
            operand = self.pick([*NUMBER_MEASURES, "1", "2.5"])
            text += f" {self.pick(['+', '-', '*', '+', '-'])} {operand}"
        return text

    def time_value(self) -> str:
        table = self.pick(TIMED_TABLES)
        return self.pick(
            [
                self.pick(TIME_MEASURES),
                "signed_up_at",
                f"last {table.name}{self.during(table)}",
                f"first {table.name}",
                f"nth({self.random.randint(1, 3)}) of {table.name}",
                f"(last {table.name} where {self.row_condition(table, 0)})",
                f"month_start({self.pick(TIME_MEASURES)})",
                "date(signed_up_at)",
            ]
        )

    def duration_value(self) -> str:
        return self.pick(
            [
                "recency",
                f"time since {self.time_value()}",
                f"time between {self.time_value()} and {self.time_value()}",
            ]
        )

    # -------------------------------------------------------------- conditions
    def atom(self, depth: int) -> str:
        attribute = self.pick(list(STRING_ATTRIBUTES))
        values = STRING_ATTRIBUTES[attribute]
        table = self.pick(TIMED_TABLES)
        events = self.pick(EVENT_TABLES)
        later = self.pick(EVENT_TABLES)
        options = [
            lambda: f"{self.numeric(depth)} {self.pick(COMPARE)} {self.numeric(depth)}",
            lambda: (
                f"{self.numeric(depth)} {'not ' if self.chance(0.3) else ''}between "
                f"{self.number()} and {self.number()}"
            ),
            lambda: f'{attribute} = "{self.pick(values)}"',
            lambda: f"{attribute} {self.pick(['in', 'not in'])} {self.string_list(values)}",
            lambda: (
                f"{self.pick([attribute, 'company_size', 'birth_date', *TIME_MEASURES])} "
                f"is {self.pick(['missing', 'present'])}"
            ),
            lambda: (
                f"{attribute} {self.pick(['contains', 'starts with', 'ends with'])} "
                f'"{self.pick(values)[:2]}"'
            ),
            lambda: self.pick(BOOLEAN_ATTRIBUTES),
            lambda: self.pick(SEGMENTS),
            lambda: f'lifecycle = "{self.pick(["new", "active", "at_risk", "churned"])}"',
            lambda: f'reminder_test {self.pick(["=", "!="])} "{self.pick(["target", "control"])}"',
            lambda: f"exists {table.name}{self.during(table)}",
            lambda: f"(exists {table.name} where {self.row_condition(table)})",
            lambda: f"{self.time_value()} {'not ' if self.chance(0.3) else ''}in {self.window()}",
            lambda: f"{self.time_value()} {self.pick(COMPARE)} {self.time_value()}",
            lambda: f"{self.time_value()} {self.pick(['<', '>='])} 2025-03-01",
            lambda: f"{self.duration_value()} {self.pick(COMPARE)} {self.duration()}",
            lambda: (
                f"{self.duration_value()} between {self.pick(['1d', '30d'])} and "
                f"{self.pick(['60d', '1y'])}"
            ),
            lambda: f"birth_date {self.pick(['<', '>'])} 1990-01-01",
            lambda: (
                f"{events.name}{self.during(events)} then {'no ' if self.chance(0.4) else ''}"
                f"{later.name}"
                + (f" within {self.pick(['2h', '3d', '30d'])}" if self.chance(0.7) else "")
            ),
            lambda: (
                f"({events.name} where {self.row_condition(events, 0)}) then "
                f"{'no ' if self.chance(0.4) else ''}{later.name} within 3d"
            ),
            lambda: (
                f"{self.pick(NUMBER_MEASURES)} in {self.pick(['top', 'bottom'])} "
                f"{self.pick(['1', '5', '10%', '50%'])}"
                + (f" among {self.pick(POPULATIONS)}" if self.chance(0.7) else "")
            ),
            lambda: f"month(first_order_at) {self.pick(COMPARE)} {self.random.randint(1, 12)}",
            lambda: "month_start(first_order_at) = 2025-03-01",
            lambda: "true" if self.chance(0.5) else "false",
        ]
        return self.pick(options)()

    def condition(self, depth: int | None = None) -> str:
        depth = self.depth if depth is None else depth
        if depth <= 0 or self.chance(0.35):
            return self.atom(1 if depth > 0 else 0)
        kind = self.pick(["and", "or", "not", "and3", "paren"])
        if kind == "not":
            return f"not ({self.condition(depth - 1)})"
        if kind == "paren":
            return f"({self.condition(depth - 1)})"
        count = 3 if kind == "and3" else 2
        joiner = " and " if kind != "or" else " or "
        return joiner.join(f"({self.condition(depth - 1)})" for _ in range(count))
