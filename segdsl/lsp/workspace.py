"""Open documents and files on disk → per-project state and its latest analysis.

A project is the folder of the nearest `seg.toml` (or `pyproject.toml` with
`[tool.segdsl]`) above a file; a file outside any project is a project of its own.
Open documents' text overrides the disk. Each file's parse is kept until its text
changes, so an edit re-parses one file; the analysis covers the whole project, so a
rename in one file shows the breakage in another.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from segdsl.diagnostics import Diagnostic, sort_key
from segdsl.lsp.chunks import PieceCache
from segdsl.lsp.incremental import Checked, analyse
from segdsl.lsp.index import Occurrence, occurrences
from segdsl.lsp.recovery import Salvaged, salvage
from segdsl.project import Project, seg_files
from segdsl.semantic.analyze import Analysis
from segdsl.settings import Settings, find_settings, load_settings
from segdsl.source import SourceFile
from segdsl.sql.support import dialect_diagnostics, project_diagnostics
from segdsl.syntax import nodes

# what a blanked-out statement's absence causes elsewhere, hidden while it is being typed
_CONSEQUENCES = frozenset({"SEG101", "SEG104", "SEG105", "SEG107", "SEG108", "SEG113"})


def project_root(path: Path) -> tuple[Path, Path | None]:
    """(the folder or file that makes up the project of `path`, its settings file)."""
    settings = find_settings(path)
    if settings is None:
        return path, None
    return settings.parent, settings


@dataclass
class Snapshot:
    """One consistent view of a project: its files, analysis and diagnostics."""

    settings: Settings
    sources: dict[str, SourceFile]
    parsed: dict[str, Salvaged]
    analysis: Analysis
    diagnostics: dict[str, list[Diagnostic]]
    _index: dict[str, list[Occurrence]] = field(default_factory=dict)

    @cached_property
    def project(self) -> Project:
        """The project as the CLI would load it (for the compiler and `seg explain`)."""
        modules = [p.module for p in self.parsed.values() if p.module is not None]
        problems = [d for p in self.parsed.values() for d in p.diagnostics]
        return Project(list(self.sources.values()), self.settings, problems, modules)

    def module(self, path: str) -> nodes.Module | None:
        parsed = self.parsed.get(path)
        return parsed.module if parsed else None

    def index(self, path: str) -> list[Occurrence]:
        """The names of one file, resolved against the project's declarations."""
        found = self._index.get(path)
        if found is None:
            module = self.module(path)
            found = occurrences(module, self.analysis.decls) if module else []
            self._index[path] = found
        return found


