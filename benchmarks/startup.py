"""How long `seg` takes to start, as ratios to `python -c "import typer"` in the same run.

    python -m benchmarks.startup                # 15 rounds
    python -m benchmarks.startup --repeat 40
    python -m benchmarks.startup --against /tmp/old   # also an older source tree, in turn

Two measures per command, each against the same measure of the baseline:

- **process**: the wall time of a whole fresh process (`python -m segdsl ARGS`, output
  discarded), median over the rounds; every round runs the baseline and each command once,
  in turn, so a change in the machine's load affects them alike;
- **imports**: the total of the self times `python -X importtime` reports for the modules
  the process imports beyond those of a bare interpreter (`python -c pass`: site, os,
  typing, …), median over the rounds.

The commands: `--help`, `--version`, `validate examples`, and `compile examples -s loyal`
(the parser, the checker and, for compile, sqlglot). Prints one table of ratios.
With `--against DIR` (a source tree, e.g. `git archive REV | tar -x -C DIR`), each
command also runs from DIR in the same rounds, for a before-and-after in one run.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ("-c", "import typer")
COMMANDS: dict[str, tuple[str, ...]] = {
    "seg --help": ("--help",),
    "seg --version": ("--version",),
    "seg validate examples": ("validate", "examples"),
    "seg compile examples -s loyal": ("compile", "examples", "-s", "loyal"),
}
IMPORT_LINE = re.compile(r"^import time:\s+(\d+)\s+\|\s+\d+\s+\|\s+(\S+)$", re.MULTILINE)
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "80"}


def argv(args: tuple[str, ...], imports: bool = False) -> list[str]:
    flags = ["-Ximporttime"] if imports else []
    if args is BASELINE:
        return [sys.executable, *flags, *args]
    return [sys.executable, *flags, "-m", "segdsl", *args]


def wall(args: tuple[str, ...], tree: Path) -> float:
    """One process's wall time; `tree` is the source tree it imports segdsl from."""
    start = time.perf_counter()
    subprocess.run(argv(args), cwd=tree, env=env(tree), capture_output=True, check=True)
    return time.perf_counter() - start


def self_times(command: list[str], tree: Path) -> dict[str, int]:
    """Module → its import's self time in µs (`-X importtime`)."""
    done = subprocess.run(command, cwd=tree, env=env(tree), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return {name: int(us) for us, name in IMPORT_LINE.findall(done.stderr)}


INTERPRETER: set[str] = set()  # what `python -c pass` imports, filled in by main()


def import_seconds(args: tuple[str, ...], tree: Path) -> float:
    """The import time of the modules beyond a bare interpreter's, in seconds."""
    times = self_times(argv(args, imports=True), tree)
    return sum(us for name, us in times.items() if name not in INTERPRETER) / 1e6


def env(tree: Path) -> dict[str, str]:
    return {**ENV, "PYTHONPATH": str(tree)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--against", type=Path, help="An older source tree to compare with.")
    options = parser.parse_args()
    report(options.repeat, options.against)


def report(repeat: int, against: Path | None = None) -> None:
    """Print each command's process and import ratios to the baseline (medians of
    `repeat` rounds); with `against`, the same commands from that source tree too."""
    runs: dict[str, tuple[tuple[str, ...], Path]] = {"baseline": (BASELINE, ROOT)}
    for name, args in COMMANDS.items():
        runs[name] = (args, ROOT)
        if against is not None:
            runs[f"{name} (against)"] = (args, against.resolve())
    walls: dict[str, list[float]] = {name: [] for name in runs}
    imports: dict[str, list[float]] = {name: [] for name in runs}
    INTERPRETER.update(self_times([sys.executable, "-Ximporttime", "-c", "pass"], ROOT))
    for args, tree in runs.values():  # warm the file cache and the .pyc files first
        wall(args, tree)
    for _ in range(repeat):
        for name, (args, tree) in runs.items():
            walls[name].append(wall(args, tree))
            imports[name].append(import_seconds(args, tree))
    base_wall = statistics.median(walls["baseline"])
    base_imports = statistics.median(imports["baseline"])
    print(f'baseline `python -c "import typer"`: process {base_wall * 1000:.0f} ms, ', end="")
    print(f"imports {base_imports * 1000:.0f} ms (medians of {repeat})")
    print(f"{'command':<42} {'process ×':>10} {'imports ×':>10} {'process ms':>11}")
    for name in runs:
        if name == "baseline":
            continue
        process = statistics.median(walls[name])
        imported = statistics.median(imports[name])
        print(
            f"{name:<42} {process / base_wall:>10.2f} {imported / base_imports:>10.2f} "
            f"{process * 1000:>11.0f}"
        )


if __name__ == "__main__":
    main()
