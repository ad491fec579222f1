"""Department warnings (workflows.md W6, rules.md M5-M6): which rows of a department's feed are
new facts about a registered household, as one Polars definition used by the county's import
(fangfan.departments), by the monthly cycle and, per county partition, by the Spark engine.

    feed_warnings(department, feed, people, villages, thresholds) -> warnings frame

`feed` is the department's rows (FEED_BASE columns plus the department's own, typed: dates as
pl.Date, amounts as Int64 fen); `people` the registered persons whose ID occurs in it
(PEOPLE_SCHEMA), `villages` the village codes of the registry (水利 matches by village).
A row that agrees with the registry raises nothing: a 死亡 record of a member already marked
死亡, a car of a household already flagged 小轿车, a disability the member file already has.

Each warning has a stable `warning_key`: per row for events (a dropout, a disaster, a housing
appraisal), per person and year for the medical costs (a year's rows add up), per subject for
the negative list and member status (the same car reported every month is one warning).

Persons are matched by the blind index of their ID (fangfan.common.pii), never the number:
`feed.key` and `people.id_number` hold the index (what the database stores and what
dbframes.read_tables gives; the file-based producers index plain IDs before calling here), so
the warnings' `id_number` and the subjects inside `warning_key` are indexes too, and a
department's keyed-hash file raises exactly the warnings of its plain twin.
Nothing here imports Django."""
from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import polars as pl

from fangfan.common.money import format_yuan
from fangfan.policy.param_types import yuan_to_fen

ID = "证件号码"
VILLAGE = "村代码"
FEED_BASE = {"row_key": pl.String, "key": pl.String}

PEOPLE_SCHEMA = {
    "id_number": pl.String,
    "household": pl.String,  # household_number: stable across databases and Parquet exports
    "member_name": pl.String,
    "village_code": pl.String,
    "status": pl.String,
    "disability_grade": pl.String,
    "disability_kind": pl.String,
    "nl_public_payroll": pl.Boolean,
    "housing_safe": pl.Boolean,
    "monitored": pl.Boolean,
    "nl_car": pl.Boolean,
    "nl_town_house": pl.Boolean,
    "nl_company": pl.Boolean,
    "nl_large_deposits": pl.Boolean,
}

WARNING_SCHEMA = {
    "warning_key": pl.String,
    "department": pl.String,
    "kind": pl.String,
    "id_number": pl.String,
    "household": pl.String,
    "village_code": pl.String,
    "event_on": pl.Date,
    "row_keys": pl.List(pl.String),
    "detail": pl.String,
}


@dataclass(frozen=True)
class WarningKind:
    code: str
    label: str
    # risk: a 致贫返贫风险 to verify; negative: a 负面清单 item (M6); status: a member's 人员状态
    # change for the village to confirm; attention: 纳入关注 (黄色); grant: a benefit to deliver.
    action: str
    risks: tuple[str, ...] = ()
    urgent: bool = False
    negative_field: str = ""
    member_status: str = ""


KINDS: dict[str, WarningKind] = {k.code: k for k in (
    WarningKind("large_oop", "医疗合规自付费用高", "risk", ("R01",)),
    WarningKind("dibao_exit", "退出低保(黄色关注)", "attention"),
    WarningKind("severe_disability", "新发重度残疾", "risk", ("R03",)),
    WarningKind("unemployment", "失业登记", "risk", ("R07",)),
    WarningKind("public_payroll", "机关事业单位在编(负面清单)", "negative", negative_field="nl_public_payroll"),
    WarningKind("dropout", "失学辍学", "risk", ("R02", "R10"), urgent=True),
    WarningKind("freshman_grant", "监测户新入学大学生(入学补助)", "grant"),
    WarningKind("unsafe_housing", "住房鉴定为C/D级", "risk", ("R09",)),
    WarningKind("unsafe_water", "村饮水安全问题", "risk", ("R12",)),
    WarningKind("disaster_loss", "受灾损失大", "risk", ("R04",)),
    WarningKind("death", "成员死亡(人员状态变更)", "status", member_status="deceased"),
    WarningKind("moved_out", "成员户籍迁出(人员状态变更)", "status", member_status="moved_out"),
    WarningKind("car", "登记小轿车(负面清单)", "negative", negative_field="nl_car"),
    WarningKind("town_house", "城镇购房(负面清单)", "negative", negative_field="nl_town_house"),
    WarningKind("company", "企业法定代表人或股东(负面清单)", "negative", negative_field="nl_company"),
    WarningKind("large_deposits", "大额存款证券(负面清单)", "negative", negative_field="nl_large_deposits"),
)}

