"""Modules → an analysis that the next edit of one file can update in part.

The first analysis checks every definition, as `segdsl.semantic.analyze` does, and keeps
each definition's result and diagnostics. After an edit that leaves the declarations'
shape alone (same entity, tables and parameters, same definition names in the same
order), only the edited file's definitions and the ones that (transitively) use them
are checked again; the others keep their results. Anything else is analysed in full,
and so is a project where a definition with errors is used by another (the full
analysis marks such a user as failing or not depending on the order of checking).
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from segdsl.diagnostics import Diagnostic
from segdsl.semantic.analyze import Analysis, resolve_params
from segdsl.semantic.check import CheckedDefinition, Checker
from segdsl.semantic.declarations import Declarations, collect
from segdsl.syntax import nodes

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|`[^`\n]+`")
_DEFINITIONS = (nodes.MeasureDecl, nodes.SegmentDecl, nodes.ClassifierDecl, nodes.SplitDecl)


@dataclass(frozen=True)
class Checked:
    """One analysis and what an update needs from it."""

    modules: tuple[nodes.Module, ...]
    analysis: Analysis
    checked: dict[str, CheckedDefinition | None]
    by_definition: dict[str, tuple[Diagnostic, ...]]  # the checker's, by where they point
    outside: bool  # the checker reported something outside every definition
    uses: dict[str, frozenset[str]]  # definition → names it mentions
    users: dict[str, set[str]]  # name → definitions that mention it (the reverse)
    checked_again: int = 0  # definitions checked by this analysis (all, or the affected)


def analyse(
    modules: Sequence[nodes.Module],
    zone: ZoneInfo,
    texts: Mapping[str, str],
    previous: Checked | None = None,
) -> Checked:
    """The analysis of `modules`, reusing `previous` where the edit cannot matter."""
    modules = tuple(modules)
    affected = _affected(previous, modules) if previous is not None else None
    decls, diagnostics = collect(modules)
    values = resolve_params(decls, {}, zone, diagnostics)
    checker = Checker(decls, values, zone)
    checker.resolve_grouped_tables()
    uses = _uses(modules, texts, previous)
    users = _users(uses, previous if affected is not None else None)
    if previous is not None and affected is not None:
        closure = _with_dependents(affected, users)
        checker.checked.update(
            {name: previous.checked[name] for name in decls.order if name not in closure}
        )
        to_check = [name for name in decls.order if name in closure]
    else:
        to_check = list(decls.order)
    for name in to_check:
        checker.definition(name)
    fresh, outside = _by_definition(decls, checker.diagnostics)
    by_definition = dict(fresh)
    if previous is not None and affected is not None:
        if outside or any(
            checker.checked.get(name) is None and users.get(name) for name in decls.order
        ):
            # A table's filter: its users are unknown. A definition with errors that others
            # use: whether they count as failing depends on which was checked first.
            return analyse(modules, zone, texts)
        for name in decls.order:
            if name not in to_check:
                by_definition[name] = previous.by_definition.get(name, ())
        checker_diagnostics = [d for name in decls.order for d in by_definition.get(name, ())]
    else:
        checker_diagnostics = list(checker.diagnostics)
    diagnostics.extend(checker_diagnostics)
    ordered = {
        name: found for name in decls.order if (found := checker.checked.get(name)) is not None
    }
    analysis = Analysis(decls, ordered, values, list(dict.fromkeys(diagnostics)))
    return Checked(
        modules,
        analysis,
        dict(checker.checked),
        by_definition,
        outside,
        uses,
        users,
        len(to_check),
    )


def _affected(previous: Checked, modules: tuple[nodes.Module, ...]) -> set[str] | None:
    """The definitions of the one edited file, or None if the edit needs a full analysis."""
    if (
        previous.outside
        or len(modules) != len(previous.modules)
        or previous.analysis.decls.entity is None
    ):
        return None
    changed = [
        i for i, (a, b) in enumerate(zip(previous.modules, modules, strict=True)) if a is not b
    ]
    if not changed:
        return set()
    if len(changed) > 1:
        return None
    old, new = previous.modules[changed[0]], modules[changed[0]]
    if _shape(old) != _shape(new):
        return None
    return {s.name.text for s in new.statements if isinstance(s, _DEFINITIONS)}


def _shape(module: nodes.Module) -> tuple[object, ...]:
    """What the declarations of a module are made of, apart from the definitions' bodies."""
    return tuple(
        ("definition", s.name.text) if isinstance(s, _DEFINITIONS) else s for s in module.statements
    )


def _with_dependents(names: set[str], users: dict[str, set[str]]) -> set[str]:
    closure, todo = set(names), list(names)
    while todo:
        for user in users.get(todo.pop(), ()):
            if user not in closure:
                closure.add(user)
                todo.append(user)
    return closure


def _users(uses: dict[str, frozenset[str]], previous: Checked | None) -> dict[str, set[str]]:
    """The reverse of `uses`: updated from the previous one where only a few changed.

    The previous analysis is replaced by this one, so its map is updated in place.
    """
    if previous is None:
        users: dict[str, set[str]] = defaultdict(set)
        for user, used in uses.items():
            for name in used:
                users[name].add(user)
        return users
    users = previous.users
    for user in set(uses) | set(previous.uses):
        old, new = previous.uses.get(user, frozenset()), uses.get(user, frozenset())
        if old is new:
            continue
        for name in old - new:
            users[name].discard(user)
        for name in new - old:
            users.setdefault(name, set()).add(user)
    return users


def _uses(
    modules: tuple[nodes.Module, ...], texts: Mapping[str, str], previous: Checked | None
) -> dict[str, frozenset[str]]:
    """Each definition's words: every name it uses, and some more (only ever too many)."""
    reused = {id(m) for m in previous.modules} if previous is not None else set()
    uses: dict[str, frozenset[str]] = {}
    for module in modules:
        for statement in module.statements:
            if not isinstance(statement, _DEFINITIONS):
                continue
            name = statement.name.text
            if previous is not None and id(module) in reused and name in previous.uses:
                uses[name] = previous.uses[name]
                continue
            span = statement.span
            text = texts.get(span.path, "")[span.start : span.end]
            uses[name] = frozenset(w.strip("`") for w in _WORD.findall(text)) - {name}
    return uses


def _by_definition(
    decls: Declarations, diagnostics: list[Diagnostic]
) -> tuple[dict[str, tuple[Diagnostic, ...]], bool]:
    """The checker's diagnostics grouped by the definition whose text holds them."""
    spans: dict[str, list[tuple[int, int, str]]] = defaultdict(list)
    for name, decl in decls.definitions.items():
        spans[decl.span.path].append((decl.span.start, decl.span.end, name))
    for found in spans.values():
        found.sort()
    grouped: dict[str, list[Diagnostic]] = defaultdict(list)
    outside = False
    for diagnostic in diagnostics:
        span = diagnostic.span
        candidates = spans.get(span.path, [])
        index = bisect.bisect_right(candidates, (span.start, float("inf"), "")) - 1
        if index >= 0 and candidates[index][0] <= span.start and span.end <= candidates[index][1]:
            grouped[candidates[index][2]].append(diagnostic)
        else:
            outside = True
    return {name: tuple(found) for name, found in grouped.items()}, outside
