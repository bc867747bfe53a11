"""A Catalogue → the HTML files of the site: index.html, overlap.html, one page per
definition under d/, and the assets (one stylesheet, one small script) under assets/.

Pages are built with plain string joins; every value that comes from a `.seg` file or a
database goes through `esc` (names, descriptions, owners, tags, labels, SQL, words), so
a description holding `<script>` shows as text. Links are relative, so the folder works
from disk (`file://`) and from any web server, with no network.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

from segdsl.diagnostics import CompileError, Diagnostic
from segdsl.explain.dependencies import render_tree
from segdsl.site import svg
from segdsl.site.data import Catalogue, Entry, Numbers
from segdsl.site.highlight import highlight
from segdsl.site.ordering import jaccard, related_order
from segdsl.site.svg import count, esc, share
from segdsl.source import Span

MARKER = ".segdsl-site"  # in a folder `seg docs` wrote, so a rebuild may replace it
KIND_ORDER = ("segment", "classifier", "split", "measure")
ASSETS = ("style.css", "site.js")


def page_name(name: str) -> str:
    """The file of a definition's page: its name when that is a plain lower-case word,
    else a readable form plus a hash (names differing only in case, or holding characters
    a file name cannot, still get pages of their own on every file system)."""
    if re.fullmatch(r"[a-z0-9_]+", name):
        return f"{name}.html"
    readable = re.sub(r"[^a-z0-9_]+", "-", name.lower()).strip("-") or "definition"
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{readable}-{digest}.html"


def write_site(catalogue: Catalogue, out: Path) -> int:
    """Write the site into `out` (created if missing); returns the number of pages.

    A folder that exists, is not empty and was not written by `seg docs` is refused
    (SEG530), so a mistyped `--out` never overwrites other files."""
    _prepare(out)
    pages = {
        out / "index.html": index_page(catalogue),
        out / "overlap.html": overlap_page(catalogue),
    }
    for entry in catalogue.entries.values():
        pages[out / "d" / page_name(entry.name)] = definition_page(catalogue, entry)
    (out / "d").mkdir(parents=True, exist_ok=True)
    (out / "assets").mkdir(exist_ok=True)
    for asset in ASSETS:
        text = resources.files("segdsl.site").joinpath("assets", asset).read_text("utf-8")
        (out / "assets" / asset).write_text(text, encoding="utf-8")
    for path, html in pages.items():
        path.write_text(html, encoding="utf-8")
    (out / MARKER).write_text("written by `seg docs`; it replaces this folder's pages\n")
    return len(pages)


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        _refuse(out, f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not (out / MARKER).exists():
            _refuse(out, f"{out} is not empty and was not written by `seg docs`")
        shutil.rmtree(out / "d", ignore_errors=True)  # pages of definitions since removed
    out.mkdir(parents=True, exist_ok=True)


def _refuse(out: Path, message: str) -> None:
    raise CompileError(
        [
            Diagnostic(
                "SEG530",
                message,
                Span(str(out), 1, 1, 1, 1),
                "choose a new or empty folder for --out (or one an earlier `seg docs` wrote)",
            )
        ],
        {},
    )


# ------------------------------------------------------------------ layout
def _layout(catalogue: Catalogue, title: str, body: str, *, root: str) -> str:
    numbers = catalogue.numbers
    facts = [f"as of {esc(catalogue.as_of)}"]
    if numbers is not None:
        facts.append(f"on {esc(numbers.dialect)}")
        facts.append(f"population {count(numbers.population)}")
    else:
        facts.append("no database: definitions only")
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>"
        '<link rel="icon" href="data:,">'
        f'<link rel="stylesheet" href="{root}assets/style.css"></head>\n<body>'
        f'<header><a class="home" href="{root}index.html">{esc(catalogue.title)}</a>'
        f'<nav><a href="{root}index.html">Definitions</a>'
        f'<a href="{root}overlap.html">Overlap</a></nav>'
        f'<span class="facts">{" · ".join(facts)}</span></header>\n'
        f"<main>{body}</main>\n"
        f'<script src="{root}assets/site.js"></script></body></html>\n'
    )


def _tags(tags: Sequence[str], *, root: str) -> str:
    return " ".join(
        f'<a class="tag" data-tag="{esc(tag)}" href="{root}index.html#tag={esc(_hash(tag))}">'
        f"{esc(tag)}</a>"
        for tag in tags
    )


def _hash(value: str) -> str:
    from urllib.parse import quote

    return quote(value, safe="")


# ------------------------------------------------------------------ index
def index_page(catalogue: Catalogue) -> str:
    # by kind, each in the order of the files (a stable sort of the project's order)
    entries = sorted(catalogue.entries.values(), key=lambda e: KIND_ORDER.index(e.kind))
    numbers = catalogue.numbers
    tags = sorted({tag for entry in entries for tag in entry.tags})
    owners = sorted({entry.owner for entry in entries if entry.owner})
    kinds = [kind for kind in KIND_ORDER if any(e.kind == kind for e in entries)]
    counts = ", ".join(f"{sum(1 for e in entries if e.kind == kind)} {kind}s" for kind in kinds)
    controls = (
        '<div class="filters">'
        '<input id="search" type="search" placeholder="Search names, descriptions, owners, tags" '
        'autocomplete="off" aria-label="search">'
        + _select("kind", "every kind", kinds)
        + _select("tag", "every tag", tags)
        + _select("owner", "every owner", owners)
        + f'<span id="shown">{len(entries)} of {len(entries)} shown</span></div>'
    )
    weeks = len(numbers.history) if numbers else 0
    head = "<th>name</th><th>kind</th><th>description</th><th>owner</th><th>tags</th>"
    if numbers is not None:
        head += f'<th class="num">size</th><th class="num">share</th><th>last {weeks} weeks</th>'
    rows = [_index_row(entry, numbers) for entry in entries]
    body = (
        f"<h1>{esc(catalogue.title)}</h1>"
        f'<p class="lead">{esc(counts)}.'
        + (
            ""
            if numbers
            else " Built without a database: run <code>seg docs</code> with "
            "<code>--db</code> for sizes, trends, funnels and overlap."
        )
        + "</p>"
        + controls
        + f'<table id="definitions"><thead><tr>{head}</tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )
    return _layout(catalogue, catalogue.title, body, root="")


def _plural(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _select(name: str, everything: str, values: Sequence[str]) -> str:
    options = "".join(f'<option value="{esc(v)}">{esc(v)}</option>' for v in values)
    return (
        f'<select id="{name}" aria-label="{name}"><option value="">{esc(everything)}</option>'
        f"{options}</select>"
    )


def _index_row(entry: Entry, numbers: Numbers | None) -> str:
    text = " ".join(
        [entry.name, entry.description or entry.comment, entry.owner or "", *entry.tags]
    )
    about = (
        esc(entry.description)
        if entry.description
        else f'<span class="comment">{esc(entry.comment)}</span>'
    )
    cells = [
        f'<td><a href="d/{esc(page_name(entry.name))}">{esc(entry.name)}</a></td>',
        f'<td><span class="kind kind-{esc(entry.kind)}">{esc(entry.kind)}</span></td>',
        f"<td>{about}</td>",
        f"<td>{esc(entry.owner or '')}</td>",
        f"<td>{_tags(entry.tags, root='')}</td>",
    ]
    if numbers is not None:
        cells += _number_cells(entry, numbers)
    return (
        f'<tr data-name="{esc(entry.name)}" data-kind="{esc(entry.kind)}" '
        f'data-owner="{esc(entry.owner or "")}" data-tags="{esc(json.dumps(list(entry.tags)))}" '
        f'data-text="{esc(text.lower())}">' + "".join(cells) + "</tr>"
    )


def _number_cells(entry: Entry, numbers: Numbers) -> list[str]:
    population = numbers.population
    if entry.kind == "segment":
        size = numbers.sizes[entry.name]
        points = [
            (str(point.as_of.date), point.sizes[entry.name])
            for point in numbers.history
            if entry.name in point.sizes
        ]
        return [
            f'<td class="num">{count(size)}</td>',
            f'<td class="num">{share(size, population)}</td>',
            f"<td>{svg.sparkline(points)}</td>",
        ]
    if entry.kind in ("classifier", "split"):
        labels = numbers.labels.get(entry.name, {})
        labelled = sum(value for label, value in labels.items() if label is not None)
        return [
            f'<td class="num">{count(labelled)}</td>',
            f'<td class="num">{share(labelled, population)}</td>',
            f"<td>{svg.label_bar(labels, population, width=120, legend=False)}</td>",
        ]
    return ['<td class="num">–</td>', '<td class="num">–</td>', "<td></td>"]


# ------------------------------------------------------------------ overlap
def overlap_page(catalogue: Catalogue) -> str:
    numbers = catalogue.numbers
    segments = catalogue.segments
    if numbers is None or len(segments) < 2:
        reason = (
            "Built without a database: run <code>seg docs</code> with <code>--db</code> "
            "for the overlap of the segments."
            if numbers is None
            else "The overlap needs at least two segments."
        )
        body = f"<h1>Overlap</h1><p>{reason}</p>"
        return _layout(catalogue, "Overlap", body, root="")
    order = related_order(segments, numbers.overlap)
    body = (
        "<h1>Overlap</h1>"
        f'<p class="lead">How many members each pair of the {len(segments)} segments '
        "shares. The darker a cell, the higher the Jaccard index (members in both ÷ members "
        "in either); hover a cell for the counts. Segments are ordered so that those "
        "sharing members sit together (average-linkage clustering on the Jaccard "
        "distance); the diagonal is each segment.</p>"
        + '<div class="chart">'
        + svg.heatmap(order, numbers.overlap, lambda name: "d/" + page_name(name))
        + "</div>"
    )
    return _layout(catalogue, "Overlap", body, root="")


# ------------------------------------------------------------------ definition
def definition_page(catalogue: Catalogue, entry: Entry) -> str:
    root = "../"

    def link(name: str) -> str | None:
        return page_name(name) if name in catalogue.entries else None

    numbers = catalogue.numbers
    meta = [f"defined at <code>{esc(entry.location)}</code>"]
    if entry.owner:
        meta.append(f"owner <strong>{esc(entry.owner)}</strong>")
    if entry.tags:
        meta.append("tags " + _tags(entry.tags, root=root))
    sections = [
        f'<h1><span class="kind kind-{esc(entry.kind)}">{esc(entry.kind)}</span> '
        f"{esc(entry.name)}</h1>",
        f'<p class="lead">{esc(entry.description)}</p>' if entry.description else "",
        f'<p class="meta">{" · ".join(meta)}</p>',
    ]
    if numbers is not None:
        sections.append(_numbers_section(entry, numbers))
    sections.append(
        "<h2>Definition</h2>"
        f'<pre class="code">{highlight(entry.source_text, link)}</pre>'
        "<h2>In words</h2>"
        f'<pre class="words">{esc(chr(10).join(entry.words))}</pre>'
    )
    if entry.kind == "segment":
        sections.append(_funnel_section(entry, numbers))
    sections.append(_dependency_section(catalogue, entry))
    if entry.kind == "segment" and numbers is not None:
        sections.append(_overlap_section(entry, numbers))
    sections.append(_sql_section(entry))
    return _layout(catalogue, f"{entry.kind} {entry.name}", "".join(sections), root=root)


def _numbers_section(entry: Entry, numbers: Numbers) -> str:
    population = numbers.population
    if entry.kind == "segment":
        size = numbers.sizes[entry.name]
        points = [
            (str(p.as_of.date), p.sizes[entry.name])
            for p in numbers.history
            if entry.name in p.sizes
        ]
        first = f" (from {count(points[0][1])} on {esc(points[0][0])})" if len(points) > 1 else ""
        return (
            f'<p class="size"><strong>{count(size)}</strong> members, '
            f"{share(size, population)} of {count(population)}{first}</p>"
            f'<div class="trend">{svg.sparkline(points, width=360, height=60)}</div>'
        )
    if entry.kind in ("classifier", "split"):
        labels = numbers.labels.get(entry.name, {})
        return f'<div class="chart">{svg.label_bar(labels, population)}</div>'
    return ""


def _funnel_section(entry: Entry, numbers: Numbers | None) -> str:
    title = "<h2>Funnel</h2>"
    if numbers is not None and entry.name in numbers.funnels:
        return (
            title + '<p class="note">How many of the population pass the first condition, then '
            "the first two, and so on.</p>"
            + f'<div class="chart">{svg.funnel(numbers.funnels[entry.name])}</div>'
        )
    steps = "".join(f"<li><code>{esc(step)}</code></li>" for step in entry.funnel_steps)
    return title + f'<ol class="steps">{steps}</ol>'


def _dependency_section(catalogue: Catalogue, entry: Entry) -> str:
    entries = catalogue.entries
    uses = {name: e.uses for name, e in entries.items()}
    used_by = {name: e.used_by for name, e in entries.items()}
    kinds = {name: e.kind for name, e in entries.items()}
    nodes = svg.layered(entry.name, uses, used_by, kinds, entry.tables)
    shown = {node.name for node in nodes}
    edges = [(used, user) for user in shown if user in entries for used in entries[user].uses]
    edges += [(table, entry.name) for table in entry.tables]
    graph = svg.dependency_graph(
        nodes, edges, lambda name: page_name(name) if name in entries else None
    )

    def names(items: Sequence[str]) -> str:
        if not items:
            return "nothing"
        return ", ".join(f'<a href="{esc(page_name(n))}">{esc(n)}</a>' for n in items)

    tables = ", ".join(f"<code>{esc(t)}</code>" for t in entry.tables)
    return (
        "<h2>Dependencies</h2>"
        f'<p class="uses">Uses: {names(entry.uses)}'
        + (f"; tables {tables}" if tables else "")
        + f'</p><p class="used-by">Used by: {names(entry.used_by)}</p>'
        + f'<div class="chart">{graph}</div>'
        + "<details><summary>Everything it depends on</summary>"
        + f'<pre class="tree">{esc(chr(10).join(render_tree(entry.dependencies)))}</pre>'
        + "</details>"
    )


def _overlap_section(entry: Entry, numbers: Numbers) -> str:
    matrix = numbers.overlap
    if entry.name not in matrix:
        return ""
    size = matrix[entry.name][entry.name]
    shared = sorted(
        (
            (other, both)
            for other, both in matrix[entry.name].items()
            if other != entry.name and both > 0
        ),
        key=lambda item: (-item[1], item[0]),
    )
    if not shared:
        return "<h2>Overlap</h2><p>It shares no members with another segment.</p>"
    rows = "".join(
        f'<tr><td><a href="{esc(page_name(other))}">{esc(other)}</a></td>'
        f'<td class="num">{count(both)}</td>'
        f'<td class="num">{share(both, size)}</td>'
        f'<td class="num">{share(both, matrix[other][other])}</td>'
        f'<td class="num">{jaccard(matrix, entry.name, other):.3f}</td></tr>'
        for other, both in shared
    )
    return (
        "<h2>Overlap</h2>"
        '<table class="overlap"><thead><tr><th>segment</th><th class="num">both</th>'
        f'<th class="num">of {esc(entry.name)}</th><th class="num">of the other</th>'
        '<th class="num">Jaccard</th></tr></thead>'
        f"<tbody>{rows}</tbody></table>"
    )


def _sql_section(entry: Entry) -> str:
    parts = ["<h2>SQL</h2>"]
    for item in entry.sql:
        if item.sql is None:
            parts.append(
                f'<details class="sql"><summary>{esc(item.dialect)}: not supported</summary>'
                f"<p>{esc(item.problem or '')}</p></details>"
            )
            continue
        parts.append(
            f'<details class="sql"><summary>{esc(item.dialect)}</summary>'
            f'<pre class="code">{esc(item.sql)}</pre></details>'
        )
    return "".join(parts)
