"""The rule catalogue (fangfan.policy.rules.CATALOGUE) against the rules' expressions: every rule
declares exactly the columns and parameters its expression reads (Polars root names)."""
from __future__ import annotations

import dataclasses
import datetime as dt

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fangfan.policy import rules
from fangfan.policy.frame import PARAM_BY_COLUMN, parameter_frame
from fangfan.policy.params import DEFAULT_DIRECTORY, ParameterSet
from fangfan.policy.rules import CATALOGUE, RULES, declaration_problems, reads

WITH_RESULT = [r for r in CATALOGUE if r.result is not None]


def test_it_declares_exactly_what_every_rule_reads():
    assert declaration_problems() == []


def test_it_declares_what_the_shipped_profiles_negative_list_items_read():
    # A profile may define its own items (fields: …); M6 must declare every fact they read.
    prefixes = {
        str(yaml.safe_load(path.read_text(encoding="utf-8"))["profile"]["prefix"])
        for path in DEFAULT_DIRECTORY.glob("*.yaml")
        if "profile" in (yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    }
    assert len(prefixes) >= 8
    codes = [prefix.ljust(12, "0") for prefix in sorted(prefixes)]
    table = parameter_frame(ParameterSet.load(), codes, dt.date(2026, 5, 1))
    assert {"S1", "N1"} <= set(table.negative_items)
    assert declaration_problems(table.negative_items) == []


def test_it_follows_a_rules_own_intermediate_steps_to_what_they_read():
    s1 = reads(RULES["S1"])
    assert {"last_visit_on", "identified_on", "p_visits_marginal", "monitored"} <= s1
    assert not {"visit_due_on", "visit_interval_months"} & s1  # S1's own steps, named nowhere else
    i4 = reads(RULES["I4"])
    assert {"p_employment_cost_rate", "wage", "dibao_payment", "household_size"} <= i4
    assert "_dibao_income_micro" not in i4
    assert "has_dibao_line" not in reads(RULES["W-red"]) and "p_dibao_line" in reads(RULES["W-red"])


def test_it_counts_a_negative_list_items_column_as_the_negative_list_parameter():
    m6 = reads(RULES["M6"])
    assert "p_negative_items" in m6
    assert not any(name.startswith("p_negative_item__") for name in m6)
    assert reads(RULES["M6"], {"X1": ("nl_car",)}) == {"p_negative_items", "nl_car"}


def test_it_reads_the_elimination_conditions_for_the_overall_verdict():
    assert reads(RULES["E"]) == {
        "monitored", "rule_E1", "rule_E2", "rule_E3", "rule_E4", "rule_E5", "rule_E6",
        "first_done_started_on", "as_of", "p_min_months_assisted",
    }


def test_it_reads_nothing_for_a_county_level_rule():
    assert reads(RULES["M7"]) == frozenset()


def _kept_when_dropped(rule) -> tuple[str, ...]:
    """The rule's inputs that stay read when undeclared: all but a computed column that no other
    rule names (e.g. S1's `eliminated`), which is then followed to what it reads instead."""
    computed = rules.computed_columns()
    named_elsewhere = {r.result for r in CATALOGUE} | {i for r in CATALOGUE if r.id != rule.id for i in r.inputs}
    return tuple(i for i in rule.inputs if i not in computed or i in named_elsewhere)


def _with(monkeypatch, rule):
    monkeypatch.setattr(rules, "CATALOGUE", tuple(rule if r.id == rule.id else r for r in CATALOGUE))


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_it_names_every_column_a_rule_reads_but_does_not_declare(data):
    rule = data.draw(st.sampled_from([r for r in WITH_RESULT if _kept_when_dropped(r)]))
    dropped = data.draw(st.sets(st.sampled_from(_kept_when_dropped(rule)), min_size=1))
    kept = tuple(i for i in rule.inputs if i not in dropped)
    changed = dataclasses.replace(rule, inputs=kept)
    original = rules.CATALOGUE
    rules.CATALOGUE = tuple(changed if r.id == rule.id else r for r in original)
    try:
        problems = declaration_problems()
    finally:
        rules.CATALOGUE = original
    assert problems, (rule.id, dropped)
    assert all(p.startswith(f"规则 {rule.id}: ") for p in problems)
    assert "读取了未声明的列" in problems[0]


@settings(max_examples=30, deadline=None)
@given(rule=st.sampled_from(WITH_RESULT), extra=st.sampled_from(["as_of", "wage", "nl_car", "p_dibao_line"]))
def test_it_names_a_declared_column_the_rule_never_reads(rule, extra):
    read = reads(rule)
    if extra in read:
        return  # declaring it is right: nothing to find
    field = "params" if extra.startswith("p_") else "inputs"
    changed = dataclasses.replace(rule, **{field: (*getattr(rule, field), extra)})
    original = rules.CATALOGUE
    rules.CATALOGUE = tuple(changed if r.id == rule.id else r for r in original)
    try:
        problems = declaration_problems()
    finally:
        rules.CATALOGUE = original
    assert problems == [f"规则 {rule.id}: 声明了未读取的列 {extra}"]


def test_it_refuses_a_parameter_that_is_not_a_parameter_column(monkeypatch):
    rule = dataclasses.replace(RULES["M1"], params=("p_income_line", "p_no_such"))
    _with(monkeypatch, rule)
    problems = declaration_problems()
    assert problems[0].startswith("规则 M1: 参数应为已知的 p_* 参数列")
    assert "规则 M1: 声明了未读取的列 p_no_such" in problems
    assert set(PARAM_BY_COLUMN) >= {p for r in CATALOGUE for p in r.params}
