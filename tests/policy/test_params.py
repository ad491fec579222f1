"""Policy parameters: the shipped profiles, prefix/date resolution, strict loading, what-ifs, bulk resolution."""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangfan.policy.params import (
    RATIO_DTYPE,
    NegativeItem,
    ParameterError,
    ParameterSet,
    TimeLimit,
    normalise_prefix,
    parse_override,
)

D = dt.date.fromisoformat
YINGKOU = "210802001001"
HUNAN = "430121001001"
LINGSHOU = "130126100200"
FUNAN = "341225103201"
ANKANG = "610902001001"
GUANGXI = "450102001001"
GANSU = "620102001001"
SUINING = "510903001001"
SHANGYI = "130725001001"
BEIJING = "110101001001"


@pytest.fixture(scope="module")
def params() -> ParameterSet:
    return ParameterSet.load()


def value(params, name, code, on):
    return params.value(name, code, D(on))


# ------------------------------------------------------------------------------ shipped values (profiles.md)
PROFILE_VALUES = [
    # national base
    ("monitoring.income_line", BEIJING, "2024-01-01", Decimal("6000")),
    ("monitoring.scale_guide", BEIJING, "2024-01-01", Decimal("0.05")),
    ("hardship.rigid_expense_ratio", BEIJING, "2024-01-01", Decimal("1")),
    ("hardship.income_drop_ratio", BEIJING, "2024-01-01", Decimal("0.5")),
    ("elimination.min_months_monitored", BEIJING, "2024-01-01", 0),
    ("elimination.min_months_assisted", BEIJING, "2024-01-01", None),
    ("notice.village_days", BEIJING, "2024-01-01", 5),
    ("notice.township_days", BEIJING, "2024-01-01", 0),
    ("identification.time_limit", BEIJING, "2024-01-01", TimeLimit(15, "calendar")),
    ("assistance.plan_days", BEIJING, "2024-01-01", 10),
    ("comparison.days", BEIJING, "2024-01-01", 10),
    ("visits.monitored_months", BEIJING, "2024-01-01", 1),
    ("visits.eliminated_months", BEIJING, "2024-01-01", 6),
    ("visits.lifted_months", BEIJING, "2024-01-01", 12),
    ("dibao.line_rural_year", BEIJING, "2024-01-01", None),
    ("dibao.marginal_multiplier", BEIJING, "2024-01-01", Decimal("1.5")),
    ("dibao.expense_hardship_line_multiplier", BEIJING, "2024-01-01", Decimal("1")),
    ("dibao.phase_out_months", BEIJING, "2024-01-01", 6),
    ("dibao.employment_cost_rate", BEIJING, "2024-01-01", Decimal("0")),
    ("warning.orange_multiplier", BEIJING, "2024-01-01", Decimal("1.5")),
    ("scale_risk.village_ratio", BEIJING, "2024-01-01", Decimal("0.02")),
    ("spot_check.ratio", BEIJING, "2024-01-01", Decimal("0.05")),
    ("income_change.growth_target", BEIJING, "2024-01-01", Decimal("0.10")),
    ("income_change.veto_households", BEIJING, "2024-01-01", 5),
    ("workshop.min_months", BEIJING, "2024-01-01", 6),
    ("workshop.min_monthly_wage", BEIJING, "2024-01-01", Decimal("1000")),
    ("workshop.stable_post_months", BEIJING, "2024-01-01", 12),
    ("workshop.stable_post_subsidy", BEIJING, "2024-01-01", Decimal("1000")),
    ("warning.medical_oop_line", BEIJING, "2024-01-01", Decimal("10000")),
    ("warning.disaster_loss_line", BEIJING, "2024-01-01", Decimal("5000")),
    ("negative.large_deposit_line", BEIJING, "2024-01-01", Decimal("100000")),
    ("local.disposable_income_per_capita", BEIJING, "2024-06-01", Decimal("21691")),
    # 营口 (篇二)
    ("income.window_start", YINGKOU, "2023-06-01", "05-01"),
    ("income.window_start", BEIJING, "2023-06-01", "01-01"),
    ("elimination.min_months_assisted", YINGKOU, "2023-06-01", 6),
    ("identification.time_limit", YINGKOU, "2023-06-01", TimeLimit(15, "calendar")),
    ("rollback.approval_level", YINGKOU, "2023-06-01", "province"),
    # 遂宁 (篇八)
    ("monitoring.income_line", SUINING, "2021-06-01", Decimal("6000")),
    ("notice.village_days", SUINING, "2021-06-01", 5),
    # 湖南 (篇九)
    ("monitoring.income_line", HUNAN, "2022-06-01", Decimal("6500")),
    ("elimination.income_line", HUNAN, "2022-06-01", Decimal("5000")),
    ("elimination.min_months_monitored", HUNAN, "2022-06-01", 3),
    ("notice.village_days", HUNAN, "2022-06-01", 7),
    ("reviews.sweeps_per_year", HUNAN, "2022-06-01", 2),
    # 灵寿 (篇十二)
    ("notice.village_days", LINGSHOU, "2021-06-01", 5),
    ("notice.township_days", LINGSHOU, "2021-06-01", 5),
    ("identification.time_limit", LINGSHOU, "2021-06-01", TimeLimit(20, "working")),
    ("elimination.min_months_monitored", LINGSHOU, "2021-06-01", 12),
    ("education.freshman_grant_min", LINGSHOU, "2021-06-01", Decimal("2000")),
    ("education.freshman_grant_max", LINGSHOU, "2021-06-01", Decimal("3000")),
    ("education.loan_cap_undergrad_year", LINGSHOU, "2021-06-01", Decimal("8000")),
    ("education.loan_cap_postgrad_year", LINGSHOU, "2021-06-01", Decimal("12000")),
    # 阜南 (篇十一)
    ("medical_aid.rate_in_province", FUNAN, "2021-06-01", Decimal("0.5")),
    ("medical_aid.rate_out_of_province", FUNAN, "2021-06-01", Decimal("0.4")),
    ("medical_aid.no_referral_cut", FUNAN, "2021-06-01", Decimal("0.1")),
    ("medical_aid.annual_cap", FUNAN, "2021-06-01", Decimal("10000")),
    ("housing.rebuild_per_household", FUNAN, "2021-06-01", Decimal("20000")),
    ("housing.repair_per_household", FUNAN, "2021-06-01", Decimal("6000")),
    ("microcredit.min_age", FUNAN, "2021-06-01", 18),
    ("microcredit.max_age", FUNAN, "2021-06-01", 65),
    ("visits.marginal_months", FUNAN, "2021-06-01", 1),
    ("visits.marginal_months", BEIJING, "2021-06-01", None),
    # 安康 (篇十四)
    ("dibao.line_rural_year", ANKANG, "2021-06-01", Decimal("4830")),
    ("dibao.line_urban_month", ANKANG, "2021-06-01", Decimal("610")),
    ("warning.orange_multiplier", ANKANG, "2021-06-01", Decimal("1.5")),
    # 甘肃 (篇六), 广西 (篇三), 尚义 (篇四)
    ("dibao.marginal_multiplier", GANSU, "2021-06-01", Decimal("1.5")),
    ("dibao.marginal_multiplier", GUANGXI, "2021-06-01", Decimal("2")),
    ("dibao.expense_hardship_line_multiplier", GUANGXI, "2021-06-01", Decimal("2")),
    ("dibao.phase_out_months", GUANGXI, "2021-06-01", 6),
    ("dibao.township_visit_months", SHANGYI, "2021-06-01", 3),
    ("dibao.zero_report_months", SHANGYI, "2021-06-01", 1),
]