# Kinds keyed by their subject rather than by the row: the same fact sent again in a later month
# (with another date or balance) is the same warning.
_SUBJECT_KEYED = frozenset(k.code for k in KINDS.values() if k.action in ("negative", "status"))

# 车辆登记 rows for cars (小轿车 of the negative list); motorcycles, tractors and lorries are not.
CAR_WORDS = ("轿车", "小型汽车", "小型客车", "小型普通客车", "越野")
SEVERE_KINDS_AT_GRADE_3 = ("智力", "精神")
SEVERE_KIND_CODES_AT_GRADE_3 = ("intellectual", "mental")


@dataclass(frozen=True)
class Thresholds:
    """The W6 lines in fen for one county on one day."""

    medical_oop: int
    disaster_loss: int
    large_deposit: int
    verify_days: int

    @classmethod
    def resolve(cls, params, region_code: str, on: dt.date) -> "Thresholds":
        def fen(name: str) -> int:
            return yuan_to_fen(params.value(name, region_code, on))

        return cls(fen("warning.medical_oop_line"), fen("warning.disaster_loss_line"),
                   fen("negative.large_deposit_line"), int(params.value("warning.verify_days", region_code, on)))


def warning_key(department: str, kind: str, subject: str) -> str:
    return hashlib.sha256(f"{department}|{kind}|{subject}".encode("utf-8")).hexdigest()


def empty_warnings() -> pl.DataFrame:
    return pl.DataFrame(schema=WARNING_SCHEMA)


