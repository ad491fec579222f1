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


def _sqlite_file_with_rows(path):
    import sqlite3

    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (n integer, day text, flag bool, note text, pct text)")
        # A column NULL in the first rows and text later: the driver must not guess it from them.
        rows = [(i, "2026-04-30", i % 2, None, "50%") for i in range(3000)] + [(None, "2026-05-01", 0, "乙", None)]
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?)", rows)
    return rows


def test_it_reads_a_sqlite_file_in_child_processes_as_the_row_path_does(tmp_path):
    from fangfan.registry.bulk import _sqlite_param, _typed_frame
    from fangfan.registry.sqlite_arrow import fetch_tables

    path = tmp_path / "reg.sqlite3"
    rows = _sqlite_file_with_rows(path)
    schema = {"n": pl.Int64, "day": pl.Date, "flag": pl.Boolean, "note": pl.String}
    every = "SELECT n, day, flag, note, pct FROM t WHERE (day >= ? OR flag = ?) AND (pct IS NULL OR pct NOT LIKE '%x%') ORDER BY rowid"
    some = "SELECT n FROM t WHERE note = ? OR n > ?"

    tables = fetch_tables(path, [(every, [_sqlite_param(dt.date(2026, 4, 30)), _sqlite_param(True)]), (some, ["乙", 2997])])

    assert tables is not None
    frame = _typed_frame(pl.from_arrow(tables[0]), schema)
    assert frame.equals(_typed(rows, ["n", "day", "flag", "note", "pct"], schema))
    assert frame.row(-1) == (None, dt.date(2026, 5, 1), False, "乙", None)
    assert pl.from_arrow(tables[1]).get_column("n").to_list() == [2998, 2999, None]


def test_it_leaves_a_query_a_child_cannot_read_to_the_row_path(tmp_path):
    from fangfan.registry.sqlite_arrow import fetch_tables

    path = tmp_path / "reg.sqlite3"
    _sqlite_file_with_rows(path)

    assert fetch_tables(path, [("SELECT n FROM t", []), ("SELECT no_such_column FROM t", [])]) is None


@pytest.mark.django_db
def test_it_reads_the_in_memory_test_database_through_django():
    from fangfan.registry.bulk import child_read_possible

    # Another process cannot see an in-memory database (nor, inside a transaction, its rows).
    assert not child_read_possible()


@pytest.mark.django_db
def test_it_binds_parameters_for_a_child_as_djangos_cursor_binds_them():
    import decimal
    import sqlite3

    from django.db import connection

    import django.db.backends.sqlite3.base  # noqa: F401 — registers Django's adapters, as a SQLite connection does
    from fangfan.registry.bulk import _sqlite_param

    aware = dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    values = (True, dt.date(2026, 4, 30), dt.datetime(2026, 12, 1, 0, 30), aware, decimal.Decimal("12.50"), "6109", 7, None)

    plain = sqlite3.connect(":memory:")
    bound = [plain.execute("SELECT ?", [_sqlite_param(v)]).fetchone()[0] for v in values]
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert bound == [cursor.execute("SELECT %s", [v]).fetchone()[0] for v in values]
    assert bound == [1, "2026-04-30", "2026-12-01 00:30:00", "2026-12-01 08:30:00+08:00", "12.50", "6109", 7, None]