@pytest.mark.parametrize(("name", "code", "on", "expected"), PROFILE_VALUES)
def test_it_ships_every_value_of_the_profiles(params, name, code, on, expected):
    assert value(params, name, code, on) == expected


def test_it_ships_every_parameter_with_a_chinese_description_and_a_sourced_value(params):
    for name in params.names():
        definition = params.definition(name)
        assert definition.description and any("\u4e00" <= ch <= "\u9fff" for ch in definition.description), name
    found = params.get("monitoring.income_line", BEIJING, D("2024-01-01"))
    assert "篇八" in found.source
    assert params.get("hardship.income_drop_ratio", BEIJING, D("2024-01-01")).source == "fangfan default"


def test_it_ships_the_workshop_award_tiers_and_the_campaign_calendar(params):
    tiers = value(params, "workshop.award_tiers", BEIJING, "2024-01-01")
    assert [(t.min_persons, t.amount) for t in tiers] == [(5, 10000), (10, 20000), (20, 30000)]
    calendar = value(params, "campaign.calendar", YINGKOU, "2023-06-01")
    assert [(p.phase, p.due, p.time) for p in calendar] == [
        ("preparation", "04-26", None),
        ("field", "05-27", None),
        ("entry", "05-31", "18:00"),
        ("correction", "06-05", None),
        ("report", "06-12", None),
    ]
    assert value(params, "campaign.calendar", BEIJING, "2023-06-01") is None


def test_it_ships_negative_list_s_nationally_and_n_in_lingshou(params):
    s_list = value(params, "negative_list", SUINING, "2023-06-01")
    assert [item.id for item in s_list] == ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]
    assert s_list[0] == NegativeItem("S1", s_list[0].label, ("nl_public_payroll", "nl_company"))
    assert s_list[1].fields == ("nl_luxury_property", "nl_machinery", "nl_large_deposits")
    assert [item.id for item in value(params, "negative_list", BEIJING, "2023-06-01")] == [i.id for i in s_list]
    n_list = value(params, "negative_list", LINGSHOU, "2023-06-01")
    assert {item.id: item.fields for item in n_list} == {
        "N1": ("nl_public_payroll",),
        "N2": ("nl_village_head",),
        "N3": ("nl_town_house",),
        "N4": ("nl_car", "nl_machinery"),
        "N5": ("nl_company", "nl_employs_others"),
        "N6": ("nl_costly_school",),
    }


