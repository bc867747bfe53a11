"""Two revisions of a project → which definitions changed in meaning, and (on a database)
which members enter and leave each changed segment.

Meaning is compared on the analysed IR, so reformatting, comments, reordering and
renaming a file change nothing, while editing a measure changes every segment that
uses it.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sqlglot import exp

from segdsl.compiler import AsOfInput, Compiler
from segdsl.project import Project
from segdsl.settings import Settings, load_settings
from segdsl.source import SourceFile
from segdsl.syntax import nodes


class GitError(Exception):
    """git could not answer (not a repository, unknown revision, …)."""


def _git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise GitError(result.stderr.strip() or f"git {' '.join(args)} failed")
    return result.stdout


def repository_root(path: Path) -> Path:
    start = path if path.is_dir() else path.parent
    return Path(_git(start.resolve(), "rev-parse", "--show-toplevel").strip())


def _settings_at(root: Path, revision: str, folder: PurePosixPath) -> tuple[str, str] | None:
    """The nearest seg.toml, or pyproject.toml with [tool.segdsl], at `revision`
    (searched upwards from `folder`, as for the working tree): file name and text."""
    for candidate in [folder, *folder.parents]:
        for file_name in ("seg.toml", "pyproject.toml"):
            try:
                text = _git(root, "show", f"{revision}:{(candidate / file_name).as_posix()}")
            except GitError:
                continue
            if file_name == "seg.toml" or "[tool.segdsl]" in text:
                return file_name, text
    return None


def load_revision(path: Path, revision: str | None) -> Project:
    """The project under `path` as it was at `revision` (None: the working tree)."""
    from segdsl.project import load_project

    if revision is None:
        return load_project(path)
    root = repository_root(path)
    relative = PurePosixPath(path.resolve().relative_to(root).as_posix())
    listing = _git(
        root,
        "ls-tree",
        "-r",
        "--name-only",
        revision,
        "--",
        str(relative) if str(relative) != "." else ".",
    )
    sources = []
    for name in sorted(listing.splitlines()):
        if name.endswith(".seg"):
            sources.append(
                SourceFile(f"{revision}:{name}", _git(root, "show", f"{revision}:{name}"))
            )
    settings = Settings()
    found = _settings_at(root, revision, relative)
    if found is not None:
        import tempfile

        file_name, settings_text = found
        with tempfile.TemporaryDirectory() as folder:
            file = Path(folder) / file_name
            file.write_text(settings_text, encoding="utf-8")
            settings, _ = load_settings(file)
    return Project.from_sources(sources, settings, [])


@dataclass
class Change:
    name: str
    kind: str
    status: str  # changed | added | removed | text_only
    reason: str = ""
    before: int | None = None
    after: int | None = None
    entered: int | None = None
    left: int | None = None
    entered_sample: list[object] = field(default_factory=list)
    left_sample: list[object] = field(default_factory=list)


def compare(base: Compiler, head: Compiler) -> list[Change]:
    """Definitions added, removed, changed in meaning, or changed in text only."""
    base.raise_for_errors()
    head.raise_for_errors()
    changes: list[Change] = []
    before, after = base.analysis.definitions, head.analysis.definitions
    for name, definition in after.items():
        if name not in before:
            changes.append(Change(name, definition.kind, "added"))
            continue
        old = before[name]
        if old.kind != definition.kind or old.expr.expr != definition.expr.expr:
            changes.append(Change(name, definition.kind, "changed", _reason(base, head, name)))
        elif _text(base, name) != _text(head, name) or _meta(old) != _meta(definition):
            changes.append(Change(name, definition.kind, "text_only"))
    for name, definition in before.items():
        if name not in after:
            changes.append(Change(name, definition.kind, "removed"))
    return changes


def _meta(definition: object) -> tuple[object, ...]:
    return (
        getattr(definition, "description", None),
        getattr(definition, "owner", None),
        getattr(definition, "tags", ()),
    )


def _text(compiler: Compiler, name: str) -> nodes.Statement:
    return compiler.analysis.decls.definitions[name]


def _reason(base: Compiler, head: Compiler, name: str) -> str:
    if _text(base, name) != _text(head, name):
        return "its definition changed"
    return "something it depends on changed"


def membership_change_sql(
    base: Compiler, head: Compiler, name: str, *, dialect: str, as_of: AsOfInput
) -> tuple[str, str]:
    """(counts SQL, sample SQL) comparing a segment's members at base and head, on one engine."""
    base_builder = base.builder([(name, base.definition(name).expr)], dialect, as_of)
    head_builder = head.builder([(name, head.definition(name).expr)], dialect, as_of)
    base_select = base_builder.members(base.definition(name).expr)
    head_select = head_builder.members(head.definition(name).expr)
    key = exp.to_identifier("k", quoted=True)
    sides = {}
    for label, select in (("before", base_select), ("after", head_select)):
        keyed = exp.select(
            exp.alias_(
                exp.column(select.selects[0].alias_or_name, quoted=True),
                "k",
                quoted=True,
                copy=False,
            )
        )
        sides[label] = keyed.from_(select.subquery("members", copy=False)).subquery(
            label, copy=False
        )
    before_key = exp.column(key.copy(), table=exp.to_identifier("before", quoted=True))
    after_key = exp.column(key.copy(), table=exp.to_identifier("after", quoted=True))
    joined = exp.select().from_(sides["before"], copy=False)
    on = exp.EQ(this=before_key.copy(), expression=after_key.copy())
    joined.append("joins", exp.Join(this=sides["after"], on=on, side="FULL", kind="OUTER"))

    def count_when(condition: exp.Expression) -> exp.Expression:
        return exp.Count(this=exp.Case(ifs=[exp.If(this=condition, true=exp.Literal.number(1))]))

    present_before = exp.Not(this=exp.Is(this=before_key.copy(), expression=exp.Null()))
    present_after = exp.Not(this=exp.Is(this=after_key.copy(), expression=exp.Null()))
    counts = joined.copy().select(
        exp.alias_(count_when(present_before.copy()), "before_members", quoted=True, copy=False),
        exp.alias_(count_when(present_after.copy()), "after_members", quoted=True, copy=False),
        exp.alias_(
            count_when(exp.Is(this=before_key.copy(), expression=exp.Null())),
            "entered",
            quoted=True,
            copy=False,
        ),
        exp.alias_(
            count_when(exp.Is(this=after_key.copy(), expression=exp.Null())),
            "left",
            quoted=True,
            copy=False,
        ),
        copy=False,
    )
    change = exp.Case(
        ifs=[
            exp.If(
                this=exp.Is(this=before_key.copy(), expression=exp.Null()),
                true=exp.Literal.string("entered"),
            )
        ],
        default=exp.Literal.string("left"),
    )
    moved = exp.Or(
        this=exp.Is(this=before_key.copy(), expression=exp.Null()),
        expression=exp.Is(this=after_key.copy(), expression=exp.Null()),
    )
    samples = (
        joined.copy()
        .select(
            exp.alias_(change, "change", quoted=True, copy=False),
            exp.alias_(
                exp.Coalesce(this=after_key.copy(), expressions=[before_key.copy()]),
                "key",
                quoted=True,
                copy=False,
            ),
            copy=False,
        )
        .where(moved, copy=False)
        .order_by(exp.column("key", quoted=True), copy=False)
        .limit(200, copy=False)
    )
    render = head_builder.dialect.render
    return render(counts), render(samples)


def sample_keys(rows: list[dict[str, object]], size: int) -> tuple[list[object], list[object]]:
    entered = [r["key"] for r in rows if r["change"] == "entered"][:size]
    left = [r["key"] for r in rows if r["change"] == "left"][:size]
    return entered, left
