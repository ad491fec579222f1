"""The W6 rules (fangfan.policy.warnings) on hand-made rows: each threshold at its boundary, and
rows that agree with the registry raise nothing."""
from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from fangfan.common import pii
from fangfan.departments.feeds import feed_frame
from fangfan.policy.params import ParameterSet
from fangfan.policy.warnings import PEOPLE_SCHEMA, Thresholds, feed_warnings, warning_key

T = Thresholds(medical_oop=1_000_000, disaster_loss=500_000, large_deposit=10_000_000, verify_days=10)
# Persons are keyed by the blind index of their ID (what the feeds and the registry frames carry).
ID = pii.id_index("110101199003074578")
ID2 = pii.id_index("110101200501014516")


def person(**changes) -> dict:
    base = dict(id_number=ID, household="H1", member_name="张三", village_code="341225100201", status="normal",
                disability_grade=None, disability_kind=None, nl_public_payroll=False, housing_safe=True,
                monitored=False, nl_car=False, nl_town_house=False, nl_company=False, nl_large_deposits=False)
    return {**base, **changes}


def run(department: str, rows: list[dict], people: list[dict] | None = None, villages=()) -> pl.DataFrame:
    records = [(f"rk{i}", r.pop("key", ID), r) for i, r in enumerate(rows)]
    frame = feed_frame(department, records)
    people_frame = pl.DataFrame(people if people is not None else [person()], schema=PEOPLE_SCHEMA)
    return feed_warnings(department, frame, people_frame, pl.Series(list(villages), dtype=pl.String), T)


def kinds(out: pl.DataFrame) -> list[str]:
    return out["kind"].to_list()


def medical(oop_fen: int, day: str = "2026-03-01") -> dict:
    return {"结算日期": day, "医疗总费用": oop_fen * 3, "基本医保报销": oop_fen, "大病保险报销": oop_fen // 2,
            "医疗救助": 0, "合规自付": oop_fen, "就医地": "省内", "执行分级诊疗": "是"}


def test_it_raises_r01_when_a_years_out_of_pocket_reaches_the_line_exactly():
    assert kinds(run("医保", [medical(1_000_000)])) == ["large_oop"]
    assert kinds(run("医保", [medical(999_999)])) == []


def test_it_adds_up_a_persons_rows_of_the_same_year_only():
    assert kinds(run("医保", [medical(600_000, "2026-01-05"), medical(400_000, "2026-11-30")])) == ["large_oop"]
    assert kinds(run("医保", [medical(600_000, "2025-12-31"), medical(400_000, "2026-01-01")])) == []
    out = run("医保", [medical(600_000, "2026-01-05"), medical(400_000, "2026-11-30")])
    assert out["row_keys"].to_list() == [["rk0", "rk1"]] and out["event_on"].to_list() == [dt.date(2026, 11, 30)]
    assert out["warning_key"].to_list() == [warning_key("医保", "large_oop", f"{ID}|2026")]


def test_it_raises_r03_for_a_new_severe_disability_but_not_one_on_file():
    new = {"残疾类别": "智力", "残疾等级": "三级", "发证日期": "2026-02-01"}
    assert kinds(run("残联", [dict(new)])) == ["severe_disability"]
    assert kinds(run("残联", [{**new, "残疾类别": "肢体"}])) == []
    assert kinds(run("残联", [dict(new)], [person(disability_grade="3", disability_kind="intellectual")])) == []
    assert kinds(run("残联", [{**new, "残疾等级": "一级"}], [person(disability_grade="4", disability_kind="physical")])) == [
        "severe_disability"]


def test_it_proposes_a_death_only_for_a_member_not_yet_marked_dead():
    row = {"事项": "死亡", "日期": "2026-03-01", "车辆类型": ""}
    assert kinds(run("公安", [dict(row)])) == ["death"]
    assert kinds(run("公安", [dict(row)], [person(status="deceased")])) == []
    assert kinds(run("民政", [{"事项": "死亡火化", "日期": "2026-03-01", "金额": None}])) == ["death"]


