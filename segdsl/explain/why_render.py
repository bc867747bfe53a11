"""A filled-in `seg why` tree as text lines and as JSON (shared by `seg why` and `seg test`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from segdsl.explain.report import SequenceStep, Standing, WhyNode


def why_dict(node: WhyNode) -> dict[str, object]:
    """A why tree as JSON: each condition, whether it passed, its values, its reasons."""
    out: dict[str, object] = {
        "condition": node.text,
        "passed": node.result,
        "values": {label: value for label, value in node.shown},
    }
    if node.steps:
        out["steps"] = [
            {"at": s.at, "next_at": s.next_at, "decided": s.decided, "matches": s.matches}
            for s in node.steps
        ]
    if node.standing is not None:
        out["standing"] = {
            "position": node.standing.position,
            "members": node.standing.members,
            "cut_off": node.standing.cut_off,
        }
    out["children"] = [why_dict(child) for child in node.children]
    return out


@dataclass(frozen=True)
class WhyLine:
    """One line of a why tree: a condition (passed True/False), a sequence's row or a rule
    not reached (passed None)."""

    depth: int
    mark: str
    text: str
    note: str  # the values in brackets, the deciding rule's marker (with leading spaces)
    passed: bool | None


def why_rows(root: WhyNode) -> list[WhyLine]:
    """A why tree as lines in order: ✓/✗, the condition, its values; a classifier's deciding
    rule marked and the rules after it not reached; a sequence's rows and a ranking's
    standing with their condition."""
    rows: list[WhyLine] = []
    deciding = next((c for c in root.children if c.result), None) if root.label else None
    reached = True

    def show(node: WhyNode, depth: int) -> None:
        nonlocal reached
        if depth == 1 and deciding is not None and not reached:  # rules after the deciding one
            rows.append(WhyLine(depth, "·", node.text, "    (not reached)", None))
            return
        reached = reached and node is not deciding
        shown = [f"{label} = {'missing' if v is None else v}" for label, v in node.shown]
        if node.standing is not None:
            shown.append(standing_text(node.standing, node))
        note = f"    [{', '.join(shown)}]" if shown else ""
        if node is deciding:
            note += "    ← the first rule that holds"
        rows.append(WhyLine(depth, "✓" if node.result else "✗", node.text, note, node.result))
        for step in node.steps:
            mark, text = step_text(step, node)
            rows.append(WhyLine(depth + 1, mark, text, "", None))
        for child in node.children:
            show(child, depth + 1)

    show(root, 0)
    return rows


def why_lines(root: WhyNode) -> list[str]:
    """A why tree as indented plain text (see `why_rows`)."""
    return [f"{'  ' * r.depth}{r.mark} {r.text}{r.note}" for r in why_rows(root)]


def step_text(step: SequenceStep, node: WhyNode) -> tuple[str, str]:
    """One row of a sequence's first step and what followed it, in words, and its mark:
    `•` when the row makes the condition true, `·` otherwise."""
    sequence = node.sequence
    assert sequence is not None
    first, then = node.step_tables
    if not first:  # a sequence behind a measure's name
        first, then = sequence.first.source.name, sequence.then.source.name
    if step.next_at is not None:
        after = f"then {then} at {_time(step.next_at)}"
    elif not step.decided:
        after = f"no {then} yet; its {sequence.within} are not over by the as-of time"
    else:
        after = f"no {then}" + (f" within {sequence.within}" if sequence.within else " after it")
    return ("•" if step.matches else "·"), f"{first} at {_time(step.at)}: {after}"


def standing_text(standing: Standing, node: WhyNode) -> str:
    spec = node.ranking
    assert spec is not None
    order = "from the top" if spec.func in ("top", "cumulative_share") else "from the bottom"
    text = f"position {standing.position} of {standing.members} {order}"
    if standing.cut_off is not None:
        text += f", the first {standing.cut_off} are in"
    return text


def _time(value: object) -> str:
    return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else str(value)
