"""Numbers → inline SVG charts: sparklines, funnels, label bars, the overlap heatmap and
the dependency graph.

Charts are drawn here, in Python, as SVG elements inside the HTML (see docs/cli.md,
`seg docs`): the pages need no charting library, no script to draw them and no network,
they print and they render the same in every browser. Hover details are SVG `<title>`
elements (the browser's own tooltip). Every drawn data point carries the class `mark`
(heatmap cells `cell`), so a test counts them. Every text is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from html import escape

from segdsl.site.ordering import jaccard

FONT_WIDTH = 7.0  # average advance of the 12px sans-serif labels, for layout
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1")


def esc(text: object) -> str:
    """Text or an attribute value, escaped for HTML and SVG alike (quotes too)."""
    return escape(str(text), quote=True)


def count(value: int) -> str:
    return f"{value:,}"


def share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "–"


def _svg(width: float, height: float, body: str, css_class: str, label: str) -> str:
    return (
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" '
        f'height="{height:.0f}" viewBox="0 0 {width:.0f} {height:.0f}" role="img" '
        f'aria-label="{esc(label)}">{body}</svg>'
    )


def sparkline(points: Sequence[tuple[str, int]], *, width: int = 120, height: int = 28) -> str:
    """A small line of sizes over time, a dot per point; each dot's title is its date
    and size."""
    if not points:
        return ""
    values = [value for _, value in points]
    low, high = min(values), max(values)
    span = (high - low) or 1
    pad = 3.0
    step = (width - 2 * pad) / max(len(points) - 1, 1)

    def xy(index: int, value: int) -> tuple[float, float]:
        y = height - pad - (value - low) / span * (height - 2 * pad)
        return pad + index * step, y if high != low else height / 2

    coordinates = [xy(i, v) for i, v in enumerate(values)]
    line = " ".join(f"{x:.1f},{y:.1f}" for x, y in coordinates)
    radii = [1.4] * (len(points) - 1) + [2.2]  # the as-of time stands out
    dots = "".join(
        f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="{r}">'
        f"<title>{esc(label)}: {count(value)}</title></circle>"
        for (x, y), r, (label, value) in zip(coordinates, radii, points, strict=True)
    )
    body = f'<polyline points="{line}" fill="none" stroke="currentColor" stroke-width="1.5"/>'
    return _svg(width, height, body + dots, "sparkline", "size over recent weeks")


def funnel(steps: Sequence[tuple[str, int]], *, width: int = 720) -> str:
    """A bar per step (the population first): how many are left after each condition."""
    if not steps:
        return ""
    population = steps[0][1]
    row, bar, left = 44, 18, 4
    width = max(width, round(max(len(label) for label, _ in steps) * FONT_WIDTH) + 2 * left)
    chart = width - 150
    parts = []
    for index, (label, value) in enumerate(steps):
        y = index * row
        length = chart * value / population if population else 0
        previous = steps[index - 1][1] if index else value
        lost = f"; {count(previous - value)} fewer than the step before" if index else ""
        parts.append(
            f'<text class="step" x="{left}" y="{y + 13}">{esc(label)}</text>'
            f'<rect class="mark" x="{left}" y="{y + 18}" width="{max(length, 1):.1f}" '
            f'height="{bar}" fill="{PALETTE[0]}"><title>{esc(label)}: {count(value)} '
            f"({share(value, population)}){esc(lost)}</title></rect>"
            f'<text class="value" x="{left + max(length, 1) + 6:.1f}" y="{y + 32}">'
            f"{count(value)} · {share(value, population)}</text>"
        )
    return _svg(width, len(steps) * row + 4, "".join(parts), "funnel", "funnel of conditions")


def label_bar(
    labels: Mapping[str | None, int], population: int, *, width: int = 720, legend: bool = True
) -> str:
    """One stacked bar of a classifier's or split's labels (share of the population)."""
    height, x = 22, 0.0
    parts = []
    for index, (label, value) in enumerate(labels.items()):
        name = "(none)" if label is None else label
        length = width * value / population if population else 0
        colour = "#cccccc" if label is None else PALETTE[index % len(PALETTE)]
        parts.append(
            f'<rect class="mark" x="{x:.1f}" y="0" width="{length:.1f}" height="{height}" '
            f'fill="{colour}"><title>{esc(name)}: {count(value)} '
            f"({share(value, population)})</title></rect>"
        )
        x += length
    total = height
    if legend:
        for index, (label, value) in enumerate(labels.items()):
            name = "(none)" if label is None else label
            colour = "#cccccc" if label is None else PALETTE[index % len(PALETTE)]
            y = height + 8 + index * 18
            parts.append(
                f'<rect x="0" y="{y}" width="12" height="12" fill="{colour}"/>'
                f'<text x="18" y="{y + 10}">{esc(name)}: {count(value)} '
                f"({share(value, population)})</text>"
            )
            total = y + 14
    return _svg(width, total, "".join(parts), "labels", "members per label")


def _colour(value: float) -> str:
    """White (0) to dark blue (1), on a square-root scale: most pairs of segments share
    little, and small differences there still show."""
    low, high = (255, 255, 255), (8, 48, 107)
    mixed = (round(a + (b - a) * value**0.5) for a, b in zip(low, high, strict=True))
    return "#{:02x}{:02x}{:02x}".format(*mixed)


def heatmap(
    order: Sequence[str],
    matrix: Mapping[str, Mapping[str, int]],
    link: Callable[[str], str],
    *,
    cell: int = 16,
) -> str:
    """A cell per pair of segments, coloured by Jaccard similarity; its title gives the
    members both share and the Jaccard index (a diagonal cell: the segment's size)."""
    margin = max(len(name) for name in order) * FONT_WIDTH + 10 if order else 0
    size = len(order) * cell
    parts = []
    for i, name in enumerate(order):
        y = margin + i * cell
        x = margin + i * cell
        parts.append(
            f'<a href="{esc(link(name))}"><text class="row" x="{margin - 6:.0f}" '
            f'y="{y + cell - 4:.0f}" text-anchor="end">{esc(name)}</text></a>'
            f'<a href="{esc(link(name))}"><text class="column" '
            f'transform="translate({x + cell - 4:.0f},{margin - 6:.0f}) rotate(-90)">'
            f"{esc(name)}</text></a>"
        )
    for i, first in enumerate(order):
        for j, second in enumerate(order):
            both = matrix[first][second]
            if first == second:
                title = f"{first}: {count(both)} members"
                value = 1.0
            else:
                value = jaccard(matrix, first, second)
                title = f"{first} ∩ {second}: {count(both)} members; Jaccard {value:.3f}"
            parts.append(
                f'<rect class="cell" x="{margin + j * cell:.0f}" y="{margin + i * cell:.0f}" '
                f'width="{cell - 1}" height="{cell - 1}" fill="{_colour(value)}" '
                f'data-count="{both}"><title>{esc(title)}</title></rect>'
            )
    total = margin + size + 2
    return _svg(total, total, "".join(parts), "heatmap", "overlap of segments")


# ------------------------------------------------------------------ dependency graph
@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # a definition kind, or "table"
    layer: int  # < 0: what the focus uses; 0: the focus; > 0: what uses it


def layered(
    focus: str,
    uses: Mapping[str, Sequence[str]],
    used_by: Mapping[str, Sequence[str]],
    kinds: Mapping[str, str],
    tables: Sequence[str],
) -> list[Node]:
    """The focus, everything it uses (transitively, to the left, each at its longest
    distance) with the tables it reads, and everything using it (to the right)."""
    depth = {focus: 0}
    for edges, sign in ((uses, -1), (used_by, 1)):
        frontier = [focus]
        distance = {focus: 0}
        while frontier:  # longest paths in a DAG: relax until nothing grows
            current = frontier.pop()
            for other in edges.get(current, ()):
                if other in kinds and distance.get(other, -1) < distance[current] + 1:
                    distance[other] = distance[current] + 1
                    frontier.append(other)
        for name, steps in distance.items():
            if name != focus:
                depth[name] = sign * steps
    nodes = [Node(name, kinds[name], layer) for name, layer in depth.items()]
    nodes += [Node(table, "table", -1) for table in tables if table not in depth]
    return nodes


def dependency_graph(
    nodes: Sequence[Node], edges: Sequence[tuple[str, str]], link: Callable[[str], str | None]
) -> str:
    """Nodes in columns by layer (what is used on the left), an arrow from each used
    node to its user."""
    if not nodes:
        return ""
    layers = sorted({node.layer for node in nodes})
    columns = {layer: [n for n in nodes if n.layer == layer] for layer in layers}
    box_h, gap_y, gap_x, pad = 24, 10, 48, 4
    widths = {
        layer: max(len(n.name) * FONT_WIDTH + 18 for n in members)
        for layer, members in columns.items()
    }
    height = max(len(m) for m in columns.values()) * (box_h + gap_y) + pad
    place: dict[str, tuple[float, float, float]] = {}
    x = float(pad)
    for layer in layers:
        members = columns[layer]
        top = (height - len(members) * (box_h + gap_y)) / 2
        for index, node in enumerate(members):
            place[node.name] = (x, top + index * (box_h + gap_y), widths[layer])
        x += widths[layer] + gap_x
    width = x - gap_x + pad
    parts = [
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" '
        'fill="#888"/></marker></defs>'
    ]
    for source, target in edges:
        if source not in place or target not in place:
            continue
        sx, sy, sw = place[source]
        tx, ty, _ = place[target]
        x1, y1, x2, y2 = sx + sw, sy + box_h / 2, tx, ty + box_h / 2
        bend = max((x2 - x1) / 2, 20)
        parts.append(
            f'<path class="edge" d="M {x1:.1f} {y1:.1f} C {x1 + bend:.1f} {y1:.1f}, '
            f'{x2 - bend:.1f} {y2:.1f}, {x2:.1f} {y2:.1f}" fill="none" stroke="#888" '
            f'marker-end="url(#arrow)"/>'
        )
    for node in nodes:
        nx, ny, nw = place[node.name]
        focus = " focus" if node.layer == 0 else ""
        box = (
            f'<g class="node kind-{esc(node.kind)}{focus}"><title>{esc(node.kind)} '
            f'{esc(node.name)}</title><rect x="{nx:.1f}" y="{ny:.1f}" width="{nw:.1f}" '
            f'height="{box_h}" rx="5"/><text x="{nx + 9:.1f}" y="{ny + 16:.1f}">'
            f"{esc(node.name)}</text></g>"
        )
        href = link(node.name) if node.kind != "table" and node.layer != 0 else None
        parts.append(f'<a href="{esc(href)}">{box}</a>' if href else box)
    return _svg(width, height, "".join(parts), "graph", "dependency graph")
