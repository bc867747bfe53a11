"""A definition → the tree of what it depends on: definitions, parameters, tables, columns."""

from __future__ import annotations

from dataclasses import dataclass, field

from segdsl.semantic.declarations import Declarations, TableInfo
from segdsl.syntax import nodes


@dataclass
class Dependency:
    kind: str  # segment | measure | classifier | split | attribute | parameter | table | entity
    name: str
    detail: str = ""
    children: list[Dependency] = field(default_factory=list)


def dependency_tree(decls: Declarations, name: str) -> Dependency:
    """The definition `name` with everything it uses, recursively.

    Each definition is expanded once.
    """
    return _Walker(decls).definition(name, set())


class _Walker:
    def __init__(self, decls: Declarations):
        self.decls = decls

    def definition(self, name: str, seen: set[str]) -> Dependency:
        decl = self.decls.definitions[name]
        kind = {
            nodes.MeasureDecl: "measure",
            nodes.SegmentDecl: "segment",
            nodes.ClassifierDecl: "classifier",
            nodes.SplitDecl: "split",
        }[type(decl)]
        node = Dependency(kind, name)
        if name in seen:
            node.detail = "(expanded above)"
            return node
        seen = seen | {name}
        refs: dict[tuple[str, str], Dependency] = {}
        tables: dict[str, set[str]] = {}
        for expr in _bodies(decl):
            self.collect(expr, None, refs, tables, seen)
        if (
            isinstance(decl, nodes.SplitDecl)
            and decl.of is not None
            and decl.of.text in self.decls.definitions
        ):
            refs[("definition", decl.of.text)] = self.definition(decl.of.text, seen)
        node.children = list(refs.values()) + [self.table(t, cols) for t, cols in tables.items()]
        return node

    def table(self, name: str, columns: set[str]) -> Dependency:
        info = self.decls.tables[name]
        hops = info.source.hops
        physical = {hop.table: ".".join(hop.source) for hop in hops}
        detail = " → ".join(physical[h.table] for h in hops)
        used = set(columns)
        if info.source.time is not None:
            used.add(info.source.time.column.name)
        node = Dependency("table", name, detail)
        if info.base is not None:
            node.detail = f"{info.base} filtered; {detail}"
        if info.grouped is not None:  # its columns by their declared names, then its base
            node.detail = f"{info.grouped_base} per {info.grouped.by.text}"
            declared = {c.name: n for (q, n), (_, c) in info.columns.items() if not q}
            used = {declared.get(c, c) for c in used}
        node.children = [Dependency("column", c) for c in sorted(used)]
        return node

    def collect(
        self,
        expr: object,
        table: TableInfo | None,
        refs: dict[tuple[str, str], Dependency],
        tables: dict[str, set[str]],
        seen: set[str],
    ) -> None:
        """What `expr` uses: any syntax node (an expression, a window, an identifier) or None."""
        if expr is None:
            return
        match expr:
            case nodes.Name():
                if table is not None:
                    key = (
                        ("", expr.parts[0].text)
                        if len(expr.parts) == 1
                        else (expr.parts[0].text, expr.parts[1].text)
                    )
                    found = table.columns.get(key)
                    if found is not None:
                        tables.setdefault(table.name, set()).add(found[1].name)
                        return
                self.name(
                    expr.parts[-1].text if len(expr.parts) > 1 else expr.parts[0].text, refs, seen
                )
                return
            case nodes.Aggregate():
                target = self.decls.tables.get(expr.target.text)
                if target is None:
                    self.name(expr.target.text, refs, seen)
                else:
                    tables.setdefault(target.name, set())
                    self.derived(target, tables, refs, seen)
                for part in (*(expr.args or ()), expr.per, expr.where):
                    self.collect(part, target, refs, tables, seen)
                self.collect(expr.among, None, refs, tables, seen)
                return
            case nodes.Ident():
                if expr.text in self.decls.params:  # a duration or date parameter in a window
                    self.name(expr.text, refs, seen)
                return
            case nodes.EventSet():
                target = self.decls.tables.get(expr.table.text)
                if target is not None:
                    tables.setdefault(target.name, set())
                    self.derived(target, tables, refs, seen)
                self.collect(expr.where, target, refs, tables, seen)
                return
        for child in _children(expr):
            self.collect(child, table, refs, tables, seen)

    def derived(
        self,
        table: TableInfo,
        tables: dict[str, set[str]],
        refs: dict[tuple[str, str], Dependency],
        seen: set[str],
    ) -> None:
        while True:
            if table.where is not None:
                self.collect(table.where, table, refs, tables, seen)
            if table.grouped is not None and table.grouped_base is not None:
                # a grouped table reads its base: the columns it groups by and aggregates
                base = self.decls.tables[table.grouped_base]
                used = tables.setdefault(base.name, set())
                by = base.columns.get(("", table.grouped.by.text))
                if by is not None:
                    used.add(by[1].name)
                for column in table.grouped.columns:
                    self.collect(column.arg, base, refs, tables, seen)
                table = base
            elif table.base is not None and table.where is not None:
                table = self.decls.tables[table.base]
            else:
                break

    def name(self, name: str, refs: dict[tuple[str, str], Dependency], seen: set[str]) -> None:
        if name in self.decls.definitions:
            refs.setdefault(("definition", name), self.definition(name, seen))
        elif name in self.decls.attributes:
            column = self.decls.attributes[name]
            detail = f"column {column.name}" if column.name != name else ""
            refs.setdefault(("attribute", name), Dependency("attribute", name, detail))
        elif name in self.decls.params:
            refs.setdefault(("parameter", name), Dependency("parameter", name))


def _bodies(decl: nodes.Statement) -> list[nodes.Expr]:
    match decl:
        case nodes.MeasureDecl():
            return [decl.body]
        case nodes.SegmentDecl():
            return [decl.condition]
        case nodes.ClassifierDecl():
            return [rule.condition for rule in decl.rules]
        case _:
            return []


def _children(expr: object) -> list[object]:
    """The direct sub-nodes of any node (via its dataclass fields): expressions, windows, names."""
    from dataclasses import fields, is_dataclass

    found: list[object] = []
    if not is_dataclass(expr):
        return found
    for item in fields(expr):
        value = getattr(expr, item.name)
        values = value if isinstance(value, tuple) else (value,)
        for candidate in values:
            if is_dataclass(candidate):
                found.append(candidate)
    return found


def render_tree(root: Dependency) -> list[str]:
    """Box-drawing lines for a dependency tree."""
    lines = [_label(root)]

    def walk(node: Dependency, prefix: str) -> None:
        for index, child in enumerate(node.children):
            last = index == len(node.children) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{_label(child)}")
            walk(child, prefix + ("   " if last else "│  "))

    walk(root, "")
    return lines


def label(node: Dependency) -> str:
    """`name (kind) — detail`: one node as `render_tree` shows it."""
    return _label(node)


def _label(node: Dependency) -> str:
    detail = f" — {node.detail}" if node.detail else ""
    return f"{node.name} ({node.kind}){detail}"
