"""The numbers of the `seg docs` site on DuckDB, Postgres and GoogleSQL against the
reference evaluator (tests/support/reference.py), on generated data whose entity table
may repeat keys: every funnel step, the sizes at each sparkline point (their own as-of
times), the sizes now and the overlap of every pair.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdsl.compiler import Compiler
from segdsl.explain.report import funnel_steps
from segdsl.project import Project
from segdsl.site import gather, measure
from tests.generators import AS_OF_CHOICES, MODEL, conditions, datasets
from tests.support.availability import require_postgres
from tests.support.reference import evaluate_members, population_keys
from tests.support.runner_engine import RunnerEngine
from tests.support.runners import DuckDBRunner, PostgresRunner, Runner, ZetaSQLRunner, close_all
from tests.test_entity_keys import RANKED, with_bad_keys

EXAMPLES = int(os.environ.get("SEGDSL_SITE_EXAMPLES", "8"))
WEEKS = 3


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_site_numbers_match_the_reference(data: st.DataObject) -> None:
    require_postgres()
    as_of_wall = data.draw(st.sampled_from(AS_OF_CHOICES))
    clean = data.draw(datasets(as_of_wall))
    copies = data.draw(st.lists(st.integers(0, 20), max_size=3))
    tables = with_bad_keys(clean, copies, without_key=data.draw(st.integers(0, 1)))
    segments = []
    for _ in range(2):
        parts = [data.draw(conditions(max_leaves=2)) for _ in range(data.draw(st.integers(1, 3)))]
        parts = [p for p in parts if not any(w in p for w in RANKED)] or ["orders_n > 0"]
        segments.append(" and ".join(f"({p})" for p in parts))
    text = MODEL + "".join(f"segment s{i} = {c}\n" for i, c in enumerate(segments))
    compiler = Compiler(Project.from_text(text))
    as_of = compiler.as_of(as_of_wall)
    catalogue = gather(compiler, as_of, "generated")
    names = catalogue.segments

    def members(expr: Any, moment: Any = as_of) -> set[object]:
        return evaluate_members(compiler, expr, clean, moment)

    now = {name: members(compiler.definition(name).expr) for name in names}
    funnels = {
        name: [("population", len(population_keys(compiler, clean, as_of)))]
        + [(label, len(members(expr))) for label, expr in funnel_steps(compiler, name)]
        for name in names
    }
    runners: list[Runner] = []
    try:
        runners = [DuckDBRunner(tables), PostgresRunner(tables), ZetaSQLRunner(tables)]
        for runner in runners:
            engine: Any = RunnerEngine(runner)
            numbers = measure(compiler, engine, catalogue, weeks=WEEKS)
            assert numbers.funnels == funnels, runner.name
            assert numbers.sizes == {name: len(now[name]) for name in names}, runner.name
            assert numbers.overlap == {
                a: {b: len(now[a] & now[b]) for b in names} for a in names
            }, runner.name
            assert len(numbers.history) == WEEKS and numbers.history[-1].as_of == as_of
            for point in numbers.history:
                expected = {
                    name: len(members(compiler.definition(name).expr, point.as_of))
                    for name in names
                }
                assert point.sizes == expected, (runner.name, point.as_of)
                population = population_keys(compiler, clean, point.as_of)
                assert point.population == len(population), (runner.name, point.as_of)
    finally:
        close_all(runners)
