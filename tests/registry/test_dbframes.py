"""registry.dbframes: database rows ⇄ canonical frames, unknown columns (extra) parsed only where present."""
from __future__ import annotations

import json

import polars as pl
import pytest

from fangfan.common.tables import HOUSEHOLDS
from fangfan.registry import dbframes
from tests.factories import HouseholdFactory, MemberFactory


def test_it_expands_unknown_columns_only_on_the_rows_that_hold_them():
    frame = pl.DataFrame({
        "household_number": ["A", "B", "C", "D"],
        "extra": ["{}", '{"备注": "新建", "plan": 7}', None, '{"备注": "搬迁"}'],
    })

    out = dbframes.from_db_frame(HOUSEHOLDS, frame)

    assert out["household_id"].to_list() == ["A", "B", "C", "D"]
    assert out["备注"].to_list() == [None, "新建", None, "搬迁"]
    # A workflow's value that is not text is kept as its JSON.
    assert out["plan"].to_list() == [None, "7", None, None]


def test_it_adds_no_column_when_no_row_holds_an_unknown_one():
    frame = pl.DataFrame({"household_number": ["A", "B"], "extra": ["{}", "{}"]})

    assert dbframes.from_db_frame(HOUSEHOLDS, frame).columns == ["household_id"]


def test_it_makes_only_the_filled_extra_texts_canonical():
    frame = pl.DataFrame({"id": [1, 2, 3], "extra": ['{"b": 1,  "a": "乙"}', None, "{}"]})

    out = dbframes.normalise_extra(frame)

    assert out["extra"].to_list() == [json.dumps({"a": "乙", "b": 1}, ensure_ascii=False, sort_keys=True), "{}", "{}"]
    assert out["id"].to_list() == [1, 2, 3]


@pytest.mark.django_db
def test_it_reads_dates_and_unknown_columns_of_stored_households():
    plain = MemberFactory(household=HouseholdFactory(household_number="R001"))
    noted = MemberFactory(household=HouseholdFactory(household_number="R002", extra={"备注": "新建"}))

    tables = dbframes.read_tables(tables=("households", "members"))

    households = tables["households"]
    assert households["household_id"].to_list() == ["R001", "R002"]
    assert households["备注"].to_list() == [None, "新建"]
    members = tables["members"]
    assert members.schema["birth_date"] == pl.Date
    assert members["birth_date"].to_list() == [plain.birth_date, noted.birth_date]
