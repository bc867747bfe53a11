"""The `seg docs` site in a real browser (headless Chromium, tests/support/browser.py).

The site is built by the command, for the examples on the demo warehouse (as in
docs/cli.md), and for the examples plus a file of hostile text; it is opened from disk
(`file://`), as a user opens it. Expected
counts come from the compiled project, not from the pages. Screenshots go to
$SEGDSL_SCREENSHOTS when set (docs/images/catalogue-*.png come from there:
`SEGDSL_SCREENSHOTS=docs/images python -m pytest tests/test_site_browser.py`), else to a
temporary folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from segdsl.compiler import Compiler
from segdsl.explain.report import funnel_steps
from segdsl.project import load_project
from segdsl.settings import DIALECT_NAMES
from segdsl.site.pages import page_name
from segdsl.source import Span
from tests.support import hostile
from tests.support.browser import PageErrors
from tests.support.demo_copies import DemoCopies

ROOT = Path(__file__).resolve().parents[1]
SEG = Path(sys.executable).parent / "seg"


@dataclass
class Site:
    root: Path
    compiler: Compiler
    shots: Path

    def url(self, page: str) -> str:
        return (self.root / page).as_uri()


def _build(work: Path, project: Path, *options: str) -> Path:
    out = work / f"site-{project.name}"
    result = subprocess.run(
        [SEG, "docs", str(project), "--out", str(out), *options],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return out


def _shots(work: Path) -> Path:
    shots = Path(os.environ.get("SEGDSL_SCREENSHOTS") or work / "screenshots")
    shots.mkdir(parents=True, exist_ok=True)
    return shots


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Site:
    """The examples on the demo warehouse at the scale docs/cli.md uses."""
    work = tmp_path_factory.mktemp("site")
    database = work / "demo.duckdb"
    demo_copies.copy(database)
    out = _build(work, ROOT / "examples", "--db", f"duckdb:///{database}")
    return Site(out, Compiler(load_project(ROOT / "examples")), _shots(work))


@pytest.fixture(scope="module")
def hostile_site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The examples and a file of hostile text, without numbers (tests/test_site.py checks
    the escaping of the pages with numbers)."""
    work = tmp_path_factory.mktemp("hostile")
    project = work / "examples"
    shutil.copytree(ROOT / "examples", project)
    (project / "hostile.seg").write_text(hostile.SOURCE, encoding="utf-8")
    return Site(_build(work, project), Compiler(load_project(project)), _shots(work))


@pytest.fixture
def page(browser: Any) -> Iterator[tuple[Any, PageErrors]]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    opened = context.new_page()
    yield opened, PageErrors(opened)
    context.close()


def _comment(span: Span) -> str:
    """The comment lines right above a definition."""
    lines = (ROOT / span.path).read_text(encoding="utf-8").split("\n")[: span.line - 1]
    found: list[str] = []
    while lines and lines[-1].startswith("#"):
        found.insert(0, lines.pop().lstrip("# "))
    return " ".join(found)


def _kinds(site: Site) -> dict[str, str]:
    return {name: d.kind for name, d in site.compiler.analysis.definitions.items()}


