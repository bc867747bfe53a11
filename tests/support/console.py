"""Console examples in Markdown: parse them, match real output against them, rewrite them.

A ```console block holds commands (lines starting with ``$ ``), each followed by its output
as a terminal shows it, up to the next command or the end of the block. The output may be
cut with ``…``:

- a line that is only ``…`` (indentation allowed) stands for any number of lines, as
  doctest's ELLIPSIS does;
- a ``…`` inside a line stands for any text within that line (``…`` at the end of a line:
  any rest of the line).

Lines are compared without trailing whitespace, and trailing blank lines of an output are
ignored: neither is visible in a terminal or kept by editors.

``regenerate`` gives the output to show for a real output: the shown one when it still
matches (so rewriting is idempotent), otherwise the real lines cut at the same places as
the shown ones (the head and tail kept, each ``…`` marker kept where the doc cut).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

ELLIPSIS = "…"
PROMPT = "$ "

# A fenced block: the opening fence with its language, the body, the closing fence.
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)

Canon = Callable[[str], str]


def _same(line: str) -> str:
    return line


@dataclass(frozen=True)
class Command:
    """One ``$ `` line of a console block and the output shown under it."""

    text: str
    output: tuple[str, ...]


@dataclass(frozen=True)
class Block:
    """A console block: its commands, where it is, and which of the equal blocks it is."""

    line: int  # 1-based line of the opening fence, for messages only
    commands: tuple[Command, ...]
    occurrence: int  # 0 for the first block with this script, 1 for the next, ...
    start: int  # character offsets of the body in the document
    end: int

    @property
    def script(self) -> str:
        """The commands, one a line: the block's identity (outputs may change)."""
        return "\n".join(command.text for command in self.commands)

    @property
    def key(self) -> str:
        """A short readable name: the first command, numbered if another block shares it."""
        first = self.commands[0].text if self.commands else "(empty)"
        return first if self.occurrence == 0 else f"{first} #{self.occurrence + 1}"


def render(commands: Sequence[Command]) -> str:
    """The body of a console block for these commands and outputs."""
    lines: list[str] = []
    for command in commands:
        lines.append(PROMPT + command.text)
        lines.extend(command.output)
    return "".join(line + "\n" for line in lines)


def fenced_blocks(text: str, language: str) -> list[tuple[int, int, int, str]]:
    """(fence line, body start, body end, body) of every ```language block of `text`."""
    found = []
    for match in _FENCE.finditer(text):
        if match.group(1) == language:
            line = text.count("\n", 0, match.start()) + 1
            found.append((line, match.start(2), match.end(2), match.group(2)))
    return found


def console_blocks(text: str) -> list[Block]:
    """Every ```console block of a Markdown text, parsed into commands and outputs."""
    blocks: list[Block] = []
    seen: dict[str, int] = {}
    for line, start, end, body in fenced_blocks(text, "console"):
        commands: list[Command] = []
        for raw in body.splitlines():
            if raw.startswith(PROMPT):
                commands.append(Command(raw[len(PROMPT) :], ()))
            elif not commands:
                raise ValueError(f"line {line + 1}: console block does not start with `$ `")
            else:
                last = commands[-1]
                commands[-1] = Command(last.text, (*last.output, raw))
        script = "\n".join(command.text for command in commands)
        occurrence = seen.get(script, 0)
        seen[script] = occurrence + 1
        blocks.append(Block(line, tuple(commands), occurrence, start, end))
    return blocks


def replace_block(text: str, script: str, occurrence: int, commands: Sequence[Command]) -> str:
    """`text` with the console block of this script (and occurrence) holding `commands`."""
    for block in console_blocks(text):
        if block.script == script and block.occurrence == occurrence:
            return text[: block.start] + render(commands) + text[block.end :]
    raise LookupError(f"no console block with the commands {script!r} (#{occurrence + 1})")


def shell_commands(text: str) -> list[tuple[int, str]]:
    """(line, command) for each command line of the ```sh blocks of a Markdown text."""
    commands = []
    for line, _start, _end, body in fenced_blocks(text, "sh"):
        for offset, raw in enumerate(body.splitlines(), start=1):
            stripped = raw.strip()
            if stripped and not stripped.startswith("#"):
                commands.append((line + offset, stripped))
    return commands


def clean(lines: Sequence[str]) -> list[str]:
    """Lines without trailing whitespace and without trailing blank lines."""
    result = [line.rstrip() for line in lines]
    while result and not result[-1]:
        result.pop()
    return result


def is_gap(line: str) -> bool:
    """A line that stands for any number of lines."""
    return line.strip() == ELLIPSIS


def line_matches(pattern: str, line: str, canon: Canon = _same) -> bool:
    """Whether `line` is shown by `pattern` (``…`` inside it: any text)."""
    pattern, line = canon(pattern), canon(line)
    if ELLIPSIS not in pattern:
        return pattern == line
    regex = ".*".join(re.escape(part) for part in pattern.split(ELLIPSIS))
    return re.fullmatch(regex, line, re.DOTALL) is not None


