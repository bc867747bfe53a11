"""Files on disk → a project: its `.seg` sources and settings, parsed and analysed."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segdsl.diagnostics import Diagnostic
from segdsl.schema import WarehouseSchema, adopt_storage
from segdsl.semantic.analyze import Analysis, ParamValue, analyze
from segdsl.semantic.declarations import Declarations
from segdsl.semantic.file_sources import check_sources
from segdsl.settings import Settings, find_settings, load_settings, settings_in
from segdsl.source import SourceFile, Span, read_source
from segdsl.syntax import nodes
from segdsl.syntax.parser import parse


@dataclass
class Project:
    """A set of `.seg` files and the settings that apply to them."""

    sources: list[SourceFile]
    settings: Settings = field(default_factory=Settings)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # loading and syntax problems
    modules: list[nodes.Module] = field(default_factory=list)
    root: Path | None = None  # the settings' folder; None outside any project
    named: frozenset[str] | None = None  # the files asked about (None: every file)

    @classmethod
    def from_text(
        cls, text: str, path: str = "<string>", settings: Settings | None = None
    ) -> Project:
        """A project made of one file's text (handy for tests and embedding)."""
        return cls.from_sources([SourceFile(path, text)], settings or Settings(), [])

    @classmethod
    def from_sources(
        cls, sources: list[SourceFile], settings: Settings, problems: list[Diagnostic]
    ) -> Project:
        modules: list[nodes.Module] = []
        diagnostics = list(problems)
        for source in sources:
            result = parse(source)
            diagnostics.extend(result.diagnostics)
            if result.module is not None:
                modules.append(result.module)
        return cls(sources, settings, diagnostics, modules)

    @property
    def source_map(self) -> dict[str, SourceFile]:
        return {source.path: source for source in self.sources}

    @property
    def has_syntax_errors(self) -> bool:
        return any(d.is_error for d in self.diagnostics)

    def analyze(
        self,
        params: Mapping[str, ParamValue] | None = None,
        warehouse: WarehouseSchema | None = None,
    ) -> Analysis:
        """Check names and types; syntax errors stop before this (names would be missing).
        With the `warehouse`'s column types, untyped time columns take their storage."""
        if self.has_syntax_errors:
            return Analysis(Declarations(), {}, {}, list(self.diagnostics))
        modules, source_problems = check_sources(self.modules, self.settings)
        if warehouse is not None:
            modules = adopt_storage(modules, warehouse)
        analysis = analyze(modules, time_zone=self.settings.zone, params=params)
        analysis.diagnostics[:0] = [*self.diagnostics, *source_problems]
        return analysis


@dataclass
class _Group:
    """The files of one project found on disk, and which of them the user named."""

    root: Path  # the settings' folder, or the folder given for files outside any project
    settings_path: Path | None
    settings: Settings
    problems: list[Diagnostic]
    files: dict[Path, Path] = field(default_factory=dict)  # located → as the user wrote it
    named: dict[Path, None] = field(default_factory=dict)  # located
    collected: bool = False

    def add(self, file: Path) -> None:
        self.files.setdefault(_located(file), file)

    def name(self, file: Path) -> None:
        """Mark `file` as asked about, written the way the user wrote it."""
        self.files[_located(file)] = file
        self.named.setdefault(_located(file), None)


def _located(file: Path) -> Path:
    """One spelling per file: its folder resolved, the file itself not (a link stays the
    link, so a link to a device or out of the project is still found and refused)."""
    return file.parent.resolve() / file.name


@dataclass(frozen=True)
class Selection:
    """One project to load: its settings file, all its files, and the files named."""

    root: Path | None  # None: files outside any project
    settings_path: Path | None
    files: list[Path]
    named: list[Path]


