"""Reads of the registry, always scoped by the acting user's region."""
from __future__ import annotations

import json

from django.db.models import Count, Q, QuerySet

from fangfan.audit.models import AuditEvent
from fangfan.common.ids import mask
from fangfan.regions.scope import scope_queryset
from fangfan.registry.models import Household, Member


def households(*, actor) -> QuerySet[Household]:
    return scope_queryset(Household.objects.all(), actor, "village_id")


def members(*, actor) -> QuerySet[Member]:
    return scope_queryset(Member.objects.all(), actor, "household__village_id")


def household_list(*, actor, query: str = "") -> QuerySet[Household]:
    qs = households(actor=actor).select_related("village")
    query = query.strip()
    if query:
        qs = qs.filter(Q(household_number__startswith=query) | Q(village_id__startswith=query))
    return qs


def registry_summary(*, actor) -> dict[str, int]:
    qs = households(actor=actor)
    counts = qs.aggregate(
        households=Count("id"),
        lifted=Count("id", filter=Q(household_type="lifted")),
        monitored=Count("id", filter=~Q(category="") & Q(eliminated_on__isnull=True)),
        eliminated=Count("id", filter=~Q(category="") & Q(eliminated_on__isnull=False)),
    )
    counts["members"] = members(actor=actor).filter(status="normal").count()
    return counts


def _masked_json(data) -> str:
    if not data:
        return ""
    shown = {k: (mask(v) if k == "id_number" else v) for k, v in data.items()}
    return json.dumps(shown, ensure_ascii=False, default=str)


def household_history(*, actor, household: Household) -> list[AuditEvent]:
    events = list(AuditEvent.objects.filter(household_key=household.household_number).order_by("at", "id"))
    for event in events:
        event.before_text = _masked_json(event.before)
        event.after_text = _masked_json(event.after)
    return events


def household_file(*, actor, household_number: str) -> dict | None:
    household = households(actor=actor).select_related("village").filter(household_number=household_number).first()
    if household is None:
        return None
    member_rows = list(household.members.all())
    for m in member_rows:
        m.masked_id = mask(m.id_number)
    return {
        "household": household,
        "members": member_rows,
        "incomes": list(household.incomes.all()),
        "measures": list(household.measures.all()),
        "history": household_history(actor=actor, household=household),
    }
