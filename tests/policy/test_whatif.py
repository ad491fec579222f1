"""What-if comparison: households whose category, elimination, warning or low-income class
change, by village, by township and in total, and every transition counted."""
from __future__ import annotations

import datetime as dt

import polars as pl

from fangfan.policy.evaluate import evaluate_tables
from fangfan.policy.params import ParameterSet
from fangfan.policy.whatif import compare
from tests.policy.casekit import case_tables, frames, merge


def _results(rows):
    return pl.DataFrame(
        rows,
        schema={"household_id": pl.String, "village_code": pl.String, "candidate_category": pl.String,
                "elimination": pl.String, "warning_color": pl.String, "low_income_class": pl.String},
        orient="row",
    )


def test_it_counts_changes_by_village_township_and_total():
    base = _results([
        ("A1", "341225103208", None, None, None, None),
        ("A2", "341225103208", "marginal", "eligible", None, None),
        ("A3", "341225103209", None, None, "orange", "dibao_marginal"),
        ("B1", "341225104001", None, None, None, None),
    ])
    changed = _results([
        ("A1", "341225103208", "marginal", None, None, None),
        ("A2", "341225103208", "marginal", "not_eligible", None, None),
        ("A3", "341225103209", None, None, None, "dibao_eligible"),
        ("B1", "341225104001", "marginal", None, None, None),
    ])
    result = compare(base, changed)
    rows = {(r["level"], r["code"]): r for r in result.by_area.iter_rows(named=True)}
    assert rows[("village", "341225103208")]["candidate_category_changed"] == 1
    assert rows[("village", "341225103208")]["elimination_changed"] == 1
    assert rows[("village", "341225103208")]["any_changed"] == 2
    assert rows[("township", "341225103")]["households"] == 3
    assert rows[("township", "341225103")]["warning_color_changed"] == 1
    assert rows[("township", "341225104")]["candidate_category_changed"] == 1
    total = rows[("total", "")]
    assert (total["households"], total["candidate_category_changed"], total["elimination_changed"],
            total["warning_color_changed"], total["low_income_class_changed"], total["any_changed"]) == (4, 2, 1, 1, 1, 4)
    assert result.transition_lines() == [
        "candidate_category: none→marginal: 2",
        "elimination: eligible→not_eligible: 1",
        "warning_color: orange→none: 1",
        "low_income_class: dibao_marginal→dibao_eligible: 1",
    ]


def test_it_shows_which_households_a_higher_line_draws_in():
    params = ParameterSet.load()
    cases = [
        {"incomes": {2025: {"wage": 6500}}},  # 6500 ≥ 6000 now, < 7000 under the what-if
        {"incomes": {2025: {"wage": 7000}}},  # equal to the new line: not below
        {"household": {"household_type": "脱贫户"}, "incomes": {2025: {"wage": 6999.99}}},
        {"household": {"village_code": "430102001001"}, "incomes": {2025: {"wage": 6600}}},  # 湖南 keeps 6500
    ]
    tables = frames(merge([case_tables(c, household_id=f"H{i}") for i, c in enumerate(cases)]))
    as_of = dt.date(2026, 5, 1)
    base = evaluate_tables(tables, as_of=as_of, params=params)
    what_if = evaluate_tables(tables, as_of=as_of, params=params.with_overrides([("monitoring.income_line", "34", "7000")]))
    assert what_if.get_column("income_line").to_list() == [700000, 700000, 700000, 650000]
    result = compare(base, what_if)
    assert result.transition_lines() == [
        "candidate_category: none→marginal: 1",
        "candidate_category: none→unstable_lifted: 1",
    ]
    assert result.by_area.filter(pl.col("level") == "total").row(0, named=True)["any_changed"] == 2
