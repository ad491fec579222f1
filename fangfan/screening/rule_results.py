"""Rule results of single households, computed on demand (cases show them beside a home check
and as the elimination pre-check)."""
from __future__ import annotations

import datetime as dt

from fangfan.policy.evaluate import evaluate_tables
from fangfan.registry.dbframes import read_tables_for


def rule_result_for(household, as_of: dt.date, *, year: int | None = None, params=None) -> dict:
    """The evaluate columns (typed) for one household from the database: the same pipeline as a
    whole county, on a frame of one row."""
    if params is None:
        from fangfan.screening.parameters import current_parameters

        params = current_parameters()  # the shipped YAML with the counties' own values
    tables = read_tables_for([household.household_number])
    return evaluate_tables(tables, as_of=as_of, year=year, params=params).row(0, named=True)
