"""The rule catalogue: every rule's id, 篇 source, the columns it reads and writes and the
parameters it uses. Explanations and documentation are generated from it plus the
computed columns, so a rule is described once.

``pipeline(lf)`` applies the families in order; each family is ``apply(lf) -> lf`` over the
household frame (fangfan.policy.frame) with its p_* parameter columns attached."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from fangfan.policy.rules import elimination, income, lowincome, monitoring, schedule


@dataclass(frozen=True)
class Rule:
    id: str
    family: str  # income | monitoring | elimination | warning | lowincome | schedule
    title: str  # Chinese, for users
    source: str  # 篇N …
    inputs: tuple[str, ...]  # frame columns read
    params: tuple[str, ...]  # p_* parameter columns read
    result: str | None  # the column holding the rule's result (None: county-level rule)
    fired_when: str = "true"  # how to read `result` as fired: true | nonempty | value


_INCOME_IN = ("wage", "business_income", "business_cost", "property_income", "transfer_income")

CATALOGUE: tuple[Rule, ...] = (
    Rule("I1", "income", "家庭纯收入", "收支核算口径", _INCOME_IN, (), "net_income", "value"),
    Rule("I2", "income", "监测收入 = 纯收入 + 理赔收入 − 合规自付支出", "篇二 (一)3①",
         ("net_income", "insurance_claims", "compliant_oop"), (), "monitoring_income", "value"),
    Rule("I3", "income", "人均纯收入 = 监测收入 ÷ 家庭人口(正常成员)", "篇二 (一)3①",
         ("monitoring_income", "household_size"), (), "per_capita_income", "value"),
    Rule("I4", "income", "低保核算收入(扣除基础养老金、抚恤优待金、两残补贴、保底收益、低保金、特困供养金、就业成本)",
         "篇一 8, 篇三, 篇五",
         ("net_income", "basic_pension", "veteran_benefits", "disability_allowances", "guaranteed_dividend",
          "dibao_payment", "tekun_payment", "wage", "household_size"),
         ("p_employment_cost_rate",), "per_capita_dibao_income", "value"),
    Rule("I5", "income", "刚性支出 = 合规自付 + 教育支出 + 其他刚性支出", "篇十一, 篇十二",
         ("compliant_oop", "education_expense", "other_rigid_expense"), (), "rigid_expense", "value"),
    Rule("M1", "monitoring", "人均纯收入低于监测线", "篇八, 篇十二",
         ("per_capita_income",), ("p_income_line",), "below_line"),
    Rule("M2a", "monitoring", "刚性支出超过上年度纯收入×比例", "篇九 ④, 篇十一, 篇十二",
         ("rigid_expense", "prev_net_income", "net_income"), ("p_rigid_ratio",), "hardship_rigid"),
    Rule("M2b", "monitoring", "纯收入较上年大幅缩减", "篇九 ④, 篇十二",
         ("net_income", "prev_net_income"), ("p_drop_ratio",), "hardship_drop"),
    Rule("M2", "monitoring", "突发严重困难(M2a 或 M2b)", "篇九 ④, 篇十一, 篇十二",
         ("hardship_rigid", "hardship_drop"), (), "hardship"),
    Rule("M3", "monitoring", "监测对象类别建议", "篇八, 篇九",
         ("below_line", "household_type", "hardship"), (), "candidate_category", "nonempty"),
    Rule("M4", "monitoring", "整户无劳动能力", "篇九",
         ("household_size", "all_no_labor"), (), "whole_household_no_labor"),
    Rule("M5", "monitoring", "致贫返贫风险(数据识别 + 申报)", "篇九",
         ("any_serious_illness", "any_severe_disability", "any_dropout", "any_able_labor", "housing_safe",
          "water_safe", "any_uninsured", "declared_risks"), (), "detected_risks", "nonempty"),
    Rule("M6", "monitoring", "负面清单:原则上不予认定 — 需民主评议", "篇八, 篇十二",
         ("any_nl_public_payroll", "any_nl_village_head", "nl_town_house", "nl_car", "nl_machinery",
          "nl_luxury_property", "nl_large_deposits", "nl_company", "nl_employs_others", "nl_costly_school",
          "nl_wealthy_supporter", "nl_misconduct", "nl_idle", "nl_refuses_check", "nl_absent"),
         ("p_negative_items",), "negative_list_hits", "nonempty"),
    Rule("M7", "monitoring", "监测规模参考(约5%,县级显示,不拦截)", "篇十二", (), (), None),
    Rule("E1", "elimination", "至少一项帮扶措施已落实", "篇九 五(一), 篇二 (二)(三)", ("done_measures",), (), "rule_E1"),
    Rule("E2", "elimination", "两不愁三保障及饮水安全有保障", "篇九 五(一)",
         ("housing_safe", "water_safe", "any_dropout", "any_uninsured"), (), "rule_E2"),
    Rule("E3", "elimination", "收入稳定超过风险消除线", "篇九 五(一), 篇二 (二)3",
         ("per_capita_income", "hardship_drop"), ("p_elim_line",), "rule_E3"),
    Rule("E4", "elimination", "刚性支出问题已解决", "篇九 五(一)", ("hardship_rigid",), (), "rule_E4"),
    Rule("E5", "elimination", "非整户无劳动能力", "篇九", ("whole_household_no_labor",), (), "rule_E5"),
    Rule("E6", "elimination", "监测时间满规定月数", "篇九",
         ("identified_on", "as_of"), ("p_min_months_monitored",), "rule_E6"),
    Rule("E", "elimination", "风险消除:符合 / 跟踪关注 / 不符合", "篇九 五(一), 篇二",
         ("monitored", "rule_E1", "rule_E2", "rule_E3", "rule_E4", "rule_E5", "rule_E6", "first_done_started_on",
          "as_of"),
         ("p_min_months_assisted",), "elimination", "nonempty"),
    Rule("W-red", "warning", "红色预警:突发困难且暂不符合低保", "篇十四 (一)",
         ("hardship", "per_capita_dibao_income", "in_assistance"), ("p_dibao_line",), "warn_red"),
    Rule("W-orange", "warning", "橙色预警:收入介于低保线与1.5倍之间", "篇十四 (一)",
         ("per_capita_dibao_income", "in_assistance"), ("p_dibao_line", "p_orange_mult"), "warn_orange"),
    Rule("W-yellow", "warning", "黄色预警:监测对象或曾享受低保特困", "篇十四 (一)",
         ("monitored", "former_dibao_tekun", "in_assistance"), ("p_dibao_line",), "warn_yellow"),
    Rule("dibao_unserved", "warning", "应保未保:收入低于低保线且未纳入低保特困", "篇十四",
         ("per_capita_dibao_income", "in_assistance"), ("p_dibao_line",), "dibao_unserved"),
    Rule("L", "lowincome", "低收入人口类别", "篇三, 篇五, 篇六",
         ("any_tekun", "any_dibao", "per_capita_dibao_income", "expense_per_capita"),
         ("p_dibao_line", "p_marginal_mult", "p_local_disposable", "p_expense_mult"), "low_income_class", "nonempty"),
    Rule("single_person", "lowincome", "单人保候选(重残或大病成员)", "篇六, 篇十四",
         ("low_income_class", "special_member_ids"), (), "single_person_dibao", "nonempty"),
    Rule("S1", "schedule", "回访周期与逾期", "篇八 (一), 篇十一",
         ("monitored", "eliminated", "category", "household_type", "last_visit_on", "identified_on", "eliminated_on",
          "as_of"),
         ("p_visits_monitored", "p_visits_eliminated", "p_visits_lifted", "p_visits_marginal"), "visit_overdue"),
)
RULES = {r.id: r for r in CATALOGUE}

FAMILIES = (income, monitoring, elimination, lowincome, schedule)  # in pipeline order


def computed_columns(negative_items: dict[str, tuple[str, ...]] | None = None) -> dict[str, pl.Expr]:
    """Every column the families compute → its expression, from the very stages `pipeline` applies."""
    items = monitoring.NEGATIVE_ITEMS if negative_items is None else negative_items
    stages = (
        *income.stages(), *monitoring.stages(tuple(sorted(items.items()))),
        *elimination.stages(), *lowincome.stages(), *schedule.stages(),
    )
    return {expr.meta.output_name(): expr for stage in stages for expr in stage}


def reads(rule: Rule, negative_items: dict[str, tuple[str, ...]] | None = None) -> frozenset[str]:
    """The columns the expression of `rule.result` reads (Polars' root names): frame columns,
    other rules' results and p_* parameter columns, a negative-list item's column counting as
    p_negative_items. A computed column that the catalogue names nowhere (neither a result nor
    an input: a rule's own intermediate step such as visit_due_on) is followed to what it reads."""
    from fangfan.policy.frame import negative_item_column

    if rule.result is None:
        return frozenset()
    computed = computed_columns(negative_items)
    named = {r.result for r in CATALOGUE if r.result} | {name for r in CATALOGUE for name in r.inputs}
    item_prefix = negative_item_column("")
    found: set[str] = set()
    todo, followed = [rule.result], {rule.result}
    while todo:
        for root in computed[todo.pop()].meta.root_names():
            if root.startswith(item_prefix):
                found.add("p_negative_items")
            elif root in computed and root not in named:
                if root not in followed:
                    followed.add(root)
                    todo.append(root)
            else:
                found.add(root)
    return frozenset(found)


def declaration_problems(negative_items: dict[str, tuple[str, ...]] | None = None) -> list[str]:
    """Where the catalogue's inputs and parameters differ from what the expressions read ([] when
    every rule declares exactly what it reads)."""
    from fangfan.policy.frame import PARAM_BY_COLUMN

    problems = []
    for rule in CATALOGUE:
        wrong_params = [p for p in rule.params if p not in PARAM_BY_COLUMN]
        if wrong_params or any(name.startswith("p_") for name in rule.inputs):
            problems.append(f"规则 {rule.id}: 参数应为已知的 p_* 参数列,输入不应是参数列: {rule.params} / {rule.inputs}")
        if rule.result is None:
            continue
        read, declared = reads(rule, negative_items), {*rule.inputs, *rule.params}
        if read - declared:
            problems.append(f"规则 {rule.id}: 读取了未声明的列 {', '.join(sorted(read - declared))}")
        if declared - read:
            problems.append(f"规则 {rule.id}: 声明了未读取的列 {', '.join(sorted(declared - read))}")
    return problems


def pipeline(lf: pl.LazyFrame, negative_items: dict[str, tuple[str, ...]] | None = None) -> pl.LazyFrame:
    lf = income.apply(lf)
    lf = monitoring.apply(lf, negative_items)
    for family in (elimination, lowincome, schedule):
        lf = family.apply(lf)
    return lf
