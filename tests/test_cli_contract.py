"""The machine contract: data on stdout, messages on stderr, versioned JSON with a schema.

Every `--format json` output is validated against its JSON Schema in docs/schemas/, on
real output of the command, so the documented contract cannot drift from the code.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from segdsl.codes import CODES
from tests.support.demo_copies import DemoCopies
from tests.support.git import git

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
SCHEMAS = ROOT / "docs" / "schemas"


def seg(*args: str, cwd: Path = ROOT, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`seg` in its own process, so stdout and stderr are the real streams."""
    return subprocess.run(
        [sys.executable, "-m", "segdsl", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        check=False,
    )


def conforms(name: str, document: object) -> None:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    Draft202012Validator.check_schema(schema)
    errors = [e.message for e in Draft202012Validator(schema).iter_errors(document)]
    assert not errors, (name, errors)


def counts_are_counts(document: object) -> Iterator[str]:
    """Every `errors` / `warnings` key anywhere holds a count, never a list."""
    if isinstance(document, dict):
        for key, value in document.items():
            if key in ("errors", "warnings"):
                assert isinstance(value, int), (key, value)
                yield key
            yield from counts_are_counts(value)
    elif isinstance(document, list):
        for item in document:
            yield from counts_are_counts(item)


def json_document(result: subprocess.CompletedProcess[str], schema: str) -> dict[str, object]:
    """stdout is exactly one JSON document (no stray text), valid against `schema`."""
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    assert next(iter(document)) == "version"
    conforms(schema, document)
    list(counts_are_counts(document))
    return document


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, demo_copies: DemoCopies) -> str:
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    demo_copies.copy(path, scale=0.05)
    return f"duckdb:///{path}"


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    (tmp_path / "examples" / "bad.seg").write_text(
        "segdsl 1\nsegment s = pai_orders > 0\nsegment t = city > 3\n"
    )
    return tmp_path / "examples"


def test_compile_error_writes_nothing_to_stdout(broken: Path) -> None:
    result = seg("compile", str(broken), "-s", "loyal")
    assert result.returncode == 1
    assert result.stdout == ""  # `seg compile … > out.sql` leaves out.sql empty
    assert "error[SEG101]" in result.stderr


def test_unknown_name_in_run_json_writes_nothing_to_stdout(demo: str) -> None:
    result = seg("run", "examples", "--db", demo, "-s", "champs", "--format", "json")
    assert result.returncode == 2 and result.stdout == ""
    assert "SEG502" in result.stderr


def test_validate_json_clean_and_broken(broken: Path) -> None:
    clean = json_document(seg("validate", "examples", "--format", "json"), "validate")
    assert clean["errors"] == 0 and clean["files"] == len(list(EXAMPLES.glob("*.seg")))
    result = seg("validate", str(broken), "--format", "json")
    assert result.returncode == 1 and result.stderr == ""
    document = json_document(result, "validate")
    assert document["errors"] == 2
    assert [d["code"] for d in document["diagnostics"]] == ["SEG101", "SEG201"]  # type: ignore[union-attr, index]


def test_fmt_json_counts_errors_and_lists_diagnostics(tmp_path: Path) -> None:
    (tmp_path / "ugly.seg").write_text("segdsl 1\nsegment   a=true\n")
    (tmp_path / "bad.seg").write_text("segdsl 1\nsegment a =\n")
    result = seg("fmt", "--check", "--format", "json", str(tmp_path))
    assert result.returncode == 1
    document = json_document(result, "fmt")
    assert document["changed"] == [str(tmp_path / "ugly.seg")]
    assert document["errors"] == 1 and len(document["diagnostics"]) == 1  # type: ignore[arg-type]


def test_fmt_text_messages_go_to_stderr(tmp_path: Path) -> None:
    (tmp_path / "ugly.seg").write_text("segdsl 1\nsegment   a=true\n")
    result = seg("fmt", "--check", str(tmp_path))
    assert result.returncode == 1 and result.stdout == ""
    assert "would reformat" in result.stderr


def test_run_outputs(demo: str, tmp_path: Path) -> None:
    sizes = seg(
        "run", "examples", "--db", demo, "-s", "loyal", "-s", "lifecycle", "--format", "json"
    )
    document = json_document(sizes, "run-sizes")
    assert document["as_of"] == "2025-07-01T00:00:00+00:00"
    rows = seg(
        "run", "examples", "--db", demo, "-s", "loyal", "--members", "--limit", "3",
        "--attributes", "city,signed_up_at", "--format", "json",
    )  # fmt: skip
    assert rows.returncode == 0, rows.stderr
    records = [json.loads(line) for line in rows.stdout.splitlines()]
    assert len(records) == 3
    for record in records:
        conforms("run-members", record)
        assert "T" in record["signed_up_at"]  # ISO 8601
    exported = seg("run", "examples", "--db", demo, "-s", "loyal", "-o", str(tmp_path / "l.csv"))
    assert exported.returncode == 0 and exported.stdout == ""
    assert "rows written" in exported.stderr