# ------------------------------------------------------------------------------ resolution
@pytest.mark.parametrize(
    ("on", "expected", "prefix"),
    [
        ("2021-12-31", "6000", ""),
        ("2022-01-01", "6600", "2108"),
        ("2022-12-31", "6600", "2108"),
        ("2023-01-01", "7260", "2108"),
        ("2026-06-01", "7260", "2108"),
    ],
)
def test_it_resolves_the_yingkou_line_by_date(params, on, expected, prefix):
    found = params.get("monitoring.income_line", YINGKOU, D(on))
    assert found.value == Decimal(expected)
    assert found.prefix == prefix


def test_it_uses_the_longest_prefix_hunan_lingshou_national(params):
    on = D("2023-06-01")
    assert params.get("monitoring.income_line", HUNAN, on).prefix == "43"
    assert params.value("monitoring.income_line", HUNAN, on) == Decimal("6500")
    assert params.value("monitoring.income_line", "43", on) == Decimal("6500")
    assert params.value("monitoring.income_line", "430000000000", on) == Decimal("6500")
    assert params.get("monitoring.income_line", LINGSHOU, on).prefix == "130126"
    assert params.get("monitoring.income_line", "130102001001", on).prefix == ""  # 河北, not 灵寿
    # Before Hunan's own value starts, the national value applies.
    assert params.get("monitoring.income_line", HUNAN, D("2021-06-01")).prefix == ""
    # Before any value starts, there is none.
    assert params.get("monitoring.income_line", HUNAN, D("2019-12-31")) is None


def write_tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return tmp_path


BASE = textwrap.dedent(
    """\
    parameters:
      monitoring.income_line:
        unit: yuan_per_person_year
        description: 监测收入基准线
        values:
          - {start: 2020-01-01, value: 6000, source: 篇八}
      elimination.income_line:
        unit: yuan_per_person_year
        description: 风险消除收入线
        values:
          - {start: 2020-01-01, value: {follow: monitoring.income_line}, source: 篇九}
      notice.village_days:
        unit: days
        description: 公示天数
        values:
          - {start: 2020-01-01, value: 5, source: 篇八}
"""
)


def test_it_lets_a_township_or_village_value_beat_the_county(tmp_path):
    directory = write_tree(
        tmp_path,
        {
            "base.yaml": BASE,
            "341225_funan.yaml": """\
                profile: {prefix: "341225", place: 阜南县, source: 篇十一}
                values:
                  notice.village_days:
                    - {start: 2020-01-01, value: 6}
                    - {start: 2020-01-01, value: 9, prefix: "341225103", source: 乡镇}
                    - {start: 2020-01-01, value: 12, prefix: "341225103201", source: 村}
                    - {start: 2030-01-01, value: 30, prefix: "341225104"}
            """,
        },
    )
    params = ParameterSet.load(directory)
    on = D("2024-01-01")
    assert params.get("notice.village_days", "341225103201", on).value == 12
    assert params.get("notice.village_days", "341225103202", on).value == 9
    assert params.get("notice.village_days", "341225103202", on).source == "乡镇"
    assert params.get("notice.village_days", "341225101001", on).value == 6
    assert params.get("notice.village_days", "341225101001", on).source == "篇十一"  # the profile's source
    # A longer prefix whose value has not started yet does not hide the county value.
    assert params.get("notice.village_days", "341225104001", on).value == 6
    assert params.get("notice.village_days", "341225104001", D("2030-01-01")).value == 30


def test_it_makes_the_elimination_line_follow_the_monitoring_line_except_hunan(params):
    on = D("2023-06-01")
    yingkou = params.get("elimination.income_line", YINGKOU, on)
    assert (yingkou.value, yingkou.prefix, yingkou.via) == (Decimal("7260"), "2108", "monitoring.income_line")
    assert "篇九" in yingkou.source and "篇二" in yingkou.source
    assert params.value("elimination.income_line", YINGKOU, D("2022-06-01")) == Decimal("6600")
    assert params.value("elimination.income_line", BEIJING, on) == Decimal("6000")
    hunan = params.get("elimination.income_line", HUNAN, on)
    assert (hunan.value, hunan.prefix, hunan.via) == (Decimal("5000"), "43", None)
    # A county inside Hunan that changes its monitoring line keeps Hunan's own elimination line…
    changed = params.with_overrides([("monitoring.income_line", "430121", "7000")])
    assert changed.value("monitoring.income_line", HUNAN, on) == Decimal("7000")
    assert changed.value("elimination.income_line", HUNAN, on) == Decimal("5000")
    # …while elsewhere the elimination line follows a regional monitoring line.
    changed = params.with_overrides([("monitoring.income_line", "130126", "7100")])
    assert changed.value("elimination.income_line", LINGSHOU, on) == Decimal("7100")
    assert changed.value("elimination.income_line", "130102001001", on) == Decimal("6000")


