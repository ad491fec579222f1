"""read → write → read gives the same frames; write → read → write gives the same files."""
from __future__ import annotations

import csv
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal
from python_calamine import CalamineWorkbook

from fangfan.common.ids import check_digit
from fangfan.common.tables import TABLES
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.interchange.write import write_tables

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"


def idn(first17: str) -> str:
    return first17 + check_digit(first17)


def _sample_value(kind: str, key: str, i: int) -> str:
    """A non-default value for every column kind, so every column is exercised."""
    if key == "household_id":
        return f"H{i % 3:03d}"
    if kind == "village_code":
        return "341225103208"
    if kind == "id_number":
        return idn(f"341225198{i}0101{i:02d}1")
    if kind == "bool":
        return "是" if i % 2 else "否"
    if kind == "date":
        return f"2026-0{i + 1}-1{i}"
    if kind == "money":
        return f"{1000 * (i + 1)}.{i}5"
    if kind in ("int", "year"):
        return str(2020 + i) if kind == "year" else str(i + 3)
    return f"内容{i}"


def _full_folder(tmp_path: Path) -> Path:
    """Three households, each with one head, every column filled, plus an unknown column."""
    folder = tmp_path / "full"
    folder.mkdir()
    values = {
        ("households", "category"): ["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"],
        ("households", "declared_risks"): ["因病", "R04;R01", "缺劳动力、因学"],
        ("households", "household_type"): ["脱贫户", "一般农户", "脱贫户"],
        ("members", "relation"): ["户主", "户主", "户主"],
        ("members", "status"): ["正常", "正常", "正常"],
        ("members", "health"): ["健康", "长期慢性病;残疾", "患有大病"],
        ("incomes", "decline_reasons"): ["", "1;10", "4"],
        ("incomes", "transfer_income"): ["99999.99", "100000", "200000.10"],
        ("measures", "measure_code"): ["M01", "健康帮扶", "M99"],
    }
    for name, table in TABLES.items():
        header = [c.zh for c in table.columns] + ["备注"]
        rows = []
        for i in range(3):
            row = []
            for col in table.columns:
                given = values.get((name, col.key))
                if given is not None:
                    row.append(given[i])
                elif col.kind in ("code", "multi"):
                    row.append(col.codelist.items[i % len(col.codelist.items)][1])
                else:
                    row.append(_sample_value(col.kind, col.key, i))
            rows.append(row + [f"备注{i}"])
        if name == "villages":
            rows = rows[:1]
        with (folder / f"{table.zh}.csv").open("w", encoding="utf-8", newline="") as fh:
            csv.writer(fh).writerows([header, *rows])
    return folder


def _canonical(result) -> dict[str, pl.DataFrame]:
    """Frames without file row numbers, in key order (the writer sorts by key)."""
    out = {}
    for name, frame in result.tables.items():
        key = list(TABLES[name].key)
        out[name] = frame.drop("_row").sort(key)
    return out


def _assert_same_tables(a, b) -> None:
    assert set(a) == set(b)
    for name in a:
        assert_frame_equal(a[name], b[name], check_column_order=True)


@pytest.fixture(params=["examples", "full"])
def source(request, tmp_path) -> Path:
    return EXAMPLES if request.param == "examples" else _full_folder(tmp_path)


def test_it_reads_back_what_it_wrote_as_csv(source, tmp_path):
    first = read_interchange(source)
    assert first.problems == []

    write_tables(first.tables, tmp_path / "out1")
    second = read_interchange(tmp_path / "out1")

    assert second.problems == []
    _assert_same_tables(_canonical(first), _canonical(second))


def test_it_writes_byte_identical_csv_after_a_round_trip(source, tmp_path):
    first = read_interchange(source)
    paths_1 = write_tables(first.tables, tmp_path / "out1")
    paths_2 = write_tables(read_interchange(tmp_path / "out1").tables, tmp_path / "out2")

    assert [p.name for p in paths_1] == [p.name for p in paths_2]
    for p1, p2 in zip(paths_1, paths_2):
        assert p1.read_bytes() == p2.read_bytes(), p1.name
    # Every table present in the source was written, with one line per row plus the header.
    for name, frame in first.tables.items():
        assert len((tmp_path / "out1" / f"{name}.csv").read_text(encoding="utf-8").splitlines()) == frame.height + 1


def _cells(path: Path) -> dict[str, list[list[object]]]:
    wb = CalamineWorkbook.from_path(str(path))
    return {name: wb.get_sheet_by_name(name).to_python() for name in wb.sheet_names}


def test_it_round_trips_through_an_xlsx_workbook(source, tmp_path):
    first = read_interchange(source)
    write_tables(first.tables, tmp_path / "a.xlsx")
    second = read_interchange(tmp_path / "a.xlsx")

    assert second.problems == []
    _assert_same_tables(_canonical(first), _canonical(second))

    write_tables(second.tables, tmp_path / "b.xlsx")
    cells_a, cells_b = _cells(tmp_path / "a.xlsx"), _cells(tmp_path / "b.xlsx")
    assert cells_a == cells_b
    assert list(cells_a) == [TABLES[n].zh for n in TABLES if n in first.tables]


def test_it_keeps_money_exact_and_multi_values_in_code_order(tmp_path):
    result = read_interchange(_full_folder(tmp_path))

    incomes = result.tables["incomes"].sort("household_id")
    assert incomes.get_column("transfer_income").to_list() == [9_999_999, 10_000_000, 20_000_010]
    assert incomes.get_column("wage").to_list() == [100005, 200015, 300025]
    households = result.tables["households"].sort("household_id")
    assert households.get_column("declared_risks").to_list() == [["R01"], ["R01", "R04"], ["R02", "R08"]]
    assert result.extra_columns == {name: ["备注"] for name in TABLES}
