"""`seg docs` and segdsl/site/ without a browser: escaping, numbers, ordering, the output
folder. (tests/test_site_browser.py opens the site in Chromium.)"""

from __future__ import annotations

import itertools
import json
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from segdsl import execute
from segdsl.compiler import Compiler
from segdsl.engines import connect
from segdsl.explain.report import funnel_sql
from segdsl.project import load_project
from segdsl.settings import DIALECT_NAMES
from segdsl.site import gather, measure, write_site
from segdsl.site.data import Catalogue
from segdsl.site.highlight import highlight
from segdsl.site.ordering import jaccard, related_order
from segdsl.site.pages import page_name
from tests.support import hostile
from tests.support.demo_copies import DemoCopies

ROOT = Path(__file__).resolve().parents[1]
SEG = Path(sys.executable).parent / "seg"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.05)
    return f"duckdb:///{path}"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The examples plus the hostile file."""
    folder = tmp_path_factory.mktemp("project") / "examples"
    shutil.copytree(ROOT / "examples", folder)
    (folder / "hostile.seg").write_text(hostile.SOURCE, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def measured(project: Path, demo: str) -> tuple[Compiler, Catalogue]:
    compiler = Compiler(load_project(project))
    catalogue = gather(compiler, compiler.as_of(None), "examples")
    with connect(demo) as engine:
        catalogue.numbers = measure(compiler, engine, catalogue)
    return compiler, catalogue


def seg(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SEG, *args], cwd=cwd, capture_output=True, text=True, check=False)


class Elements(HTMLParser):
    """Every element and attribute of a page, and its text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parsed(path: Path) -> Elements:
    elements = Elements()
    elements.feed(path.read_text(encoding="utf-8"))
    return elements


# the elements the site writes; hostile text must add none
SITE_TAGS = {
    *("html", "head", "meta", "title", "link", "body", "header", "nav", "main", "script"),
    *("a", "span", "h1", "h2", "p", "strong", "code", "pre", "div", "ol", "li"),
    *("input", "select", "option", "table", "thead", "tbody", "tr", "th", "td"),
    *("details", "summary", "svg", "polyline", "circle", "title", "rect", "text", "g"),
    *("defs", "marker", "path"),
}


def test_hostile_text_is_escaped_on_every_page(
    measured: tuple[Compiler, Catalogue], tmp_path: Path
) -> None:
    _, catalogue = measured
    write_site(catalogue, tmp_path)
    pages = sorted(tmp_path.rglob("*.html"))
    assert len(pages) == len(catalogue.entries) + 2
    for path in pages:
        elements = parsed(path)
        tags = {tag for tag, _ in elements.tags}
        assert tags <= SITE_TAGS, (path.name, tags - SITE_TAGS)
        for tag, attrs in elements.tags:
            assert not any(name.startswith("on") for name in attrs), (path.name, tag, attrs)
            if tag == "script":
                assert attrs["src"] in ("assets/site.js", "../assets/site.js")
    page = parsed(tmp_path / "d" / page_name(hostile.NAME))
    text = "".join(page.text)
    for value in (hostile.NAME, hostile.DESCRIPTION, hostile.OWNER, hostile.TAG):
        assert value in text
    assert '<script>alert("comment")</script>' in text  # the comment, shown as written
    index = parsed(tmp_path / "index.html")
    row = next(a for t, a in index.tags if t == "tr" and a.get("data-name") == hostile.NAME)
    assert json.loads(row["data-tags"] or "") == [hostile.TAG, "email"]
    assert row["data-owner"] == hostile.OWNER


def test_funnels_match_explain(measured: tuple[Compiler, Catalogue], demo: str) -> None:
    """All funnels come from one query; each must equal `seg explain`'s own query."""
    compiler, catalogue = measured
    assert catalogue.numbers is not None
    with connect(demo) as engine:
        for name in catalogue.segments:
            sql, labels = funnel_sql(compiler, name, dialect="duckdb", as_of=catalogue.as_of)
            row = engine.query(sql).to_pylist()[0]
            expected = [("population", row["population"])] + [
                (label, row[f"step_{i + 1}"]) for i, label in enumerate(labels)
            ]
            assert catalogue.numbers.funnels[name] == expected, name


def test_history_matches_run_sizes(measured: tuple[Compiler, Catalogue], demo: str) -> None:
    compiler, catalogue = measured
    numbers = catalogue.numbers
    assert numbers is not None
    assert len(numbers.history) == 8
    assert numbers.history[-1].as_of == catalogue.as_of
    walls = [point.as_of.wall for point in numbers.history]
    days = [(later - earlier).days for earlier, later in itertools.pairwise(walls)]
    assert days == [7] * 7
    with connect(demo) as engine:
        for point in (numbers.history[0], numbers.history[3]):
            sizes = execute.run_sizes(compiler, engine, catalogue.segments, point.as_of)
            assert (point.population, point.sizes) == (sizes.population, sizes.segments)