def test_it_has_no_dibao_line_outside_ankang(params):
    on = D("2023-06-01")
    assert params.value("dibao.line_rural_year", BEIJING, on) is None
    assert params.value("dibao.line_rural_year", BEIJING, on, default="无") == "无"
    found = params.get("dibao.line_rural_year", HUNAN, on)
    assert found is not None and found.value is None and found.prefix == ""  # "none", with its source
    assert params.value("dibao.line_rural_year", ANKANG, on) == Decimal("4830")
    assert params.value("dibao.line_rural_year", ANKANG, D("2020-12-31")) is None


def test_it_rejects_bad_codes_and_unknown_names(params):
    with pytest.raises(ParameterError, match="区划代码"):
        params.get("monitoring.income_line", "21080", D("2023-01-01"))
    with pytest.raises(ParameterError, match="区划代码"):
        params.get("monitoring.income_line", "21a802001001", D("2023-01-01"))
    with pytest.raises(ParameterError, match="未知参数 'monitoring.incom_line'"):
        params.get("monitoring.incom_line", YINGKOU, D("2023-01-01"))


def test_it_reports_versions_and_the_whole_set(params):
    on = D("2023-06-01")
    versions = params.versions(YINGKOU, on)
    assert versions["monitoring.income_line"] == "2108@2023-01-01"
    assert versions["notice.village_days"] == "national@2020-01-01"
    assert "medical_aid.annual_cap" not in versions  # no value for 营口
    resolved = params.for_region(YINGKOU, on)
    assert resolved["income.window_start"].value == "05-01"
    rows = {row["name"]: row for row in params.describe(YINGKOU, on)}
    assert rows["monitoring.income_line"]["value"] == "7260.00"
    assert rows["monitoring.income_line"]["prefix"] == "2108"
    assert rows["identification.time_limit"]["value"] == "15 日(自然日)"
    assert rows["medical_aid.annual_cap"]["value"] == "—"
    assert len(rows) == len(params.names())


# ------------------------------------------------------------------------------ what-if
def test_it_overrides_a_national_value_for_every_date(params):
    changed = params.with_overrides([("monitoring.income_line", None, "7000")])
    assert changed.value("monitoring.income_line", BEIJING, D("2019-01-01")) == Decimal("7000")
    assert changed.value("monitoring.income_line", BEIJING, D("2026-01-01")) == Decimal("7000")
    assert changed.value("monitoring.income_line", YINGKOU, D("2023-06-01")) == Decimal("7260")  # longer prefix
    assert changed.get("monitoring.income_line", BEIJING, D("2026-01-01")).source == "what-if 覆盖"
    assert params.value("monitoring.income_line", BEIJING, D("2026-01-01")) == Decimal("6000")  # original intact


def test_it_overrides_a_region_written_as_a_full_code(params):
    changed = params.with_overrides([parse_override("430000:monitoring.income_line=7000")])
    assert changed.value("monitoring.income_line", HUNAN, D("2021-01-01")) == Decimal("7000")
    assert changed.value("monitoring.income_line", HUNAN, D("2026-01-01")) == Decimal("7000")
    assert changed.value("monitoring.income_line", LINGSHOU, D("2026-01-01")) == Decimal("6000")
    changed = params.with_overrides(
        [
            ("identification.time_limit", "2108", "20 working"),
            ("dibao.line_rural_year", "43", "5000"),
            ("dibao.marginal_multiplier", None, "2"),
            ("elimination.min_months_assisted", None, "null"),
        ]
    )
    assert changed.value("identification.time_limit", YINGKOU, D("2023-01-01")) == TimeLimit(20, "working")
    assert changed.value("dibao.line_rural_year", HUNAN, D("2023-01-01")) == Decimal("5000")
    assert changed.value("dibao.marginal_multiplier", BEIJING, D("2023-01-01")) == Decimal("2")
    assert changed.value("elimination.min_months_assisted", BEIJING, D("2023-01-01")) is None
    assert changed.value("elimination.min_months_assisted", YINGKOU, D("2023-01-01")) == 6  # 营口 keeps its own


@pytest.mark.parametrize(
    ("override", "message"),
    [
        (("monitoring.incom_line", None, "7000"), "未知参数"),
        (("monitoring.income_line", None, "七千"), "金额"),
        (("monitoring.income_line", None, "7000.001"), "两位小数"),
        (("notice.village_days", None, "5.5"), "非负整数"),
        (("monitoring.income_line", "430", "7000"), "区划代码"),
        (("identification.time_limit", None, "soon"), "20 working"),
        (("elimination.income_line", None, "follow:nothing.here"), "follow"),
    ],
)
def test_it_rejects_bad_overrides(params, override, message):
    with pytest.raises(ParameterError, match=message):
        params.with_overrides([override])


def test_it_normalises_region_codes_to_prefixes():
    assert normalise_prefix("430000") == "43"
    assert normalise_prefix("210800") == "2108"
    assert normalise_prefix("210800000000") == "2108"
    assert normalise_prefix("130126") == "130126"
    assert normalise_prefix("341225103000") == "341225103"
    assert normalise_prefix("341225103201") == "341225103201"


