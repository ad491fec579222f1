"""Explanations, derived from the rule columns and the catalogue (fangfan.policy.rules):
``explanation_expr`` builds the short Chinese text column vectorised (no per-row Python);
``explain_row`` turns one evaluated row into the full structured explanation."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import polars as pl

from fangfan.common import codes as C
from fangfan.policy.frame import PARAM_BY_COLUMN, PPM, yuan_text

CATEGORY_ZH = dict(C.CATEGORY.items)
WARNING_ZH = {"red": "红色预警", "orange": "橙色预警", "yellow": "黄色预警"}
CLASS_ZH = {
    "tekun": "特困",
    "dibao": "低保",
    "dibao_eligible": "符合低保条件",
    "dibao_marginal": "低保边缘",
    "expense_hardship": "支出型困难",
}
ELIMINATION_ZH = {"eligible": "符合", "tracking": "跟踪关注", "not_eligible": "不符合"}
SEPARATOR = "；"


def _label(col: str, labels: dict[str, str]) -> pl.Expr:
    return pl.col(col).replace_strict(labels, default=None, return_dtype=pl.String)


def explanation_expr() -> pl.Expr:
    c = pl.col
    pc = yuan_text(c("per_capita_income"))
    income = (
        pl.when(~c("has_income"))
        .then(pl.concat_str([pl.lit("无"), c("year").cast(pl.String).fill_null(""), pl.lit("年度收支数据")]))
        .otherwise(
            pl.concat_str(
                [
                    pl.lit("人均纯收入"),
                    pc,
                    pl.lit("元"),
                    pl.when(c("below_line")).then(pl.lit("低于")).otherwise(pl.lit("不低于")),
                    pl.lit("监测线"),
                    yuan_text(c("p_income_line")),
                    pl.lit("元"),
                ]
            )
        )
    )
    parts = [
        income,
        pl.when(c("hardship_rigid")).then(pl.lit("刚性支出超过上年收入")),
        pl.when(c("hardship_drop")).then(pl.lit("收入大幅缩减")),
        pl.when(c("candidate_category").is_not_null()).then(
            pl.concat_str([pl.lit("建议:"), _label("candidate_category", CATEGORY_ZH)])
        ),
        pl.when(c("detected_risks") != "").then(pl.concat_str([pl.lit("风险:"), c("detected_risks")])),
        pl.when(c("whole_household_no_labor")).then(pl.lit("整户无劳动能力")),
        pl.when(c("negative_list_hits") != "").then(
            pl.concat_str([pl.lit("负面清单"), c("negative_list_hits"), pl.lit(":原则上不予认定—需民主评议")])
        ),
        pl.when(c("elimination").is_not_null()).then(
            pl.concat_str(
                [
                    pl.lit("风险消除:"),
                    _label("elimination", ELIMINATION_ZH),
                    pl.when(c("elimination_failed") != "")
                    .then(pl.concat_str([pl.lit("("), c("elimination_failed"), pl.lit("未满足)")]))
                    .otherwise(pl.lit("")),
                ]
            )
        ),
        _label("warning_color", WARNING_ZH),
        pl.when(c("dibao_unserved")).then(pl.lit("应保未保")),
        pl.when(c("low_income_class").is_not_null()).then(
            pl.concat_str([pl.lit("低收入:"), _label("low_income_class", CLASS_ZH)])
        ),
        pl.when(c("single_person_dibao") != "").then(pl.lit("有单人保候选成员")),
        pl.when(c("visit_overdue")).then(
            pl.concat_str([pl.lit("回访逾期(应于"), c("visit_due_on").dt.strftime("%Y-%m-%d"), pl.lit(")")])
        ),
    ]
    return pl.concat_str(parts, separator=SEPARATOR, ignore_nulls=True).fill_null("")


# ---------------------------------------------------------------------------------------
# Structured explanation
# ---------------------------------------------------------------------------------------


def _plain(column: str, value):
    """A frame value → something readable (money as yuan Decimal, ratios as Decimal)."""
    spec = PARAM_BY_COLUMN.get(column)
    if value is None:
        return None
    if spec is not None:
        if spec.kind == "money":
            return Decimal(value) / 100
        if spec.kind == "ratio":
            return Decimal(value) / PPM
        return value
    if column in _MONEY_FACTS and isinstance(value, int):
        return Decimal(value) / 100
    if isinstance(value, (dt.date, bool, int, str, list)):
        return value
    return value


_MONEY_FACTS = frozenset(
    {"wage", "business_income", "business_cost", "property_income", "transfer_income", "basic_pension",
     "veteran_benefits", "disability_allowances", "guaranteed_dividend", "dibao_payment", "tekun_payment",
     "insurance_claims", "compliant_oop", "education_expense", "other_rigid_expense", "net_income",
     "monitoring_income", "per_capita_income", "dibao_income", "per_capita_dibao_income", "rigid_expense",
     "expense_per_capita", "prev_net_income", "income_line", "dibao_line", "elimination_line"}
)


def _fired(rule, value) -> bool | None:
    if rule.result is None:
        return None
    if rule.fired_when == "true":
        return bool(value)
    if rule.fired_when == "nonempty":
        return value not in (None, "")
    return None  # a value (income accounting), not a yes/no rule


def explain_row(row: dict) -> dict:
    """One evaluated row (all frame columns) → {household_id, as_of, year, rules: [...]}, each
    rule with id, title, 篇 source, fired (True/False, None for values and county rules),
    result value, the inputs it read and the parameters with their source."""
    from fangfan.policy.rules import CATALOGUE

    rules = []
    for rule in CATALOGUE:
        value = row.get(rule.result) if rule.result else None
        rules.append(
            {
                "id": rule.id,
                "family": rule.family,
                "title": rule.title,
                "source": rule.source,
                "fired": _fired(rule, value),
                "result": _plain(rule.result or "", value),
                "inputs": {name: _plain(name, row.get(name)) for name in rule.inputs},
                "parameters": {
                    PARAM_BY_COLUMN[p].name: {
                        "value": _plain(p, row.get(p)),
                        "source": row.get(p + "__source"),
                    }
                    for p in rule.params
                },
            }
        )
    return {
        "household_id": row["household_id"],
        "village_code": row["village_code"],
        "as_of": row["as_of"],
        "year": row["year"],
        "explanation": row.get("explanation", ""),
        "rules": rules,
    }
