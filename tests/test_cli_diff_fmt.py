"""`seg diff` on a temporary git repository with real commits, and `seg fmt`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from segdsl.cli.main import app
from tests.support.demo_copies import DemoCopies
from tests.support.git import git

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.05)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    return tmp_path


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def diff(repo: Path, *args: str) -> dict[str, object]:
    result = runner.invoke(
        app, ["diff", *args, "--path", str(repo / "examples"), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_name(payload: dict[str, object]) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in payload["changes"]}  # type: ignore[index, union-attr]


def test_formatting_and_comments_are_not_changes(repo: Path) -> None:
    lifecycle = repo / "examples" / "lifecycle.seg"
    lifecycle.write_text(
        "# a new comment\n"
        + lifecycle.read_text().replace(
            "segment buyers = orders_count > 0", "segment   buyers=orders_count>0"
        )
    )
    git(repo, "commit", "-qam", "reformat")
    assert diff(repo, "HEAD~1", "HEAD")["changes"] == []


def test_rely_changes_no_meaning(repo: Path) -> None:
    model = repo / "examples" / "model.seg"
    model.write_text(model.read_text().replace(" rely\n", "\n"))
    git(repo, "commit", "-qam", "no promise about the data")
    assert diff(repo, "HEAD~1", "HEAD")["changes"] == []
    # while a change to the link itself is one
    edit(model, "link order_id to orders.id", "link order_id to orders.order_ref")
    git(repo, "commit", "-qam", "another key")
    assert "replenishment_due" in by_name(diff(repo, "HEAD~1", "HEAD"))


def test_a_measure_change_reaches_every_segment_using_it(repo: Path, demo: Path) -> None:
    edit(
        repo / "examples" / "measures.seg",
        "count paid_orders during last 90d",
        "count paid_orders during last 60d",
    )
    git(repo, "commit", "-qam", "shorter window")
    changes = by_name(diff(repo, "HEAD~1", "HEAD", "--db", f"duckdb:///{demo}"))
    assert changes["orders_90d"]["reason"] == "its definition changed"
    assert changes["churn_risk"]["status"] == "changed"
    assert changes["churn_risk"]["reason"] == "something it depends on changed"
    assert "loyal" not in changes
    # entering and leaving members, checked against running both revisions
    before = members(repo, demo, "HEAD~1", "churn_risk")
    after = members(repo, demo, None, "churn_risk")
    churn = changes["churn_risk"]
    assert (churn["before"], churn["after"]) == (len(before), len(after))
    assert (churn["entered"], churn["left"]) == (len(after - before), len(before - after))
    assert set(churn["entered_sample"]) <= after - before  # type: ignore[arg-type]


def test_settings_from_pyproject_at_a_revision(repo: Path) -> None:
    from segdsl.diff import load_revision

    settings = (repo / "examples" / "seg.toml").read_text()
    (repo / "examples" / "seg.toml").unlink()
    (repo / "pyproject.toml").write_text("[tool.segdsl]\n" + settings)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "settings in pyproject.toml")
    at_head = load_revision(repo / "examples", "HEAD").settings
    assert at_head.as_of == load_revision(repo / "examples", None).settings.as_of == "2025-07-01"
    assert load_revision(repo / "examples", "HEAD~1").settings.as_of == "2025-07-01"


def members(repo: Path, demo: Path, revision: str | None, segment: str) -> set[int]:
    from segdsl.compiler import Compiler
    from segdsl.diff import load_revision

    compiler = Compiler(load_revision(repo / "examples", revision))
    sql = compiler.members_sql(segment, dialect="duckdb")
    with duckdb.connect(str(demo), read_only=True) as con:
        return {row[0] for row in con.execute(sql).fetchall()}


def test_working_tree_against_a_commit_with_added_and_removed(repo: Path) -> None:
    audience = repo / "examples" / "audience.seg"
    edit(
        audience,
        'segment high_income = income_band = "high"\n',
        'segment top_income = income_band = "high"\n',
    )
    changes = by_name(diff(repo, "HEAD"))
    assert changes["top_income"]["status"] == "added"
    assert changes["high_income"]["status"] == "removed"


def test_metadata_only_is_text_only(repo: Path) -> None:
    edit(repo / "examples" / "lifecycle.seg", 'owner "crm" tags ["lifecycle"]', 'owner "growth"')
    changes = by_name(diff(repo, "HEAD"))
    assert changes["new_customers"]["status"] == "text_only"


def test_exit_code_and_text(repo: Path) -> None:
    edit(repo / "examples" / "lifecycle.seg", "orders_count >= 5 and", "orders_count >= 4 and")
    result = runner.invoke(app, ["diff", "HEAD", "--path", str(repo / "examples"), "--exit-code"])
    assert result.exit_code == 1
    assert (
        "changed in meaning:" in result.stdout
        and "segment loyal — its definition changed" in result.stdout
    )


def test_unknown_revision(repo: Path) -> None:
    result = runner.invoke(app, ["diff", "nope", "--path", str(repo / "examples")])
    assert result.exit_code == 1 and "git:" in result.output


# ------------------------------------------------------------------ fmt
MESSY = """segdsl 1
# leading comment
segment   a="x"   # trailing comment
measure m=count   orders  during last 30d where status="paid"
"""


def test_fmt_rewrites_keeps_comments_and_is_idempotent(tmp_path: Path) -> None:
    file = tmp_path / "a.seg"
    file.write_text(MESSY)
    assert runner.invoke(app, ["fmt", str(tmp_path), "--check"]).exit_code == 1
    assert runner.invoke(app, ["fmt", str(tmp_path)]).exit_code == 0
    formatted = file.read_text()
    assert formatted == (
        'segdsl 1\n\n# leading comment\nsegment a = "x"  # trailing comment\n'
        'measure m = count orders during last 30d where status = "paid"\n'
    )
    assert runner.invoke(app, ["fmt", str(tmp_path), "--check"]).exit_code == 0


def test_fmt_check_github_and_syntax_errors(tmp_path: Path) -> None:
    (tmp_path / "a.seg").write_text(MESSY)
    (tmp_path / "b.seg").write_text("segment = ")
    result = runner.invoke(app, ["fmt", str(tmp_path), "--check", "--format", "github"])
    assert result.exit_code == 1
    assert f"::error file={tmp_path / 'a.seg'},title=seg fmt::" in result.stdout
    assert "SEG001" in result.stdout
    assert (tmp_path / "a.seg").read_text() == MESSY  # --check changes nothing


def test_examples_and_corpus_are_formatted() -> None:
    result = runner.invoke(
        app, ["fmt", str(ROOT / "examples"), str(ROOT / "tests" / "corpus"), "--check"]
    )
    assert result.exit_code == 0, result.stdout