def _segments(shown: Sequence[str]) -> tuple[list[list[str]], list[str]]:
    """The runs of lines between gaps, and the gap lines themselves."""
    segments: list[list[str]] = [[]]
    gaps: list[str] = []
    for line in shown:
        if is_gap(line):
            gaps.append(line)
            segments.append([])
        else:
            segments[-1].append(line)
    return segments, gaps


def _run_matches(pattern: Sequence[str], lines: Sequence[str], canon: Canon) -> bool:
    return len(pattern) == len(lines) and all(
        line_matches(p, a, canon) for p, a in zip(pattern, lines, strict=True)
    )


def matches(shown: Sequence[str], real: Sequence[str], canon: Canon = _same) -> bool:
    """Whether the real output lines are what `shown` shows (after `clean` on both)."""
    shown, real = clean(shown), clean(real)
    segments, _gaps = _segments(shown)
    if len(segments) == 1:
        return _run_matches(segments[0], real, canon)
    head, middle, tail = segments[0], segments[1:-1], segments[-1]
    if len(head) + len(tail) > len(real):
        return False
    if not _run_matches(head, real[: len(head)], canon):
        return False
    if not _run_matches(tail, real[len(real) - len(tail) :], canon):
        return False
    position, end = len(head), len(real) - len(tail)
    for segment in middle:  # leftmost first is enough: every segment has a fixed length
        found = next(
            (
                i
                for i in range(position, end - len(segment) + 1)
                if _run_matches(segment, real[i : i + len(segment)], canon)
            ),
            None,
        )
        if found is None:
            return False
        position = found + len(segment)
    return True


def recut(pattern: str, line: str, canon: Canon = _same) -> str:
    """The line to show for `line` where the doc showed `pattern`.

    The pattern itself when it matches; else the real line, cut with ``…`` after as many
    words as the pattern kept before its first ``…`` and before as many words as it kept
    after its last one.
    """
    if line_matches(pattern, line, canon):
        return pattern
    if ELLIPSIS not in pattern:
        return line
    parts = pattern.split(ELLIPSIS)
    head_words = len(re.findall(r"\S+", parts[0]))
    tail_words = len(re.findall(r"\S+", parts[-1]))
    words = list(re.finditer(r"\S+", line))
    if head_words + tail_words >= len(words):
        return line
    if parts[0][-1:].isspace():  # the doc kept the space after the last word shown
        head_end = words[head_words].start()
    else:
        head_end = words[head_words - 1].end() if head_words else 0
    if parts[-1][:1].isspace():
        tail_start = words[len(words) - tail_words - 1].end()
    else:
        tail_start = words[len(words) - tail_words].start() if tail_words else len(line)
    cut = line[:head_end] + ELLIPSIS + line[tail_start:]
    return line if is_gap(cut) else cut  # a line of only `…` would read as a cut of lines


def _similarity(pattern: Sequence[str], lines: Sequence[str], canon: Canon) -> float:
    score = 0.0
    for p, a in zip(pattern, lines, strict=True):
        if line_matches(p, a, canon):
            score += 2.0
        else:
            score += difflib.SequenceMatcher(None, p.replace(ELLIPSIS, ""), a).ratio()
    return score


def regenerate(shown: Sequence[str], real: Sequence[str], canon: Canon = _same) -> list[str]:
    """The output to show for `real` in place of `shown`, keeping the doc's cuts."""
    shown, real = clean(shown), clean(real)
    if matches(shown, real, canon):
        return shown
    segments, gaps = _segments(shown)
    if len(segments) == 1:
        if len(shown) == len(real):
            return [recut(p, a, canon) for p, a in zip(shown, real, strict=True)]
        return real
    head, middle, tail = segments[0], segments[1:-1], segments[-1]
    if len(head) + len(tail) > len(real):
        return real  # too short to cut where the doc cut: show all of it
    result = [recut(p, a, canon) for p, a in zip(head, real, strict=False)]
    position, end = len(head), len(real) - len(tail)
    for gap, segment in zip(gaps, middle, strict=False):
        result.append(gap)
        candidates = range(position, end - len(segment) + 1)
        if not segment or not candidates:
            continue  # nothing left to show between two cuts: the gaps merge
        best = max(
            candidates,
            key=lambda i: (_similarity(segment, real[i : i + len(segment)], canon), -i),
        )
        window = real[best : best + len(segment)]
        result.extend(recut(p, a, canon) for p, a in zip(segment, window, strict=True))
        position = best + len(segment)
    result.append(gaps[-1])
    result.extend(recut(p, a, canon) for p, a in zip(tail, real[end:], strict=True))
    return result
