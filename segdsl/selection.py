"""Selectors from the command line (`-s`) → the definitions they name, in a stable order.

Every command that takes `-s` reads it here, like dbt's `--select`:

- a name: `cart_abandoners` (unknown: SEG502, with the closest name);
- a glob over names: `cart_*`, `*_test`, `[ab]*` (shell-style, case-sensitive);
- `tag:email`, `owner:crm`, `kind:segment` (`kind:` takes measure, segment, classifier or
  split).

Several selectors select the union, in the order given; the definitions of one selector
come in the order of the project (files by path, definitions top to bottom). A selector
that selects nothing is an error (SEG535) with a suggestion; so is an unknown method
(`team:crm`, SEG536). Commands that take one definition report a selector that selects
several (SEG537).

>>> from types import SimpleNamespace as D
>>> defs = {
...     "cart_adds": D(kind="measure", owner="crm", tags=()),
...     "cart_abandoners": D(kind="segment", owner="crm", tags=("email",)),
...     "loyal": D(kind="segment", owner=None, tags=("email", "retention")),
... }
>>> select(defs, ["cart_*"])
['cart_adds', 'cart_abandoners']
>>> select(defs, ["tag:email", "owner:crm"])
['cart_abandoners', 'loyal', 'cart_adds']
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from segdsl.diagnostics import CompileError, Diagnostic, did_you_mean
from segdsl.source import SourceFile, Span

METHODS = ("tag", "owner", "kind")
KINDS = ("measure", "segment", "classifier", "split")
REQUEST = Span("<request>", 1, 1, 1, 1)  # the command line, not a file
GLOB_CHARACTERS = frozenset("*?[")
FORMS = "a name, a glob like `cart_*`, tag:NAME, owner:NAME or kind:KIND"


class Selectable(Protocol):
    """What selection reads of a checked definition."""

    @property
    def kind(self) -> str: ...

    @property
    def owner(self) -> str | None: ...

    @property
    def tags(self) -> tuple[str, ...]: ...


def is_glob(selector: str) -> bool:
    return any(c in GLOB_CHARACTERS for c in selector)


def unknown_name(name: str, known: Iterable[str]) -> Diagnostic:
    """SEG502 for a name that is not a definition (the closest one as help)."""
    names = list(known)
    return Diagnostic(
        "SEG502",
        f"no segment, classifier, split or measure called `{name}`",
        REQUEST,
        did_you_mean(name, names) or "defined: " + ", ".join(sorted(names)),
    )


def select(
    definitions: Mapping[str, Selectable],
    selectors: Sequence[str],
    sources: Mapping[str, SourceFile] | None = None,
) -> list[str]:
    """The names `selectors` select (see the module docstring); a CompileError listing
    every selector that is unknown or selects nothing."""
    chosen: dict[str, None] = {}
    problems: list[Diagnostic] = []
    for selector in selectors:
        found = _matches(definitions, selector)
        if isinstance(found, Diagnostic):
            problems.append(found)
            continue
        chosen.update(dict.fromkeys(found))
    if problems:
        raise CompileError(problems, sources or {})
    return list(chosen)


def select_one(
    definitions: Mapping[str, Selectable],
    selector: str,
    sources: Mapping[str, SourceFile] | None = None,
) -> str:
    """The one definition `selector` selects; SEG537 if it selects several."""
    names = select(definitions, [selector], sources)
    if len(names) == 1:
        return names[0]
    shown = ", ".join(f"`{n}`" for n in names[:5]) + (", …" if len(names) > 5 else "")
    raise CompileError(
        [
            Diagnostic(
                "SEG537",
                f"`{selector}` selects {len(names)} definitions ({shown}); this command takes one",
                REQUEST,
                "name one of them, or narrow the selector",
            )
        ],
        sources or {},
    )


def _matches(definitions: Mapping[str, Selectable], selector: str) -> list[str] | Diagnostic:
    method, colon, value = selector.partition(":")
    if colon:
        if method not in METHODS:
            near = did_you_mean(method, METHODS)
            return Diagnostic(
                "SEG536",
                f"unknown selector method `{method}:` in `{selector}`",
                REQUEST,
                f"{near} (selectors: {FORMS})" if near else f"selectors: {FORMS}",
            )
        test, values = _method(method, value, definitions)
        found = [name for name, d in definitions.items() if test(d)]
        if found:
            return found
        known = sorted(values)
        hint = did_you_mean(value, known)
        listed = f"{method}s in this project: " + (", ".join(known) if known else "none")
        return Diagnostic(
            "SEG535",
            f"no definition has {method} `{value}`",
            REQUEST,
            f"{hint} ({listed})" if hint else listed,
        )
    if is_glob(selector):
        found = [name for name in definitions if fnmatch.fnmatchcase(name, selector)]
        if found:
            return found
        return Diagnostic(
            "SEG535",
            f"no definition matches `{selector}`",
            REQUEST,
            _near_glob(selector, definitions) or "`seg list` shows every definition",
        )
    if selector in definitions:
        return [selector]
    return unknown_name(selector, definitions)


def _method(
    method: str, value: str, definitions: Mapping[str, Selectable]
) -> tuple[Callable[[Selectable], bool], set[str]]:
    """The test a `method:value` selector applies, and the values the project has."""
    if method == "tag":
        return (lambda d: value in d.tags), {t for d in definitions.values() for t in d.tags}
    if method == "owner":
        owners = {d.owner for d in definitions.values() if d.owner}
        return (lambda d: d.owner == value), owners
    return (lambda d: d.kind == value), set(KINDS)


def _near_glob(selector: str, names: Iterable[str]) -> str | None:
    """`kart_*` → "did you mean `cart_*`?": the glob with its fixed start (or end)
    replaced by the closest start (end) of a name that the corrected glob matches."""
    stem = selector.rstrip("*?")
    if stem and not is_glob(stem):
        starts = {name[: len(stem)] for name in names}
        near = difflib.get_close_matches(stem, sorted(starts), n=1, cutoff=0.6)
        return f"did you mean `{near[0]}{selector[len(stem) :]}`?" if near else None
    stem = selector.lstrip("*?")
    if stem and not is_glob(stem):
        ends = {name[-len(stem) :] for name in names}
        near = difflib.get_close_matches(stem, sorted(ends), n=1, cutoff=0.6)
        return f"did you mean `{selector[: -len(stem)]}{near[0]}`?" if near else None
    return None
