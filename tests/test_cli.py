"""The `seg` command as a user runs it: exit codes, formats, messages, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from segdsl.cli.main import app

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "corpus"
runner = CliRunner()


def seg(*args: str) -> subprocess.CompletedProcess[str]:
    """Run `seg` in a fresh process, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "segdsl", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    (tmp_path / "model.seg").write_text((CORPUS / "model.seg").read_text())
    (tmp_path / "bad.seg").write_text("segment s = pai_orders > 0\nsegment t = city > 3\n")
    return tmp_path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout.startswith("seg 0.")


def test_validate_clean_project_exits_0() -> None:
    result = seg("validate", str(CORPUS))
    assert result.returncode == 0, result.stderr
    assert "0 errors" in result.stderr


def test_validate_reports_every_finding_and_exits_1(broken: Path) -> None:
    result = seg("validate", str(broken))
    assert result.returncode == 1
    assert "bad.seg:1:13: error[SEG101]: unknown name `pai_orders`" in result.stdout
    assert "bad.seg:2:13: error[SEG201]" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_json(broken: Path) -> None:
    result = runner.invoke(app, ["validate", str(broken), "--format", "json"])
    assert result.exit_code == 1
    payload = json.loads(result.stdout)
    assert [d["code"] for d in payload["diagnostics"]] == ["SEG101", "SEG201"]


def test_validate_github(broken: Path) -> None:
    result = runner.invoke(app, ["validate", str(broken), "--format", "github"])
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].startswith("::error file=")


def test_validate_usage_error_exits_2() -> None:
    assert runner.invoke(app, ["validate", str(CORPUS), "--format", "xml"]).exit_code == 2
    assert runner.invoke(app, ["validate"]).exit_code == 2


def test_validate_missing_path(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path / "nowhere")])
    assert result.exit_code == 1 and "SEG504" in result.stdout


def test_validate_empty_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1 and "SEG504" in result.stdout


def test_validate_bad_settings(tmp_path: Path) -> None:
    (tmp_path / "seg.toml").write_text('dialect = "oracle"\ntimezone = "UTC"\n')
    (tmp_path / "a.seg").write_text((CORPUS / "model.seg").read_text())
    result = runner.invoke(app, ["validate", str(tmp_path)])
    assert result.exit_code == 1
    assert "SEG501" in result.stdout and "unknown dialect `oracle`" in result.stdout
    assert "did you mean `time_zone`?" in result.stdout


def test_validate_param_override(tmp_path: Path) -> None:
    (tmp_path / "a.seg").write_text(
        (CORPUS / "model.seg").read_text() + "param n: integer = 2\nsegment s = count orders > n\n"
    )
    assert runner.invoke(app, ["validate", str(tmp_path), "--param", "n=3"]).exit_code == 0
    bad = runner.invoke(app, ["validate", str(tmp_path), "--param", "n=3d"])
    assert bad.exit_code == 1 and "SEG112" in bad.stdout
    unknown = runner.invoke(app, ["validate", str(tmp_path), "--param", "m=3"])
    assert unknown.exit_code == 1 and "unknown parameter `m`" in unknown.stdout
    malformed = runner.invoke(app, ["validate", str(tmp_path), "--param", "n"])
    assert malformed.exit_code == 2


def test_validate_imports_no_database_driver_nor_sql_builder() -> None:
    code = (
        "import sys; from segdsl.cli.main import main; "
        "sys.argv = ['seg', 'validate', 'tests/corpus'];\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in ('duckdb', 'psycopg', 'google.cloud.bigquery', 'pyarrow', "
        "'sqlglot') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("dialect", ["duckdb", "postgres", "bigquery"])
def test_compile_prints_sql(dialect: str) -> None:
    result = runner.invoke(
        app,
        [
            "compile",
            str(CORPUS),
            "--segment",
            "loyal",
            "--dialect",
            dialect,
            "--as-of",
            "2025-07-01",
        ],
    )
    assert result.exit_code == 0, result.stdout
    expected = (CORPUS / "golden" / dialect / "loyal.sql").read_text()
    assert result.stdout == expected.rstrip("\n") + ";\n"


def test_compile_several_names_gives_a_membership_table() -> None:
    result = runner.invoke(
        app, ["compile", str(CORPUS), "-s", "loyal", "-s", "lifecycle", "--as-of", "2025-07-01"]
    )
    assert result.exit_code == 0
    assert '"loyal"' in result.stdout and '"lifecycle"' in result.stdout


def test_compile_unknown_segment_and_bad_as_of_are_usage_errors() -> None:
    unknown = runner.invoke(app, ["compile", str(CORPUS), "-s", "loyl"])
    assert unknown.exit_code == 2 and "did you mean `loyal`?" in unknown.stderr
    assert unknown.stdout == ""
    bad_date = runner.invoke(app, ["compile", str(CORPUS), "-s", "loyal", "--as-of", "2025-13-01"])
    assert bad_date.exit_code == 2 and "SEG503" in bad_date.stderr
    bad_dialect = runner.invoke(app, ["compile", str(CORPUS), "-s", "loyal", "--dialect", "oracle"])
    assert bad_dialect.exit_code == 2


def test_compile_with_errors_exits_1(broken: Path) -> None:
    result = runner.invoke(app, ["compile", str(broken), "-s", "s"])
    assert result.exit_code == 1 and "SEG101" in result.stderr and result.stdout == ""


def test_internal_errors_say_so_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from segdsl.cli import main as cli_main
    from segdsl.compiler import Compiler

    def explode(*args: object, **kwargs: object) -> str:
        raise RuntimeError("boom")

    monkeypatch.setattr(Compiler, "members_sql", explode)
    monkeypatch.setattr(sys, "argv", ["seg", "compile", str(CORPUS), "-s", "loyal"])
    with pytest.raises(SystemExit) as exited:
        cli_main.main()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert "internal error [SEG901]: RuntimeError: boom" in err
    assert "bug in segdsl" in err and "Traceback" not in err
