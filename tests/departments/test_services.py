from __future__ import annotations

import shutil

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.audit.models import AuditEvent
from fangfan.common import pii
from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow
from fangfan.departments.services import FeedRejected, feed_import
from fangfan.registry.models import Household
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _import_all(folder, actor=None):
    return {d: feed_import(actor=actor, department=d, path=folder / f"{d}.csv").batch for d in DEPARTMENTS}


def test_it_imports_every_feed_of_a_generated_county(county):
    batches = _import_all(county)

    for department, batch in batches.items():
        lines = pl.read_csv(county / f"{department}.csv", infer_schema_length=0).height
        assert (batch.rows, batch.new_rows, batch.skipped) == (lines, lines, 0), department
        assert batch.matched + batch.unmatched == lines and batch.county == "341225"
        assert FeedRow.objects.filter(batch=batch).count() == lines
    assert sum(b.unmatched for b in batches.values()) == FeedRow.objects.filter(matched=False).count() > 0


def test_it_matches_planted_ids_to_their_households(county, planted):
    _import_all(county)
    hits = planted.filter(pl.col("household_id").is_not_null() & (pl.col("household_id") != ""))

    for hit in hits.iter_rows(named=True):
        rows = (FeedRow.objects.filter(department=hit["department"], id_index=pii.id_index(hit["id_number_18"]))
                .select_related("household", "member"))
        assert rows and all(r.matched and r.household.household_number == hit["household_id"] for r in rows), hit
        assert {r.member.id_number for r in rows} == {hit["id_number_18"]}
    assert hits.height >= 20


def test_it_converts_15_digit_ids_before_matching(county, planted):
    _import_all(county)
    old = planted.filter(pl.col("id_number").str.len_chars() == 15)

    assert old.height >= 3  # 医保, 民政, 残联 and 公安 each plant one
    for hit in old.iter_rows(named=True):
        row = FeedRow.objects.filter(department=hit["department"], id_index=pii.id_index(hit["id_number_18"])).first()
        assert row.matched and row.household.household_number == hit["household_id"]
        assert row.id_number == hit["id_number_18"] and "证件号码" not in row.values  # the cipher holds it, 18 digits


def test_it_matches_water_rows_by_village_code(county, planted):
    batch = feed_import(actor=None, department="水利", path=county / "水利.csv").batch
    villages = set(planted.filter(pl.col("department") == "水利")["village_code"])

    rows = FeedRow.objects.filter(batch=batch)
    assert {r.village_code for r in rows} == villages
    assert all(r.matched and (r.id_index, r.id_cipher) == ("", "") for r in rows)
    assert Household.objects.filter(village_id__in=villages).count() > 0


def _bad_copy(county, tmp_path):
    lines = (county / "医保.csv").read_text(encoding="utf-8").splitlines()
    header, first, second = lines[0], lines[1].split(","), lines[2].split(",")
    good_id = first[0]
    first[0] = good_id[:-1] + ("0" if good_id[-1] != "0" else "1")  # wrong check digit
    first[1] = "2026-02-30"
    second[6] = "12.345"  # 合规自付 with three decimals
    second[7] = "外省"
    path = tmp_path / "医保.csv"
    path.write_text("\n".join([header, ",".join(first), ",".join(second), *lines[3:]]) + "\n", encoding="utf-8")
    return path, good_id


def test_it_lists_every_problem_and_writes_nothing_on_a_bad_row(county, tmp_path):
    path, good_id = _bad_copy(county, tmp_path)

    with pytest.raises(FeedRejected) as caught:
        feed_import(actor=None, department="医保", path=path)

    found = {(p.row, p.column) for p in caught.value.problems}
    assert found == {(2, "证件号码"), (2, "结算日期"), (3, "合规自付"), (3, "就医地")}
    id_problem = next(p for p in caught.value.problems if p.column == "证件号码")
    assert id_problem.file == "医保.csv" and id_problem.reason == "证件号码校验位错误"
    assert id_problem.value.startswith(good_id[:6]) and "*" in id_problem.value and good_id[6:14] not in id_problem.value
    assert "第2行 证件号码" in str(id_problem)
    assert (FeedBatch.objects.count(), FeedRow.objects.count(), AuditEvent.objects.filter(action="dept.import").count()) == (0, 0, 0)


def test_it_reports_missing_columns_and_an_unknown_department(county, tmp_path):
    path = tmp_path / "残联.csv"
    path.write_text("证件号码,残疾类别\n", encoding="utf-8")

    with pytest.raises(FeedRejected) as caught:
        feed_import(actor=None, department="残联", path=path)
    assert {(p.row, p.column) for p in caught.value.problems} == {(1, "残疾等级"), (1, "发证日期")}
    with pytest.raises(FeedRejected, match="未知的部门"):
        feed_import(actor=None, department="卫健", path=path)


def test_it_refuses_the_same_file_again(county):
    feed_import(actor=None, department="公安", path=county / "公安.csv")

    with pytest.raises(FeedRejected, match="已导入过") as caught:
        feed_import(actor=None, department="公安", path=county / "公安.csv")
    assert "批次" in caught.value.problems[0].reason
    assert FeedBatch.objects.count() == 1