def test_it_counts_cars_not_motorcycles_and_not_a_car_already_on_file():
    row = {"事项": "车辆登记", "日期": "2026-03-01"}
    assert kinds(run("公安", [{**row, "车辆类型": "小型轿车"}])) == ["car"]
    assert kinds(run("公安", [{**row, "车辆类型": "普通二轮摩托车"}])) == []
    assert kinds(run("公安", [{**row, "车辆类型": "小型轿车"}], [person(nl_car=True)])) == []


def test_it_keys_negative_list_hits_by_household_so_a_repeat_is_the_same_warning():
    a = run("金融", [{"存款余额": 9_000_000, "有价证券市值": 1_000_000}])
    b = run("金融", [{"存款余额": 12_000_000, "有价证券市值": 0}])
    assert kinds(a) == ["large_deposits"] and a["warning_key"].to_list() == b["warning_key"].to_list()
    assert kinds(run("金融", [{"存款余额": 9_000_000, "有价证券市值": 999_999}])) == []


def test_it_raises_r04_at_the_disaster_loss_line_and_r09_for_c_or_d_housing():
    assert kinds(run("应急", [{"灾种": "洪涝", "受灾日期": "2026-07-01", "直接经济损失": 500_000}])) == ["disaster_loss"]
    assert kinds(run("应急", [{"灾种": "洪涝", "受灾日期": "2026-07-01", "直接经济损失": 499_999}])) == []
    assert kinds(run("住建", [{"鉴定等级": "D", "鉴定日期": "2026-07-01"}])) == ["unsafe_housing"]
    assert kinds(run("住建", [{"鉴定等级": "B", "鉴定日期": "2026-07-01"}])) == []
    assert kinds(run("住建", [{"鉴定等级": "C", "鉴定日期": "2026-07-01"}], [person(housing_safe=False)])) == []


def test_it_gives_a_freshman_grant_only_in_a_monitored_household():
    row = {"事项": "新入学大学生", "学段": "本科", "日期": "2026-09-01"}
    assert kinds(run("教育", [dict(row)], [person(monitored=True)])) == ["freshman_grant"]
    assert kinds(run("教育", [dict(row)])) == []
    assert kinds(run("教育", [{**row, "事项": "失学辍学", "学段": "初中"}])) == ["dropout"]


def test_it_raises_one_water_warning_per_known_village_row():
    rows = [{"key": "341225100201", "问题": "管道损坏", "日期": "2026-05-01"},
            {"key": "341225100299", "问题": "季节性缺水", "日期": "2026-05-01"}]
    out = run("水利", rows, villages=["341225100201"])
    assert out.select("kind", "village_code", "household").rows() == [("unsafe_water", "341225100201", None)]


def test_it_ignores_rows_of_people_in_no_household():
    assert kinds(run("人社", [{"key": ID2, "事项": "失业登记", "日期": "2026-03-01", "单位": "", "月工资": None}])) == []
    assert kinds(run("人社", [{"事项": "失业登记", "日期": "2026-03-01", "单位": "", "月工资": None}])) == ["unemployment"]


def test_it_reads_its_lines_from_the_dated_parameters():
    t = Thresholds.resolve(ParameterSet.load(), "341225", dt.date(2026, 5, 1))
    assert (t.medical_oop, t.disaster_loss, t.large_deposit, t.verify_days) == (1_000_000, 500_000, 10_000_000, 10)


@pytest.mark.parametrize("department", ["市场监管", "不动产"])
def test_it_skips_households_already_flagged(department):
    row = ({"身份": "股东", "企业名称": "某公司", "年报状态": "已年报"} if department == "市场监管"
           else {"不动产类型": "商铺", "所在地": "城镇", "登记日期": "2026-01-01"})
    flag = "nl_company" if department == "市场监管" else "nl_town_house"
    assert len(run(department, [dict(row)])) == 1
    assert len(run(department, [dict(row)], [person(**{flag: True})])) == 0