# ------------------------------------------------------------------------------ strict loading
def load_error(tmp_path: Path, files: dict[str, str]) -> str:
    with pytest.raises(ParameterError) as info:
        ParameterSet.load(write_tree(tmp_path, files))
    return str(info.value)


PROFILE_HEAD = 'profile: {prefix: "2108", place: 营口市, source: 篇二}\nvalues:\n'


@pytest.mark.parametrize(
    ("profile_values", "expected"),
    [
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260, sauce: x}\n", ["p.yaml", "monitoring.income_line", "未知的键", "sauce"]),
        ("  monitoring.income_line:\n    - {start: 2023-02-30, value: 7260}\n", ["p.yaml", "monitoring.income_line", "日期不存在"]),
        ("  monitoring.income_line:\n    - {start: 2023/01/01, value: 7260}\n", ["p.yaml", "monitoring.income_line", "YYYY-MM-DD"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01}\n", ["p.yaml", "缺少键", "value"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260, prefix: \"21a8\"}\n", ["p.yaml", "monitoring.income_line", "只能由数字"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260, prefix: 2108}\n", ["p.yaml", "加引号"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260, prefix: \"21080\"}\n", ["p.yaml", "长度", "5 位"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260, prefix: \"210800\"}\n", ["p.yaml", "零段", "2108"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: abc}\n", ["p.yaml", "monitoring.income_line", "金额"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260.125}\n", ["p.yaml", "两位小数"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: -1}\n", ["p.yaml", "非负"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: true}\n", ["p.yaml", "金额"]),
        ("  notice.village_days:\n    - {start: 2023-01-01, value: 5.5}\n", ["p.yaml", "notice.village_days", "非负整数"]),
        ("  notice.village_days:\n    - {start: 2023-01-01, value: \"七\"}\n", ["p.yaml", "notice.village_days", "非负整数"]),
        ("  monitoring.incme_line:\n    - {start: 2023-01-01, value: 7260}\n", ["p.yaml", "未知参数", "monitoring.incme_line"]),
        (
            "  monitoring.income_line:\n    - {start: 2023-01-01, value: 7260}\n    - {start: 2023-01-01, value: 7300}\n",
            ["p.yaml", "monitoring.income_line", "2108", "2023-01-01", "重复"],
        ),
        ("  monitoring.income_line:\n    - {start: 2020-01-01, value: 7260, prefix: \"\", source: x}\n", ["p.yaml", "全国", "重复", "base.yaml"]),
        ("  monitoring.income_line: 7260\n", ["p.yaml", "monitoring.income_line", "列表"]),
        ("  elimination.income_line:\n    - {start: 2023-01-01, value: {follow: no.such}}\n", ["p.yaml", "elimination.income_line", "no.such"]),
        ("  elimination.income_line:\n    - {start: 2023-01-01, value: {follow: notice.village_days}}\n", ["p.yaml", "单位"]),
        ("  notice.village_days:\n    - {start: 2023-01-01, value: 6, prefix: \"43\"}\n", ["p.yaml", "不在本文件地区 2108"]),
        ("  monitoring.income_line:\n    - {start: 2023-01-01, value: {follow: elimination.income_line}}\n", ["循环"]),
        ("  notice.village_days:\n    - {start: 2023-01-01, value: 5}\n  notice.village_days:\n    - {start: 2024-01-01, value: 6}\n", ["p.yaml", "重复的键"]),
    ],
)
def test_it_rejects_bad_profile_files_naming_file_and_parameter(tmp_path, profile_values, expected):
    message = load_error(tmp_path, {"base.yaml": BASE, "p.yaml": PROFILE_HEAD + profile_values})
    for fragment in expected:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ("  x.y:\n    unit: furlongs\n    description: 某\n    values: []\n", ["base.yaml", "x.y", "未知的单位"]),
        ("  x.y:\n    unit: days\n    description: 某\n    values: []\n    default: 3\n", ["base.yaml", "x.y", "未知的键", "default"]),
        ("  x.y:\n    unit: days\n    values: []\n", ["base.yaml", "x.y", "缺少键", "description"]),
        ("  X.Y:\n    unit: days\n    description: 某\n    values: []\n", ["base.yaml", "X.Y", "参数名"]),
        (
            "  x.y:\n    unit: time_limit\n    description: 某\n    values:\n      - {start: 2020-01-01, value: {days: 15, kind: lunar}, source: s}\n",
            ["base.yaml", "x.y", "calendar 或 working"],
        ),
        (
            "  x.y:\n    unit: negative_list\n    description: 某\n    values:\n      - {start: 2020-01-01, value: [{id: S1, fields: [nl_yacht]}], source: s}\n",
            ["base.yaml", "x.y", "nl_yacht"],
        ),
        (
            "  x.y:\n    unit: negative_list\n    description: 某\n    values:\n      - {start: 2020-01-01, value: [{id: S1, fields: [nl_car]}, {id: S1, fields: [nl_idle]}], source: s}\n",
            ["base.yaml", "x.y", "重复的 id"],
        ),
        (
            "  x.y:\n    unit: award_tiers\n    description: 某\n    values:\n      - {start: 2020-01-01, value: [{min_persons: 10, amount: 2}, {min_persons: 5, amount: 1}], source: s}\n",
            ["base.yaml", "x.y", "递增"],
        ),
        ("  x.y:\n    unit: ratio\n    description: 某\n    values:\n      - {start: 2020-01-01, value: 0.1234567, source: s}\n", ["x.y", "6 位小数"]),
        ("  x.y:\n    unit: month_day\n    description: 某\n    values:\n      - {start: 2020-01-01, value: \"02-30\", source: s}\n", ["x.y", "月日不存在"]),
        ("  x.y:\n    unit: days\n    description: 某\n    values:\n      - {start: 2020-01-01, value: 3}\n", ["x.y", "source"]),
        ("  x.y:\n    unit: level\n    description: 某\n    values:\n      - {start: 2020-01-01, value: galaxy, source: s}\n", ["x.y", "层级"]),
    ],
)
def test_it_rejects_bad_definitions_naming_file_and_parameter(tmp_path, definition, expected):
    message = load_error(tmp_path, {"base.yaml": BASE + definition})
    for fragment in expected:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"base.yaml": BASE, "p.yaml": "profile: {prefix: \"2108\", place: 营口, source: 篇二}\n"}, ["p.yaml", "profile 和 values"]),
        ({"base.yaml": BASE, "p.yaml": "profile: {prefix: \"2108\", place: 营口}\nvalues: {}\n"}, ["p.yaml", "缺少键", "source"]),
        ({"base.yaml": BASE, "p.yaml": "profile: {prefix: \"2108\", place: 营口, source: 篇二}\nvalues: {}\nextra: 1\n"}, ["p.yaml", "顶层键", "extra"]),
        ({"base.yaml": BASE, "p.yaml": "profile: {prefix: \"\", place: 全国, source: 篇二}\nvalues: {}\n"}, ["p.yaml", "不能为空"]),
        ({"base.yaml": BASE, "p.yaml": "values: [unclosed\n"}, ["p.yaml", "YAML"]),
        ({"base.yaml": BASE, "p.yaml": "- a list\n"}, ["p.yaml", "顶层"]),
        ({"base.yaml": BASE, "b2.yaml": BASE}, ["重复定义"]),
        ({"p.yaml": PROFILE_HEAD + "  notice.village_days: []\n"}, ["没有任何文件定义 parameters"]),
    ],
)
def test_it_rejects_bad_files(tmp_path, files, expected):
    message = load_error(tmp_path, files)
    for fragment in expected:
        assert fragment in message, (fragment, message)


