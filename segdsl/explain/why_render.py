"""A filled-in `seg why` tree as text lines and as JSON (shared by `seg why` and `seg test`)."""

from __future__ import annotations

import datetime as dt

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


def why_lines(root: WhyNode) -> list[str]:
    """A why tree as indented text: ✓/✗, the condition, its values; a classifier's deciding
    rule marked; a sequence's rows and a ranking's standing below their condition."""
    lines: list[str] = []
    deciding = next((c for c in root.children if c.result), None) if root.label else None

    reached = True

    def show(node: WhyNode, depth: int) -> None:
        nonlocal reached
        if depth == 1 and deciding is not None and not reached:  # rules after the deciding one
            lines.append(f"  · {node.text}    (not reached)")
            return
        reached = reached and node is not deciding
        mark = "✓" if node.result else "✗"
        shown = [f"{label} = {'missing' if v is None else v}" for label, v in node.shown]
        if node.standing is not None:
            shown.append(standing_text(node.standing, node))
        line = f"{'  ' * depth}{mark} {node.text}" + (f"    [{', '.join(shown)}]" if shown else "")
        if node is deciding:
            line += "    ← the first rule that holds"
        lines.append(line)
        for step in node.steps:
            lines.append(f"{'  ' * (depth + 1)}{step_text(step, node)}")
        for child in node.children:
            show(child, depth + 1)

    show(root, 0)
    return lines


def step_text(step: SequenceStep, node: WhyNode) -> str:
    """One row of a sequence's first step and what followed it, in words."""
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
    return f"{'•' if step.matches else '·'} {first} at {_time(step.at)}: {after}"


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
