"""Writes of registry household fields done by cases (category, identified_on, eliminated_on,
declared_risks, extra marks), each with an audit row in the caller's transaction."""
from __future__ import annotations

from fangfan.registry import services as registry_services
from fangfan.registry.models import Household
from fangfan.workflows.errors import ConcurrentEditError


def household_update(*, actor, household: Household, changes: dict, action: str, comment: str = "") -> Household:
    """The registry's household write (optimistic lock on the row as read now, audit row), with
    a lost race reported as a workflow error."""
    try:
        return registry_services.household_update(
            actor=actor, household=household, changes=changes, action=action, comment=comment
        )
    except registry_services.ConcurrentEdit as exc:
        raise ConcurrentEditError(str(exc)) from None


def split_codes(value) -> list[str]:
    if not value:
        return []
    if isinstance(value, str):
        for sep in "、，,；":
            value = value.replace(sep, ";")
        return [v.strip() for v in value.split(";") if v.strip()]
    return [str(v).strip() for v in value if str(v).strip()]