def test_it_skips_rows_seen_in_an_earlier_file(county, tmp_path):
    first = feed_import(actor=None, department="金融", path=county / "金融.csv").batch
    lines = (county / "金融.csv").read_text(encoding="utf-8").splitlines()
    # A later file in GB18030 with a title row: the same rows (one amount written differently) plus one new.
    later = tmp_path / "金融_2026-05.csv"
    new_row = lines[1].split(",")
    new_row[1] = "123.45"
    rows = ["金融机构存款及证券查询结果,,", *lines, lines[1].replace(".00,", ",", 1), ",".join(new_row)]
    later.write_bytes(("\r\n".join(rows) + "\r\n").encode("gb18030"))

    second = feed_import(actor=None, department="金融", path=later).batch

    assert second.period == "2026-05"
    assert (second.rows, second.new_rows, second.skipped) == (first.rows + 2, 1, first.rows + 1)
    assert FeedRow.objects.get(batch=second).row_number == len(rows)


def test_it_reads_xlsx_with_title_rows(county, tmp_path):
    import xlsxwriter

    frame = pl.read_csv(county / "住建.csv", infer_schema_length=0)
    path = tmp_path / "住建.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("鉴定")
    sheet.write(0, 0, "县住建局农村住房安全鉴定结果")
    sheet.write_row(2, 0, frame.columns)
    for i, row in enumerate(frame.iter_rows()):
        sheet.write_row(3 + i, 0, row)
    book.close()

    batch = feed_import(actor=None, department="住建", path=path, period="2026-3").batch

    assert (batch.rows, batch.period, batch.matched) == (frame.height, "2026-03", frame.height)
    assert FeedRow.objects.filter(batch=batch).order_by("row_number").first().row_number == 4


def test_it_lets_a_department_user_import_only_its_own_feed(county):
    medical = UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code="341225000000", department="医保")
    village = UserFactory(username="cun", role=Role.VILLAGE)

    with pytest.raises(PermissionDenied, match="只能导入本部门"):
        feed_import(actor=medical, department="民政", path=county / "民政.csv")
    with pytest.raises(PermissionDenied):
        feed_import(actor=village, department="医保", path=county / "医保.csv")
    batch = feed_import(actor=medical, department="医保", path=county / "医保.csv").batch

    assert batch.who == medical and batch.county == "341225" and batch.matched > 0
    event = AuditEvent.objects.get(action="dept.import")
    assert event.actor == medical and event.after["matched"] == batch.matched and event.region_code == "341225000000"


def test_it_matches_only_within_the_users_county(county, tmp_path):
    other = UserFactory(username="rr-other", role=Role.COUNTY_RR, region_code="341222000000")
    copy = tmp_path / "医保.csv"
    shutil.copy(county / "医保.csv", copy)

    batch = feed_import(actor=other, department="医保", path=copy).batch

    assert (batch.matched, batch.county) == (0, "341222")
    assert not FeedRow.objects.filter(household__isnull=False).exists()


def _all_ids(folder) -> set[str]:
    """Every ID the department files hold, as written (15 or 18 digits) and as 18 digits."""
    from fangfan.common.ids import convert_15_to_18

    ids: set[str] = set()
    for department in DEPARTMENTS:
        frame = pl.read_csv(folder / f"{department}.csv", infer_schema_length=0)
        if "证件号码" in frame.columns:
            ids.update(frame["证件号码"].drop_nulls().to_list())
    return ids | {convert_15_to_18(n) for n in ids if len(n) == 15}


def test_it_stores_no_plain_id_in_any_feed_table_after_an_import(county, planted):
    from django.db import connection

    from fangfan.policy.warnings import KINDS, warning_key

    _import_all(county)
    ids = _all_ids(county)
    assert set(planted["id_number_18"].drop_nulls()) - {""} <= ids and len(ids) > 100

    tables = ["departments_feedrow", "departments_feedbatch", "departments_deptwarning",
              "departments_deptwarning_evidence", "audit_auditevent"]
    with connection.cursor() as cursor:
        text = []
        for table in tables:
            cursor.execute(f"SELECT * FROM {table}")  # every column, the values JSON as stored
            text.extend(str(row) for row in cursor.fetchall())
    stored = "\n".join(text)
    assert not [n for n in ids if n in stored]
    # Nor an unkeyed hash of one: warnings keyed by a person are keyed by the ID's index.
    keys = set(DeptWarning.objects.values_list("key", flat=True))
    assert not {warning_key(d, k, n) for n in ids for d in DEPARTMENTS for k in KINDS} & keys
    person = DeptWarning.objects.filter(kind__in=["death", "moved_out", "public_payroll"]).select_related("member")
    assert person and all(w.key == warning_key(w.department, w.kind, w.member.id_index) for w in person)
    rows = FeedRow.objects.exclude(department="水利")
    assert all(pii.decrypt_id(r.id_cipher) == r.id_number and pii.id_index(r.id_number) == r.id_index for r in rows)
