"""The HTML catalogue of a project (`seg docs`): a static site that works offline.

data.py gathers what the pages show (definitions, words, SQL, dependencies) and, with an
engine, the numbers (sizes, sparkline history, funnels, overlap) in a few queries;
ordering.py orders segments for the heatmap; svg.py draws the charts as inline SVG;
highlight.py colours `.seg` source; pages.py writes the HTML; assets/ holds the one
stylesheet and the one small script (search and filters) copied beside the pages.
Nothing here prints; everything from `.seg` files is escaped before it reaches HTML.
"""

from __future__ import annotations

from segdsl.site.data import Catalogue, gather, measure
from segdsl.site.pages import write_site

__all__ = ["Catalogue", "gather", "measure", "write_site"]
