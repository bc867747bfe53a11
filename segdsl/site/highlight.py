""".seg source text → escaped HTML with a span per token class, names of definitions
linked to their pages.

A small regular-expression lexer is enough for colouring (the text was parsed already:
the site is built from a valid project); the keywords are the grammar's own words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

from segdsl.site.svg import esc

_TOKEN = re.compile(
    r"""
    (?P<comment>\#[^\n]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"?)
  | (?P<quoted>`[^`\n]*`?)
  | (?P<date>\d{4}-\d{2}-\d{2}(?:T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)?)
  | (?P<number>\d[\d_]*(?:\.\d+)?(?:mo|min|[smhdwy])?\b)
  | (?P<word>[A-Za-z_]\w*)
    """,
    re.VERBOSE,
)


@cache
def _keywords() -> frozenset[str]:
    from segdsl.syntax.printer import keywords

    return keywords() | {"starts", "ends", "with"}


def highlight(text: str, link: Callable[[str], str | None]) -> str:
    """`text` as HTML: every character escaped, tokens wrapped in `<span class="tok-…">`,
    a definition's name (per `link`) in `<a class="tok-def" href=…>`."""
    out: list[str] = []
    position = 0
    for match in _TOKEN.finditer(text):
        out.append(esc(text[position : match.start()]))
        position = match.end()
        kind = match.lastgroup
        token = match.group()
        if kind in ("word", "quoted"):
            name = token.strip("`") if kind == "quoted" else token
            target = link(name)
            if target is not None and (kind == "quoted" or token not in _keywords()):
                out.append(f'<a class="tok-def" href="{esc(target)}">{esc(token)}</a>')
                continue
            kind = "kw" if kind == "word" and token in _keywords() else "name"
        out.append(f'<span class="tok-{kind}">{esc(token)}</span>')
    out.append(esc(text[position:]))
    return "".join(out)