def _yuan(fen: pl.Expr) -> pl.Expr:
    return (fen // 100).cast(pl.String) + "." + (fen % 100).cast(pl.String).str.zfill(2)


def _rows(department: str, hits: pl.DataFrame, kind: str, detail: pl.Expr, date_column: str | None) -> pl.DataFrame:
    """One warning per hit row (the row is its evidence) with the person's household."""
    event_on = pl.col(date_column) if date_column else pl.lit(None, dtype=pl.Date)
    return hits.select(
        pl.lit(department).alias("department"),
        pl.lit(kind).alias("kind"),
        pl.col("key").alias("id_number"),
        pl.col("household"),
        pl.col("village_code"),
        event_on.alias("event_on"),
        pl.concat_list(pl.col("row_key")).alias("row_keys"),
        detail.alias("detail"),
        pl.col("key").alias("_subject_person"),
        pl.col("household").alias("_subject_household"),
    )


def feed_warnings(department: str, feed: pl.DataFrame, people: pl.DataFrame, villages: pl.Series | None,
                  thresholds: Thresholds) -> pl.DataFrame:
    """The warnings the department's rows raise (WARNING_SCHEMA), ordered by warning_key."""
    if feed.is_empty():
        return empty_warnings()
    if department == "水利":
        known = set(villages.to_list()) if villages is not None else set()
        hits = feed.filter(pl.col("key").is_in(list(known)))
        out = hits.select(
            pl.lit(department).alias("department"), pl.lit("unsafe_water").alias("kind"),
            pl.lit(None, dtype=pl.String).alias("id_number"), pl.lit(None, dtype=pl.String).alias("household"),
            pl.col("key").alias("village_code"), pl.col("日期").alias("event_on"),
            pl.concat_list(pl.col("row_key")).alias("row_keys"),
            (pl.lit("村饮水问题: ") + pl.col("问题")).alias("detail"),
            pl.col("row_key").alias("_subject"),
        )
        return _finish(out)
    rows = feed.join(people, left_on="key", right_on="id_number", how="inner")
    parts = [frame for frame in _department_rules(department, rows, thresholds) if not frame.is_empty()]
    if not parts:
        return empty_warnings()
    out = pl.concat(parts, how="vertical_relaxed")
    subject = (
        pl.when(pl.col("kind").is_in(["car", "town_house", "company", "large_deposits"]))
        .then(pl.col("_subject_household"))
        .when(pl.col("kind").is_in(list(_SUBJECT_KEYED)))
        .then(pl.col("_subject_person"))
        .when(pl.col("kind") == "large_oop")
        .then(pl.col("_subject_person") + "|" + pl.col("event_on").dt.year().cast(pl.String))
        .otherwise(pl.col("row_keys").list.first())
    )
    out = out.with_columns(subject.alias("_subject")).drop("_subject_person", "_subject_household")
    return _finish(out)


def _finish(out: pl.DataFrame) -> pl.DataFrame:
    keyed = out.with_columns(
        pl.struct("department", "kind", "_subject")
        .map_elements(lambda s: warning_key(s["department"], s["kind"], s["_subject"]), return_dtype=pl.String)
        .alias("warning_key")
    )
    # A subject reported twice in one feed is one warning with both rows as evidence.
    merged = keyed.group_by("warning_key", maintain_order=True).agg(
        pl.col("department").first(), pl.col("kind").first(), pl.col("id_number").first(),
        pl.col("household").first(), pl.col("village_code").first(), pl.col("event_on").max(),
        pl.col("row_keys").list.explode(keep_nulls=False, empty_as_null=False).unique().sort(), pl.col("detail").first(),
    )
    return merged.select(list(WARNING_SCHEMA)).cast(WARNING_SCHEMA).sort("warning_key")


def _department_rules(department: str, rows: pl.DataFrame, t: Thresholds) -> list[pl.DataFrame]:
    c = pl.col
    normal = c("status") == "normal"
    if department == "医保":
        year = c("结算日期").dt.year()
        totals = (
            rows.filter(c("合规自付").is_not_null())
            .group_by("key", year.alias("_year"))
            .agg(c("合规自付").sum().alias("_total"), c("结算日期").max(), c("row_key").sort(),
                 c("household").first(), c("village_code").first())
            .filter(c("_total") >= t.medical_oop)
        )
        detail = (c("_year").cast(pl.String) + "年合规自付 " + _yuan(c("_total")) + " 元, 达到 "
                  + pl.lit(format_yuan(t.medical_oop)) + " 元")
        return [totals.select(
            pl.lit(department).alias("department"), pl.lit("large_oop").alias("kind"), c("key").alias("id_number"),
            c("household"), c("village_code"), c("结算日期").alias("event_on"), c("row_key").alias("row_keys"),
            detail.alias("detail"), c("key").alias("_subject_person"), c("household").alias("_subject_household"),
        )]
    if department == "民政":
        return [
            _rows(department, rows.filter(c("事项") == "低保退出"), "dibao_exit",
                  pl.lit("民政: 低保退出 ") + c("日期").cast(pl.String), "日期"),
            _rows(department, rows.filter((c("事项") == "死亡火化") & (c("status") != "deceased")), "death",
                  pl.lit("民政: 死亡火化 ") + c("日期").cast(pl.String), "日期"),
        ]
    if department == "残联":
        severe_feed = c("残疾等级").is_in(["一级", "二级"]) | (
            (c("残疾等级") == "三级") & c("残疾类别").is_in(list(SEVERE_KINDS_AT_GRADE_3)))
        severe_file = c("disability_grade").is_in(["1", "2"]) | (
            (c("disability_grade") == "3") & c("disability_kind").is_in(list(SEVERE_KIND_CODES_AT_GRADE_3)))
        hits = rows.filter(severe_feed & ~severe_file.fill_null(False))
        return [_rows(department, hits, "severe_disability",
                      pl.lit("残联: ") + c("残疾类别") + c("残疾等级") + " 发证 " + c("发证日期").cast(pl.String), "发证日期")]
    if department == "人社":
        return [
            _rows(department, rows.filter(c("事项") == "失业登记"), "unemployment",
                  pl.lit("人社: 失业登记 ") + c("日期").cast(pl.String), "日期"),
            _rows(department, rows.filter((c("事项") == "机关事业单位在编") & ~c("nl_public_payroll")), "public_payroll",
                  pl.lit("人社: 机关事业单位在编 ") + c("单位").fill_null(""), "日期"),
        ]
    if department == "教育":
        return [
            _rows(department, rows.filter(c("事项") == "失学辍学"), "dropout",
                  pl.lit("教育: 失学辍学(") + c("学段") + ") " + c("日期").cast(pl.String), "日期"),
            _rows(department, rows.filter((c("事项") == "新入学大学生") & c("monitored") & normal), "freshman_grant",
                  pl.lit("教育: 新入学大学生(") + c("学段") + ") " + c("日期").cast(pl.String), "日期"),
        ]
    if department == "住建":
        hits = rows.filter(c("鉴定等级").is_in(["C", "D"]) & c("housing_safe"))
        return [_rows(department, hits, "unsafe_housing",
                      pl.lit("住建: 房屋安全鉴定 ") + c("鉴定等级") + "级 " + c("鉴定日期").cast(pl.String), "鉴定日期")]
    if department == "应急":
        hits = rows.filter(c("直接经济损失") >= t.disaster_loss)
        return [_rows(department, hits, "disaster_loss",
                      pl.lit("应急: ") + c("灾种") + " 直接经济损失 " + _yuan(c("直接经济损失")) + " 元, 达到 "
                      + pl.lit(format_yuan(t.disaster_loss)) + " 元", "受灾日期")]
    if department == "公安":
        car = pl.any_horizontal([c("车辆类型").fill_null("").str.contains(w, literal=True) for w in CAR_WORDS])
        return [
            _rows(department, rows.filter((c("事项") == "死亡") & (c("status") != "deceased")), "death",
                  pl.lit("公安: 死亡 ") + c("日期").cast(pl.String), "日期"),
            _rows(department, rows.filter((c("事项") == "户籍迁出") & c("status").is_in(["normal"])), "moved_out",
                  pl.lit("公安: 户籍迁出 ") + c("日期").cast(pl.String), "日期"),
            _rows(department, rows.filter((c("事项") == "车辆登记") & car & ~c("nl_car")), "car",
                  pl.lit("公安: 车辆登记 ") + c("车辆类型").fill_null("") + " " + c("日期").cast(pl.String), "日期"),
        ]
    if department == "不动产":
        hits = rows.filter(c("不动产类型").is_in(["商品住宅", "商铺"]) & (c("所在地") == "城镇") & ~c("nl_town_house"))
        return [_rows(department, hits, "town_house",
                      pl.lit("不动产: 城镇") + c("不动产类型") + " 登记 " + c("登记日期").cast(pl.String), "登记日期")]
    if department == "市场监管":
        hits = rows.filter((c("年报状态") == "已年报") & ~c("nl_company"))
        return [_rows(department, hits, "company", pl.lit("市场监管: ") + c("身份") + " " + c("企业名称"), None)]
    if department == "金融":
        total = c("存款余额").fill_null(0) + c("有价证券市值").fill_null(0)
        hits = rows.filter((total >= t.large_deposit) & ~c("nl_large_deposits"))
        return [_rows(department, hits, "large_deposits",
                      pl.lit("金融: 存款及有价证券 ") + _yuan(total) + " 元, 达到 " + pl.lit(format_yuan(t.large_deposit)) + " 元",
                      None)]
    raise ValueError(f"未知的部门: {department!r}")


def people_frame(households: pl.DataFrame | pl.LazyFrame, members: pl.DataFrame | pl.LazyFrame) -> pl.LazyFrame:
    """PEOPLE_SCHEMA from the interchange tables (the reader's typed households and members, or
    their Parquet export): what the Spark engine and the file-based checks match feeds against.
    Members' `id_number` must be the blind index, as the feeds' keys are (dbframes.read_tables
    gives it; departments.parquet.blind indexes a folder's plain IDs)."""
    h = households.lazy().select(
        pl.col("household_id").alias("household"), "village_code", "housing_safe",
        (pl.col("category").fill_null("") != "").and_(pl.col("eliminated_on").is_null()).alias("monitored"),
        "nl_car", "nl_town_house", "nl_company", "nl_large_deposits",
    )
    m = members.lazy().select(
        "id_number", pl.col("household_id").alias("household"), pl.col("name").alias("member_name"), "status",
        "disability_grade", "disability_kind", "nl_public_payroll",
    )
    return m.join(h, on="household", how="inner").select(list(PEOPLE_SCHEMA)).cast(PEOPLE_SCHEMA)