class ProjectState:
    """The files of one project, the open documents' text, and cached parses."""

    def __init__(self, root: Path, settings_path: Path | None) -> None:
        self.root = root
        self.settings_path = settings_path
        self.settings, self.setting_problems = load_settings(settings_path)
        self.overrides: dict[str, str] = {}
        self.disk: dict[str, str] = {}
        self._parsed: dict[str, tuple[str, Salvaged]] = {}
        self._pieces: dict[str, PieceCache] = {}
        self._snapshot: Snapshot | None = None
        self._checked: Checked | None = None
        self.rescan()

    def contains(self, path: Path) -> bool:
        """True if `path` is one of the project's files (or would be, once saved)."""
        if self.settings_path is None:
            return path == self.root
        return path.is_relative_to(self.root) and not any(
            part.startswith(".") for part in path.relative_to(self.root).parts
        )

    def rescan(self) -> None:
        """Read the project's files from disk again (after changes outside the editor)."""
        self.settings, self.setting_problems = load_settings(self.settings_path)
        files, _ = seg_files([self.root]) if self.root.exists() else ([], [])
        disk: dict[str, str] = {}
        for file in files:
            try:
                disk[str(file.resolve())] = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
        self.disk = disk
        self._snapshot = None
        self._checked = None  # the settings (time zone) may have changed

    def set_text(self, path: str, text: str) -> None:
        """An open document's text (overrides the disk)."""
        if self.overrides.get(path) != text:
            self.overrides[path] = text
            self._snapshot = None

    def close(self, path: str) -> None:
        if self.overrides.pop(path, None) is not None:
            self._snapshot = None

    def texts(self) -> dict[str, str]:
        merged = dict(self.disk)
        merged.update(self.overrides)
        return dict(sorted(merged.items()))

    def snapshot(self) -> Snapshot:
        """The analysis of the current texts (computed again only after a change)."""
        if self._snapshot is None:
            self._snapshot = self._analyse()
        return self._snapshot

    def _parse(self, path: str, text: str) -> Salvaged:
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == text:
            return cached[1]
        pieces = self._pieces.setdefault(path, PieceCache())
        result = salvage(SourceFile(path, text), pieces)
        self._parsed[path] = (text, result)
        return result

    def _analyse(self) -> Snapshot:
        texts = self.texts()
        sources = {path: SourceFile(path, text) for path, text in texts.items()}
        parsed = {path: self._parse(path, text) for path, text in texts.items()}
        for stale in set(self._parsed) - set(texts):
            del self._parsed[stale]
            self._pieces.pop(stale, None)
        settings = self.settings
        if all(p.complete for p in parsed.values()):
            # exactly what `seg validate` reports
            modules = [p.module for p in parsed.values() if p.module is not None]
            problems = [
                *self.setting_problems,
                *(d for p in parsed.values() for d in p.diagnostics),
            ]
            project = Project(list(sources.values()), settings, problems, modules)
            if project.has_syntax_errors:  # bad settings: `seg validate` stops there too
                analysis = project.analyze()
            else:
                analysis = self._check(modules, texts)
                analysis.diagnostics[:0] = problems
            diagnostics = project_diagnostics(project, analysis, settings.dialect)
        else:
            analysis, diagnostics = self._analyse_salvaged(parsed)
        by_path: dict[str, list[Diagnostic]] = defaultdict(list)
        for diagnostic in diagnostics:
            by_path[diagnostic.span.path].append(diagnostic)
        for found in by_path.values():
            found.sort(key=sort_key)
        return Snapshot(settings, sources, parsed, analysis, dict(by_path))

    def _check(self, modules: list[nodes.Module], texts: dict[str, str]) -> Analysis:
        """`analyze(modules)`, re-checking only what changed since the last time."""
        checked = analyse(modules, self.settings.zone, texts, self._checked)
        self._checked = checked
        analysis = checked.analysis
        # a copy: the caller adds its own diagnostics in front
        return Analysis(
            analysis.decls, analysis.definitions, analysis.params, list(analysis.diagnostics)
        )

    def _analyse_salvaged(self, parsed: dict[str, Salvaged]) -> tuple[Analysis, list[Diagnostic]]:
        """The syntax errors, and what the statements that parsed say about the rest."""
        modules = [p.module for p in parsed.values() if p.module is not None]
        analysis = self._check(modules, self.texts())
        broken = frozenset().union(*(p.broken_names for p in parsed.values()))
        no_entity = any(p.broken_entity for p in parsed.values())

        def consequence(diagnostic: Diagnostic) -> bool:
            if diagnostic.code not in _CONSEQUENCES:
                return False
            if no_entity and diagnostic.code == "SEG107":
                return True
            return any(f"`{name}`" in diagnostic.message for name in broken)

        semantic = [d for d in analysis.diagnostics if not consequence(d)]
        syntax = [d for p in parsed.values() for d in p.diagnostics]
        diagnostics = [
            *self.setting_problems,
            *syntax,
            *semantic,
            *dialect_diagnostics(analysis.decls, self.settings.dialect),
        ]
        return analysis, diagnostics


class Projects:
    """Every project the editor has a file of open, by root."""

    def __init__(self) -> None:
        self.by_root: dict[Path, ProjectState] = {}
        self._roots: dict[Path, tuple[Path, Path | None]] = {}

    def for_path(self, path: Path) -> ProjectState:
        path = path.resolve()
        found = self._roots.get(path)
        if found is None:
            found = self._roots[path] = project_root(path)
        root, settings = found
        state = self.by_root.get(root)
        if state is None:
            state = self.by_root[root] = ProjectState(root, settings)
        return state

    def all(self) -> list[ProjectState]:
        return list(self.by_root.values())
