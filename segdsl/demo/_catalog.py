"""Static vocabularies of the demo warehouse: places, names, products → SQL literals.

Everything here is plain data; ``warehouse.py`` turns it into SQL expressions. Changing a
list changes the generated data (and the golden checksums in the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

# (city, region, country, weight in per mille)
CITIES: tuple[tuple[str, str, str, int], ...] = (
    ("Moscow", "Moscow", "Russia", 160),
    ("Saint Petersburg", "Saint Petersburg", "Russia", 90),
    ("Kazan", "Tatarstan", "Russia", 50),
    ("Novosibirsk", "Novosibirsk Oblast", "Russia", 30),
    ("London", "England", "UK", 140),
    ("Manchester", "England", "UK", 60),
    ("Berlin", "Berlin", "Germany", 100),
    ("Munich", "Bavaria", "Germany", 60),
    ("Hamburg", "Hamburg", "Germany", 40),
    ("New York", "New York", "USA", 140),
    ("Austin", "Texas", "USA", 60),
    ("Los Angeles", "California", "USA", 70),
)

COUNTRIES: tuple[str, ...] = ("Russia", "UK", "Germany", "USA")

FIRST_NAMES: dict[tuple[str, str], tuple[str, ...]] = {
    ("Russia", "female"): (
        "Anna",
        "Maria",
        "Elena",
        "Olga",
        "Natalia",
        "Irina",
        "Ekaterina",
        "Svetlana",
        "Tatiana",
        "Daria",
    ),
    ("Russia", "male"): (
        "Alexander",
        "Dmitry",
        "Sergey",
        "Andrey",
        "Alexey",
        "Maxim",
        "Ivan",
        "Mikhail",
        "Nikolai",
        "Pavel",
    ),
    ("UK", "female"): (
        "Olivia",
        "Emily",
        "Sophie",
        "Charlotte",
        "Amelia",
        "Jessica",
        "Hannah",
        "Grace",
    ),
    ("UK", "male"): ("Oliver", "Harry", "George", "Jack", "Thomas", "James", "William", "Charlie"),
    ("Germany", "female"): (
        "Anna",
        "Lena",
        "Lea",
        "Hannah",
        "Julia",
        "Laura",
        "Sarah",
        "Katharina",
    ),
    ("Germany", "male"): ("Lukas", "Leon", "Felix", "Jonas", "Maximilian", "Paul", "Finn", "Tim"),
    ("USA", "female"): (
        "Emma",
        "Ava",
        "Madison",
        "Abigail",
        "Emily",
        "Ashley",
        "Sarah",
        "Jennifer",
    ),
    ("USA", "male"): ("Liam", "Noah", "Ethan", "Mason", "Michael", "Daniel", "Matthew", "Jacob"),
}

EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "Russia": ("yandex.ru", "mail.ru", "gmail.com"),
    "UK": ("gmail.com", "outlook.com", "btinternet.com"),
    "Germany": ("web.de", "gmx.de", "gmail.com"),
    "USA": ("gmail.com", "yahoo.com", "outlook.com"),
}

INDUSTRIES: tuple[str, ...] = (
    "retail",
    "hospitality",
    "construction",
    "healthcare",
    "education",
    "it",
    "manufacturing",
)

# Traffic sources, shared by customers.acquisition_source and events.source.
ACQUISITION_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("google_ads", 22),
    ("instagram_ads", 14),
    ("facebook_ads", 10),
    ("organic", 22),
    ("direct", 12),
    ("referral", 10),
    ("email", 10),
)
SESSION_SOURCE_WEIGHTS: tuple[tuple[str, int], ...] = (
    ("google_ads", 18),
    ("instagram_ads", 9),
    ("facebook_ads", 7),
    ("email", 10),
    ("organic", 26),
    ("direct", 22),
    ("referral", 8),
)

# Relative weight of each hour of the day (UTC) for orders and sessions.
HOUR_WEIGHTS: tuple[int, ...] = (
    2,
    1,
    1,
    1,
    1,
    1,
    2,
    4,
    6,
    7,
    8,
    8,
    9,
    9,
    8,
    8,
    8,
    9,
    10,
    11,
    11,
    10,
    7,
    4,
)


@dataclass(frozen=True)
class Product:
    """One catalog entry; the price is in cents."""

    name: str
    category: str
    price_cents: int


PRODUCTS: tuple[Product, ...] = (
    Product("Persian rug 200x300", "carpets", 89900),
    Product("Wool carpet 160x230", "carpets", 45900),
    Product("Jute runner 80x250", "carpets", 12900),
    Product("Shaggy rug 120x170", "carpets", 15900),
    Product("Kids play mat", "carpets", 7900),
    Product("Outdoor rug 150x220", "carpets", 9900),
    Product("Oak dining table", "furniture", 119900),
    Product("Velvet sofa", "furniture", 149900),
    Product("Armchair Nordic", "furniture", 45900),
    Product("Bookshelf 5-tier", "furniture", 18900),
    Product("Bedside table", "furniture", 8900),
    Product("Office chair", "furniture", 32900),
    Product("Coffee table", "furniture", 21900),
    Product("Floor lamp Arc", "lighting", 24900),
    Product("Pendant light", "lighting", 13900),
    Product("Desk lamp LED", "lighting", 4900),
    Product("String lights 10m", "lighting", 1990),
    Product("Crystal chandelier", "lighting", 69900),
    Product("Chef knife set", "kitchen", 12900),
    Product("Cast iron pan", "kitchen", 5900),
    Product("Espresso machine", "kitchen", 39900),
    Product("Dinner set 18pc", "kitchen", 8900),
    Product("Glass storage jars", "kitchen", 2490),
    Product("Steel kettle", "kitchen", 4590),
    Product("Linen bedding set", "textiles", 11900),
    Product("Blackout curtains", "textiles", 6900),
    Product("Throw blanket", "textiles", 4490),
    Product("Bath towel set", "textiles", 3990),
    Product("Cushion cover", "textiles", 1490),
    Product("Round wall mirror", "decor", 9900),
    Product("Ceramic vase", "decor", 3490),
    Product("Photo frame set", "decor", 2290),
    Product("Scented candle", "decor", 1290),
    Product("Artificial plant", "decor", 4990),
    Product("Wall clock", "decor", 3990),
    Product("Dog food 10kg", "pet_food", 5490),
    Product("Cat food 4kg", "pet_food", 3290),
    Product("Dog treats 1kg", "pet_food", 1590),
    Product("Cat litter 10l", "pet_food", 1190),
)

SHOP_CATEGORIES: tuple[str, ...] = (
    "carpets",
    "furniture",
    "lighting",
    "kitchen",
    "textiles",
    "decor",
)

PREMIUM_MIN_CENTS = 30000


def popularity(product: Product) -> int:
    """How many times a product appears in a pool: cheaper products sell more often."""
    price = product.price_cents
    return 4 if price < 5000 else 3 if price < 15000 else 2 if price < 40000 else 1


def _weighted_pool(products: tuple[Product, ...]) -> tuple[Product, ...]:
    # Round r lists the products still "left" after r rounds, so repeats are spread out.
    rounds = max(popularity(p) for p in products)
    return tuple(p for r in range(rounds) for p in products if popularity(p) > r)


def product_pools() -> dict[str, tuple[Product, ...]]:
    """Named product pools that order lines and sessions draw from uniformly by position.

    A product appears ``popularity(product)`` times in each pool it belongs to; the order
    is significant (it is part of what makes the data deterministic).
    """
    groups: dict[str, tuple[Product, ...]] = {
        "any": tuple(p for p in PRODUCTS if p.category != "pet_food"),
        "no_carpet": tuple(p for p in PRODUCTS if p.category not in ("pet_food", "carpets")),
        "premium": tuple(p for p in PRODUCTS if p.price_cents >= PREMIUM_MIN_CENTS),
    }
    for category in (*SHOP_CATEGORIES, "pet_food"):
        groups[category] = tuple(p for p in PRODUCTS if p.category == category)
    pools = {name: _weighted_pool(products) for name, products in groups.items()}
    # The staples a replenishing customer re-buys every 45-60 days: mostly dog food.
    by_name = {p.name: p for p in PRODUCTS}
    pools["pet"] = tuple(by_name[n] for n in ("Dog food 10kg", "Cat food 4kg", "Dog food 10kg"))
    return pools
