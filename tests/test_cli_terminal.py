"""Terminal output: rich tables and trees for people, plain text for scripts.

The rule (segdsl/cli/terminal.py): the rich layout on a terminal or when colour is forced
(`--color always`, FORCE_COLOR); plain text otherwise, unchanged for scripts; colour off
with NO_COLOR or `--color never`. Terminals here are real pseudo-terminals (pty).
"""

from __future__ import annotations

import io
import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from segdsl.cli import terminal
from segdsl.cli.terminal import ColorMode, rich_layout, use_color
from tests.support.demo_copies import DemoCopies

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
CLEAN_ENV = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR", "CI")}

PROJECT = """segdsl 1
entity customer from shop.customers {
  key id
  city: string
}
segment alpha "First one" owner "crm" tags ["email", "cart"] = city = "a"
segment beta_long_name = city = "b"
"""


def seg(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    """`seg` with stdout a pipe (not a terminal); its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "segdsl", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**CLEAN_ENV, **(env or {})},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def seg_on_terminal(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT) -> str:
    """`seg` with stdout and stderr a pseudo-terminal; everything it wrote there."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "segdsl", *args],
        stdout=follower,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        cwd=cwd,
        env={**CLEAN_ENV, "COLUMNS": "100", "TERM": "xterm-256color", **(env or {})},
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the terminal closed: the process has ended
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait() == 0
    return b"".join(chunks).decode().replace("\r\n", "\n")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("terminal")
    (folder / "model.seg").write_text(PROJECT)
    return folder


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.05)
    return f"duckdb:///{path}"


# ------------------------------------------------------------------ the rule
class Stream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize(
    ("mode", "env", "tty", "layout", "colour"),
    [
        (ColorMode.auto, {}, False, False, False),  # a pipe: plain, as scripts read it
        (ColorMode.auto, {}, True, True, True),
        (ColorMode.auto, {"NO_COLOR": "1"}, True, True, False),
        (ColorMode.auto, {"NO_COLOR": ""}, True, True, True),  # set but empty: not set
        (ColorMode.auto, {"FORCE_COLOR": "1"}, False, True, True),
        (ColorMode.auto, {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False, True, False),
        (ColorMode.always, {"NO_COLOR": "1"}, False, True, True),  # the option wins
        (ColorMode.never, {"FORCE_COLOR": "1"}, True, True, False),
        (ColorMode.never, {}, False, False, False),
    ],
)
def test_layout_and_colour_rule(
    monkeypatch: pytest.MonkeyPatch,
    mode: ColorMode,
    env: dict[str, str],
    tty: bool,
    layout: bool,
    colour: bool,
) -> None:
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(terminal, "_mode", mode)
    stream = Stream(tty)
    assert (rich_layout(stream), use_color(stream)) == (layout, colour)


# ------------------------------------------------------------------ plain text
def test_list_plain_is_aligned_columns(project: Path) -> None:
    assert seg("list", str(project)).splitlines() == [
        "name            kind     owner  tags         description",
        "alpha           segment  crm    email, cart  First one",
        "beta_long_name  segment",
    ]


def test_plain_text_is_the_same_whatever_the_colour_settings(project: Path, demo: str) -> None:
    """Without a terminal (and colour not forced) the output is plain text, with no
    escape codes, and NO_COLOR or `--color never` change nothing in it."""
    for args in (
        ["list", str(project)],
        ["run", "examples", "--db", demo, "-s", "buyers", "-s", "lifecycle"],
        ["overlap", "examples", "--db", demo, "-s", "buyers", "-s", "loyal"],
        ["explain", "examples", "--db", demo, "-s", "loyal"],
    ):
        plain = seg(*args)
        assert not ANSI.search(plain) and "█" not in plain and "━" not in plain
        assert seg(*args, env={"NO_COLOR": "1"}) == plain
        assert seg("--color", "never", *args) == plain


def test_json_is_the_same_when_colour_is_forced(demo: str) -> None:
    args = ["run", "examples", "--db", demo, "-s", "buyers", "--format", "json"]
    assert seg("--color", "always", *args) == seg(*args)
    assert seg(*args, env={"FORCE_COLOR": "1"}) == seg(*args)


# ------------------------------------------------------------------ rich
def test_forced_colour_gives_tables_with_bars(demo: str) -> None:
    shown = seg("--color", "always", "run", "examples", "--db", demo, "-s", "lifecycle")
    assert ANSI.search(shown)
    text = ANSI.sub("", shown)
    assert "─" in text and "█" in text  # a table rule and share bars
    rows = [line for line in text.splitlines() if line.startswith(("prospect", "churned"))]
    assert len(rows) == 2 and all("%" in row for row in rows)


def test_forced_layout_without_colour(demo: str) -> None:
    shown = seg(
        "run",
        "examples",
        "--db",
        demo,
        "-s",
        "lifecycle",
        env={"FORCE_COLOR": "1", "NO_COLOR": "1"},
    )
    assert not ANSI.search(shown) and "█" in shown


def test_terminal_gets_colour_and_a_tree(demo: str) -> None:
    shown = seg_on_terminal("explain", "examples", "--db", demo, "-s", "loyal")
    assert ANSI.search(shown)
    text = ANSI.sub("", shown)
    assert "├── " in text or "└── " in text  # rich's tree guides (plain text has ├─ )
    assert "█" in text  # the funnel's bars


def test_terminal_with_no_color_keeps_the_layout(project: Path) -> None:
    shown = seg_on_terminal("list", str(project), env={"NO_COLOR": "1"})
    assert not ANSI.search(shown.replace("\x1b[?25l", "").replace("\x1b[?25h", ""))
    assert "─" in shown and "alpha" in shown


def test_why_tree_on_a_terminal(demo: str) -> None:
    member = seg("run", "examples", "--db", demo, "-s", "loyal", "--members", "--limit", "1")
    key = member.splitlines()[1]
    shown = ANSI.sub(
        "", seg("--color", "always", "why", key, "examples", "--db", demo, "-s", "loyal")
    )
    assert f"{key} is IN loyal" in shown
    assert "✓ " in shown and ("├── " in shown or "└── " in shown)
