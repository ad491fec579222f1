"""The rule result (rules.md `evaluate` columns) of one household, shown beside case steps.

Computed by fangfan.screening (imported lazily so workflows load without it); call through
`results.rule_result(...)` so tests can substitute it."""
from __future__ import annotations

import datetime as dt

from fangfan.workflows.households import split_codes


def rule_result(household, on: dt.date) -> dict:
    from fangfan.screening.rule_results import rule_result_for

    return dict(rule_result_for(household, on))


def negative_list_hits(result: dict) -> list[str]:
    return split_codes(result.get("negative_list_hits"))


def failed_rules(result: dict) -> list[str]:
    return split_codes(result.get("elimination_failed"))
