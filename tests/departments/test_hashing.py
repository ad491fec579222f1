"""Keyed-hash IDs (issue 11): `fangfan dept hash-ids` rewrites a department's file with blind
indexes instead of IDs; such a file matches, is stored and raises warnings exactly as its plain
twin, and an unmatched hashed row is shown as 「部门提供的是加密索引」."""
from __future__ import annotations

import csv
import json
import stat

import polars as pl
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.common import pii
from fangfan.departments import selectors
from fangfan.departments.feeds import HASHED_LABEL
from fangfan.departments.hashing import HashError, hash_ids, ring_from_key_file
from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow
from fangfan.departments.services import feed_import
from tests.factories import UserFactory

COUNTY_CODE = "341225000000"
ID_DEPARTMENTS = [d for d in DEPARTMENTS if d != "水利"]


def _rows(path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


def _hashed_folder(county, tmp_path):
    out = tmp_path / "hashed"
    out.mkdir()
    for department in ID_DEPARTMENTS:
        call_command("dept", "hash-ids", str(county / f"{department}.csv"), str(out / f"{department}.csv"))
    return out


def _warnings() -> set[tuple]:
    """Everything a warning says and points at (its evidence by file row), database ids aside."""
    return {
        (w.key, w.department, w.kind, w.detail, w.member_id, w.household_id, w.village_code, w.event_on,
         w.monitored_when_raised, tuple(sorted(w.evidence.values_list("row_number", "row_key"))))
        for w in DeptWarning.objects.all()
    }


def _forget_feeds() -> None:
    DeptWarning.evidence.through.objects.all().delete()
    DeptWarning.objects.all().delete()
    FeedRow.objects.all().delete()
    FeedBatch.objects.all().delete()


def test_it_rewrites_the_id_column_as_the_indexes_and_keeps_every_other_cell(written, tmp_path):
    source = written / "departments" / "医保.csv"
    target = tmp_path / "医保.csv"

    summary = hash_ids(source, target)

    before, after = _rows(source), _rows(target)
    assert after[0][0] == "证件号码(加密索引)" and after[0][1:] == before[0][1:]
    assert [r[1:] for r in after[1:]] == [r[1:] for r in before[1:]]
    assert all(pii.is_index(r[0]) for r in after[1:])
    plain = pl.read_csv(written / "departments" / "planted.csv", infer_schema_length=0).filter(
        (pl.col("department") == "医保") & (pl.col("id_number").str.len_chars() == 15))
    converted = {pii.id_index(n) for n in plain["id_number_18"]}
    assert converted and converted <= {r[0] for r in after[1:]}  # 15-digit IDs hashed as their 18-digit number
    assert (summary.rows, summary.hashed, summary.kept) == (len(before) - 1, len(before) - 1, 0)
    again = tmp_path / "again.csv"
    assert hash_ids(target, again).kept == len(before) - 1 and _rows(again) == after  # hashing twice changes nothing


@pytest.mark.django_db
def test_it_raises_from_a_hashed_file_exactly_the_warnings_of_its_plain_twin(county, tmp_path):
    hashed = _hashed_folder(county, tmp_path)
    for department in DEPARTMENTS:
        feed_import(actor=None, department=department, path=county / f"{department}.csv")
    plain_warnings = _warnings()
    plain_rows = set(FeedRow.objects.values_list("department", "row_number", "id_index", "row_key", "matched",
                                                 "household_id", "member_id"))
    _forget_feeds()

    for department in ID_DEPARTMENTS:
        feed_import(actor=None, department=department, path=hashed / f"{department}.csv")
    feed_import(actor=None, department="水利", path=county / "水利.csv")

    assert len(plain_warnings) >= 25 and _warnings() == plain_warnings
    assert set(FeedRow.objects.values_list("department", "row_number", "id_index", "row_key", "matched",
                                           "household_id", "member_id")) == plain_rows
    assert not FeedRow.objects.exclude(id_cipher="").exists()  # no number was sent: none stored


@pytest.mark.django_db
def test_it_skips_the_hashed_rows_of_a_file_imported_plain_before(county, tmp_path):
    hashed = _hashed_folder(county, tmp_path)
    first = feed_import(actor=None, department="公安", path=county / "公安.csv").batch

    again = feed_import(actor=None, department="公安", path=hashed / "公安.csv").batch

    assert (again.rows, again.new_rows, again.warnings_raised) == (first.rows, 0, 0)


@pytest.mark.django_db
def test_it_shows_an_unmatched_hashed_person_as_sent_encrypted(county, planted, tmp_path):
    hashed = _hashed_folder(county, tmp_path)
    feed_import(actor=None, department="金融", path=hashed / "金融.csv")
    feed_import(actor=None, department="医保", path=county / "医保.csv")
    strangers = planted.filter(pl.col("effect") == "no_match")
    rr = UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE)

    entries = selectors.unregistered(actor=rr)
    shown = dict(zip((e.id_index for e in entries), selectors.unregistered_numbers(entries, full=True)))

    for stranger in strangers.iter_rows(named=True):
        index = pii.id_index(stranger["id_number_18"])
        if stranger["department"] == "金融":
            assert shown[index] == HASHED_LABEL
        elif stranger["department"] == "医保":
            assert shown[index] == stranger["id_number_18"]