def test_index_search_and_filters(site: Site, page: tuple[Any, PageErrors]) -> None:
    browser_page, errors = page
    browser_page.goto(site.url("index.html"))
    definitions = site.compiler.analysis.definitions
    visible = browser_page.locator("#definitions tbody tr:visible")
    assert visible.count() == len(definitions)
    browser_page.screenshot(path=str(site.shots / "catalogue-index.png"))

    # search: name, description (else the comment above), owner and tags, ignoring case
    browser_page.locator("#search").press_sequentially("CART")
    expected = sorted(
        name
        for name, d in definitions.items()
        if "cart"
        in " ".join([name, d.description or _comment(d.span), d.owner or "", *d.tags]).lower()
    )
    assert 0 < len(expected) < len(definitions)
    names = sorted(visible.evaluate_all("rows => rows.map(r => r.dataset.name)"))
    assert names == expected
    assert browser_page.locator("#shown").inner_text() == (
        f"{len(expected)} of {len(definitions)} shown"
    )
    browser_page.locator("#search").fill("")

    # the tag, owner and kind filters, alone and together
    by_tag = sorted(name for name, d in definitions.items() if "lifecycle" in d.tags)
    assert by_tag
    browser_page.locator("#tag").select_option("lifecycle")
    assert sorted(visible.evaluate_all("rows => rows.map(r => r.dataset.name)")) == by_tag
    browser_page.locator("#tag").select_option("")
    browser_page.locator("#owner").select_option("crm")
    browser_page.locator("#kind").select_option("segment")
    by_owner = sorted(
        name for name, d in definitions.items() if d.owner == "crm" and d.kind == "segment"
    )
    assert 0 < len(by_owner) < len([d for d in definitions.values() if d.owner == "crm"])
    assert sorted(visible.evaluate_all("rows => rows.map(r => r.dataset.name)")) == by_owner

    # a tag link of a definition page opens the index filtered by it
    browser_page.goto(site.url("index.html") + "#tag=lifecycle")
    lifecycle = sorted(name for name, d in definitions.items() if "lifecycle" in d.tags)
    assert sorted(visible.evaluate_all("rows => rows.map(r => r.dataset.name)")) == lifecycle
    assert errors.all == []


def test_heatmap_has_a_cell_per_pair(site: Site, page: tuple[Any, PageErrors]) -> None:
    browser_page, errors = page
    browser_page.goto(site.url("overlap.html"))
    segments = [name for name, kind in _kinds(site).items() if kind == "segment"]
    cells = browser_page.locator("svg.heatmap rect.cell")
    assert cells.count() == len(segments) ** 2
    assert browser_page.locator("svg.heatmap text.row").count() == len(segments)
    title = cells.nth(1).locator("title").text_content()
    assert title is not None and " ∩ " in title and "Jaccard" in title
    box = browser_page.locator("svg.heatmap").bounding_box()
    assert box is not None and box["width"] > 0 and box["height"] > 0  # laid out, visible
    browser_page.screenshot(path=str(site.shots / "catalogue-overlap.png"), full_page=True)
    assert errors.all == []


def test_funnel_has_a_bar_per_step(site: Site, page: tuple[Any, PageErrors]) -> None:
    browser_page, errors = page
    browser_page.goto(site.url("d/" + page_name("carpet_hesitators")))
    steps = funnel_steps(site.compiler, "carpet_hesitators")
    bars = browser_page.locator("svg.funnel rect.mark")
    assert bars.count() == len(steps) + 1  # the population first
    widths = [bars.nth(i).bounding_box()["width"] for i in range(bars.count())]
    assert widths == sorted(widths, reverse=True)  # each step keeps at most the one before
    assert browser_page.locator("svg.graph .node.focus").count() == 1
    browser_page.screenshot(path=str(site.shots / "catalogue-definition.png"), full_page=True)
    # the SQL of every dialect, folded until opened
    dialects = browser_page.locator("details.sql summary")
    assert dialects.all_inner_texts() == list(DIALECT_NAMES)
    assert not browser_page.locator("details.sql pre").first.is_visible()
    dialects.first.click()
    assert browser_page.locator("details.sql pre").first.is_visible()
    assert errors.all == []


def test_hostile_text_shows_as_text(hostile_site: Site, page: tuple[Any, PageErrors]) -> None:
    browser_page, errors = page
    site = hostile_site
    browser_page.goto(site.url("d/" + page_name(hostile.NAME)))
    assert browser_page.locator("h1").inner_text() == f"segment {hostile.NAME}"
    assert browser_page.locator("p.lead").inner_text() == hostile.DESCRIPTION
    assert browser_page.locator("main img, main script, main b, main i").count() == 0
    browser_page.goto(site.url("index.html"))
    browser_page.locator("#search").fill("onerror")
    assert browser_page.locator("#definitions tbody tr:visible").count() == 1
    browser_page.goto(site.url("d/uses_hostile.html"))
    browser_page.locator("pre.code a.tok-def", has_text="onerror").first.click()
    assert browser_page.locator("h1").inner_text() == f"segment {hostile.NAME}"
    assert errors.all == []  # no alert() ran, no script failed
