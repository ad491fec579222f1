"""Q3 数据质量 (reports.md Q3, 篇二 (五)): the checks of reports.md and the ones a county office adds,
run in bulk over the region's registry. Every problem names the household, the member where there
is one, the field, the rule and a hint to fix it. Score = share of households without a problem,
per village, township and county. The township base-data module (篇二 (五)③) is a table too.

Ages are whole years at the as-of date. The report year's income row is the one checked."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from fangfan.common import codes as C
from fangfan.common.ids import birth_date_expr, id_reason_expr
from fangfan.reports.data import Snapshot, monitored_expr
from fangfan.reports.tables import ReportTable, levels_for, pct, region_codes, rollup


@dataclass(frozen=True)
class Check:
    rule: str
    table: str
    field: str
    text: str
    hint: str


CHECKS = {c.rule: c for c in (
    Check("Q01", "人表", "证件号码", "证件号码无效", "按身份证核对18位号码和校验位"),
    Check("Q02", "人表", "证件号码", "证件号码重复", "同一证件号码只能登记一人, 核实后删除或更正重复的成员"),
    Check("Q03", "人表", "与户主关系", "正常成员中户主不是恰好一人", "每户须有且只有一名正常状态的户主"),
    Check("Q04", "人表", "出生日期", "之子/之女与户主年龄差不足12岁", "核对户主和子女的证件号码、出生日期与关系"),
    Check("Q05", "人表", "劳动技能", "未满16周岁登记为普通/技能劳动力", "未成年人应为无劳动力或在校生"),
    Check("Q06", "人表", "劳动技能", "16-60岁健康非在校生登记为无劳动力或丧失劳动力", "核实劳动能力, 更正劳动技能"),
    Check("Q07", "人表", "出生日期", "年龄超过100岁", "核实是否健在(死亡应标注人员状态)及出生日期"),
    Check("Q08", "人表", "出生日期", "出生日期与证件号码不一致", "出生日期应与证件号码第7-14位一致"),
    Check("Q09", "收支表", "年度", "缺少本年度收支数据", "补录本年度收支表"),
    Check("Q10", "户表", "监测对象类别", "整户无劳动能力但未纳入兜底保障(低保/特困/综合保障措施)",
          "核实后落实低保、特困等兜底保障措施"),
    Check("Q11", "收支表", "转移性收入", "享受低保/特困但转移性收入为0", "补录低保金/特困供养金等转移性收入"),
    Check("Q12", "收支表", "工资性收入", "有就业/公益岗位帮扶措施但工资性收入为0", "核实务工收入并补录工资性收入"),
    Check("Q13", "户表", "致贫返贫风险", "风险为因务工就业不稳(R07)但家中无劳动力", "核实风险类型或成员劳动技能"),
    Check("Q14", "措施表", "措施类别", "有劳动力的监测户识别满6个月仍无开发式帮扶措施(M01-M04)",
          "落实产业、就业、小额信贷或公益岗位等开发式帮扶"),
    Check("Q15", "措施表", "措施类别", "监测户无帮扶措施", "制定帮扶计划并录入帮扶措施"),
    Check("Q16", "收支表", "人均纯收入", "已风险消除但人均纯收入低于消除标准", "核实收入; 不稳定的应回退风险消除"),
    Check("Q17", "户表", "帮扶联系人", "已风险消除但无帮扶联系人", "明确帮扶联系人"),
    Check("Q18", "户表", "风险消除日期", "识别后不足2个月即标注风险消除", "核实识别和消除日期及消除依据"),
    Check("Q19", "户表", "最近回访日期", "监测户超过回访周期未回访", "按回访周期入户回访并录入回访记录"),
    Check("Q20", "户表", "识别日期", "有监测对象类别但无识别日期", "补录识别日期"),
)}


def _age(born: pl.Expr, on) -> pl.Expr:
    before = (born.dt.month().cast(pl.Int32) * 100 + born.dt.day().cast(pl.Int32)) > on.month * 100 + on.day
    return pl.lit(on.year) - born.dt.year().cast(pl.Int32) - before.cast(pl.Int32)


def problems(snap: Snapshot) -> pl.DataFrame:
    """One row per problem: hid, member (name or ""), rule."""
    on = snap.as_of
    m = snap.members
    normal = m.filter(pl.col("status") == "normal").with_columns(_age(pl.col("birth_date"), on).alias("age"))
    heads = normal.filter(pl.col("relation") == "head").group_by("hid").agg(
        pl.len().alias("heads"), pl.col("birth_date").first().alias("head_born"))
    found: list[pl.DataFrame] = []

    def member_rule(frame: pl.DataFrame, rule: str) -> None:
        found.append(frame.select("hid", pl.col("name").alias("member"), pl.lit(rule).alias("rule")))

    def household_rule(frame: pl.DataFrame, rule: str) -> None:
        found.append(frame.select("hid", pl.lit("").alias("member"), pl.lit(rule).alias("rule")))

    # The numbers are stored encrypted: Q01 and Q08 read them decrypted (once, in bulk), Q02 compares
    # the blind indexes (equal IDs ⇔ equal indexes).
    ids = m.select("hid", "name", "birth_date", snap.member_id_numbers.alias("id_number"))
    member_rule(ids.filter(id_reason_expr(pl.col("id_number")).is_not_null()), "Q01")
    # Repeats found by a 64-bit hash first (a hash of each index is far cheaper than hashing the
    # texts for a group), then confirmed on the text of the few candidates.
    candidates = m.filter(pl.col("id_index").hash().is_duplicated())
    member_rule(candidates.filter(pl.col("id_index").is_duplicated()), "Q02")
    persons = snap.member_facts.select("hid", "persons", "able", "no_labor", "assisted")
    hh = (snap.households.join(persons, on="hid", how="left").join(heads, on="hid", how="left")
          .with_columns(pl.col("persons", "able", "heads").fill_null(0), pl.col("no_labor", "assisted").fill_null(False),
                        monitored_expr(on).alias("monitored")))
    household_rule(hh.filter(pl.col("heads") != 1), "Q03")
    children = normal.filter(pl.col("relation").is_in(["son", "daughter"])).join(heads, on="hid")
    member_rule(children.filter(pl.col("birth_date") < pl.col("head_born").dt.offset_by("12y")), "Q04")
    member_rule(normal.filter((pl.col("age") < 16) & pl.col("labor").is_in(C.ABLE_LABOR)), "Q05")
    member_rule(normal.filter((pl.col("health") == "healthy") & pl.col("age").is_between(16, 60)
                              & (pl.col("schooling") == "not_in_school") & pl.col("labor").is_in(C.NO_LABOR)), "Q06")
    member_rule(normal.filter(pl.col("age") > 100), "Q07")
    id_born = birth_date_expr(pl.col("id_number"))
    member_rule(ids.filter(id_born.is_not_null() & (id_born != pl.col("birth_date"))), "Q08")

    year = snap.year
    cur = snap.incomes.filter(pl.col("year") == (year or 0))
    hh = hh.join(cur.select("hid", "wage", "transfer_income", pl.lit(True).alias("has_income"),
                            (pl.col("wage") + pl.col("business_income") - pl.col("business_cost")
                             + pl.col("property_income") + pl.col("transfer_income") + pl.col("insurance_claims")
                             - pl.col("compliant_oop")).alias("monitoring_income")), on="hid", how="left")
    hh = hh.with_columns(pl.col("has_income").fill_null(False))
    hh = hh.join(snap.measure_facts, on="hid", how="left").with_columns(
        pl.col("measures", "job_measures", "welfare_measures").fill_null(0))
    in_care = (pl.col("household_type") == "lifted") | pl.col("monitored")
    if year is not None:
        household_rule(hh.filter(~pl.col("has_income")), "Q09")
    household_rule(hh.filter(in_care & pl.col("no_labor") & (pl.col("persons") > 0) & ~pl.col("assisted")
                             & (pl.col("welfare_measures") == 0)), "Q10")
    household_rule(hh.filter(pl.col("assisted") & pl.col("has_income") & (pl.col("transfer_income") == 0)), "Q11")
    household_rule(hh.filter((pl.col("job_measures") > 0) & pl.col("has_income") & (pl.col("wage") == 0)), "Q12")
    household_rule(hh.filter(pl.col("declared_risks").str.contains(r"(^|;)R07(;|$)") & (pl.col("able") == 0)), "Q13")
    six_months = pl.col("identified_on").dt.offset_by("6mo") <= on
    no_dev = pl.col("dev_first").is_null() | (pl.col("dev_first") > on)
    household_rule(hh.filter(pl.col("monitored") & (pl.col("able") > 0) & six_months & no_dev), "Q14")
    household_rule(hh.filter(pl.col("monitored") & (pl.col("measures") == 0)), "Q15")

    params = snap.village_parameters(["elimination.income_line", "visits.monitored_months"])
    hh = hh.join(params, on="village_code", how="left")
    eliminated = (pl.col("category") != "") & pl.col("eliminated_on").is_not_null() & (pl.col("eliminated_on") <= on)
    # Below the line after rounding half-up to the fen: x / n < L  ⇔  2x < (2L − 1) n (rules.md I3).
    below = (2 * pl.col("monitoring_income")
             < (2 * pl.col("elimination.income_line") - 1) * pl.col("persons"))
    household_rule(hh.filter(eliminated & pl.col("has_income") & (pl.col("persons") > 0) & below), "Q16")
    contacts = snap.contact_households.with_columns(pl.lit(True).alias("has_contact"))
    hh = hh.join(contacts, on="hid", how="left").with_columns(pl.col("has_contact").fill_null(False))
    household_rule(hh.filter(eliminated & ~pl.col("has_contact")), "Q17")
    household_rule(hh.filter(eliminated & pl.col("identified_on").is_not_null()
                             & (pl.col("eliminated_on") < pl.col("identified_on").dt.offset_by("2mo"))), "Q18")
    hh = hh.join(snap.visit_facts, on="hid", how="left")
    last = pl.max_horizontal("last_visit_on", "visited_last", "identified_on")
    due = last.dt.offset_by(pl.format("{}mo", pl.col("visits.monitored_months")))
    household_rule(hh.filter(pl.col("monitored") & last.is_not_null() & (due < on)), "Q19")
    household_rule(hh.filter((pl.col("category") != "") & pl.col("identified_on").is_null()), "Q20")
    return pl.concat(found) if found else pl.DataFrame(schema={"hid": pl.Int64, "member": pl.String,
                                                                "rule": pl.String})


def tables(snap: Snapshot) -> list[ReportTable]:
    found = problems(snap)
    names = snap.names()
    per_household = found.group_by("hid").agg(pl.len().alias("problems"))
    hh = snap.households.select("hid", "household_number", "village_code").join(per_household, on="hid", how="left")
    aggs = [pl.len().alias("户数"), pl.col("problems").is_not_null().sum().alias("有问题户数"),
            pl.col("problems").fill_null(0).sum().alias("问题数")]
    out = []
    for digits, level, label in reversed(levels_for(snap.prefix)):
        frame = rollup(hh, aggs, digits, names, region_codes(snap, level))
        frame = frame.with_columns(
            pct(pl.col("户数") - pl.col("有问题户数"), pl.col("户数")).alias("数据质量得分(无问题户占比)"))
        out.append(ReportTable(f"score_{level}", f"数据质量得分(按{label})", frame))
    by_rule = found.group_by("rule").agg(pl.len().alias("问题数"), pl.col("hid").n_unique().alias("涉及户数"))
    rules = pl.DataFrame({"rule": list(CHECKS), "表": [c.table for c in CHECKS.values()],
                          "字段": [c.field for c in CHECKS.values()], "规则说明": [c.text for c in CHECKS.values()]})
    summary = (rules.join(by_rule, on="rule", how="left").with_columns(pl.col("问题数", "涉及户数").fill_null(0))
               .rename({"rule": "规则"}))
    out.append(ReportTable("by_rule", "数据质量问题(按规则)", summary))
    checks = pl.DataFrame({"rule": list(CHECKS), "表": [c.table for c in CHECKS.values()],
                           "字段": [c.field for c in CHECKS.values()], "问题": [c.text for c in CHECKS.values()],
                           "修改提示": [c.hint for c in CHECKS.values()]})
    detail = (found.join(hh.select("hid", "household_number", "village_code"), on="hid")
              .join(checks, on="rule").sort("village_code", "household_number", "rule", "member")
              .select(pl.col("household_number").alias("户编号"), pl.col("village_code").alias("村代码"),
                      pl.col("village_code").replace_strict(names, default="").alias("村名"),
                      pl.col("member").alias("成员"), "表", "字段", pl.col("rule").alias("规则"), "问题", "修改提示"))
    out.append(ReportTable("problems", "数据质量问题明细", detail))
    out.append(base_data(snap))
    return out


def base_data(snap: Snapshot) -> ReportTable:
    """乡(镇)防返贫监测模块 (篇二 (五)③): per township."""
    facts = snap.member_facts.select("hid", "persons", "recorded")
    hh = snap.households.join(facts, on="hid", how="left").with_columns(pl.col("persons", "recorded").fill_null(0))
    rural = pl.col("persons") > 0
    resident = rural & ~pl.col("nl_absent")
    frame = rollup(hh, [pl.len().alias("总户数"), pl.col("recorded").sum().alias("总人数"),
                        resident.sum().alias("常住户数"), pl.col("persons").filter(resident).sum().alias("常住人数"),
                        rural.sum().alias("农村户籍户数"), pl.col("persons").sum().alias("农村户籍人数")],
                   9, snap.names(), region_codes(snap, "township"))
    villages = (snap.regions.filter(pl.col("level") == "village")
                .select((pl.col("code").str.slice(0, 9).str.pad_end(12, "0")).alias("区划代码"))
                .group_by("区划代码").agg(pl.len().alias("行政村个数")))
    frame = frame.join(villages, on="区划代码", how="left").with_columns(pl.col("行政村个数").fill_null(0))
    return ReportTable("township_base", "乡镇防返贫监测基础数据", frame.select(
        "区划代码", "名称", "行政村个数", "总户数", "总人数", "常住户数", "常住人数", "农村户籍户数", "农村户籍人数"),
        note="总人数含各状态成员; 农村户籍人数为正常状态成员; 常住不含整户长期不在辖区的户")
