"""One household evaluated alone gives exactly its row of the batch (no second code path),
and explain_household reads the same row."""
from __future__ import annotations

import itertools

import polars as pl

from fangfan.policy.evaluate import evaluate_tables, explain_household
from fangfan.policy.params import ParameterSet
from tests.policy.casekit import all_cases, case_tables, frames, merge


def _groups():
    """Cases that share as-of date, income year and overrides can be evaluated as one batch."""
    cases = [c for c in all_cases() if not c.get("set")]
    key = lambda c: (c["as_of"], c.get("year") or 0)  # noqa: E731
    for (as_of, year), group in itertools.groupby(sorted(cases, key=key), key=key):
        yield as_of, year or None, list(group)


def test_it_gives_each_household_alone_the_same_row_as_in_the_batch():
    params = ParameterSet.load()
    checked = 0
    for as_of, year, group in _groups():
        parts = [case_tables(c, household_id=f"H{i:03d}") for i, c in enumerate(group)]
        batch = evaluate_tables(frames(merge(parts)), as_of=as_of, year=year, params=params)
        assert batch.get_column("household_id").to_list() == sorted(batch.get_column("household_id").to_list())
        for part in parts:
            hid = part["households"][0]["household_id"]
            alone = evaluate_tables(frames(part), as_of=as_of, year=year, params=params)
            if year is None and alone.row(0, named=True)["year"] != batch.filter(pl.col("household_id") == hid).row(0, named=True)["year"]:
                continue  # the default year is the latest in the file: a batch may have a later one
            assert alone.to_dicts() == batch.filter(pl.col("household_id") == hid).to_dicts()
            checked += 1
    assert checked > 50


def test_it_explains_a_household_with_the_rules_that_fired_and_their_sources():
    params = ParameterSet.load()
    case = {
        "household": {"village_code": "430102001001", "category": "边缘易致贫户", "identified_on": "2025-08-31"},
        "incomes": {2025: {"wage": 5500}},
        "measures": [{"code": "M02", "started_on": "2025-09-01"}],
    }
    tables = frames(case_tables(case))
    import datetime as dt

    explained = explain_household(tables, "H1", as_of=dt.date(2026, 5, 1), params=params)
    rules = {r["id"]: r for r in explained["rules"]}
    assert rules["M1"]["fired"] is True
    assert str(rules["M1"]["parameters"]["monitoring.income_line"]["value"]) == "6500"
    assert "43" in rules["M1"]["parameters"]["monitoring.income_line"]["source"]
    assert rules["E3"]["fired"] is True
    assert str(rules["E3"]["parameters"]["elimination.income_line"]["value"]) == "5000"
    assert "篇九" in rules["E3"]["parameters"]["elimination.income_line"]["source"]
    assert rules["E"]["result"] == "eligible"
    assert rules["M2"]["fired"] is False and rules["W-red"]["fired"] is False
    assert rules["I3"]["result"] == __import__("decimal").Decimal("5500")
    assert explained["explanation"].startswith("人均纯收入5500.00元低于监测线6500.00元")
    assert "风险消除:符合" in explained["explanation"]
    # every catalogued rule is reported, fired or not
    from fangfan.policy.rules import CATALOGUE

    assert [r["id"] for r in explained["rules"]] == [r.id for r in CATALOGUE]
