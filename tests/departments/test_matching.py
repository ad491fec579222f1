"""Warnings raised by the generated county's department files (workflows.md W6): every planted
hit raises exactly its warning, the background rows (which agree with the registry) raise none."""
from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from fangfan.accounts.models import DEPARTMENTS
from fangfan.departments.models import DeptWarning, FeedBatch
from fangfan.departments.services import feed_import

pytestmark = pytest.mark.django_db


def _import_all(folder):
    return {d: feed_import(actor=None, department=d, path=folder / f"{d}.csv").batch for d in DEPARTMENTS}


def _expected(planted: pl.DataFrame) -> Counter:
    hits = planted.filter(pl.col("effect") != "no_match")
    return Counter(
        (h["department"], h["effect"], h["id_number_18"] or None, h["village_code"])
        for h in hits.iter_rows(named=True)
    )


def _raised() -> Counter:
    return Counter(
        (w.department, w.kind, w.member.id_number if w.member_id else None, w.village_code)
        for w in DeptWarning.objects.select_related("member")
    )


def test_it_raises_exactly_the_planted_warnings(county, planted):
    _import_all(county)

    assert _raised() == _expected(planted)
    assert len(_expected(planted)) >= 25


def test_it_links_each_warning_to_its_household_township_and_evidence(county, planted):
    _import_all(county)
    by_id = {h["id_number_18"]: h for h in planted.iter_rows(named=True) if h["id_number_18"]}

    for warning in DeptWarning.objects.select_related("household", "member"):
        assert warning.township_code == warning.village_code[:9] and warning.county == "341225"
        assert warning.evidence.count() >= 1
        assert (warning.deadline - warning.raised_on).days == 10  # warning.verify_days, fangfan default
        if warning.kind == "unsafe_water":
            assert warning.household is None and warning.evidence.get().village_code == warning.village_code
        else:
            hit = by_id[warning.member.id_number]
            assert warning.household.household_number == hit["household_id"]
            assert {r.id_number for r in warning.evidence.all()} == {hit["id_number_18"]}


def test_it_marks_dropouts_urgent_with_both_risks(county):
    _import_all(county)

    dropouts = DeptWarning.objects.filter(kind="dropout")
    assert dropouts.exists() and all(w.urgent and w.risk_codes == "R02;R10" for w in dropouts)
    assert not DeptWarning.objects.exclude(kind="dropout").filter(urgent=True).exists()


def test_it_raises_nothing_new_when_the_same_rows_come_again(county, tmp_path):
    _import_all(county)
    before = DeptWarning.objects.count()
    again = tmp_path / "医保_2026-05.csv"
    again.write_text((county / "医保.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")

    batch = feed_import(actor=None, department="医保", path=again).batch

    assert batch.new_rows == 0 and batch.warnings_raised == 0
    assert DeptWarning.objects.count() == before


def test_it_adds_up_a_years_medical_costs_across_files(county, tmp_path):
    from fangfan.registry.models import Member

    member = Member.objects.filter(status="normal").order_by("id").first()
    header = "证件号码,结算日期,医疗总费用,基本医保报销,大病保险报销,医疗救助,合规自付,就医地,执行分级诊疗\n"
    first = tmp_path / "医保_2026-03.csv"
    first.write_text(header + f"{member.id_number},2026-03-02,20000.00,12000.00,1000.00,1000.00,6000.00,省内,是\n",
                     encoding="utf-8")
    second = tmp_path / "医保_2026-04.csv"
    second.write_text(header + f"{member.id_number},2026-04-10,20000.00,12000.00,1000.00,2999.99,4000.01,省内,是\n",
                      encoding="utf-8")

    assert feed_import(actor=None, department="医保", path=first).batch.warnings_raised == 0
    assert feed_import(actor=None, department="医保", path=second).batch.warnings_raised == 1

    warning = DeptWarning.objects.get(kind="large_oop", member=member)
    assert "2026年合规自付 10000.01 元" in warning.detail
    assert warning.evidence.count() == 2 and warning.batch == FeedBatch.objects.get(file_name=second.name)
