"""Reading department feeds: batches (for the department that sent them and the county) and the
IDs found in no household (未登记在册, 篇十四), for the county only."""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import require, role_of
from fangfan.departments.models import FeedBatch, FeedRow
from fangfan.departments.services import CHUNK
from fangfan.regions.scope import code_range_q
from fangfan.registry.models import Household, Member

# Who reads the county's unregistered list: 县乡村振兴局 (monitoring) and 县民政局 (低保/特困).
UNREGISTERED_ROLES = frozenset({Role.COUNTY_RR, Role.COUNTY_CA})
BATCH_ROLES = frozenset({Role.COUNTY_DEPT, Role.COUNTY_RR, Role.COUNTY_CA})


def _county(actor) -> str:
    prefix = getattr(actor, "region_prefix", "")
    require(len(prefix) == 6, "账号未设置县级管辖区划")
    return prefix


def batch_list(*, actor, department: str = "") -> QuerySet[FeedBatch]:
    """A department user its own department's batches; the county offices every batch of the
    county; the shell (None) all."""
    qs = FeedBatch.objects.select_related("who")
    if actor is None:
        return qs.filter(department=department) if department else qs
    role = role_of(actor)
    require(role in BATCH_ROLES, "只有县行业部门、县乡村振兴局和县民政局可以查看部门数据批次")
    qs = qs.filter(county=_county(actor))
    if role == Role.COUNTY_DEPT:
        return qs.filter(department=actor.department)
    return qs.filter(department=department) if department else qs


@dataclass(frozen=True)
class Unregistered:
    id_number: str
    departments: tuple[str, ...]
    rows: int
    first_period: str
    last_period: str


def unregistered(*, actor, department: str = "") -> list[Unregistered]:
    """IDs some department's feed holds that no household of the county has (possibly unregistered
    low-income people), one entry per ID with the departments that sent it."""
    qs = FeedRow.objects.filter(matched=False).exclude(id_number="")
    if actor is not None:
        require(role_of(actor) in UNREGISTERED_ROLES, "只有县乡村振兴局和县民政局可以查看未登记在册人员名单")
        qs = qs.filter(batch__county=_county(actor))
    if department:
        qs = qs.filter(department=department)
    rows = (qs.values("id_number", "department")
            .annotate(n=Count("id"), first=Min("batch__period"), last=Max("batch__period"))
            .order_by("id_number", "department"))
    merged: dict[str, dict] = {}
    for r in rows:
        entry = merged.setdefault(r["id_number"], {"departments": [], "rows": 0, "first": r["first"], "last": r["last"]})
        entry["departments"].append(r["department"])
        entry["rows"] += r["n"]
        entry["first"] = min(entry["first"], r["first"])
        entry["last"] = max(entry["last"], r["last"])
    # A person registered since the import is no longer unregistered.
    registered: set[str] = set()
    numbers = list(merged)
    scope = code_range_q("household__village_id", _county(actor)) if actor is not None else Q()
    for start in range(0, len(numbers), CHUNK):
        registered.update(Member.objects.filter(scope, id_number__in=numbers[start : start + CHUNK])
                          .values_list("id_number", flat=True))
    return [Unregistered(number, tuple(e["departments"]), e["rows"], e["first"], e["last"])
            for number, e in merged.items() if number not in registered]


def village_households(row: FeedRow) -> QuerySet[Household]:
    """The households a 水利 row concerns: every household of its village."""
    return Household.objects.filter(village_id=row.village_code) if row.village_code else Household.objects.none()
