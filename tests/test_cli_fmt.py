"""`seg fmt` as ruff format behaves: --diff, stdin, permissions, symlinks, encodings, width."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from segdsl.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

MESSY = 'segdsl 1\nsegment   a="x"\n'
TIDY = 'segdsl 1\n\nsegment a = "x"\n'


def seg(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "segdsl", *args],
        capture_output=True,
        input=stdin,
        cwd=ROOT,
        check=False,
    )


def test_diff_prints_a_unified_diff_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.seg").write_text(MESSY)
    (tmp_path / "b.seg").write_text(TIDY)
    result = runner.invoke(app, ["fmt", "--diff", str(tmp_path)])
    assert result.exit_code == 1  # was 0: --diff alone wrote the files
    assert (tmp_path / "a.seg").read_text() == MESSY
    assert result.stdout.startswith(f"--- {tmp_path / 'a.seg'} (original)\n")
    assert '-segment   a="x"\n+\n+segment a = "x"\n' in result.stdout
    assert "would reformat" in result.stderr and "would reformat" not in result.stdout
    clean = runner.invoke(app, ["fmt", "--diff", str(tmp_path / "b.seg")])
    assert clean.exit_code == 0 and clean.stdout == ""


def test_stdin_to_stdout() -> None:
    result = seg("fmt", "-", stdin=MESSY.encode())
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode() == TIDY
    check = seg("fmt", "--check", "-", stdin=MESSY.encode())
    assert check.returncode == 1 and check.stdout == b""
    diff = seg("fmt", "--diff", "-", stdin=MESSY.encode())
    assert diff.returncode == 1 and diff.stdout.startswith(b"--- <stdin> (original)")
    broken = seg("fmt", "-", stdin=b"segment = =\n")
    assert broken.returncode == 1 and broken.stdout == b""
    assert b"<stdin>:1:9: error[SEG0" in broken.stderr


def test_stdin_not_utf8_is_a_diagnostic() -> None:
    result = seg("fmt", "-", stdin=b'segment a = "\xff"\n')
    assert result.returncode == 1 and b"SEG504" in result.stderr
    assert b"Traceback" not in result.stderr


def test_a_file_that_is_not_utf8_is_a_diagnostic_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "latin1.seg").write_bytes('segment a = "Köln"\n'.encode("latin-1"))
    (tmp_path / "ok.seg").write_text(MESSY)
    result = runner.invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 1
    assert "error[SEG508]" in result.stderr and "is not UTF-8 text" in result.stderr
    assert (tmp_path / "ok.seg").read_text() == TIDY  # the other files are still formatted


def test_permissions_are_kept(tmp_path: Path) -> None:
    file = tmp_path / "a.seg"
    file.write_text(MESSY)
    file.chmod(0o640)
    assert runner.invoke(app, ["fmt", str(file)]).exit_code == 0
    assert file.read_text() == TIDY
    assert stat.S_IMODE(file.stat().st_mode) == 0o640  # was 0o600 (mkstemp's)


def test_symlinks_are_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real" / "a.seg"
    real.parent.mkdir()
    real.write_text(MESSY)
    link = tmp_path / "project" / "a.seg"
    link.parent.mkdir()
    link.symlink_to(real)
    assert runner.invoke(app, ["fmt", str(link)]).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(real)  # was replaced by a file
    assert real.read_text() == TIDY
    assert not list(real.parent.glob(".a.seg.*"))  # no temporary left behind


def test_line_width_comes_from_the_settings(tmp_path: Path) -> None:
    condition = " and ".join(f"x{i} = {i}" for i in range(6))  # 59 characters
    text = f"segdsl 1\n\nsegment s = {condition}\n"
    (tmp_path / "s.seg").write_text(text)
    assert runner.invoke(app, ["fmt", "--check", str(tmp_path)]).exit_code == 0
    (tmp_path / "seg.toml").write_text("[format]\nline-width = 40\n")
    result = runner.invoke(app, ["fmt", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "s.seg").read_text().splitlines()[2:4] == ["segment s =", "  x0 = 0"]


def test_bad_line_width_is_a_settings_error(tmp_path: Path) -> None:
    (tmp_path / "seg.toml").write_text("[format]\nline-width = 10\nindent = 4\n")
    (tmp_path / "s.seg").write_text(TIDY)
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "`format.line-width` must be a number of 40 or more" in result.stdout
    assert "unknown setting `format.indent`" in result.stdout
