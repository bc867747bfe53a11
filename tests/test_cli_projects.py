"""Projects are found, not guessed: a file brings its project (the nearest seg.toml above),
several seg.toml folders are several projects, include/exclude choose a project's files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from segdsl.cli.main import app
from segdsl.project import load_project, seg_files

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()

MODEL = """segdsl 1
entity customer from customers {
  key id
  city: string
}
"""
SEGMENTS = 'segdsl 1\nsegment berliners = city = "Berlin"\n'


def invoke(*args: str) -> Result:
    result = runner.invoke(app, list(args))
    assert "Traceback" not in result.output
    return result


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A repository with two projects declaring the same names, and a test corpus that
    project `a` excludes (it does not even parse)."""
    write(tmp_path / "a" / "seg.toml", 'exclude = ["fixtures"]\n')
    write(tmp_path / "a" / "model.seg", MODEL)
    write(tmp_path / "a" / "segments" / "city.seg", SEGMENTS)
    write(tmp_path / "a" / "fixtures" / "broken.seg", "segment = =\n")
    write(tmp_path / "b" / "seg.toml", 'dialect = "postgres"\n')
    write(tmp_path / "b" / "model.seg", MODEL)
    write(tmp_path / "b" / "city.seg", SEGMENTS)
    return tmp_path


def test_a_file_is_checked_within_its_project(repo: Path) -> None:
    result = invoke("validate", str(repo / "a" / "segments" / "city.seg"))
    assert result.exit_code == 0, result.stdout  # was: SEG101 unknown name `city`
    assert "checked 1 file: 0 errors" in result.stderr


def test_a_folder_with_two_projects_checks_each_on_its_own(repo: Path) -> None:
    result = invoke("validate", str(repo), "--format", "json")
    assert result.exit_code == 0, result.stdout  # merged: every name declared twice
    document = json.loads(result.stdout)
    assert document["projects"] == [str(repo / "a"), str(repo / "b")]
    assert document["files"] == 4  # a/fixtures is excluded


def test_only_the_named_files_are_reported(repo: Path) -> None:
    write(repo / "a" / "other.seg", "segdsl 1\nsegment x = nowhere > 1\n")
    named = invoke("validate", str(repo / "a" / "segments" / "city.seg"))
    assert named.exit_code == 0 and named.stdout == ""
    assert "note: 1 error in other files of the project" in named.stderr
    whole = invoke("validate", "--whole-project", str(repo / "a" / "segments" / "city.seg"))
    assert whole.exit_code == 1 and "other.seg:2:13: error[SEG101]" in whole.stdout
    project = invoke("validate", str(repo / "a"))
    assert project.exit_code == 1 and "SEG101" in project.stdout


def test_compile_a_file_uses_its_project_settings(repo: Path) -> None:
    result = invoke("compile", str(repo / "b" / "city.seg"), "-s", "berliners")
    assert result.exit_code == 0, result.stderr
    assert '"customers"' in result.stdout  # quoted the postgres way: b's seg.toml was read


def test_commands_that_need_one_project_refuse_several(repo: Path) -> None:
    result = invoke("compile", str(repo), "-s", "berliners")
    assert result.exit_code == 2 and result.stdout == ""
    assert "error[SEG520]" in result.stderr and "2 projects" in result.stderr


def test_nested_project_is_not_merged_into_the_outer_one(repo: Path) -> None:
    write(repo / "a" / "nested" / "seg.toml", "")
    write(repo / "a" / "nested" / "model.seg", MODEL)
    outer = load_project(repo / "a")
    assert not any("nested" in source.path for source in outer.sources)
    inner = load_project(repo / "a" / "nested" / "model.seg")
    assert inner.root == repo / "a" / "nested" and len(inner.sources) == 1


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    write(tmp_path / "seg.toml", 'include = ["segments/**"]\nexclude = ["**/draft_*.seg"]\n')
    write(tmp_path / "segments" / "model.seg", MODEL)
    write(tmp_path / "segments" / "deep" / "city.seg", SEGMENTS)
    write(tmp_path / "segments" / "draft_x.seg", "nonsense")
    write(tmp_path / "corpus" / "other.seg", "nonsense")
    files, problems = seg_files([tmp_path])
    assert problems == []
    assert [f.relative_to(tmp_path).as_posix() for f in files] == [
        "segments/deep/city.seg",
        "segments/model.seg",
    ]
    # a file named on the command line is read even when excluded
    named, _ = seg_files([tmp_path / "corpus" / "other.seg"])
    assert named == [tmp_path / "corpus" / "other.seg"]


def test_bad_include_is_a_settings_error(tmp_path: Path) -> None:
    write(tmp_path / "seg.toml", 'include = "*.seg"\n')
    write(tmp_path / "model.seg", MODEL)
    result = invoke("validate", str(tmp_path))
    assert result.exit_code == 1 and "SEG501" in result.stdout
    assert "`include` must be a list of globs" in result.stdout


def test_relative_paths_stay_relative(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(repo / "a" / "segments")
    write(repo / "a" / "segments" / "bad.seg", "segdsl 1\nsegment y = nowhere > 1\n")
    result = invoke("validate", "bad.seg")
    assert result.stdout.startswith("bad.seg:2:13: error[SEG101]")
    assert load_project("bad.seg").root == Path("..")


def hook(name: str) -> dict[str, str]:
    """One hook of .pre-commit-hooks.yaml (a list of flat `key: value` mappings)."""
    text = (ROOT / ".pre-commit-hooks.yaml").read_text()
    for block in text.split("\n- ")[1:]:
        fields = dict(line.strip().split(": ", 1) for line in block.splitlines() if ": " in line)
        if fields["id"] == name:
            return fields
    raise AssertionError(f"no hook {name}")


def test_pre_commit_hook_runs_per_project_and_on_settings() -> None:
    validate = hook("seg-validate")
    for changed in ("a/seg.toml", "seg.toml", "a/segments/city.seg"):
        assert re.search(validate["files"], changed), changed
    assert not re.search(validate["files"], "a/notseg.toml")
    assert validate["pass_filenames"] == "true"
    assert "--whole-project" in validate["entry"]


def test_the_hook_command_validates_each_project_it_touches(repo: Path) -> None:
    write(repo / "b" / "other.seg", "segdsl 1\nsegment x = nowhere > 1\n")
    # what pre-commit runs when a/seg.toml and b/city.seg change
    changed = [str(repo / "a" / "seg.toml"), str(repo / "b" / "city.seg")]
    result = invoke("validate", "--whole-project", *changed)
    assert result.exit_code == 1
    assert "other.seg:2:13: error[SEG101]" in result.stdout
    assert "checked 5 files" in result.stderr  # a: 2, b: 3


def test_one_project_written_two_ways_is_read_once(
    repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(repo)
    result = invoke("validate", "--format", "json", "a", str(repo / "a" / "segments" / "city.seg"))
    document = json.loads(result.stdout)
    assert result.exit_code == 0, document
    assert document["projects"] == ["a"] and document["files"] == 2
