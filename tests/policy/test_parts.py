"""fangfan.policy.parts called directly: the engine's evaluator, the summary counts, and the
part-by-part evaluation with its what-if comparison, against the one folder holding every part."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from fangfan.policy.evaluate import evaluate_tables
from fangfan.policy.params import ParameterSet
from fangfan.policy.parts import PartsEvaluation, evaluator, read_parts, result_counts
from fangfan.policy.whatif import compare
from fangfan.registry.interchange.parts import partition_folders
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.interchange.write import write_tables
from fangfan.registry.synthetic import generate_county

AS_OF = dt.date(2026, 5, 1)
COUNTIES = ("610902", "341225")
TABLE_NAMES = ("villages", "households", "members", "incomes", "measures")


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> tuple[Path, Path]:
    """(folder of two county folders, one folder holding both)."""
    root = tmp_path_factory.mktemp("parts")
    counties = {code: generate_county(code, 120, seed=5).tables for code in COUNTIES}
    for code, tables in counties.items():
        write_tables({n: tables[n] for n in TABLE_NAMES if n in tables}, root / "parts" / f"county_{code}", "csv")
    whole = {n: pl.concat([t[n] for t in counties.values() if n in t]) for n in TABLE_NAMES}
    write_tables(whole, root / "whole", "csv")
    return root / "parts", root / "whole"


@pytest.fixture(scope="module")
def whole_tables(folders):
    read = read_interchange(folders[1])
    assert read.ok
    return read.tables


@pytest.fixture(scope="module")
def what_if() -> tuple[ParameterSet, ParameterSet]:
    shipped = ParameterSet.load()
    return shipped.with_overrides([("monitoring.income_line", None, "9000")]), shipped


def test_it_evaluates_on_the_local_engine_as_evaluate_tables_does(whole_tables):
    params = ParameterSet.load()
    run = evaluator("local", AS_OF)
    assert run(whole_tables, params, None).equals(evaluate_tables(whole_tables, as_of=AS_OF, params=params))
    assert run(whole_tables, params, 2024).equals(evaluate_tables(whole_tables, as_of=AS_OF, year=2024, params=params))


def test_it_refuses_an_unknown_engine_in_chinese():
    with pytest.raises(ValueError, match="评估引擎应为 local、spark 之一: 'dask'"):
        evaluator("dask", AS_OF)


def test_it_counts_what_the_summary_line_reports():
    results = pl.DataFrame({
        "candidate_category": ["marginal", None, "sudden_hardship", None],
        "elimination": ["eligible", "not_eligible", None, "eligible"],
        "warning_color": [None, "orange", "red", None],
        "dibao_unserved": [True, False, True, False],
        "visit_overdue": [False, False, True, None],
    })
    assert result_counts(results) == {
        "candidates": 2, "eliminations": 2, "warnings": 2, "dibao_unserved": 2, "visits_overdue": 1,
    }


def test_it_evaluates_part_by_part_exactly_like_the_whole_folder(folders, whole_tables, what_if):
    params, shipped = what_if
    whole = evaluate_tables(whole_tables, as_of=AS_OF, params=params)
    with read_parts(partition_folders(folders[0])) as data:
        assert data.ok
        evaluation = PartsEvaluation(data, AS_OF, params)
        done = list(evaluation)
    assert [(d.index, d.part.name) for d in done] == [(0, "county_341225"), (1, "county_610902")]
    assert [d.results.height for d in done] == [120, 120]
    by_parts = pl.concat([d.results for d in done]).sort("household_id")
    assert by_parts.equals(whole.sort("household_id"))
    assert evaluation.households == 240
    assert evaluation.counts == result_counts(whole)
    assert evaluation.comparison() is None


def test_it_merges_the_parts_what_if_comparisons_into_the_whole_folders(folders, whole_tables, what_if):
    params, shipped = what_if
    expected = compare(
        evaluate_tables(whole_tables, as_of=AS_OF, params=shipped),
        evaluate_tables(whole_tables, as_of=AS_OF, params=params),
    )
    with read_parts(partition_folders(folders[0])) as data:
        evaluation = PartsEvaluation(data, AS_OF, params, shipped=shipped)
        for _ in evaluation:
            pass
    merged = evaluation.comparison()
    assert len(evaluation.comparisons) == 2
    assert merged.by_area.equals(expected.by_area)
    assert merged.transitions.equals(expected.transitions)
    total = merged.by_area.filter(pl.col("level") == "total").row(0, named=True)
    assert total["households"] == 240
    assert total["candidate_category_changed"] > 0  # a higher line draws households in


def test_it_uses_the_given_year_for_every_part_and_the_latest_of_the_input_otherwise(folders):
    with read_parts(partition_folders(folders[0])) as data:
        assert PartsEvaluation(data, AS_OF, ParameterSet.load()).chosen_year == data.latest_year
        chosen = PartsEvaluation(data, AS_OF, ParameterSet.load(), year=2024)
        assert chosen.chosen_year == 2024
        assert {y for d in chosen for y in d.results["year"].drop_nulls().unique()} == {2024}
