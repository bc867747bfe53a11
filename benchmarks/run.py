"""segdsl benchmarks: every figure is a ratio against a baseline measured in the same run.

    python -m benchmarks.run                 # DuckDB at scale 100 (1M customers, ~23M events), Postgres at scale 5
    python -m benchmarks.run --quick         # scale 1 / 1, fewer repetitions (a smoke run)
    python -m benchmarks.run --only compile  # one section: segments, one_pass, compile, validate, memory, trend, startup

Sections:
1. segments  — each benchmark segment vs the fastest of its expert SQL forms (same members first), per engine
2. one_pass  — all segments in one query vs each alone, vs the most expensive one, vs a fair floor
3. compile   — parse + check + compile a 1,000-segment project (segments per second)
4. validate  — `seg validate` on a 1,000-file project in a fresh process
5. memory    — peak memory of `seg run --output x.parquet` from 10k to 1M rows
6. trend     — `seg trend`: the sizes of every segment of the examples at 52 weekly steps
               (one query) vs the same sizes at one as-of time (DuckDB; target ≤ 4×)
8. startup   — `seg --help`, `--version`, `validate`, `compile` in fresh processes vs
               `python -c "import typer"` (benchmarks/startup.py)
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "benchmarks" / "data"
PG_DSN = os.environ.get("SEGDSL_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
sys.path.insert(0, str(ROOT))


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


ROUNDS_SECONDS = 2.0  # short queries run in more rounds: at least this long in all
MAX_ROUNDS = 41


def alternate(*actions: Callable[[], object], repeat: int) -> list[float]:
    """Median seconds of each action, run in turn after one warm-up each: `repeat`
    rounds, or more (up to MAX_ROUNDS) while the rounds take under ROUNDS_SECONDS in all,
    so that a 10 ms query's ratio is not one scheduler tick's noise."""
    one_round = sum(timed(action) for action in actions)
    rounds = max(repeat, min(MAX_ROUNDS, int(ROUNDS_SECONDS / max(one_round, 1e-3))))
    times: list[list[float]] = [[] for _ in actions]
    for _ in range(rounds):
        for action, measured in zip(actions, times, strict=True):
            measured.append(timed(action))
    return [statistics.median(measured) for measured in times]


def demo_file(scale: float) -> Path:
    from segdsl.demo import build_demo_database

    path = DATA / f"demo-{scale:g}.duckdb"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        print(f"building the demo warehouse at scale {scale:g} …", flush=True)
        summary = build_demo_database(path, scale=scale)
        print(f"  {summary.row_counts} in {summary.seconds:.0f}s", flush=True)
    return path


def compiler(*, rely: bool = True):  # type: ignore[no-untyped-def]
    """The examples' compiler; with `rely=False`, as if no `link` in the model said `rely`
    (members then always checked against the customers table)."""
    from segdsl.compiler import Compiler
    from segdsl.project import Project, load_project
    from segdsl.source import SourceFile

    project = load_project(ROOT / "examples")
    if not rely:
        sources = [SourceFile(s.path, s.text.replace(" rely\n", "\n")) for s in project.sources]
        project = Project.from_sources(sources, project.settings, [])
    return Compiler(project)


# ------------------------------------------------------------------ 1 and 2: queries
class DuckDBTarget:
    name = "duckdb"

    def __init__(self, path: Path):
        import duckdb

        # the file attached read-only; temporary tables live in memory
        self.connection = duckdb.connect()
        self.connection.execute(f"ATTACH '{path}' AS demo (READ_ONLY)")
        self.connection.execute("USE demo")

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        return self.connection.execute(sql).fetchall()

    def store(self, sql: str, name: str = "bench_result") -> None:
        """Compute every column of the result inside the engine, without moving it to Python."""
        self.connection.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS {sql}")


class PostgresTarget:
    name = "postgres"

    def __init__(self, dsn: str):
        import psycopg

        self.connection = psycopg.connect(dsn, autocommit=True)
        self.connection.execute("SET max_parallel_workers_per_gather = 2")
        self.connection.execute("SET jit = off")  # as segdsl's Postgres engine does

    def rows(self, sql: str) -> list[tuple[object, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql)  # type: ignore[arg-type]
            return cursor.fetchall()

    def store(self, sql: str, name: str = "bench_result") -> None:
        self.connection.execute(f"DROP TABLE IF EXISTS {name}")  # type: ignore[arg-type]
        self.connection.execute(f"CREATE TEMP TABLE {name} AS {sql}")  # type: ignore[arg-type]
        if name != "bench_result":
            self.connection.execute(f"ANALYZE {name}")  # type: ignore[arg-type]


def bench_segments(
    target: DuckDBTarget | PostgresTarget, repeat: int, only: list[str] | None = None
) -> dict[str, float]:
    """segdsl against every expert form of each segment (benchmarks/hand_sql.py), all
    checked to return the same members first; the ratio is to the fastest form. With
    `only`, just those segments."""
    from benchmarks.hand_sql import HAND_SQL, expert_forms, same_population

    compiled, without_rely = compiler(), compiler(rely=False)
    print(f"\n== 1. segments vs expert SQL on {target.name} (median of {repeat}, in turn)")
    print("   hand: the hand-written form; best: the fastest expert form (ratio: segdsl to it)")
    print("   same pop.: segdsl without `rely` to the hand-written query with the population rule")
    print(
        f"{'segment':22} {'members':>9} {'segdsl s':>9} {'hand s':>9} {'best s':>9} {'ratio':>6}"
        f" {'/hand':>6} {'same pop.':>9}  fastest form"
    )
    ratios: dict[str, float] = {}
    to_hand: dict[str, float] = {}
    same: dict[str, float] = {}
    for name, hand in HAND_SQL.items():
        if only is not None and name not in only:
            continue
        ours = compiled.members_sql(name, dialect=target.name)
        ours_plain = without_rely.members_sql(name, dialect=target.name)
        forms = expert_forms(name, target.name)
        hand_same = same_population(hand)
        ours_keys = {row[0] for row in target.rows(ours)}
        for label, other in (
            ("segdsl without rely", ours_plain),
            ("same population", hand_same),
            *forms.items(),
        ):
            keys = {row[0] for row in target.rows(other)}
            if ours_keys != keys:
                raise SystemExit(
                    f"{name}: segdsl and the {label} form disagree ({len(ours_keys ^ keys)} keys)"
                )
        queries = [ours, ours_plain, hand_same, *forms.values()]
        ours_s, plain_s, same_s, *form_s = alternate(
            *(lambda sql=sql: target.rows(sql) for sql in queries), repeat=repeat
        )
        best = min(range(len(form_s)), key=form_s.__getitem__)
        ratios[name], to_hand[name], same[name] = (
            ours_s / form_s[best],
            ours_s / form_s[0],
            plain_s / same_s,
        )
        print(
            f"{name:22} {len(ours_keys):>9,} {ours_s:>9.3f} {form_s[0]:>9.3f} {form_s[best]:>9.3f}"
            f" {ratios[name]:>6.2f} {to_hand[name]:>6.2f} {same[name]:>9.2f}  {list(forms)[best]}",
            flush=True,
        )
    print(
        f"{'geometric mean':22} {'':>9} {'':>9} {'':>9} {'':>9} {statistics.geometric_mean(ratios.values()):>6.2f}"
        f" {statistics.geometric_mean(to_hand.values()):>6.2f} {statistics.geometric_mean(same.values()):>9.2f}"
        f"   (max {max(ratios.values()):.2f} {max(ratios, key=ratios.__getitem__)}; target: mean <= 1.0, max <= 1.2)"
    )
    return ratios


def bench_one_pass(target: DuckDBTarget | PostgresTarget, repeat: int) -> None:
    from benchmarks.hand_sql import (
        HAND_SQL,
        POPULATION_TABLE,
        beyond_floor,
        fair_floor,
        population_sql,
    )
    from segdsl import execute

    compiled = compiler()
    names = execute.resolve_names(compiled, [])
    segments = [n for n in names if compiled.definition(n).kind == "segment"]
    benchmark = list(HAND_SQL)
    table_sql = compiled.table_sql(names, dialect=target.name)
    benchmark_sql = compiled.table_sql(benchmark, dialect=target.name)
    # correctness first: every segment column of both passes equals that segment run alone
    alone = {
        name: {row[0] for row in target.rows(compiled.members_sql(name, dialect=target.name))}
        for name in segments
    }
    for pass_names, sql in ((names, table_sql), (benchmark, benchmark_sql)):
        rows = target.rows(sql)
        for index, name in enumerate(pass_names, start=1):
            if name in alone and alone[name] != {row[0] for row in rows if row[index]}:
                raise SystemExit(f"one pass and {name} alone disagree")

    def stored(sql: str) -> float:
        return alternate(lambda: target.store(sql), repeat=repeat)[0]

    def counted(sql: str) -> float:
        return alternate(lambda: target.rows(sql), repeat=repeat)[0]

    singles = {name: stored(compiled.members_sql(name, dialect=target.name)) for name in segments}
    one_pass = stored(table_sql)
    floor = stored(fair_floor(table_sql, target.name))
    # the work beyond the floor that every form of the pass has to do, each part alone
    target.store(population_sql(table_sql, target.name), POPULATION_TABLE)
    beyond = {
        part: sum(stored(sql) for sql in queries)
        for part, queries in beyond_floor(table_sql, target.name).items()
    }
    inherent = floor + sum(beyond.values())
    benchmark_pass = stored(benchmark_sql)
    counts = {name: counted(compiled.counts_sql([name], dialect=target.name)) for name in segments}
    sizes = counted(execute.sizes_sql(compiled, names, target.name, None))
    slowest = max(singles, key=singles.__getitem__)
    slowest_benchmark = max(benchmark, key=singles.__getitem__)
    slowest_count = max(counts, key=counts.__getitem__)
    total = sum(singles.values())
    print(
        f"\n== 2. all {len(names)} definitions ({len(segments)} segments, classifiers, splits) in one pass on {target.name}"
    )
    print("   (results computed into a temporary table, not moved to Python)")
    print(f"membership table, one pass      {one_pass:8.3f} s")
    print(
        f"members, one by one (sum)       {total:8.3f} s   ratio one pass / one by one       {one_pass / total:5.2f}"
    )
    print(
        f"slowest single ({slowest:14}) {singles[slowest]:8.3f} s   ratio one pass / slowest single   {one_pass / singles[slowest]:5.2f}"
    )
    print(
        f"fair floor (columns it reads)   {floor:8.3f} s   ratio one pass / fair floor       {one_pass / floor:5.2f} (target <= 1.6)"
        f"   floor / slowest single {floor / singles[slowest]:5.2f}"
    )
    print(
        "beyond the floor, each part alone: "
        + ", ".join(f"{part} {seconds:.3f} s" for part, seconds in beyond.items())
    )
    print(
        f"floor + those parts             {inherent:8.3f} s   ratio one pass / (floor + parts)  {one_pass / inherent:5.2f}"
        f"   (floor + parts) / floor {inherent / floor:5.2f}"
    )
    print(
        f"the {len(benchmark)} benchmark segments   {benchmark_pass:8.3f} s   ratio to their slowest ({slowest_benchmark}) {benchmark_pass / singles[slowest_benchmark]:5.2f}"
        f"   to their sum {benchmark_pass / sum(singles[n] for n in benchmark):5.2f}"
    )
    print(
        f"all sizes, one query            {sizes:8.3f} s   ratio to the sum of single counts   {sizes / sum(counts.values()):5.2f}"
    )
    print(
        f"slowest single count ({slowest_count:10}) {counts[slowest_count]:8.3f} s   ratio all sizes / slowest count {sizes / counts[slowest_count]:5.2f}"
    )


# ------------------------------------------------------------------ 3: compile throughput
def generated_project(count: int) -> str:
    """The example model plus `count` generated segments over its measures and tables."""
    conditions = [
        "orders_count >= {n}",
        "revenue > {n}00 and last_order_at in last {n}0d",
        "count paid_orders during last {n}0d >= 2",
        '(count cart_add_events during last {n}d where page_category = "carpets") > 0',
        "cart_add_events during last {n}d then no purchase_events within {n}h",
        "ntile(5) of revenue among buyers = {m}",
        'age(birth_date) between {n}0 and {n}9 and city in ["Moscow", "Berlin"]',
        "not (exists email_opens during last {n}0d) and marketing_opt_in",
        "max count item_views per page_category >= {n}",
        "time since last_order_at > {n}0d or orders_count = 0",
    ]
    lines = []
    for index in range(count):
        template = conditions[index % len(conditions)]
        lines.append(
            f"segment generated_{index} = " + template.format(n=index % 9 + 1, m=index % 5 + 1)
        )
    return "\n".join(lines) + "\n"


def bench_compile(count: int = 1000) -> None:
    from segdsl.compiler import Compiler
    from segdsl.project import Project, load_project
    from segdsl.source import SourceFile
    from segdsl.syntax.parser import parse

    base = load_project(ROOT / "examples")
    text = generated_project(count)
    sources = [*base.sources, SourceFile("generated.seg", text)]

    def parse_only() -> None:
        for source in sources:
            parse(source)

    def everything() -> None:
        project = Project.from_sources(sources, base.settings, [])
        compiled = Compiler(project)
        for index in range(count):
            compiled.members_sql(f"generated_{index}", dialect="duckdb", as_of="2025-07-01")

    def one_pass() -> None:
        project = Project.from_sources(sources, base.settings, [])
        names = [f"generated_{index}" for index in range(count)]
        Compiler(project).table_sql(names, dialect="duckdb", as_of="2025-07-01")

    # Best of 5, as timeit advises: noise only ever adds time, and on these machines the
    # same work takes up to twice as long from one second to the next. Medians for context.
    parse_only()
    parse_s, parse_median = best_and_median(parse_only)
    total_s, total_median = best_and_median(everything)
    one_pass_s, one_pass_median = best_and_median(one_pass)
    print(f"\n== 3. parse + check + compile {count} segments (plus the example project)")
    print("                     best of 5   median")
    print(f"parse only          {parse_s:7.3f} s {parse_median:7.3f} s")
    print(
        f"parse+check+compile {total_s:7.3f} s {total_median:7.3f} s"
        f"   ratio to parsing alone {total_s / parse_s:5.2f}"
    )
    print(
        f"throughput          {count / total_s:7.0f}/s {count / total_median:7.0f}/s"
        "   segments, one query per segment"
    )
    print(
        f"one-pass project    {one_pass_s:7.3f} s {one_pass_median:7.3f} s"
        f"   ratio to parsing alone {one_pass_s / parse_s:5.2f}"
    )
    print(
        f"throughput          {count / one_pass_s:7.0f}/s {count / one_pass_median:7.0f}/s"
        "   segments, all in one membership query (target >= 2,000/s)"
    )


def best_and_median(action: Callable[[], object], runs: int = 5) -> tuple[float, float]:
    seconds = [timed(action) for _ in range(runs)]
    return min(seconds), statistics.median(seconds)


# ------------------------------------------------------------------ 4: cold validate
def bench_validate(files: int = 1000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        for source in (ROOT / "examples").glob("*.seg"):
            (root / source.name).write_text(source.read_text())
        (root / "seg.toml").write_text((ROOT / "examples" / "seg.toml").read_text())
        generated = generated_project(files).splitlines()
        for index, line in enumerate(generated):
            (root / f"segment_{index:04d}.seg").write_text("segdsl 1\n\n" + line + "\n")
        python = sys.executable
        command = [python, "-m", "segdsl", "validate", str(root)]
        baseline = [python, "-c", "pass"]
        subprocess.run(command, check=True, capture_output=True)  # warm the disk cache
        validate_s = statistics.median(
            timed(lambda: subprocess.run(command, check=True, capture_output=True))
            for _ in range(5)
        )
        python_s = statistics.median(
            timed(lambda: subprocess.run(baseline, check=True)) for _ in range(5)
        )
    print(f"\n== 4. seg validate on {files + 7} files in a fresh process")
    print(f"python -c pass      {python_s:7.3f} s")
    print(
        f"seg validate        {validate_s:7.3f} s   ratio to a bare interpreter {validate_s / python_s:5.1f} (target < 1.5 s)"
    )


# ------------------------------------------------------------------ 5: export memory
def peak_rss_mb(command: list[str]) -> float:
    code = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], check=True, capture_output=True)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *command], check=True, capture_output=True, text=True
    )
    return float(result.stdout.strip())


def bench_memory(path: Path) -> None:
    import duckdb

    with duckdb.connect(str(path), read_only=True) as connection:
        customers = connection.execute("SELECT COUNT(*) FROM shop.customers").fetchone()[0]  # type: ignore[index]
    sizes = [s for s in (10_000, 100_000, 1_000_000) if s <= customers]
    print(
        f"\n== 5. peak memory of `seg run --output x.parquet` (a fresh process each; {customers:,} customers)"
    )
    with tempfile.TemporaryDirectory() as folder:
        project = Path(folder)
        model = (ROOT / "examples" / "model.seg").read_text() + (
            ROOT / "examples" / "measures.seg"
        ).read_text().replace("segdsl 1", "")
        lines = [model]
        for size in sizes:
            # the `or` keeps every query's work the same (all orders are aggregated), so
            # only the number of rows exported changes
            lines.append(f"segment first_{size} = id <= {size} or orders_count < 0")
        (project / "p.seg").write_text("\n".join(lines))
        results = {}
        for size in sizes:
            out = project / f"out_{size}.parquet"
            command = [
                sys.executable,
                "-m",
                "segdsl",
                "run",
                str(project),
                "-s",
                f"first_{size}",
                "--db",
                f"duckdb:///{path}",
                "--as-of",
                "2025-07-01",
                "--output",
                str(out),
            ]
            results[size] = peak_rss_mb(command)
            print(f"{size:>10,} rows   peak {results[size]:7.0f} MB", flush=True)
        if len(sizes) > 1:
            print(
                f"ratio largest / smallest: {results[sizes[-1]] / results[sizes[0]]:.2f} (flat = 1)"
            )


def bench_trend(target: DuckDBTarget, repeat: int) -> float:
    """52 weekly steps in one query vs one evaluation, for every segment of the examples;
    and the floor: the trend's work after `population` (rankings and the counts over
    entities × steps, `population` stored in a temporary table first)."""
    from sqlglot import exp

    from segdsl.execute import count_columns, sizes_sql
    from segdsl.trend import _builder, sizes_trend_sql, steps

    c = compiler()
    names = [name for name, d in c.analysis.definitions.items() if d.kind == "segment"]
    end = c.as_of(None)
    at = steps(c, (end.wall - dt.timedelta(weeks=51)).isoformat(), end.wall.isoformat(), "1w")
    assert len(at) == 52 and at[-1].wall == end.wall
    single = sizes_sql(c, names, target.name, end)
    trend = sizes_trend_sql(c, names, target.name, at, distinct=False)
    last = [row for row in target.rows(trend) if row[0] == end.wall]
    assert [tuple(last[0][1:])] == target.rows(single), "the trend's last step differs"
    one, weekly = alternate(lambda: target.rows(single), lambda: target.rows(trend), repeat=repeat)
    ratio = weekly / one
    print(f"\ntrend ({target.name}): {len(names)} segments, 52 weekly steps in one query")
    print(
        f"  one as-of time {one:.3f}s · 52 steps {weekly:.3f}s · ratio {ratio:.2f}× (target ≤ 4×)"
    )
    columns = count_columns(names)
    outputs = [(columns[name], c.definition(name).expr) for name in names]
    builder = _builder(c, outputs, target.name, at)
    builder.counts(outputs)  # every CTE, then only those after `population`
    population = exp.select(exp.Star()).from_(exp.to_identifier("population", quoted=True))
    target.rows(
        "CREATE OR REPLACE TEMP TABLE trend_population AS "
        + builder.dialect.render(builder._with(population))
    )
    after = [name for name, _ in builder.ctes].index("population") + 1
    stored = exp.select(exp.Star()).from_(exp.to_identifier("trend_population"))
    builder.ctes = [("population", stored), *builder.ctes[after:]]
    rest = builder.dialect.render(builder.counts(outputs))
    (floor,) = alternate(lambda: target.rows(rest), repeat=repeat)
    print(f"  after population (entities × steps) {floor:.3f}s · {floor / one:.2f}× one evaluation")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale", type=float, default=100.0, help="DuckDB demo scale (100 = 1M customers)"
    )
    parser.add_argument("--pg-scale", type=float, default=5.0, help="Postgres demo scale")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="scale 1, 3 repetitions")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument(
        "--no-duckdb", action="store_true", help="sections 1 and 2 on Postgres only"
    )
    parser.add_argument(
        "--only",
        choices=["segments", "one_pass", "compile", "validate", "memory", "trend", "startup"],
    )
    parser.add_argument(
        "--segments", help="section 1 only for these segments (comma-separated names)"
    )
    parser.add_argument(
        "--no-copy",
        action="store_true",
        help="use the Postgres schema shop as it is (copied by an earlier run)",
    )
    args = parser.parse_args()
    only = args.segments.split(",") if args.segments else None
    if args.quick:
        args.scale, args.pg_scale, args.repeat = 1.0, 1.0, 3
    every = {"segments", "one_pass", "compile", "validate", "memory", "trend", "startup"}
    wanted = {args.only} if args.only else every
    print(f"segdsl benchmarks on {os.cpu_count()} cores · python {sys.version.split()[0]}")
    if "startup" in wanted:
        from benchmarks import startup

        print('\n== 8. start-up: fresh processes against `python -c "import typer"`')
        startup.report(repeat=15)
    if "compile" in wanted:
        bench_compile()
    if "validate" in wanted:
        bench_validate()
    if wanted & {"segments", "one_pass", "memory", "trend"}:
        path = demo_file(args.scale) if not args.no_duckdb else DATA / "absent"
        duck = DuckDBTarget(path) if not args.no_duckdb else None
        if "segments" in wanted and duck is not None:
            bench_segments(duck, args.repeat, only)
        if "one_pass" in wanted and duck is not None:
            bench_one_pass(duck, args.repeat)
        if "memory" in wanted:
            bench_memory(path)
        if "trend" in wanted and duck is not None:
            bench_trend(duck, args.repeat)
        if not args.no_postgres and wanted & {"segments", "one_pass"}:
            from segdsl.demo import copy_to_postgres

            if not args.no_copy:
                pg_path = demo_file(args.pg_scale)
                print(f"\ncopying scale {args.pg_scale:g} into Postgres schema shop …", flush=True)
                copy_to_postgres(pg_path, PG_DSN)
            postgres = PostgresTarget(PG_DSN)
            if "segments" in wanted:
                bench_segments(postgres, args.repeat, only)
            if "one_pass" in wanted:
                bench_one_pass(postgres, args.repeat)


if __name__ == "__main__":
    main()
