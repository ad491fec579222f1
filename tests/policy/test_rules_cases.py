"""Every rule case of tests/policy/cases/*.yaml, evaluated alone through evaluate_tables and
compared column by column with the text the `evaluate` contract writes."""
from __future__ import annotations

import pytest

from fangfan.policy.evaluate import OUTPUT_COLUMNS, evaluate_tables, format_results
from fangfan.policy.params import ParameterSet
from tests.policy.casekit import all_cases, case_tables, frames, parse_overrides

CASES = all_cases()


def evaluate_case(case: dict) -> dict:
    params = ParameterSet.load()
    if case.get("set"):
        params = params.with_overrides(parse_overrides(case["set"]))
    tables = frames(case_tables(case))
    results = evaluate_tables(tables, as_of=case["as_of"], year=case.get("year"), params=params)
    assert results.height == 1
    return format_results(results).row(0, named=True)


@pytest.mark.parametrize("case", CASES, ids=[f"{c['family']}: {c['name']}" for c in CASES])
def test_it_gives_the_expected_result_for_each_rule_case(case):
    row = evaluate_case(case)
    unknown = set(case["expect"]) - set(row)
    assert not unknown, f"expect names columns the output lacks: {unknown}"
    got = {k: row[k] for k in case["expect"]}
    assert got == {k: str(v) for k, v in case["expect"].items()}, row["explanation"]


def test_it_has_case_files_for_every_rule_family():
    families = {c["family"] for c in CASES}
    assert families == {"income", "monitoring", "elimination", "warning", "lowincome", "schedule"}
    assert set(OUTPUT_COLUMNS) >= {k for c in CASES for k in c["expect"]}
