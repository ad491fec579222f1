"""The interchange tables of data.md as data: one Column per column, in file order.

The reader, the writer, the database import and the rules engine all take their column
names, kinds and code lists from here, so a column is described once. Pure Python.

Canonical (typed) frames — what the reader returns and the rules engine consumes:
  str / village_code / id_number → pl.String; code → pl.String (the code, e.g. "lifted");
  multi → pl.List(pl.String) of codes in code-list order, no duplicates;
  bool → pl.Boolean; date → pl.Date; money → pl.Int64 in fen; int / year → pl.Int64.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from fangfan.common import codes as C

# The canonical frame dtype of each column kind (see the module docstring).
CANONICAL_DTYPES: dict[str, pl.DataType] = {
    "str": pl.String,
    "village_code": pl.String,
    "id_number": pl.String,
    "code": pl.String,
    "multi": pl.List(pl.String),
    "bool": pl.Boolean,
    "date": pl.Date,
    "money": pl.Int64,
    "int": pl.Int64,
    "year": pl.Int64,
}


@dataclass(frozen=True)
class Column:
    key: str
    zh: str
    kind: str  # str | code | multi | bool | date | money | int | year | village_code | id_number
    required: bool = False
    codelist: C.CodeList | None = None
    default: object = None  # value (canonical) when the cell is empty
    min_value: int | None = None
    max_value: int | None = None
    aliases: tuple[str, ...] = ()  # other accepted header spellings
    # Longest text a str column may hold (its database column's max_length); None: no cap of its own.
    max_length: int | None = None


@dataclass(frozen=True)
class Table:
    name: str  # English key, also the CSV file stem
    zh: str  # Chinese sheet / file name
    columns: tuple[Column, ...]
    key: tuple[str, ...]  # natural key of a row
    optional: bool = False

    def column(self, key: str) -> Column:
        for col in self.columns:
            if col.key == key:
                return col
        raise KeyError(key)

    @property
    def keys(self) -> list[str]:
        return [c.key for c in self.columns]


def _yn(key: str, zh: str, default: bool | None = False, required: bool = False) -> Column:
    return Column(key, zh, "bool", required=required, default=None if required else default)


VILLAGES = Table(
    "villages",
    "村表",
    (
        Column("village_code", "村代码", "village_code", required=True),
        Column("village_name", "村名", "str", max_length=100),
        Column("township_name", "乡镇名", "str", max_length=100),
        _yn("delisted", "出列村"),
        Column("village_kind", "村类型", "code", codelist=C.VILLAGE_KIND),
    ),
    key=("village_code",),
    optional=True,
)

HOUSEHOLDS = Table(
    "households",
    "户表",
    (
        Column("household_id", "户编号", "str", required=True, max_length=64),
        Column("village_code", "村代码", "village_code", required=True),
        Column("household_type", "户类型", "code", required=True, codelist=C.HOUSEHOLD_TYPE),
        Column("phone", "联系电话", "str", max_length=40),
        _yn("relocated", "易地搬迁"),
        _yn("housing_safe", "住房安全", required=True),
        _yn("water_safe", "饮水安全", required=True),
        Column("category", "监测对象类别", "code", codelist=C.CATEGORY),
        Column("identified_on", "识别日期", "date"),
        Column("eliminated_on", "风险消除日期", "date"),
        Column("declared_risks", "致贫返贫风险", "multi", codelist=C.RISK, default=()),
        _yn("former_dibao_tekun", "曾享受低保特困"),
        Column("last_visit_on", "最近回访日期", "date"),
        _yn("nl_town_house", "城镇购房"),
        _yn("nl_car", "小轿车"),
        _yn("nl_machinery", "工程机械或大型农机具"),
        _yn("nl_luxury_property", "高价房车"),
        _yn("nl_large_deposits", "大额存款证券"),
        _yn("nl_company", "企业法人股东"),
        _yn("nl_employs_others", "长期雇工"),
        _yn("nl_costly_school", "高费择校"),
        _yn("nl_wealthy_supporter", "赡养人高收入"),
        _yn("nl_misconduct", "违法违规或高消费"),
        _yn("nl_idle", "有劳力不劳动"),
        _yn("nl_refuses_check", "拒绝资产核查"),
        _yn("nl_absent", "长期不在辖区"),
    ),
    key=("household_id",),
)

MEMBERS = Table(
    "members",
    "人表",
    (
        Column("household_id", "户编号", "str", required=True, max_length=64),
        Column("name", "姓名", "str", required=True, max_length=60),
        Column("id_number", "证件号码", "id_number", required=True),
        Column("relation", "与户主关系", "code", required=True, codelist=C.RELATION),
        Column("status", "人员状态", "code", codelist=C.MEMBER_STATUS, default="normal"),
        Column("health", "健康状况", "multi", codelist=C.HEALTH, default=()),
        Column("disability_grade", "残疾等级", "code", codelist=C.DISABILITY_GRADE),
        Column("disability_kind", "残疾类别", "code", codelist=C.DISABILITY_KIND),
        Column("labor", "劳动技能", "code", codelist=C.LABOR),
        Column("schooling", "在校情况", "code", codelist=C.SCHOOLING, default="not_in_school"),
        Column("months_worked", "务工月数", "int", default=0, min_value=0, max_value=12),
        _yn("medical_insurance", "参加基本医保", default=True),
        _yn("dibao", "低保"),
        _yn("tekun", "特困"),
        _yn("nl_public_payroll", "财政供养"),
        _yn("nl_village_head", "村主干"),
    ),
    key=("id_number",),
)

# The six "其中" items that together may not exceed 转移性收入.
TRANSFER_ITEMS = (
    "basic_pension",
    "veteran_benefits",
    "disability_allowances",
    "guaranteed_dividend",
    "dibao_payment",
    "tekun_payment",
)


def _money(key: str, zh: str) -> Column:
    return Column(key, zh, "money", default=0, min_value=0)


INCOMES = Table(
    "incomes",
    "收支表",
    (
        Column("household_id", "户编号", "str", required=True, max_length=64),
        Column("year", "年度", "year", required=True, min_value=1990, max_value=2100),
        _money("wage", "工资性收入"),
        _money("business_income", "生产经营性收入"),
        _money("business_cost", "生产经营性支出"),
        _money("property_income", "财产性收入"),
        _money("transfer_income", "转移性收入"),
        _money("basic_pension", "其中:基础养老金"),
        _money("veteran_benefits", "其中:抚恤优待金"),
        _money("disability_allowances", "其中:两残补贴"),
        _money("guaranteed_dividend", "其中:保底收益"),
        _money("dibao_payment", "其中:低保金"),
        _money("tekun_payment", "其中:特困供养金"),
        _money("insurance_claims", "理赔收入"),
        _money("compliant_oop", "合规自付支出"),
        _money("education_expense", "教育支出"),
        _money("other_rigid_expense", "其他刚性支出"),
        Column("decline_reasons", "减收原因", "multi", codelist=C.DECLINE_REASON, default=()),
    ),
    key=("household_id", "year"),
)

MEASURES = Table(
    "measures",
    "帮扶措施",
    (
        Column("household_id", "户编号", "str", required=True, max_length=64),
        Column("measure_code", "措施类别", "code", required=True, codelist=C.MEASURE),
        Column("content", "措施内容", "str", max_length=200),
        Column("started_on", "开始日期", "date", required=True),
        Column("status", "状态", "code", required=True, codelist=C.MEASURE_STATUS),
        Column("responsible_unit", "责任单位", "str", max_length=100),
    ),
    key=("household_id", "measure_code", "started_on", "content"),  # data.md: two projects of one kind may start the same day
    optional=True,
)

TABLES: dict[str, Table] = {t.name: t for t in (VILLAGES, HOUSEHOLDS, MEMBERS, INCOMES, MEASURES)}
