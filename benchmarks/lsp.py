"""How fast `seg lsp` answers while typing, in a 1,000-definition project.

    python -m benchmarks.lsp            # 10 files of 100 definitions + the example model
    python -m benchmarks.lsp --files 20 --repeat 50

Measures, in the server's process (no stdio), the time from a keystroke-sized edit of
one file to the diagnostics of every file ready to publish, and the time to answer a
completion request (after `where `, and anywhere else). Prints p50 and p95 in ms.
Three kinds of edit, each typed and undone in turn: a number (the project stays
clean: only the file's definitions and their users are checked again), a typo in a
definition nobody uses (the same), and a typo in one that others use (a full check).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from segdsl.lsp import features  # noqa: E402
from segdsl.lsp.workspace import Projects  # noqa: E402


def make_project(folder: Path, files: int, per_file: int) -> list[Path]:
    (folder / "seg.toml").write_text('as_of = "2025-07-01"\n')
    (folder / "model.seg").write_text((ROOT / "examples" / "model.seg").read_text())
    paths = []
    for f in range(files):
        lines = ["segdsl 1", ""]
        for i in range(per_file // 2):
            n = f * per_file + i
            lines.append(
                f'measure m{n} "Orders {n}" = count paid_orders during last {n % 90 + 1}d '
                f"where amount > {n}"
            )
            before = f"s{n - 1} or " if i else ""
            lines.append(f'segment s{n} = {before}m{n} >= 2 and city = "Moscow"')
        path = folder / f"defs{f}.seg"
        path.write_text("\n".join(lines) + "\n")
        paths.append(path)
    return paths


def percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms   p95 {p95 * 1000:7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--per-file", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as temp:
        paths = make_project(Path(temp), args.files, args.per_file)
        edited = paths[len(paths) // 2]
        path = str(edited.resolve())
        state = Projects().for_path(edited)
        start = time.perf_counter()
        snapshot = state.snapshot()
        first = time.perf_counter() - start
        definitions = len(snapshot.analysis.definitions)
        text = edited.read_text()
        middle = text.index("measure", len(text) // 2)
        number = text.index("where amount > ", middle) + len("where amount > ")
        used = text.index("amount", middle) + len("amount")  # in a measure a segment uses
        leaf = text.rindex('city = "Moscow"') + len("city")  # the last segment: unused
        kinds = {
            "a number (no error)": (number, "1", False),
            "a typo in a definition nobody uses": (leaf, "x", True),
            "a typo in a definition others use": (used, "x", True),
        }
        timings: dict[str, list[float]] = {}
        for label, (at, typed, breaks) in kinds.items():
            changed = text[:at] + typed + text[at:]
            found = timings[label] = []
            for _ in range(args.repeat):
                found.append(time_edit(state, path, changed, expect_error=breaks))
                found.append(time_edit(state, path, text, expect_error=False))
        edits = [t for found in timings.values() for t in found]
        target = text.index(" >= 2", middle)
        snapshot = state.snapshot()
        where = text.index("where amount", middle) + len("where ")
        in_where, anywhere = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            items = features.completion(snapshot, path, where)
            in_where.append(time.perf_counter() - start)
            assert any(item.label == "amount" for item in items)
            start = time.perf_counter()
            items = features.completion(snapshot, path, target)
            anywhere.append(time.perf_counter() - start)
            assert len(items) > definitions
    print(
        f"project: {definitions} definitions in {len(paths) + 1} files; first analysis {first * 1000:.0f} ms"
    )
    for label, found in timings.items():
        print(f"diagnostics after typing {label} and undoing it ({len(found)} edits):")
        print(f"    {percentiles(found)}")
    print(f"diagnostics after any of these ({len(edits)} edits):       {percentiles(edits)}")
    print(f"completion after `where ` ({args.repeat}x):       {percentiles(in_where)}")
    print(f"completion of any name ({args.repeat}x):          {percentiles(anywhere)}")


def time_edit(state: object, path: str, text: str, *, expect_error: bool) -> float:
    from segdsl.lsp.workspace import ProjectState

    assert isinstance(state, ProjectState)
    start = time.perf_counter()
    state.set_text(path, text)
    snapshot = state.snapshot()
    published = {
        p: [features.diagnostic(snapshot.sources.get(p), d) for d in found]
        for p, found in snapshot.diagnostics.items()
    }
    elapsed = time.perf_counter() - start
    assert bool(published.get(path)) is expect_error, published.get(path)
    return elapsed


if __name__ == "__main__":
    main()
