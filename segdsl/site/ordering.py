"""An overlap matrix → an order of segments in which related segments sit together.

Average-linkage agglomerative clustering on the Jaccard distance (1 − |A∩B| / |A∪B|):
the two closest clusters merge until one is left, and the leaves of the resulting tree,
read left to right, are the order. The larger cluster of a merge goes first; ties are
broken by the original order, so the same matrix always gives the same order. For the
few dozen segments of a project the cubic cost is negligible.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def jaccard(matrix: Mapping[str, Mapping[str, int]], first: str, second: str) -> float:
    """|A∩B| / |A∪B| from an overlap matrix whose diagonal holds the sizes (0 when both
    are empty)."""
    both = matrix[first][second]
    union = matrix[first][first] + matrix[second][second] - both
    return both / union if union else 0.0


def related_order(names: Sequence[str], matrix: Mapping[str, Mapping[str, int]]) -> list[str]:
    """`names` reordered so that segments sharing members are neighbours."""
    clusters: list[list[str]] = [[name] for name in names]
    distance = {(a, b): 1.0 - jaccard(matrix, a, b) for a in names for b in names if a != b}
    while len(clusters) > 1:
        best: tuple[float, int, int] | None = None
        for i in range(len(clusters)):
            for j in range(i + 1, len(clusters)):
                pairs = [distance[a, b] for a in clusters[i] for b in clusters[j]]
                candidate = (sum(pairs) / len(pairs), i, j)
                if best is None or candidate < best:
                    best = candidate
        assert best is not None
        _, i, j = best
        first, second = clusters[i], clusters[j]
        merged = first + second if len(first) >= len(second) else second + first
        clusters = [c for k, c in enumerate(clusters) if k not in (i, j)]
        clusters.insert(i, merged)
    return clusters[0] if clusters else []
