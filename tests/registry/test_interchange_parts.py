"""A folder of interchange folders (one per county) is evaluated part by part, with the same
results, checks and outputs as the one folder holding all of them."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from django.core.management import CommandError, call_command

from fangfan.registry.interchange.parts import partition_folders, read_partitions
from fangfan.registry.interchange.read import read_interchange
from fangfan.registry.interchange.write import write_tables
from fangfan.registry.synthetic import generate_county

COUNTIES = ("610902", "341225")
TABLE_NAMES = ("villages", "households", "members", "incomes", "measures")


@pytest.fixture(scope="module")
def counties(tmp_path_factory) -> dict[str, dict[str, pl.DataFrame]]:
    return {code: generate_county(code, 150, seed=3).tables for code in COUNTIES}


def _write(counties: dict, root: Path) -> tuple[Path, Path]:
    """(folder of county folders, one folder with all of them)."""
    parts = root / "parts"
    for code, tables in counties.items():
        write_tables({n: tables[n] for n in TABLE_NAMES if n in tables}, parts / f"county_{code}", "csv")
    whole = root / "whole"
    merged = {
        n: pl.concat([t[n] for t in counties.values() if n in t], how="vertical")
        for n in TABLE_NAMES
    }
    write_tables(merged, whole, "csv")
    return parts, whole


def test_it_finds_part_folders_only_when_the_folder_holds_no_table_itself(tmp_path, counties):
    parts, whole = _write(counties, tmp_path)
    assert [p.name for p in partition_folders(parts)] == ["county_341225", "county_610902"]
    assert partition_folders(whole) is None
    assert partition_folders(whole / "households.csv") is None


def test_it_evaluates_county_folders_exactly_like_one_folder(tmp_path, counties):
    parts, whole = _write(counties, tmp_path)
    by_parts, at_once = tmp_path / "parts.csv", tmp_path / "whole.csv"
    call_command("evaluate", str(parts), "--as-of", "2026-05-01", "--out", str(by_parts), verbosity=0)
    call_command("evaluate", str(whole), "--as-of", "2026-05-01", "--out", str(at_once), verbosity=0)
    a = pl.read_csv(by_parts, infer_schema=False).sort("household_id")
    b = pl.read_csv(at_once, infer_schema=False).sort("household_id")
    assert a.height == 300
    assert a.equals(b)


def test_it_uses_the_latest_year_of_the_whole_input_for_every_part(tmp_path, counties):
    older = dict(counties)
    code = COUNTIES[1]
    older[code] = {**counties[code], "incomes": counties[code]["incomes"].filter(pl.col("year") < 2025)}
    parts, whole = _write(older, tmp_path)
    by_parts, at_once = tmp_path / "parts.csv", tmp_path / "whole.csv"
    call_command("evaluate", str(parts), "--as-of", "2026-05-01", "--out", str(by_parts), verbosity=0)
    call_command("evaluate", str(whole), "--as-of", "2026-05-01", "--out", str(at_once), verbosity=0)
    a = pl.read_csv(by_parts, infer_schema=False)
    assert set(a["year"].drop_nulls().unique()) == {"2025"}
    assert a.sort("household_id").equals(pl.read_csv(at_once, infer_schema=False).sort("household_id"))


def test_it_merges_the_what_if_comparison_of_the_parts(tmp_path, counties):
    parts, whole = _write(counties, tmp_path)
    for source, name in ((parts, "parts"), (whole, "whole")):
        call_command(
            "evaluate", str(source), "--as-of", "2026-05-01", "--out", str(tmp_path / f"{name}.csv"),
            "--set", "monitoring.income_line=9000", "--compare", verbosity=0,
        )
    for sheet in ("compare", "transitions"):
        a = pl.read_csv(tmp_path / f"parts_{sheet}.csv", infer_schema=False)
        b = pl.read_csv(tmp_path / f"whole_{sheet}.csv", infer_schema=False)
        assert a.equals(b), sheet
    total = pl.read_csv(tmp_path / "parts_compare.csv").filter(pl.col("level") == "total")
    assert total["households"].item() == 300 and total["any_changed"].item() > 0


def test_it_rejects_an_id_found_in_two_parts_naming_both_and_writes_nothing(tmp_path, counties):
    a, b = COUNTIES
    stolen = counties[a]["members"].row(0, named=True)["id_number"]
    changed = counties[b]["members"].with_columns(
        pl.when(pl.int_range(pl.len()) == 5).then(pl.lit(stolen)).otherwise(pl.col("id_number")).alias("id_number")
    )
    parts, _ = _write({a: counties[a], b: {**counties[b], "members": changed}}, tmp_path)
    data = read_partitions(partition_folders(parts))
    data.close()
    reasons = [str(p) for p in data.problems]
    assert len(reasons) == 2, reasons
    assert all("证件号码重复" in r for r in reasons)
    def line_of(part: str) -> int:  # spreadsheet row: the header is row 1
        lines = (parts / f"county_{part}" / "members.csv").read_text(encoding="utf-8-sig").splitlines()
        return next(i for i, line in enumerate(lines, start=1) if stolen in line)

    assert reasons[0].startswith(f"county_{b}/members.csv 第{line_of(b)}行")
    assert f"「county_{a}/members.csv」第{line_of(a)}行" in reasons[0]
    assert reasons[1].startswith(f"county_{a}/members.csv 第{line_of(a)}行")
    assert stolen not in "".join(reasons)  # IDs are masked
    out = tmp_path / "r.csv"
    with pytest.raises(CommandError, match="2 个问题"):
        call_command("evaluate", str(parts), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    assert not out.exists()
    assert list(tmp_path.glob("fangfan-parts-*")) == []  # the spilled tables are gone


def test_it_names_the_part_of_a_problem_inside_one_part(tmp_path, counties):
    a, b = COUNTIES
    broken = counties[b]["incomes"].with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(-1).otherwise(pl.col("wage")).alias("wage")
    )
    parts, whole = _write({a: counties[a], b: {**counties[b], "incomes": broken}}, tmp_path)
    data = read_partitions(partition_folders(parts))
    data.close()
    single = read_interchange(parts / f"county_{b}")
    assert [str(p) for p in data.problems] == [f"county_{b}/{p}" for p in single.problems]
    assert len(data.problems) == 1


def test_it_refuses_more_rows_than_a_worksheet_holds(tmp_path, counties, monkeypatch):
    from fangfan.screening.management.commands import evaluate as command

    parts, _ = _write(counties, tmp_path)
    monkeypatch.setattr(command, "XLSX_MAX_ROWS", 200)
    out = tmp_path / "r.xlsx"
    with pytest.raises(CommandError, match="请输出 .csv"):
        call_command("evaluate", str(parts), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    assert not out.exists()
    monkeypatch.setattr(command, "XLSX_MAX_ROWS", 1_048_576)
    call_command("evaluate", str(parts), "--as-of", "2026-05-01", "--out", str(out), verbosity=0)
    import openpyxl

    sheet = openpyxl.load_workbook(out, read_only=True)["results"]
    assert sheet.max_row == 301  # the header and 300 households


def test_it_says_where_it_cannot_write_instead_of_a_traceback(tmp_path, counties, monkeypatch):
    import tempfile

    parts, _ = _write(counties, tmp_path)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path))

    monkeypatch.setattr(tempfile, "TemporaryDirectory", refuse)
    with pytest.raises(CommandError, match="无法写入"):
        call_command("evaluate", str(parts), "--as-of", "2026-05-01", "--out", str(tmp_path / "r.csv"), verbosity=0)
    assert not (tmp_path / "r.csv").exists()