def test_it_rejects_a_missing_or_empty_directory(tmp_path):
    with pytest.raises(ParameterError, match="不存在"):
        ParameterSet.load(tmp_path / "nowhere")
    with pytest.raises(ParameterError, match=r"\*\.yaml"):
        ParameterSet.load(tmp_path)


def test_it_loads_a_minimal_valid_tree(tmp_path):
    params = ParameterSet.load(write_tree(tmp_path, {"base.yaml": BASE, "p.yaml": PROFILE_HEAD + "  notice.village_days: []\n"}))
    assert params.names() == ["elimination.income_line", "monitoring.income_line", "notice.village_days"]
    assert params.value("elimination.income_line", YINGKOU, D("2023-01-01")) == Decimal("6000")


# ------------------------------------------------------------------------------ bulk resolution
def expected_cell(params, name, pv):
    """What resolve_frame must hold for a ParamValue from get()."""
    if pv is None or pv.value is None:
        return None
    kind = params.definition(name).kind
    if kind == "money":
        return int(pv.value * 100)
    if kind == "time_limit":
        return {"days": pv.value.days, "kind": pv.value.kind}
    if kind == "negative_list":
        return [{"id": i.id, "label": i.label, "fields": list(i.fields)} for i in pv.value]
    if kind == "award_tiers":
        return [{"min_persons": t.min_persons, "amount": int(t.amount * 100)} for t in pv.value]
    if kind == "campaign_phases":
        return [{"phase": p.phase, "label": p.label, "due": p.due, "time": p.time} for p in pv.value]
    return pv.value


