"""How fast `seg lsp` answers while typing, in a 1,000-definition project.

    python -m benchmarks.lsp            # 10 files of 100 definitions + the example model
    python -m benchmarks.lsp --files 20 --repeat 50

Measures, in the server's process (no stdio), the time from a keystroke-sized edit of
one file to the diagnostics of every file ready to publish, and the time to answer a
completion request (after `where `, and anywhere else). Prints p50 and p95 in ms.
The edits alternate between breaking a name (a new diagnostic) and fixing it.
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
        middle = text.index("segment", len(text) // 2)
        target = text.index(" >= 2", middle)  # after the measure's name in that segment
        edits = []
        for round_ in range(args.repeat):
            broken = text[:target] + "x" + text[target:]  # `m123x`: an unknown name
            edits.append(time_edit(state, path, broken, expect_error=True))
            edits.append(time_edit(state, path, text, expect_error=False))
            del round_
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
    print(f"diagnostics after an edit ({len(edits)} edits):  {percentiles(edits)}")
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
