"""The county-partitioned Parquet export (fangfan.departments.parquet, `fangfan dept
export-parquet`): from the database and from CSV folders, the national engine finds the same
warnings as the county's own imports; a file with a problem stops the export, nothing written."""
from __future__ import annotations

import datetime as dt
import shutil
from collections import Counter

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fangfan.accounts.models import DEPARTMENTS
from fangfan.common import pii
from fangfan.departments.parquet import ExportProblems, export_folders
from fangfan.departments.services import feed_import
from fangfan.policy import national

AS_OF = dt.date(2026, 4, 30)


def _warnings(out) -> Counter:
    frame = pl.read_parquet(out / "warnings.parquet")
    return Counter((r["department"], r["kind"], r["id_number"], r["village_code"]) for r in frame.iter_rows(named=True))


def _expected(planted: pl.DataFrame) -> Counter:
    """The planted hits, persons named by their ID's blind index (no plain ID is exported)."""
    hits = planted.filter(pl.col("effect") != "no_match")
    return Counter((h["department"], h["effect"], pii.id_index(h["id_number_18"]) or None, h["village_code"])
                   for h in hits.iter_rows(named=True))


@pytest.mark.django_db
def test_it_exports_the_database_with_every_stored_feed_row(county, planted, tmp_path, capsys):
    for department in DEPARTMENTS:
        feed_import(actor=None, department=department, path=county / f"{department}.csv")

    call_command("dept", "export-parquet", str(tmp_path / "pq"), "--region", "341225")
    assert "已导出 1 个县" in capsys.readouterr().out
    call_command("dept", "national", str(tmp_path / "pq"), "--as-of", AS_OF.isoformat(), "--out", str(tmp_path / "o"))

    assert "1 个县, 150 户" in capsys.readouterr().out
    assert _warnings(tmp_path / "o") == _expected(planted)
    tables, feeds = national.read_county(tmp_path / "pq", "341225")
    from_files, feeds_from_files = national.read_county(_folder_export(county.parent, tmp_path), "341225")
    columns = ["id_number", "household_id", "status"]
    assert tables["members"].select(columns).sort("id_number").equals(from_files["members"].select(columns).sort("id_number"))
    assert {d: f.height for d, f in feeds.items()} == {d: f.height for d, f in feeds_from_files.items()}
    # Both sources name persons by the same blind index and key the rows alike; no plain number is exported.
    for department, frame in feeds.items():
        assert frame.select("key", "row_key").sort("row_key").equals(
            feeds_from_files[department].select("key", "row_key").sort("row_key")), department
    assert tables["members"]["id_number"].map_elements(pii.is_index, return_dtype=pl.Boolean).all()
    assert "phone" not in tables["households"].columns and "phone" not in from_files["households"].columns


def _folder_export(folder, tmp_path):
    export_folders([folder], tmp_path / "from_files")
    return tmp_path / "from_files"


@pytest.mark.django_db
def test_it_refuses_an_unknown_region_or_a_used_folder(county, tmp_path):
    with pytest.raises(CommandError, match="区划 999999 中没有登记户"):
        call_command("dept", "export-parquet", str(tmp_path / "a"), "--region", "999999")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "x").write_text("")
    with pytest.raises(CommandError, match="已存在且不为空"):
        call_command("dept", "export-parquet", str(tmp_path / "b"))


def test_it_writes_nothing_when_a_feed_file_has_a_problem(written, tmp_path):
    copy = tmp_path / "county_341225"
    shutil.copytree(written, copy)
    with (copy / "departments" / "公安.csv").open("a", encoding="utf-8") as handle:
        handle.write("34122519800101123X,出生,2026-01-01,\n")

    with pytest.raises(ExportProblems) as caught:
        export_folders([copy], tmp_path / "out")

    assert any("公安.csv 第" in p and "事项 “出生”: 不是允许的值" in p for p in caught.value.problems)
    assert not (tmp_path / "out").exists()
    assert not list(tmp_path.glob("out.tmp-*"))