def test_it_resolves_a_frame_with_exact_types(params):
    frame = params.resolve_frame([YINGKOU, HUNAN, YINGKOU, ANKANG, "43"], D("2023-06-01"))
    assert frame["village_code"].to_list() == [YINGKOU, HUNAN, ANKANG, "43"]  # distinct, input order
    assert frame.schema["monitoring.income_line"] == pl.Int64
    assert frame.schema["dibao.marginal_multiplier"] == RATIO_DTYPE
    assert frame.schema["notice.village_days"] == pl.Int64
    assert frame["monitoring.income_line"].to_list() == [726000, 650000, 600000, 650000]
    assert frame["elimination.income_line"].to_list() == [726000, 500000, 600000, 500000]
    assert frame["dibao.line_rural_year"].to_list() == [None, None, 483000, None]
    assert frame["monitoring.income_line__source"][0] == "篇二 (一)2② (省监测范围7260元) / 2108 / 2023-01-01"
    assert frame["elimination.income_line__source"][0].startswith("篇九 五(一), 篇二 (二)3 → monitoring.income_line: 篇二")
    assert frame["dibao.line_rural_year__source"][0].endswith("/ 全国 / 2020-01-01")
    # Ratio arithmetic on the frame stays exact: 1.5 × 4830.00 元 = 7245.00 元.
    product = frame.select((pl.col("dibao.marginal_multiplier") * pl.col("dibao.line_rural_year")).alias("x"))["x"][2]
    assert product == Decimal("724500")


def test_it_resolves_only_the_names_asked_and_rejects_bad_codes(params):
    frame = params.resolve_frame(pl.Series([YINGKOU]), D("2023-06-01"), names=["elimination.income_line"])
    assert frame.columns == ["village_code", "elimination.income_line", "elimination.income_line__source"]
    assert frame["elimination.income_line"].to_list() == [726000]
    with pytest.raises(ParameterError, match="区划代码"):
        params.resolve_frame([YINGKOU, "2108x"], D("2023-06-01"))
    with pytest.raises(ParameterError, match="未知参数"):
        params.resolve_frame([YINGKOU], D("2023-06-01"), names=["nope"])


PREFIXES = ["2108", "210802", "43", "430121", "130126", "130102", "341225", "341225103", "6109", "45", "62", "5109", "130725", "11"]
codes = st.builds(
    lambda prefix, tail, length: (prefix + tail)[:length],
    st.sampled_from(PREFIXES),
    st.text("0123456789", min_size=12, max_size=12),
    st.sampled_from([2, 4, 6, 9, 12, 12, 12]),
)
dates = st.dates(min_value=dt.date(2019, 6, 1), max_value=dt.date(2027, 12, 31))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(code_list=st.lists(codes, min_size=1, max_size=30), on=dates, what_if=st.booleans())
def test_it_resolves_the_frame_exactly_like_get(params, code_list, on, what_if):
    subject = (
        params.with_overrides(
            [("monitoring.income_line", "130126", "7100"), ("notice.village_days", "341225103", "9"), ("elimination.income_line", "2108", "5500")]
        )
        if what_if
        else params
    )
    frame = subject.resolve_frame(code_list, on)
    assert frame.height == len(set(code_list))
    rows = {row["village_code"]: row for row in frame.iter_rows(named=True)}
    for code in set(code_list):
        for name in subject.names():
            pv = subject.get(name, code, on)
            assert rows[code][name] == expected_cell(subject, name, pv), (code, name, on)
            assert rows[code][f"{name}__source"] == (None if pv is None else pv.explanation), (code, name)


def test_it_resolves_many_codes_in_bulk(params):
    # Speed is measured in bench/, not here: this checks a large batch resolves correctly.
    import random

    rng = random.Random(7)
    many = [rng.choice(PREFIXES).ljust(9, "1") + f"{rng.randrange(1, 1000):03d}" for _ in range(200_000)]
    frame = params.resolve_frame(many, D("2023-06-01"))
    assert frame.height == len(set(many))
    hunan = frame.filter(pl.col("village_code").str.starts_with("43"))
    assert set(hunan["elimination.income_line"].to_list()) == {500000}


# ------------------------------------------------------------------------------ the command
def test_it_prints_the_parameters_of_a_region(capsys):
    from django.core.management import call_command

    call_command("params", region="210800000000", date="2023-06-01", format="json")
    data = json.loads(capsys.readouterr().out)
    rows = {row["name"]: row for row in data["parameters"]}
    assert rows["monitoring.income_line"]["value"] == "7260.00"
    assert rows["monitoring.income_line"]["prefix"] == "2108"
    assert rows["monitoring.income_line"]["start"] == "2023-01-01"
    assert rows["identification.time_limit"]["value"] == {"days": 15, "kind": "calendar"}
    assert rows["notice.village_days"]["prefix"] is None  # national
    call_command("params", region="210800000000", date="2023-06-01")
    table = capsys.readouterr().out
    assert "monitoring.income_line" in table and "7260.00" in table and "篇二" in table
    call_command("params", "--set", "2108:monitoring.income_line=8000", region="2108", date="2023-06-01", format="yaml")
    assert "'8000.00'" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"region": "21080", "date": "2023-06-01"}, "区划代码"),
        ({"region": "2108", "date": "2023-02-30"}, "--date"),
        ({"region": "2108", "date": "2023-06-01", "overrides": ["nope=1"]}, "未知参数"),
    ],
)
def test_it_refuses_a_bad_region_or_date(kwargs, message):
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match=message):
        call_command("params", **kwargs)