def test_site_without_database(project: Path, tmp_path: Path) -> None:
    result = seg("docs", str(project), "--out", str(tmp_path / "site"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    compiler = Compiler(load_project(project))
    definitions = compiler.analysis.definitions
    assert result.stdout == (
        f"{len(definitions) + 2} pages written to {tmp_path / 'site'}; "
        f"open {tmp_path / 'site' / 'index.html'}\n"
    )
    site = tmp_path / "site"
    for path in site.rglob("*.html"):
        html = path.read_text(encoding="utf-8")
        for chart in ("sparkline", "funnel", "heatmap", "labels"):
            assert f'class="{chart}"' not in html, (path.name, chart)
    page = (site / "d" / "carpet_hesitators.html").read_text(encoding="utf-8")
    assert page.count("<li><code>") == 6  # the funnel's conditions, uncounted
    assert 'class="graph"' in page and page.count('<details class="sql">') == len(DIALECT_NAMES)
    assert "--db" in (site / "overlap.html").read_text(encoding="utf-8")


def test_output_folder_rules(project: Path, tmp_path: Path) -> None:
    foreign = tmp_path / "notes"
    foreign.mkdir()
    (foreign / "todo.txt").write_text("mine")
    result = seg("docs", str(project), "--out", str(foreign), cwd=tmp_path)
    assert result.returncode == 2
    assert "error[SEG530]" in result.stderr and "was not written by `seg docs`" in result.stderr
    assert [p.name for p in foreign.iterdir()] == ["todo.txt"]

    a_file = tmp_path / "file.html"
    a_file.write_text("x")
    result = seg("docs", str(project), "--out", str(a_file), cwd=tmp_path)
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr

    site = tmp_path / "site"
    assert seg("docs", str(project), "--out", str(site), cwd=tmp_path).returncode == 0
    (project.parent / "less").mkdir()
    smaller = project.parent / "less" / "examples"
    shutil.copytree(project, smaller)
    (smaller / "hostile.seg").unlink()
    assert seg("docs", str(smaller), "--out", str(site), cwd=tmp_path).returncode == 0
    assert not (site / "d" / "uses_hostile.html").exists()  # a removed definition's page
    assert (site / "d" / "loyal.html").exists()


def test_related_segments_sit_together() -> None:
    # two groups sharing members within, none across, given interleaved
    sizes = {"a1": 100, "b1": 80, "a2": 90, "b2": 70, "a3": 60, "b3": 50}
    group = {name: name[0] for name in sizes}
    matrix = {
        x: {y: sizes[x] if x == y else (40 if group[x] == group[y] else 0) for y in sizes}
        for x in sizes
    }
    order = related_order(list(sizes), matrix)
    assert sorted(order) == sorted(sizes)
    groups = "".join(group[name] for name in order)
    assert groups in ("aaabbb", "bbbaaa")
    assert related_order(list(sizes), matrix) == order  # deterministic
    assert jaccard(matrix, "a1", "a2") == 40 / (100 + 90 - 40)
    assert jaccard({"e": {"e": 0, "f": 0}, "f": {"e": 0, "f": 0}}, "e", "f") == 0.0


def test_page_names_are_distinct_files() -> None:
    names = ["loyal", "Loyal", "LOYAL", "a b", "a-b", hostile.NAME, "`x`"]
    files = [page_name(name) for name in names]
    assert page_name("loyal") == "loyal.html"
    assert len({f.lower() for f in files}) == len(names)  # case-insensitive file systems
    assert all(f.endswith(".html") and "/" not in f and "<" not in f for f in files)


def test_highlight_escapes_and_links() -> None:
    links = {"loyal": "loyal.html", "segment": "segment-x.html"}
    html = highlight('segment s = loyal and `segment` and city = "<b>" # 1 < 2', links.get)
    assert '<span class="tok-kw">segment</span> ' in html
    assert '<a class="tok-def" href="loyal.html">loyal</a>' in html
    assert '<a class="tok-def" href="segment-x.html">`segment`</a>' in html
    assert '<span class="tok-string">&quot;&lt;b&gt;&quot;</span>' in html
    assert '<span class="tok-comment"># 1 &lt; 2</span>' in html


def test_dependencies_both_ways(measured: tuple[Compiler, Catalogue]) -> None:
    _, catalogue = measured
    entries = catalogue.entries
    for entry in entries.values():
        for used in entry.uses:
            assert entry.name in entries[used].used_by
        for user in entry.used_by:
            assert entry.name in entries[user].uses
    assert "women_35_45" in entries["carpet_hesitators"].uses
    assert entries["uses_hostile"].uses == [hostile.NAME, "loyal"]


def test_charts_draw_a_mark_per_value() -> None:
    from segdsl.site import svg

    line = svg.sparkline([("2025-06-01", 5), ("2025-06-08", 7), ("2025-06-15", 6)])
    assert line.count('class="mark"') == 3 and "2025-06-08: 7" in line
    label = "and " + "x" * 300
    funnel = svg.funnel([("population", 10), ("<a>", 4), (label, 0)])
    assert funnel.count('class="mark"') == 3 and "&lt;a&gt;: 4 (40.0%)" in funnel
    width = int(funnel.split('width="')[1].split('"')[0])
    assert width >= len(label) * svg.FONT_WIDTH  # a long condition is not cut off
    matrix = {"a": {"a": 4, "b": 2}, "b": {"a": 2, "b": 3}}
    heat = svg.heatmap(["a", "b"], matrix, lambda n: f"{n}.html")
    assert heat.count('class="cell"') == 4
    assert "a ∩ b: 2 members; Jaccard 0.400" in heat
    bar = svg.label_bar({"x": 3, None: 1}, 10)
    assert bar.count('class="mark"') == 2 and "(none): 1 (10.0%)" in bar