@pytest.mark.django_db
def test_it_shows_the_evidence_of_a_hashed_row_as_sent_encrypted(client, county, tmp_path):
    hashed = _hashed_folder(county, tmp_path)
    feed_import(actor=None, department="公安", path=hashed / "公安.csv")
    warning = DeptWarning.objects.filter(member__isnull=False).first()
    client.force_login(UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE))

    page = client.get(f"/warnings/{warning.pk}/").content.decode()

    assert HASHED_LABEL in page and warning.member.id_number not in page


def test_it_refuses_a_file_with_a_bad_id_and_writes_nothing(tmp_path):
    source = tmp_path / "公安.csv"
    source.write_text("证件号码,事项,日期,车辆类型\n34122519800101123Y,死亡,2026-01-01,\n,死亡,2026-01-02,\n",
                      encoding="utf-8")

    with pytest.raises(HashError) as caught:
        hash_ids(source, tmp_path / "out.csv")

    assert [(p.row, p.reason) for p in caught.value.problems] == [(2, "证件号码应为18位(末位可为X)"), (3, "不能为空")]
    assert "34122519800101123Y" not in str(caught.value.problems[0])
    assert not (tmp_path / "out.csv").exists() and not list(tmp_path.glob(".out.csv.*"))


def test_it_writes_xlsx_and_says_what_is_wrong_in_chinese(written, tmp_path):
    from fangfan.departments.feeds import read_feed

    target = tmp_path / "残联.xlsx"
    hash_ids(written / "departments" / "残联.csv", target)

    assert read_feed("残联", target).lines == read_feed("残联", written / "departments" / "残联.csv").lines
    with pytest.raises(HashError, match="已存在, 未覆盖"):
        hash_ids(written / "departments" / "残联.csv", target)
    with pytest.raises(HashError, match="找不到“证件号码”列"):
        hash_ids(written / "departments" / "水利.csv", tmp_path / "水利.csv")
    with pytest.raises(HashError, match="应为 .csv 或 .xlsx"):
        hash_ids(written / "departments" / "残联.csv", tmp_path / "残联.txt")


@pytest.mark.django_db
def test_it_hands_out_the_index_key_alone_and_hashes_with_it(written, tmp_path):
    key_file = tmp_path / "index_key.json"
    call_command("dept", "index-key", str(key_file))

    saved = json.loads(key_file.read_text(encoding="utf-8"))
    assert set(saved) == {"index_key", "note"} and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    ring = ring_from_key_file(key_file)
    assert ring.index("110101199003074578") == pii.id_index("110101199003074578")
    assert not set(ring.data_keys.values()) & set(pii.keyring().data_keys.values())  # the data keys stay home
    out = tmp_path / "公安.csv"
    call_command("dept", "hash-ids", str(written / "departments" / "公安.csv"), str(out), "--key", str(key_file))
    assert _rows(out)[1:] and all(pii.is_index(r[0]) for r in _rows(out)[1:])
    with pytest.raises(CommandError, match="已存在, 未覆盖"):
        call_command("dept", "index-key", str(key_file))
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(CommandError, match="格式错误"):
        call_command("dept", "hash-ids", str(written / "departments" / "公安.csv"), str(tmp_path / "x.csv"),
                     "--key", str(tmp_path / "bad.json"))


def test_it_refuses_to_hash_without_the_countys_key(written, tmp_path, monkeypatch):
    monkeypatch.delenv("FANGFAN_PII_KEYS", raising=False)
    monkeypatch.setenv("FANGFAN_PII_KEY_FILE", str(tmp_path / "none.json"))

    with pytest.raises(CommandError, match="请用 --key 指定"):
        call_command("dept", "hash-ids", str(written / "departments" / "公安.csv"), str(tmp_path / "out.csv"))

    assert not (tmp_path / "none.json").exists() and not (tmp_path / "out.csv").exists()