def test_it_keeps_django_out_of_the_rules_engine():
    import subprocess
    import sys

    code = (
        "import sys, fangfan.policy.params, fangfan.policy.calc; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PATH": ""})
    assert out.stdout.strip() == "[]"


def test_it_resolves_a_chain_of_follows_without_calling_it_a_cycle(params):
    changed = params.with_overrides(
        [
            ("warning.medical_oop_line", None, "follow:dibao.line_rural_year"),  # yuan_per_person_year both
            ("local.disposable_income_per_capita", None, "follow:monitoring.income_line"),
            ("elimination.income_line", "2108", "follow:local.disposable_income_per_capita"),
        ]
    )
    on = D("2023-06-01")
    assert changed.value("elimination.income_line", YINGKOU, on) == Decimal("7260")
    assert changed.value("local.disposable_income_per_capita", BEIJING, on) == Decimal("6000")
    assert changed.value("warning.medical_oop_line", ANKANG, on) == Decimal("4830")
    assert changed.value("warning.medical_oop_line", BEIJING, on) is None  # follows a null line
    frame = changed.resolve_frame([YINGKOU, BEIJING, ANKANG], on)
    assert frame["elimination.income_line"].to_list() == [726000, 600000, 600000]
    assert frame["warning.medical_oop_line"].to_list() == [None, None, 483000]
    assert frame["local.disposable_income_per_capita"].to_list() == [726000, 600000, 600000]
    chained = changed.get("elimination.income_line", YINGKOU, on)
    assert chained.via == "monitoring.income_line"
    assert frame["elimination.income_line__source"][0] == chained.explanation
    assert "→ local.disposable_income_per_capita: what-if 覆盖 → monitoring.income_line: 篇二" in chained.explanation


def test_it_resolves_no_codes_and_dates_before_any_value_to_nulls(params):
    empty = params.resolve_frame([], D("2023-06-01"))
    assert empty.height == 0 and empty.schema["monitoring.income_line"] == pl.Int64
    early = params.resolve_frame([BEIJING], D("2010-06-01"))
    assert early["monitoring.income_line"].to_list() == [None]
    assert early["monitoring.income_line__source"].to_list() == [None]
    assert early["negative_list"].to_list() == [None]


# ------------------------------------------------------------------------------ a layer given as data (county values)
def test_it_lets_a_layer_value_replace_a_shipped_value_of_the_same_prefix_and_start(params):
    layered = params.with_layer([("visits.marginal_months", "341225", D("2020-01-01"), "2", "县文件")])
    assert params.value("visits.marginal_months", FUNAN, D("2026-06-30")) == 1
    found = layered.get("visits.marginal_months", FUNAN, D("2026-06-30"))
    assert (found.value, found.prefix, found.source) == (2, "341225", "县文件")
    assert layered.resolve_frame([FUNAN], D("2026-06-30"))["visits.marginal_months"].to_list() == [2]


def test_it_applies_a_layer_value_from_its_start_and_lets_the_later_row_of_a_key_win(params):
    layered = params.with_layer(
        [
            ("monitoring.income_line", "341225", "2026-07-01", "7000", "第一份"),
            ("monitoring.income_line", "341225", "2026-07-01", "7100", "更正"),
        ]
    )
    assert layered.value("monitoring.income_line", FUNAN, D("2026-06-30")) == Decimal("6000")
    assert layered.get("monitoring.income_line", FUNAN, D("2026-07-01")).source == "更正"
    assert layered.value("monitoring.income_line", FUNAN, D("2026-07-01")) == Decimal("7100")
    assert layered.value("monitoring.income_line", LINGSHOU, D("2026-07-01")) == Decimal("6000")
    assert params.with_layer([]) is params


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("monitoring.income_line", "341225", "2026-01-01", "七千", "x"), "金额"),
        (("monitoring.income_line", "341200", "2026-01-01", "7000", "x"), "零段"),
        (("monitoring.income_line", "341225", "2026-02-30", "7000", "x"), "日期不存在"),
        (("monitoring.income_line", "341225", "2026-01-01", "7000", " "), "文件依据"),
        (("no.such", "341225", "2026-01-01", "1", "x"), "未知参数"),
        (("elimination.income_line", "341225", "2026-01-01", "follow:notice.village_days", "x"), "单位"),
    ],
)
def test_it_validates_a_layer_like_the_yaml_files(params, row, message):
    with pytest.raises(ParameterError, match=message):
        params.with_layer([row])


def test_it_reports_and_leaves_out_an_invalid_layer_row_when_asked(params):
    skipped = []
    layered = params.with_layer(
        [
            ("monitoring.income_line", "341225", "2026-01-01", "七千", "旧文件"),
            ("monitoring.income_line", "341225", "2026-01-01", "7000", "新文件"),
        ],
        on_error=lambda error, row: skipped.append((row[4], str(error))),
    )
    assert layered.value("monitoring.income_line", FUNAN, D("2026-06-30")) == Decimal("7000")
    assert len(skipped) == 1 and skipped[0][0] == "旧文件" and "金额" in skipped[0][1]
