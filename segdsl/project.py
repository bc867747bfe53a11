"""Files on disk → a project: its `.seg` sources and settings, parsed and analysed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from segdsl.diagnostics import Diagnostic
from segdsl.semantic.analyze import Analysis, ParamValue, analyze
from segdsl.semantic.declarations import Declarations
from segdsl.settings import Settings, find_settings, load_settings
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

    def analyze(self, params: Mapping[str, ParamValue] | None = None) -> Analysis:
        """Check names and types; syntax errors stop before this (names would be missing)."""
        if self.has_syntax_errors:
            return Analysis(Declarations(), {}, {}, list(self.diagnostics))
        analysis = analyze(self.modules, time_zone=self.settings.zone, params=params)
        analysis.diagnostics[:0] = self.diagnostics
        return analysis


def seg_files(paths: Iterable[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """Expand files and folders into `.seg` files (sorted, each once)."""
    found: dict[Path, None] = {}
    problems: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for file in sorted(path.rglob("*.seg")):
                if not any(part.startswith(".") for part in file.relative_to(path).parts):
                    found.setdefault(file, None)
        elif path.is_file():
            found.setdefault(path, None)
        else:
            problems.append(
                Diagnostic("SEG504", f"no such file or folder: {path}", Span(str(path), 1, 1, 1, 1))
            )
    return list(found), problems


def load_project(
    paths: str | Path | Sequence[str | Path], settings: Settings | None = None
) -> Project:
    """Load every `.seg` file under the given files or folders, with the nearest settings.

    >>> project = load_project("examples")
    >>> sorted(project.analyze().definitions)[:2]
    ['abc_a', 'abc_b']
    """
    path_list = [paths] if isinstance(paths, (str, Path)) else list(paths)
    files, problems = seg_files(path_list)
    if not files and not problems:
        where = str(path_list[0]) if path_list else "."
        problems.append(
            Diagnostic("SEG504", f"no .seg files found in {where}", Span(where, 1, 1, 1, 1))
        )
    if settings is None and path_list:
        settings, setting_problems = load_settings(find_settings(Path(path_list[0])))
        problems.extend(setting_problems)
    sources: list[SourceFile] = []
    for file in files:
        source = read_source(file)
        if isinstance(source, Diagnostic):
            problems.append(source)
        else:
            sources.append(source)
    return Project.from_sources(sources, settings or Settings(), problems)
