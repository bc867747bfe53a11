"""`-s` selectors (names, globs, tag:, owner:, kind:) → definitions, on every command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from segdsl.diagnostics import CompileError
from segdsl.project import Project
from segdsl.selection import select, select_one
from tests.support.demo_copies import DemoCopies

ROOT = Path(__file__).resolve().parents[1]

SOURCE = """segdsl 1
entity customer from shop.customers {
  key id
  city: string
}
measure orders "Orders" = 1
segment cart_a "A" owner "crm" tags ["email", "cart"] = city = "a"
segment cart_b "B" owner "crm" tags ["cart"] = city = "b"
segment loyal "C" tags ["email"] = city = "c"
classifier tier "T" owner "sales" {
  x when city = "x"
  else y
}
"""


@pytest.fixture(scope="module")
def definitions() -> dict[str, object]:
    analysis = Project.from_text(SOURCE).analyze()
    assert analysis.ok, analysis.diagnostics
    return dict(analysis.definitions)


def problems(definitions: dict[str, object], *selectors: str) -> list[tuple[str, str, str]]:
    with pytest.raises(CompileError) as raised:
        select(definitions, selectors)  # type: ignore[arg-type]
    return [(d.code, d.message, d.help or "") for d in raised.value.diagnostics]


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["loyal"], ["loyal"]),
        (["loyal", "cart_a"], ["loyal", "cart_a"]),  # names keep the order given
        (["cart_*"], ["cart_a", "cart_b"]),
        (["*_[ab]"], ["cart_a", "cart_b"]),
        (["tag:email"], ["cart_a", "loyal"]),
        (["tag:cart", "tag:email"], ["cart_a", "cart_b", "loyal"]),  # a union, no repeats
        (["owner:sales"], ["tier"]),
        (["kind:measure", "c*"], ["orders", "cart_a", "cart_b"]),
        (["kind:classifier"], ["tier"]),
        (["loyal", "loyal"], ["loyal"]),
        (["CART_*"], None),  # globs are case-sensitive, like names
    ],
)
def test_selectors(
    definitions: dict[str, object], selectors: list[str], expected: list[str] | None
) -> None:
    if expected is None:
        assert problems(definitions, *selectors)[0][0] == "SEG535"
        return
    assert select(definitions, selectors) == expected  # type: ignore[arg-type]


def test_selecting_nothing_is_an_error_with_a_suggestion(definitions: dict[str, object]) -> None:
    found = problems(
        definitions,
        "tag:emial",
        "owner:nobody",
        "kart_*",
        "*_loyl",
        "*qqq",
        "team:crm",
        "tags:email",
        "loyl",
    )
    assert found == [
        (
            "SEG535",
            "no definition has tag `emial`",
            "did you mean `email`? (tags in this project: cart, email)",
        ),
        ("SEG535", "no definition has owner `nobody`", "owners in this project: crm, sales"),
        ("SEG535", "no definition matches `kart_*`", "did you mean `cart_*`?"),
        ("SEG535", "no definition matches `*_loyl`", "did you mean `*loyal`?"),
        ("SEG535", "no definition matches `*qqq`", "`seg list` shows every definition"),
        (
            "SEG536",
            "unknown selector method `team:` in `team:crm`",
            "selectors: a name, a glob like `cart_*`, tag:NAME, owner:NAME or kind:KIND",
        ),
        (
            "SEG536",
            "unknown selector method `tags:` in `tags:email`",
            "did you mean `tag`? (selectors: a name, a glob like `cart_*`, tag:NAME, "
            "owner:NAME or kind:KIND)",
        ),
        (
            "SEG502",
            "no segment, classifier, split or measure called `loyl`",
            "did you mean `loyal`?",
        ),
    ]


def test_select_one(definitions: dict[str, object]) -> None:
    assert select_one(definitions, "l*") == "loyal"  # type: ignore[arg-type]
    with pytest.raises(CompileError) as raised:
        select_one(definitions, "cart_*")  # type: ignore[arg-type]
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.code == "SEG537" and "selects 2 definitions" in diagnostic.message


def seg(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "segdsl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_compile_takes_a_glob() -> None:
    by_glob = seg("compile", "examples", "-s", "b2b_*", "--dialect", "duckdb")
    by_names = seg(
        "compile",
        "examples",
        *("-s", "b2b_small", "-s", "b2b_mid"),
        *("-s", "b2b_large", "-s", "b2b_big_spenders"),
        "--dialect",
        "duckdb",
    )
    assert by_glob.returncode == 0, by_glob.stderr
    assert by_glob.stdout == by_names.stdout


def test_explain_needs_a_selector_that_selects_one() -> None:
    several = seg("explain", "examples", "-s", "b2b_*")
    assert several.returncode == 2 and "error[SEG537]" in several.stderr
    one = seg("explain", "examples", "-s", "new_cust*")
    assert one.returncode == 0 and one.stdout.startswith("segment new_customers")


def test_unknown_tag_is_a_usage_error_on_the_command_line() -> None:
    result = seg("list", "examples", "-s", "tag:lifecylce")
    assert result.returncode == 2 and result.stdout == ""
    assert "error[SEG535]: no definition has tag `lifecylce`" in result.stderr
    assert "did you mean `lifecycle`?" in result.stderr


def test_overlap_takes_the_segments_a_selector_brings(
    tmp_path: Path, demo_copies: DemoCopies
) -> None:
    """`owner:crm` brings a split and a classifier too: overlap leaves them out, while a
    classifier named as such is still a usage error."""
    demo_copies.copy(tmp_path / "demo.duckdb", scale=0.02)
    db = f"duckdb:///{tmp_path / 'demo.duckdb'}"
    by_owner = seg("overlap", "examples", "--db", db, "-s", "owner:crm", "-s", "loyal")
    assert by_owner.returncode == 0, by_owner.stderr
    header = by_owner.stdout.splitlines()[2].split()
    assert header == ["new_customers", "loyal"]
    named = seg("overlap", "examples", "--db", db, "-s", "lifecycle", "-s", "loyal")
    assert named.returncode == 2 and "`lifecycle` is a classifier" in named.stderr