class _Finder:
    """Paths → projects: each file belongs to the project of the nearest settings above it.

    A folder with its own seg.toml (or pyproject.toml with [tool.segdsl]) inside another
    project is a project of its own, never merged into the outer one. A project's
    `include` / `exclude` globs (relative to its folder) choose its files; a file named
    explicitly is always read.
    """

    def __init__(self) -> None:
        self.groups: dict[Path | None, _Group] = {}
        self.problems: list[Diagnostic] = []

    def add(self, raw: str | Path) -> None:
        path = Path(os.path.normpath(raw))
        if path.is_file() and path.name in ("seg.toml", "pyproject.toml"):
            path = path.parent  # a settings file stands for its whole project
        if path.is_dir():
            settings = find_settings(path)
            if settings is None:
                group = self._group(None, path)
                self._collect(path, group)
            else:
                self._collect_project(self._group(settings, settings.parent))
            folder = path.resolve()
            for group in self.groups.values():
                for resolved in list(group.files):
                    if resolved.is_relative_to(folder):
                        group.name(path / resolved.relative_to(folder))
        elif path.exists() or path.is_symlink():  # a pipe or a device: read_source refuses it
            settings = find_settings(path)
            if settings is None:
                group = self._group(None, path.parent)
            else:
                group = self._group(settings, settings.parent)
                self._collect_project(group)
            group.name(path)
        else:
            self.problems.append(
                Diagnostic("SEG504", f"no such file or folder: {path}", Span(str(path), 1, 1, 1, 1))
            )

    def selections(self) -> list[tuple[Selection, Settings, list[Diagnostic]]]:
        chosen = [g for g in self.groups.values() if g.named]
        chosen.sort(key=lambda g: str(g.root))
        return [
            (
                Selection(
                    g.root if g.settings_path else None,
                    g.settings_path,
                    list(g.files.values()),
                    [g.files[resolved] for resolved in g.named],
                ),
                g.settings,
                g.problems,
            )
            for g in chosen
        ]

    def _group(self, settings_path: Path | None, root: Path) -> _Group:
        key = None if settings_path is None else root.resolve()
        if key not in self.groups:
            settings, problems = load_settings(settings_path)
            self.groups[key] = _Group(root, settings_path, settings, problems)
        return self.groups[key]

    def _collect_project(self, group: _Group) -> None:
        """Every file of a project, once (from its root as first written)."""
        if not group.collected:
            group.collected = True
            self._collect(group.root, group)

    def _collect(self, folder: Path, group: _Group) -> None:
        """Every .seg file under `folder` that `group` includes; nested projects apart."""
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            relative = _relative(entry, group)
            if relative is not None and _matches(relative, group.settings.exclude):
                continue
            if entry.is_dir() and not entry.is_symlink():
                nested = settings_in(entry)
                if nested is not None:
                    self._collect_project(self._group(nested, entry))
                else:
                    self._collect(entry, group)
            elif entry.suffix == ".seg" and (  # not only regular files: read_source says why
                relative is None or _matches(relative, group.settings.include)
            ):
                group.add(entry)


def _relative(entry: Path, group: _Group) -> str | None:
    """`entry` relative to its project's folder (None for files outside any project)."""
    if group.settings_path is None:
        return None
    return entry.relative_to(group.root).as_posix()


def _matches(relative: str, globs: Iterable[str]) -> bool:
    """fnmatch globs on a path relative to the project's folder: `*` also crosses `/`,
    `**/` may match nothing, and a folder's pattern covers everything under it."""
    for glob in globs:
        pattern = glob.strip("/")
        candidates = [pattern, pattern + "/*"]
        if pattern.startswith("**/"):
            candidates += [pattern[3:], pattern[3:] + "/*"]
        if any(fnmatch.fnmatchcase(relative, c) for c in candidates):
            return True
    return False


def find_projects(
    paths: Iterable[str | Path],
) -> tuple[list[tuple[Selection, Settings, list[Diagnostic]]], list[Diagnostic]]:
    """The projects the given files and folders belong to, each with its settings and
    settings problems; and the paths that do not exist."""
    finder = _Finder()
    for raw in paths:
        finder.add(raw)
    return finder.selections(), finder.problems


def seg_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The `.seg` files the given files and folders name (sorted, each once), honouring
    each project's include/exclude."""
    selections, problems = find_projects(paths)
    found: dict[Path, None] = {}
    for selection, _, _ in selections:
        for file in selection.named:
            found.setdefault(file, None)
    return sorted(found), problems


def load_projects(paths: Sequence[str | Path]) -> list[Project]:
    """One project per settings file the paths lead to (files outside any project: one
    more). Each project holds all its files; `Project.named` are those the paths name."""
    selections, problems = find_projects(paths)
    if not selections:
        where = str(paths[0]) if paths else "."
        if not problems:
            problems.append(
                Diagnostic("SEG504", f"no .seg files found in {where}", Span(where, 1, 1, 1, 1))
            )
        return [_load(Selection(None, None, [], []), Settings(), problems)]
    projects = []
    for index, (selection, settings, setting_problems) in enumerate(selections):
        problems_here = (problems if index == 0 else []) + setting_problems
        projects.append(_load(selection, settings, problems_here))
    return projects


def load_project(
    paths: str | Path | Sequence[str | Path], settings: Settings | None = None
) -> Project:
    """Load the project of the given files or folders: all its `.seg` files, its settings.

    A file inside a project (a folder with seg.toml) brings the whole project, so names
    declared in its other files are known. Paths leading to several projects are an
    error (SEG520): they are separate projects, not one.

    >>> project = load_project("examples")
    >>> sorted(project.analyze().definitions)[:2]
    ['abc_a', 'abc_b']
    """
    path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
    projects = load_projects(path_list)
    if len(projects) > 1:
        roots = ", ".join(str(p.root or "(files outside any project)") for p in projects)
        where = str(path_list[0]) if path_list else "."
        problem = Diagnostic(
            "SEG520",
            f"{where} holds {len(projects)} projects: {roots}",
            Span(where, 1, 1, 1, 1),
            "name one project's folder (each seg.toml starts its own project)",
        )
        first = projects[0]
        return Project([], first.settings, [problem, *first.diagnostics], [])
    project = projects[0]
    if settings is not None:
        project.settings = settings
    return project


def _load(selection: Selection, settings: Settings, problems: list[Diagnostic]) -> Project:
    files = selection.files
    sources: list[SourceFile] = []
    for file in files:
        source = read_source(file)
        if isinstance(source, Diagnostic):
            problems.append(source)
        else:
            sources.append(source)
    project = Project.from_sources(sources, settings, problems)
    project.root = selection.root
    project.named = frozenset(str(file) for file in selection.named)
    return project
