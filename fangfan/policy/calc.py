"""Calculators C1-C8 of rules.md: pure functions over parameters, each showing its arithmetic.

Every calculator takes a ParameterSet, a region code (12 digits or a prefix) and a date, plus its inputs,
and returns a frozen result with the amounts as Decimal yuan (exact; rounded half-up at 0.01 where a
division or a rate makes cents) and `arithmetic`: Chinese lines with the numbers and the parameter
sources, e.g. "月补差 = max(最低补差 30.00, (4830.00 − 3000.00) ÷ 12 × 3 = 457.50) = 457.50 元 [篇五]".

A missing parameter (e.g. no 低保 line outside 安康) or an input outside a calculator's scope raises
CalcError with a message for the user. No Django here.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Callable, Sequence

from fangfan.common.dates import add_months
from fangfan.policy.params import ParameterError, ParameterSet, ParamValue

CENT = Decimal("0.01")


class CalcError(ValueError):
    pass


def half_up(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def _yuan(amount: Decimal) -> str:
    return f"{half_up(amount):.2f}"


def _pct(rate: Decimal) -> str:
    return f"{(rate * 100).normalize():f}%"


def _cite(pv: ParamValue) -> str:
    return f"[{pv.source}]"


def _param(params: ParameterSet, name: str, region_code: str, on: dt.date, what: str) -> ParamValue:
    try:
        found = params.get(name, region_code, on)
    except ParameterError as exc:
        raise CalcError(str(exc)) from None
    if found is None or found.value is None:
        raise CalcError(f"区划 {region_code} 在 {on.isoformat()} 未设定{what}(参数 {name}),无法计算")
    return found


def age_on(birth_date: dt.date, on: dt.date) -> int:
    """Completed years at `on` (the birthday itself counts; 02-29 birthdays turn on 03-01 in common years)."""
    years = on.year - birth_date.year
    if (on.month, on.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


# ---------------------------------------------------------------------------------------------- C1
@dataclass(frozen=True)
class KeyMember:
    """Facts of a dibao household member used for the key-group supplement (篇五 (三))."""

    name: str = ""
    birth_date: dt.date | None = None
    disability_grade: str | None = None  # "1".."4" (一级..四级)
    serious_illness: bool = False  # 患有大病


@dataclass(frozen=True)
class DibaoTopup:
    base_month: Decimal  # 补差 (household, per month)
    key_members: int
    key_supplement_each_month: Decimal
    key_supplement_month: Decimal
    total_month: Decimal
    line_year: Decimal
    arithmetic: tuple[str, ...]


def key_group_reason(member: KeyMember, on: dt.date) -> str | None:
    """Why a member is in a key group (≥ 70, < 18, 重残 一/二级, 患有大病), or None."""
    if member.birth_date is not None:
        age = age_on(member.birth_date, on)
        if age >= 70:
            return f"{age}周岁(70周岁以上)"
        if age < 18:
            return f"{age}周岁(未成年人)"
    if member.disability_grade in ("1", "2"):
        return f"{'一' if member.disability_grade == '1' else '二'}级残疾(重残)"
    if member.serious_illness:
        return "患有大病"
    return None


def dibao_topup(
    params: ParameterSet,
    region_code: str,
    on: dt.date,
    *,
    size: int,
    per_capita_dibao_income: Decimal,
    dibao_household: bool = True,
    key_members: int | None = None,
    members: Sequence[KeyMember] = (),
) -> DibaoTopup:
    """C1 低保补差 (篇五 (三)): monthly = max(min top-up, (L − per-capita dibao income) ÷ 12 × size)
    + key-group rate × L ÷ 12 for each member ≥ 70, < 18, 重残 (一/二级) or 患有大病.
    Give either `key_members` (a count) or `members` (their facts; counted here)."""
    if not dibao_household:
        raise CalcError("低保补差只适用于低保户(该户不是低保户)")
    if size < 1:
        raise CalcError(f"家庭人口数必须至少为 1,得到 {size}")
    if key_members is not None and members:
        raise CalcError("重点保障人数与成员明细只能给一种")
    line = _param(params, "dibao.line_rural_year", region_code, on, "农村低保标准")
    minimum = _param(params, "dibao.min_topup_month", region_code, on, "补差最低标准")
    rate = _param(params, "dibao.key_group_rate", region_code, on, "重点保障增发比例")
    L, income = line.value, Decimal(per_capita_dibao_income)
    lines = [f"低保标准 L = {_yuan(L)} 元/人·年 {_cite(line)}"]
    gap = half_up((L - income) * size / 12)
    base = max(minimum.value, gap)
    lines.append(
        f"月补差 = max(最低补差 {_yuan(minimum.value)}, ({_yuan(L)} − {_yuan(income)}) ÷ 12 × {size} = {_yuan(gap)})"
        f" = {_yuan(base)} 元 [{minimum.source}; 篇五 (三)]"
    )
    if income >= L:
        lines.append("注: 人均低保收入不低于低保标准,应按渐退 (C2) 处理")
    count = key_members if key_members is not None else 0
    if members:
        for member in members:
            reason = key_group_reason(member, on)
            if reason:
                count += 1
                lines.append(f"重点保障: {member.name or '成员'} — {reason}")
    if count < 0 or count > size:
        raise CalcError(f"重点保障人数必须在 0 到家庭人口数 {size} 之间,得到 {count}")
    each = half_up(rate.value * L / 12)
    supplement = each * count
    lines.append(
        f"重点保障增发 = {_pct(rate.value)} × {_yuan(L)} ÷ 12 = {_yuan(each)} 元/人·月 × {count} 人 = {_yuan(supplement)} 元 {_cite(rate)}"
    )
    total = base + supplement
    lines.append(f"每月发放 = {_yuan(base)} + {_yuan(supplement)} = {_yuan(total)} 元")
    return DibaoTopup(base, count, each, supplement, total, L, tuple(lines))


# ---------------------------------------------------------------------------------------------- C2
@dataclass(frozen=True)
class PhaseOut:
    months: int
    starts_on: dt.date
    ends_on: dt.date  # the allowance stops from this day (start + N calendar months, clamped)
    arithmetic: tuple[str, ...]


def phase_out(
    params: ParameterSet,
    region_code: str,
    on: dt.date,
    *,
    income_above_line_on: dt.date,
    dibao_household: bool = True,
    per_capita_dibao_income: Decimal | None = None,
) -> PhaseOut:
    """C2 渐退 (篇三, 篇十一): a dibao household whose income rises above L keeps its allowance for
    `dibao.phase_out_months` months from the day it was found above the line."""
    if not dibao_household:
        raise CalcError("渐退期只适用于低保户(该户不是低保户)")
    months = _param(params, "dibao.phase_out_months", region_code, on, "低保渐退期")
    lines = []
    if per_capita_dibao_income is not None:
        line = _param(params, "dibao.line_rural_year", region_code, on, "农村低保标准")
        income = Decimal(per_capita_dibao_income)
        if income <= line.value:
            raise CalcError(
                f"人均低保收入 {_yuan(income)} 未超过低保标准 {_yuan(line.value)},不进入渐退期"
            )
        lines.append(f"人均低保收入 {_yuan(income)} > 低保标准 {_yuan(line.value)} {_cite(line)}")
    ends = add_months(income_above_line_on, months.value)
    lines.append(
        f"渐退期 {months.value} 个月: {income_above_line_on.isoformat()} + {months.value} 个月 = {ends.isoformat()} 起停发"
        f"(月末对齐) {_cite(months)}"
    )
    return PhaseOut(months.value, income_above_line_on, ends, tuple(lines))


# ---------------------------------------------------------------------------------------------- C3
@dataclass(frozen=True)
class Settlement:
    """One medical settlement: compliant out-of-pocket after basic insurance, 大病保险 and supplements."""

    person: str
    amount: Decimal
    out_of_province: bool = False
    referral_followed: bool = True  # 分级诊疗 followed
    settled_on: dt.date | None = None


@dataclass(frozen=True)
class MedicalAidLine:
    person: str
    year: int
    amount: Decimal
    rate: Decimal
    aid: Decimal


@dataclass(frozen=True)
class MedicalAid:
    lines: tuple[MedicalAidLine, ...]
    per_person: dict  # (person, year) → aid after the cap
    total: Decimal
    arithmetic: tuple[str, ...]


def medical_aid(
    params: ParameterSet,
    region_code: str,
    on: dt.date,
    *,
    settlements: Sequence[Settlement],
    already_aided: dict[tuple[str, int], Decimal] | None = None,
) -> MedicalAid:
    """C3 边缘户医疗救助 (篇十一 6(2)): rate × compliant out-of-pocket per settlement (省内 / 省外,
    minus the cut where 分级诊疗 was not followed), capped at `medical_aid.annual_cap` per person and year
    (aid already paid that year counts against the cap)."""
    if not settlements:
        raise CalcError("至少需要一条结算记录")
    inside = _param(params, "medical_aid.rate_in_province", region_code, on, "省内救助比例")
    outside = _param(params, "medical_aid.rate_out_of_province", region_code, on, "省外救助比例")
    cut = _param(params, "medical_aid.no_referral_cut", region_code, on, "未执行分级诊疗降低比例")
    cap = _param(params, "medical_aid.annual_cap", region_code, on, "年度封顶")
    already = already_aided or {}
    lines: list[MedicalAidLine] = []
    text = [
        f"救助比例: 省内 {_pct(inside.value)}, 省外 {_pct(outside.value)}, 未执行分级诊疗降低 {_pct(cut.value)} {_cite(inside)}"
    ]
    for s in settlements:
        amount = Decimal(s.amount)
        if amount < 0:
            raise CalcError(f"{s.person}: 合规自付费用不能为负数: {amount}")
        rate = outside.value if s.out_of_province else inside.value
        if not s.referral_followed:
            rate = max(Decimal(0), rate - cut.value)
        aid = half_up(amount * rate)
        year = (s.settled_on or on).year
        lines.append(MedicalAidLine(s.person, year, amount, rate, aid))
        where = "省外" if s.out_of_province else "省内"
        referral = "" if s.referral_followed else f" 未执行分级诊疗({_pct(inside.value if not s.out_of_province else outside.value)} − {_pct(cut.value)})"
        text.append(f"{s.person} {year}年 {where}{referral}: {_yuan(amount)} × {_pct(rate)} = {_yuan(aid)} 元")
    per_person: dict[tuple[str, int], Decimal] = {}
    for line in lines:
        per_person[(line.person, line.year)] = per_person.get((line.person, line.year), Decimal(0)) + line.aid
    capped: dict[tuple[str, int], Decimal] = {}
    for (person, year), subtotal in per_person.items():
        paid = Decimal(already.get((person, year), 0))
        room = max(Decimal(0), cap.value - paid)
        final = min(subtotal, room)
        capped[(person, year)] = final
        if final < subtotal or paid:
            prior = f"(本年已救助 {_yuan(paid)},剩余额度 {_yuan(room)})" if paid else ""
            text.append(
                f"{person} {year}年 合计 {_yuan(subtotal)},年度封顶 {_yuan(cap.value)}{prior} → {_yuan(final)} 元 {_cite(cap)}"
            )
        else:
            text.append(f"{person} {year}年 合计 {_yuan(final)} 元(未超过年度封顶 {_yuan(cap.value)})")
    total = sum(capped.values(), Decimal(0))
    text.append(f"救助合计 = {_yuan(total)} 元")
    return MedicalAid(tuple(lines), capped, total, tuple(text))


# ---------------------------------------------------------------------------------------------- C4
@dataclass(frozen=True)
class HousingAid:
    eligible: bool
    amount: Decimal
    reasons: tuple[str, ...]
    arithmetic: tuple[str, ...]


HOUSING_KINDS = {"rebuild": ("重建", "housing.rebuild_per_household"), "repair": ("修缮加固", "housing.repair_per_household")}


def housing_aid(
    params: ParameterSet,
    region_code: str,
    on: dt.date,
    *,
    kind: str,
    unsafe_housing: bool = True,
    target_group: bool = True,
) -> HousingAid:
    """C4 农村危房改造补助 (篇十一 5): rebuild or repair, per household, for households living in unsafe
    housing that belong to a target group (脱贫户, 分散供养特困, 低保户, 贫困残疾人家庭; 边缘户 in 低保/特困)."""
    if kind not in HOUSING_KINDS:
        raise CalcError(f"改造方式必须是 rebuild(重建)或 repair(修缮加固),得到 {kind!r}")
    label, name = HOUSING_KINDS[kind]
    standard = _param(params, name, region_code, on, f"危房改造{label}补助标准")
    reasons = []
    if not unsafe_housing:
        reasons.append("住房不是危房")
    if not target_group:
        reasons.append("不属于危房改造补助对象(脱贫户、分散供养特困、低保户、贫困残疾人家庭)")
    if reasons:
        return HousingAid(False, Decimal("0.00"), tuple(reasons), (f"不予补助: {'; '.join(reasons)} [篇十一 5]",))
    return HousingAid(
        True, standard.value, (), (f"{label}补助 = 户均 {_yuan(standard.value)} 元 {_cite(standard)}",)
    )


# ---------------------------------------------------------------------------------------------- C5
@dataclass(frozen=True)
class Worker:
    months_employed: int
    average_monthly_wage: Decimal
    lifted: bool = True  # 脱贫人口
    name: str = ""


@dataclass(frozen=True)
class WorkshopAward:
    qualifying: int
    award: Decimal
    stable: int
    stable_subsidy: Decimal
    total: Decimal
    arithmetic: tuple[str, ...]


def workshop_award(
    params: ParameterSet, region_code: str, on: dt.date, *, workers: Sequence[Worker]
) -> WorkshopAward:
    """C5 就业帮扶车间以奖代补 + 稳岗补贴 (篇一 5): count the 脱贫人口 employed ≥ min months at an average
    ≥ min wage; the tier by that count; plus the stable-post subsidy per 脱贫人口 employed ≥ 12 months."""
    tiers = _param(params, "workshop.award_tiers", region_code, on, "以奖代补档次")
    min_months = _param(params, "workshop.min_months", region_code, on, "稳定就业月数")
    min_wage = _param(params, "workshop.min_monthly_wage", region_code, on, "月均工资下限")
    stable_months = _param(params, "workshop.stable_post_months", region_code, on, "稳岗补贴月数")
    subsidy = _param(params, "workshop.stable_post_subsidy", region_code, on, "稳岗补贴标准")
    for w in workers:
        if w.months_employed < 0 or Decimal(w.average_monthly_wage) < 0:
            raise CalcError(f"就业月数和月均工资不能为负数: {w}")
    lifted = [w for w in workers if w.lifted]
    wage_ok = [w for w in lifted if Decimal(w.average_monthly_wage) >= min_wage.value]
    qualifying = sum(1 for w in wage_ok if w.months_employed >= min_months.value)
    stable = sum(1 for w in wage_ok if w.months_employed >= stable_months.value)
    award = Decimal("0.00")
    for tier in tiers.value:
        if qualifying >= tier.min_persons:
            award = tier.amount
    tier_text = ", ".join(f"≥{t.min_persons}人 {_yuan(t.amount)}" for t in tiers.value)
    lines = [
        f"吸纳脱贫人口 {len(lifted)} 人(共 {len(workers)} 人),其中稳定就业 ≥ {min_months.value} 个月且月均工资 ≥ "
        f"{_yuan(min_wage.value)} 元的 {qualifying} 人 {_cite(min_months)}",
        f"以奖代补: {qualifying} 人 → {_yuan(award)} 元(档次: {tier_text}) {_cite(tiers)}",
        f"稳岗补贴: 稳定就业 ≥ {stable_months.value} 个月 {stable} 人 × {_yuan(subsidy.value)} = "
        f"{_yuan(subsidy.value * stable)} 元 {_cite(subsidy)}",
    ]
    total = award + subsidy.value * stable
    lines.append(f"合计 = {_yuan(award)} + {_yuan(subsidy.value * stable)} = {_yuan(total)} 元")
    return WorkshopAward(qualifying, award, stable, subsidy.value * stable, total, tuple(lines))


# ---------------------------------------------------------------------------------------------- C6
@dataclass(frozen=True)
class EducationAid:
    grant_min: Decimal | None
    grant_max: Decimal | None
    grant: Decimal | None  # the configured amount, when the county has fixed one in the range
    loan_cap_year: Decimal | None
    arithmetic: tuple[str, ...]


STUDY_LEVELS = {"undergrad": ("本专科生", "education.loan_cap_undergrad_year"), "postgrad": ("研究生", "education.loan_cap_postgrad_year")}


def education_aid(
    params: ParameterSet,
    region_code: str,
    on: dt.date,
    *,
    monitored: bool = True,
    newly_admitted: bool = False,
    study_level: str = "undergrad",
) -> EducationAid:
    """C6 教育专项救助 (篇十二 (四)): one-off grant to a newly admitted university student of a monitored
    household (a range, 2000-3000; the configured amount when set) and the yearly student-loan cap."""
    if study_level not in STUDY_LEVELS:
        raise CalcError(f"学段必须是 undergrad(本专科)或 postgrad(研究生),得到 {study_level!r}")
    if not monitored:
        raise CalcError("教育专项救助只适用于监测对象家庭学生")
    lines = []
    grant_min = grant_max = grant = None
    if newly_admitted:
        low = _param(params, "education.freshman_grant_min", region_code, on, "大学新生救助下限")
        high = _param(params, "education.freshman_grant_max", region_code, on, "大学新生救助上限")
        grant_min, grant_max = low.value, high.value
        amount = params.get("education.freshman_grant_amount", region_code, on)
        if amount is not None and amount.value is not None:
            if not grant_min <= amount.value <= grant_max:
                raise CalcError(f"参数 education.freshman_grant_amount {_yuan(amount.value)} 不在 {_yuan(grant_min)}-{_yuan(grant_max)} 之间")
            grant = amount.value
            lines.append(f"大学新生一次性救助 = {_yuan(grant)} 元(县定标准,范围 {_yuan(grant_min)}-{_yuan(grant_max)}) {_cite(amount)}")
        else:
            lines.append(f"大学新生一次性救助: {_yuan(grant_min)}-{_yuan(grant_max)} 元(具体金额由县确定) {_cite(low)}")
    label, name = STUDY_LEVELS[study_level]
    cap = _param(params, name, region_code, on, f"{label}助学贷款上限")
    lines.append(f"生源地信用助学贷款({label})每年最高 {_yuan(cap.value)} 元 {_cite(cap)}")
    return EducationAid(grant_min, grant_max, grant, cap.value, tuple(lines))


# ---------------------------------------------------------------------------------------------- C7
@dataclass(frozen=True)
class MicrocreditEligibility:
    eligible: bool
    age: int
    reasons: tuple[str, ...]  # why not, empty when eligible
    arithmetic: tuple[str, ...]


ABLE_TO_WORK = ("ordinary", "skilled", "weak")


def microcredit(
    params: ParameterSet,
    region_code: str,
    on: dt.date,
    *,
    birth_date: dt.date,
    full_civil_capacity: bool,
    labor: str,
    serious_bad_credit: bool,
) -> MicrocreditEligibility:
    """C7 扶贫小额信贷 (篇十一 3): borrower aged min-max inclusive at `on`, full civil capacity, labour
    (普通/技能/弱劳动力 — 有劳动能力), no serious bad credit record. Returns every reason for refusal."""
    low = _param(params, "microcredit.min_age", region_code, on, "借款人最低年龄")
    high = _param(params, "microcredit.max_age", region_code, on, "借款人最高年龄")
    from fangfan.common.codes import LABOR

    code = LABOR.normalise(labor) if isinstance(labor, str) else None
    if code is None:
        raise CalcError(f"劳动技能必须是 {'、'.join(label for _, label in LABOR.items)} 之一,得到 {labor!r}")
    age = age_on(birth_date, on)
    reasons = []
    if age < low.value:
        reasons.append(f"年龄 {age} 周岁,未满 {low.value} 周岁")
    if age > high.value:
        reasons.append(f"年龄 {age} 周岁,超过 {high.value} 周岁")
    if not full_civil_capacity:
        reasons.append("不具有完全民事行为能力")
    if code not in ABLE_TO_WORK:
        reasons.append(f"无劳动能力({LABOR.label(code)})")
    if serious_bad_credit:
        reasons.append("有重大不良信用记录")
    lines = [
        f"年龄 = {on.isoformat()} 时 {age} 周岁(出生 {birth_date.isoformat()}),要求 {low.value}-{high.value} 周岁(含) {_cite(low)}",
        "符合贷款条件" if not reasons else "不符合: " + "; ".join(reasons),
    ]
    return MicrocreditEligibility(not reasons, age, tuple(reasons), tuple(lines))


# ---------------------------------------------------------------------------------------------- C8
@dataclass(frozen=True)
class Contract:
    starts_on: dt.date
    ends_on: dt.date  # inclusive: 2026-01-01 … 2026-12-31 is one year


@dataclass(frozen=True)
class PublicPostCheck:
    ok: bool
    violations: tuple[str, ...]
    arithmetic: tuple[str, ...]


def public_post(
    params: ParameterSet, region_code: str, on: dt.date, *, contracts: Sequence[Contract]
) -> PublicPostCheck:
    """C8 乡村公益性岗位 (篇一 4): each labour contract or service agreement runs at most
    `public_post.max_contract_months` (12) — i.e. its last day is at most start + 12 months − 1 day."""
    if not contracts:
        raise CalcError("至少需要一份合同")
    limit = _param(params, "public_post.max_contract_months", region_code, on, "公益性岗位合同最长期限")
    violations, lines = [], []
    for i, c in enumerate(contracts, 1):
        if c.ends_on < c.starts_on:
            raise CalcError(f"第{i}份合同结束日期 {c.ends_on} 早于开始日期 {c.starts_on}")
        latest = add_months(c.starts_on, limit.value) - dt.timedelta(days=1)
        ok = c.ends_on <= latest
        lines.append(
            f"第{i}份 {c.starts_on.isoformat()} 至 {c.ends_on.isoformat()}: 最晚可至 {latest.isoformat()}"
            f"({limit.value} 个月) → {'符合' if ok else '超过期限'} {_cite(limit)}"
        )
        if not ok:
            violations.append(f"第{i}份合同 {c.starts_on.isoformat()} 至 {c.ends_on.isoformat()} 超过 {limit.value} 个月")
    return PublicPostCheck(not violations, tuple(violations), tuple(lines))


# ---------------------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class Input:
    name: str
    kind: str  # int | money | date | bool | text | settlements | workers | contracts | members
    zh: str
    required: bool = True
    default: Any = None


@dataclass(frozen=True)
class Calculator:
    name: str
    rule: str
    zh: str
    source: str
    function: Callable[..., Any]
    inputs: tuple[Input, ...] = field(default_factory=tuple)
    amount_fields: tuple[str, ...] = ()


CALCULATORS: dict[str, Calculator] = {
    c.name: c
    for c in (
        Calculator(
            "dibao_topup", "C1", "低保补差", "篇五 (三)", dibao_topup,
            (
                Input("size", "int", "家庭人口数"),
                Input("per_capita_dibao_income", "money", "家庭人均低保收入(元/年)"),
                Input("key_members", "int", "重点保障人数(70周岁以上、未成年、重残、大病)", False, None),
                Input("members", "members", "成员明细 姓名:出生日期:残疾等级(1-4或空):大病(是/否);…", False, ()),
                Input("dibao_household", "bool", "是否低保户", False, True),
            ),
            ("base_month", "key_supplement_month", "total_month"),
        ),
        Calculator(
            "phase_out", "C2", "低保渐退期", "篇三, 篇十一", phase_out,
            (
                Input("income_above_line_on", "date", "人均收入超过低保标准的日期"),
                Input("per_capita_dibao_income", "money", "家庭人均低保收入(元/年)", False, None),
                Input("dibao_household", "bool", "是否低保户", False, True),
            ),
            ("ends_on",),
        ),
        Calculator(
            "medical_aid", "C3", "边缘户医疗救助", "篇十一 6(2)", medical_aid,
            (Input("settlements", "settlements", "结算 人:合规自付金额:省内/省外:是否执行分级诊疗(是/否);…"),),
            ("total",),
        ),
        Calculator(
            "housing_aid", "C4", "农村危房改造补助", "篇十一 5", housing_aid,
            (
                Input("kind", "text", "改造方式 rebuild(重建)/repair(修缮加固)"),
                Input("unsafe_housing", "bool", "是否危房", False, True),
                Input("target_group", "bool", "是否属于补助对象", False, True),
            ),
            ("amount",),
        ),
        Calculator(
            "workshop_award", "C5", "就业帮扶车间以奖代补与稳岗补贴", "篇一 5", workshop_award,
            (Input("workers", "workers", "务工人员 [人数*]就业月数:月均工资[:是否脱贫人口];…(如 5*6:1000;2*12:1500)"),),
            ("award", "stable_subsidy", "total"),
        ),
        Calculator(
            "education_aid", "C6", "教育专项救助与助学贷款", "篇十二 (四)", education_aid,
            (
                Input("newly_admitted", "bool", "是否大学新生", False, False),
                Input("study_level", "text", "学段 undergrad(本专科)/postgrad(研究生)", False, "undergrad"),
                Input("monitored", "bool", "是否监测对象家庭", False, True),
            ),
            ("grant_min", "grant_max", "grant", "loan_cap_year"),
        ),
        Calculator(
            "microcredit", "C7", "扶贫小额信贷借款人条件", "篇十一 3", microcredit,
            (
                Input("birth_date", "date", "出生日期"),
                Input("labor", "text", "劳动技能(普通劳动力/技能劳动力/弱劳动力或半劳动力/丧失劳动力/无劳动力)"),
                Input("full_civil_capacity", "bool", "是否具有完全民事行为能力"),
                Input("serious_bad_credit", "bool", "是否有重大不良信用记录"),
            ),
            ("eligible", "age"),
        ),
        Calculator(
            "public_post", "C8", "公益性岗位合同期限", "篇一 4", public_post,
            (Input("contracts", "contracts", "合同 开始日期:结束日期;…"),),
            ("ok",),
        ),
    )
}


# ---------------------------------------------------------------------------------------------- text inputs
def _parse_bool(text: str, what: str) -> bool:
    from fangfan.common.codes import NO_VALUES, YES_VALUES

    value = text.strip().lower()
    if value in YES_VALUES:
        return True
    if value in NO_VALUES:
        return False
    raise CalcError(f"{what}: 应为 是/否,得到 {text!r}")


def _parse_money(text: str, what: str) -> Decimal:
    from fangfan.common.money import MoneyError, fen_to_yuan, parse_yuan

    try:
        return fen_to_yuan(parse_yuan(text))
    except MoneyError:
        raise CalcError(f"{what}: 不是金额(元,最多两位小数): {text!r}") from None


def _parse_int(text: str, what: str) -> int:
    cleaned = text.strip()
    if not cleaned.lstrip("-").isdigit():
        raise CalcError(f"{what}: 应为整数,得到 {text!r}")
    return int(cleaned)


def _parse_day(text: str, what: str) -> dt.date:
    from fangfan.common.dates import DateError, parse_date

    try:
        return parse_date(text)
    except DateError as exc:
        raise CalcError(f"{what}: {exc}") from None


def _rows(text: str, what: str, sizes: tuple[int, ...]) -> list[list[str]]:
    rows = [r.strip() for r in text.replace("；", ";").split(";") if r.strip()]
    if not rows:
        raise CalcError(f"{what}: 至少需要一条")
    result = []
    for row in rows:
        parts = [p.strip() for p in row.replace("：", ":").split(":")]
        if len(parts) not in sizes:
            raise CalcError(f"{what}: {row!r} 应有 {' 或 '.join(map(str, sizes))} 段(用 : 分隔)")
        result.append(parts)
    return result


def _parse_kind(kind: str, text: str, what: str) -> Any:
    if kind == "int":
        return _parse_int(text, what)
    if kind == "money":
        return _parse_money(text, what)
    if kind == "date":
        return _parse_day(text, what)
    if kind == "bool":
        return _parse_bool(text, what)
    if kind == "text":
        return text.strip()
    if kind == "settlements":
        settlements = []
        for person, amount, where, referral in _rows(text, what, (4,)):
            if where not in ("省内", "省外", "in", "out"):
                raise CalcError(f"{what}: 就医地应为 省内/省外,得到 {where!r}")
            settlements.append(
                Settlement(person, _parse_money(amount, what), where in ("省外", "out"), _parse_bool(referral, what))
            )
        return settlements
    if kind == "workers":
        workers = []
        for parts in _rows(text, what, (2, 3)):
            # "20*6:1000" = twenty workers employed 6 months at 1000 a month.
            repeat, _, months = parts[0].rpartition("*")
            count = _parse_int(repeat, what) if repeat else 1
            lifted = _parse_bool(parts[2], what) if len(parts) == 3 else True
            workers.extend([Worker(_parse_int(months, what), _parse_money(parts[1], what), lifted)] * count)
        return workers
    if kind == "contracts":
        return [Contract(_parse_day(a, what), _parse_day(b, what)) for a, b in _rows(text, what, (2,))]
    if kind == "members":
        members = []
        for name, birth, grade, illness in _rows(text, what, (4,)):
            if grade not in ("", "1", "2", "3", "4"):
                raise CalcError(f"{what}: 残疾等级应为 1-4 或空,得到 {grade!r}")
            members.append(KeyMember(name, _parse_day(birth, what), grade or None, _parse_bool(illness or "否", what)))
        return members
    raise AssertionError(kind)  # pragma: no cover


def parse_inputs(calculator: Calculator, raw: dict[str, str]) -> dict[str, Any]:
    """key=value texts of the command line → the calculator's keyword arguments (clear errors)."""
    known = {i.name: i for i in calculator.inputs}
    unknown = sorted(set(raw) - set(known))
    if unknown:
        raise CalcError(f"{calculator.name} 没有输入 {', '.join(unknown)}(可用: {', '.join(known)})")
    kwargs: dict[str, Any] = {}
    for spec in calculator.inputs:
        if spec.name in raw:
            kwargs[spec.name] = _parse_kind(spec.kind, raw[spec.name], f"{spec.name}({spec.zh})")
        elif spec.required:
            raise CalcError(f"{calculator.name} 缺少输入 {spec.name}({spec.zh})")
        else:
            kwargs[spec.name] = spec.default
    return kwargs


def run(params: ParameterSet, name: str, region_code: str, on: dt.date, raw: dict[str, str]) -> Any:
    """Look up a calculator by name, parse its text inputs and run it."""
    if name not in CALCULATORS:
        raise CalcError(f"没有计算器 {name!r}(可用: {', '.join(CALCULATORS)})")
    calculator = CALCULATORS[name]
    return calculator.function(params, region_code, on, **parse_inputs(calculator, raw))