def test_overlap_explain_why(demo: str) -> None:
    args = ("examples", "--db", demo, "--format", "json")
    json_document(seg("overlap", *args, "-s", "loyal", "-s", "high_income"), "overlap")
    explained = json_document(seg("explain", *args, "-s", "loyal"), "explain")
    assert explained["funnel"]
    json_document(seg("explain", "examples", "-s", "lifecycle", "--format", "json"), "explain")
    member = seg("run", "examples", "--db", demo, "-s", "loyal", "--members", "--limit", "1")
    key = member.stdout.splitlines()[1]
    why = json_document(seg("why", key, *args, "-s", "loyal"), "why")
    assert why["member"] is True and why["key"] == key


def test_why_reasons_json(demo: str) -> None:
    """A classifier's label, a sequence's steps and a ranking's standing conform."""
    args = ("examples", "--db", demo, "--format", "json")
    adder = seg("run", "examples", "--db", demo, "-s", "cart_discount_3d", "--members")
    key = adder.stdout.splitlines()[1]
    steps = json_document(seg("why", key, *args, "-s", "cart_discount_3d"), "why")
    assert steps["member"] is True and any(s["matches"] for s in steps["steps"])
    label = json_document(seg("why", key, *args, "-s", "lifecycle"), "why")
    assert label["label"] in ("prospect", "new", "active", "at_risk", "churned")
    top = seg("run", "examples", "--db", demo, "-s", "high_value", "--members", "--limit", "1")
    ranked = json_document(seg("why", top.stdout.splitlines()[1], *args, "-s", "high_value"), "why")
    standing = ranked["standing"]
    assert ranked["member"] is True and standing["position"] <= standing["cut_off"]


def test_list_json_every_definition_and_a_selection() -> None:
    everything = json_document(seg("list", "examples", "--format", "json"), "list")
    names = [d["name"] for d in everything["definitions"]]  # type: ignore[union-attr, index]
    assert {"loyal", "lifecycle", "reminder_test", "revenue"} <= set(names)
    crm = json_document(seg("list", "examples", "-s", "owner:crm", "--format", "json"), "list")
    assert crm["definitions"] and all(
        d["owner"] == "crm"
        for d in crm["definitions"]  # type: ignore[union-attr]
    )


def test_diff_json(tmp_path: Path, demo: str) -> None:
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-qm", "base")
    model = tmp_path / "examples" / "lifecycle.seg"
    model.write_text(model.read_text().replace("orders_count >= 5", "orders_count >= 4"))
    result = seg(
        "diff", "HEAD", "--path", "examples", "--db", demo, "--format", "json", cwd=tmp_path
    )
    document = json_document(result, "diff")
    assert {c["name"] for c in document["changes"]} >= {"loyal"}  # type: ignore[union-attr, index]


def test_schema_pull(demo: str) -> None:
    result = seg("schema", "pull", "examples", "--db", demo)
    assert result.returncode == 0, result.stderr
    conforms("schema-pull", json.loads(result.stdout))


def test_sarif(broken: Path) -> None:
    result = seg("validate", str(broken), "--format", "sarif")
    assert result.returncode == 1
    log = json.loads(result.stdout)
    conforms("validate-sarif", log)
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == sorted(CODES)
    first = run["results"][0]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"] == "SEG101"
    assert first["level"] == "error"
    location = first["locations"][0]["physicalLocation"]
    # relative to the project root (tmp_path holds no git repository)
    assert location["artifactLocation"]["uri"] == "bad.seg"
    assert location["region"] == {"startLine": 2, "startColumn": 13, "endLine": 2, "endColumn": 23}


def test_sarif_paths_are_relative_to_the_repository(broken: Path) -> None:
    git(broken.parent, "init", "-q")
    log = json.loads(seg("validate", str(broken), "--format", "sarif").stdout)
    uris = {
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        for r in log["runs"][0]["results"]
    }
    assert uris == {"examples/bad.seg"}


def test_every_schema_is_valid_and_referenced_from_the_docs() -> None:
    docs = (ROOT / "docs" / "cli.md").read_text()
    for path in SCHEMAS.glob("*.schema.json"):
        Draft202012Validator.check_schema(json.loads(path.read_text()))
        assert f"schemas/{path.name}" in docs, path.name
