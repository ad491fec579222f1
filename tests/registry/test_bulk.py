"""registry.bulk: query results as typed Polars frames on both databases."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fangfan.registry.bulk import _typed, fetch_frame
from tests.factories import HouseholdFactory


def test_it_types_sqlite_rows_column_by_column():
    rows = [(1, "2026-04-30", 1, None, "甲"), (None, "2026-05-01 00:00:00", 0, "x", None)]
    schema = {"n": pl.Int64, "day": pl.Date, "flag": pl.Boolean, "text": pl.String}

    frame = _typed(rows, ["n", "day", "flag", "text", "free"], schema)

    assert frame.schema == {"n": pl.Int64, "day": pl.Date, "flag": pl.Boolean, "text": pl.String, "free": pl.String}
    assert frame.rows() == [(1, dt.date(2026, 4, 30), True, None, "甲"), (None, dt.date(2026, 5, 1), False, "x", None)]


def test_it_keeps_the_names_of_a_result_without_rows():
    frame = _typed([], ["n", "day"], {"n": pl.Int64, "day": pl.Date})

    assert frame.columns == ["n", "day"]
    assert frame.height == 0


@pytest.mark.django_db
def test_it_fetches_a_query_as_a_typed_frame():
    HouseholdFactory(household_number="B002", housing_safe=False)
    HouseholdFactory(household_number="B001")

    frame = fetch_frame(
        "SELECT household_number, housing_safe, CAST(created_at AS DATE) AS made FROM registry_household "
        "ORDER BY household_number",
        [],
        {"household_number": pl.String, "housing_safe": pl.Boolean, "made": pl.Date},
    )

    assert frame["household_number"].to_list() == ["B001", "B002"]
    assert frame["housing_safe"].to_list() == [True, False]
    assert frame.schema["made"] == pl.Date
