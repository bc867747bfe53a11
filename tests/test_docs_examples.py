"""The code in the documentation runs, and the output it shows is the output it gives.

- docs/api.md: every ```python block is run in order, in one namespace, with the
  repository root as the current folder. Blocks written as `>>>` sessions are run
  with doctest, so each shown output is compared with the real one; other blocks are
  executed as plain code.
- docs/architecture.md: its ```python blocks are run the same way, and its
  abbreviated ```sql view of a generated query is checked against the SQL the
  compiler really generates (every line shown must appear, in the same order).
- The doctest examples in the docstrings of segdsl/compiler.py, segdsl/project.py
  and segdsl/__init__.py pass.

Temporary files the examples create (the demo warehouse, exports) go through
`tempfile`, which is pointed at pytest's tmp_path here, so nothing is left behind.
"""

from __future__ import annotations

import doctest
import importlib
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from segdsl.diagnostics import Diagnostic

ROOT = Path(__file__).resolve().parents[1]
API = ROOT / "docs" / "api.md"
ARCHITECTURE = ROOT / "docs" / "architecture.md"

# A fenced block: the opening fence (any language), the body, the closing fence.
_FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
OPTIONS = doctest.ELLIPSIS


def fenced_blocks(path: Path, language: str) -> list[tuple[int, str]]:
    """(line number of the first code line, code) for every ```language block of `path`."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _FENCE.finditer(text):
        if match.group(1) == language:
            line = text.count("\n", 0, match.start(2)) + 1
            blocks.append((line, match.group(2)))
    return blocks


def run_python_blocks(path: Path, namespace: dict[str, Any]) -> None:
    """Run every ```python block of `path` in order in `namespace`; fail with all mismatches."""
    blocks = fenced_blocks(path, "python")
    assert blocks, f"no python blocks in {path}"
    parser = doctest.DocTestParser()
    runner = doctest.DocTestRunner(optionflags=OPTIONS, verbose=False)
    report: list[str] = []
    relative = path.relative_to(ROOT)
    for line, code in blocks:
        name = f"{relative}:{line}"
        if ">>>" in code:
            test = parser.get_doctest(code, namespace, name, str(relative), line - 1)
            runner.run(test, out=report.append, clear_globs=False)
            namespace.update(test.globs)  # a DocTest works on a copy: carry its names on
        else:
            try:
                exec(compile(code, name, "exec"), namespace)  # our own documentation
            except Exception as error:
                pytest.fail(f"{name}: the block raised {type(error).__name__}: {error}")
    assert runner.failures == 0, "".join(report)
    assert runner.tries > 0, f"{relative}: no doctest examples were run"


@pytest.fixture
def doc_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Repository root as the current folder; temporary files under tmp_path."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("NO_COLOR", "1")
    return tmp_path


def test_api_examples(doc_env: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_api"}
    run_python_blocks(API, namespace)
    # the examples really used the temporary folder for the files they wrote
    assert any(doc_env.rglob("demo.duckdb")), "the demo warehouse was not built under tmp_path"


def test_architecture_example(doc_env: Path) -> None:
    namespace: dict[str, Any] = {"__name__": "docs_architecture"}
    run_python_blocks(ARCHITECTURE, namespace)
    sql = namespace.get("sql")
    assert isinstance(sql, str), "docs/architecture.md must leave the generated SQL in `sql`"
    sql_blocks = fenced_blocks(ARCHITECTURE, "sql")
    assert sql_blocks, "docs/architecture.md shows no generated SQL"
    generated = [line.strip() for line in sql.splitlines()]
    for start, shown in sql_blocks:
        position = 0
        for offset, raw in enumerate(shown.splitlines()):
            line = raw.strip()
            if not line or line in ("…", "...") or line.startswith("--"):
                continue  # an elision or a comment added for the reader
            try:
                position = generated.index(line, position) + 1
            except ValueError:
                pytest.fail(
                    f"docs/architecture.md:{start + offset}: {line!r} is not in the generated "
                    "SQL (or not in this order); regenerate the example"
                )


@pytest.mark.parametrize("module_name", ["segdsl.compiler", "segdsl.project", "segdsl"])
def test_docstring_examples(module_name: str, doc_env: Path) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=OPTIONS, verbose=False, report=True)
    assert result.attempted > 0, f"{module_name} has no doctest examples"
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {module_name}"


def test_readme_segment_is_valid_against_the_examples() -> None:
    """The segment the README opens with compiles against the example project's model."""
    from segdsl.compiler import Compiler
    from segdsl.project import Project, load_project

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (block,) = [code for lang, code in _FENCE.findall(readme) if not lang][:1]
    examples = load_project(ROOT / "examples")
    block = block.replace("segment cart_abandoners", "segment readme_example")
    text = "\n".join(source.text for source in examples.sources) + "\n" + block
    compiler = Compiler(Project.from_text(text.replace("segdsl 1\n", "")))
    assert compiler.diagnostics == []
    assert compiler.members_sql("readme_example", dialect="duckdb").startswith("WITH")


def test_ci_runs_the_readme_test_command() -> None:
    """`.ci/run` ends with the README's test command, word for word."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    after_marker = readme.split("<!-- test-command -->", 1)[1]
    command = _FENCE.findall(after_marker)[0][1].strip()
    assert "pytest" in command
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").strip().splitlines()
    assert ci[-1] == command


def test_ci_proves_the_readme_demo_command_on_a_fresh_install() -> None:
    """`.ci/run` runs `.ci/fresh-install`, which runs the README's demo command in a fresh copy."""
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert "bash .ci/fresh-install" in ci
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    demo = _FENCE.findall(readme.split("<!-- demo-command -->", 1)[1])[0][1].strip()
    assert "pip install ." in demo and "[test]" not in demo
    script = (ROOT / ".ci" / "fresh-install").read_text(encoding="utf-8")
    assert "<!-- demo-command -->" in script and "seg validate examples" in script


# ---------------------------------------------------------------- the language reference

LANGUAGE = ROOT / "docs" / "language.md"
EXAMPLES = ROOT / "examples"
# ```seg, or ```seg error=SEG101 for a block that shows that mistake on purpose.
_SEG_FENCE = re.compile(
    r"^```seg(?:[ \t]+error=(?P<code>SEG\d{3}))?[ \t]*\n(?P<body>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


def seg_blocks(path: Path) -> list[tuple[str, str, str | None]]:
    """(id, code, expected diagnostic code or None) for every ```seg block of `path`."""
    text = path.read_text(encoding="utf-8")
    blocks = []
    for match in _SEG_FENCE.finditer(text):
        line = text.count("\n", 0, match.start("body")) + 1
        blocks.append((f"{path.name}:{line}", match.group("body"), match.group("code")))
    return blocks


def check_block(block_id: str, code: str) -> list[Diagnostic]:
    """Diagnostics of a block in the project it needs.

    A block that declares a model (an entity or a table read from the warehouse) is
    checked with its own model, borrowing the examples' entity if it shows none; a block
    of definitions only is added to the example project, whose definitions of the same
    names give way to the block's.
    """
    from segdsl.project import Project, load_project
    from segdsl.source import SourceFile
    from segdsl.syntax import nodes
    from segdsl.syntax.parser import parse

    block = SourceFile(block_id, code)
    parsed = parse(block)
    if parsed.module is None:
        return list(parsed.diagnostics)
    examples = load_project(EXAMPLES)
    statements = parsed.module.statements
    declared = {statement.name.text for statement in statements}
    own_model = any(isinstance(s, nodes.EntityDecl | nodes.TableDecl) for s in statements)
    own_entity = any(isinstance(s, nodes.EntityDecl) for s in statements)

    def borrowed(statement: nodes.Statement) -> bool:
        if statement.name.text in declared:
            return False
        return not own_model or (isinstance(statement, nodes.EntityDecl) and not own_entity)

    sources = []
    for source, module in zip(examples.sources, examples.modules, strict=True):
        kept = [source.text[s.span.start : s.span.end] for s in module.statements if borrowed(s)]
        sources.append(SourceFile(source.path, "\n\n".join(kept)))
    project = Project.from_sources([*sources, block], examples.settings, [])
    return project.analyze().diagnostics


def test_language_reference_has_seg_blocks() -> None:
    """Every code block of the reference is checked: none is left untagged."""
    text = LANGUAGE.read_text(encoding="utf-8")
    openings = [lang for lang, _ in _FENCE.findall(text)]
    assert openings and set(openings) <= {"seg", "sh", "sql", "text"}, openings
    assert len(seg_blocks(LANGUAGE)) == openings.count("seg")


@pytest.mark.parametrize(
    ("block_id", "code", "expected"),
    seg_blocks(LANGUAGE),
    ids=[block_id for block_id, _, _ in seg_blocks(LANGUAGE)],
)
def test_language_reference_block(block_id: str, code: str, expected: str | None) -> None:
    """A block validates, or gives exactly the diagnostic its fence says it shows."""
    diagnostics = check_block(block_id, code)
    codes = [d.code for d in diagnostics]
    if expected is None:
        assert codes == [], "\n".join(f"{d.span}: {d.code} {d.message}" for d in diagnostics)
    else:
        assert codes == [expected], codes


def test_a_broken_block_fails_the_check() -> None:
    """The check is not vacuous: a misspelt name in a block is reported."""
    (first_id, first_code, _), *_ = seg_blocks(LANGUAGE)
    assert check_block(first_id, first_code) == []
    broken = first_code.replace("cart_adds > 0", "cart_adds_typo > 0")
    assert [d.code for d in check_block(first_id, broken)] == ["SEG101"]


def test_headline_example_is_in_the_examples() -> None:
    """The reference's first segment is defined in examples/, word for word."""
    (_, code, _), *_ = seg_blocks(LANGUAGE)
    headline = code.strip().splitlines()[-1].strip()
    assert headline == "recency < 30d and cart_adds > 0 and not purchased"
    behaviour = (EXAMPLES / "behaviour.seg").read_text(encoding="utf-8")
    definition = r"^segment recent_cart_no_purchase\b[^=\n]*=\s*" + re.escape(headline) + "$"
    assert re.search(definition, behaviour, re.MULTILINE)
