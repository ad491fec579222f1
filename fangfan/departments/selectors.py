"""Reading department feeds: batches (for the department that sent them and the county) and the
IDs found in no household (未登记在册, 篇十四), for the county only."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max, Min, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import require, role_of
from fangfan.departments.models import DeptWarning, FeedBatch, FeedRow, Referral
from fangfan.departments.matching import CHUNK
from fangfan.regions.scope import code_range_q, prefix_for
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
    id_index: str  # the person's key (blind index)
    id_cipher: str  # "" when every row of the person came as a keyed hash (no number known)
    departments: tuple[str, ...]
    rows: int
    first_period: str
    last_period: str

    @property
    def hashed(self) -> bool:
        return not self.id_cipher


def unregistered(*, actor, department: str = "") -> list[Unregistered]:
    """Persons some department's feed names that no household of the county has (possibly
    unregistered low-income people), one entry per ID (by its blind index) with the departments
    that sent it. The number stays encrypted: unregistered_numbers opens it for display."""
    qs = FeedRow.objects.filter(matched=False).exclude(id_index="")
    if actor is not None:
        require(role_of(actor) in UNREGISTERED_ROLES, "只有县乡村振兴局和县民政局可以查看未登记在册人员名单")
        qs = qs.filter(batch__county=_county(actor))
    if department:
        qs = qs.filter(department=department)
    # Max(id_cipher): any row that carried the number ('' sorts first: a hashed row's).
    rows = (qs.values("id_index", "department")
            .annotate(n=Count("id"), first=Min("batch__period"), last=Max("batch__period"), cipher=Max("id_cipher"))
            .order_by("id_index", "department"))
    merged: dict[str, dict] = {}
    for r in rows:
        entry = merged.setdefault(r["id_index"], {"departments": [], "rows": 0, "first": r["first"], "last": r["last"],
                                                  "cipher": ""})
        entry["departments"].append(r["department"])
        entry["rows"] += r["n"]
        entry["first"] = min(entry["first"], r["first"])
        entry["last"] = max(entry["last"], r["last"])
        entry["cipher"] = entry["cipher"] or r["cipher"] or ""
    # A person registered since the import is no longer unregistered.
    registered: set[str] = set()
    keys = list(merged)
    scope = code_range_q("household__village_id", _county(actor)) if actor is not None else Q()
    for start in range(0, len(keys), CHUNK):
        registered.update(Member.objects.filter(scope, id_index__in=keys[start : start + CHUNK])
                          .values_list("id_index", flat=True))
    out = [Unregistered(key, e["cipher"], tuple(e["departments"]), e["rows"], e["first"], e["last"])
           for key, e in merged.items() if key not in registered]
    # Newest first (the index orders nothing a reader knows; the ID's order is not stored).
    out.sort(key=lambda e: e.id_index)
    out.sort(key=lambda e: e.last_period, reverse=True)
    return out


def unregistered_numbers(entries: list[Unregistered], *, full: bool) -> list[str]:
    """What a list shows for each entry: the ID masked (or whole, for a logged full view:
    services.unregistered_id_view), or 「部门提供的是加密索引」 when no number was sent."""
    from fangfan.common import pii
    from fangfan.common.ids import mask
    from fangfan.departments.feeds import HASHED_LABEL

    numbers = pii.keyring().decrypt_all([e.id_cipher for e in entries], pii.ID_FIELD)
    return [HASHED_LABEL if not n else n if full else mask(n) for n in numbers]


def village_households(row: FeedRow) -> QuerySet[Household]:
    """The households a 水利 row concerns: every household of its village."""
    return Household.objects.filter(village_id=row.village_code) if row.village_code else Household.objects.none()


# ---- warnings (W6) ---------------------------------------------------------------------------

# Roles that read warnings of their region (the village its own, the township its villages ...);
# 县行业部门 reads its own department's warnings of its county for the feedback, never a household file.
WARNING_READERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE})


def warnings_visible(*, actor) -> QuerySet[DeptWarning]:
    qs = DeptWarning.objects.all()
    if actor is None:
        return qs
    role = role_of(actor)
    if role == Role.COUNTY_DEPT:
        return qs.filter(county=_county(actor), department=actor.department)
    prefix = prefix_for(actor)
    if role not in WARNING_READERS or prefix is None:
        return qs.none()
    return qs.filter(code_range_q("village_code", prefix))


def warning_list(*, actor, state: str = "", department: str = "", kind: str = "", outcome: str = "",
                 overdue: bool = False, urgent: bool = False, region: str = "",
                 today: dt.date | None = None) -> QuerySet[DeptWarning]:
    """The warnings an actor may read, filtered; urgent first, then by deadline."""
    qs = warnings_visible(actor=actor).select_related("household", "member", "batch", "case")
    if state:
        qs = qs.filter(state=state)
    if department:
        qs = qs.filter(department=department)
    if kind:
        qs = qs.filter(kind=kind)
    if outcome:
        qs = qs.filter(outcome=outcome)
    if urgent:
        qs = qs.filter(urgent=True)
    if region:
        qs = qs.filter(code_range_q("village_code", region)) if region.isdigit() else qs.none()
    if overdue:
        qs = qs.exclude(state=DeptWarning.State.VERIFIED).filter(deadline__lt=today or timezone.localdate())
    return qs


def warning_get(*, actor, warning_id: int) -> DeptWarning:
    warning = warnings_visible(actor=actor).select_related("household", "member", "batch", "case").filter(
        pk=warning_id).first()
    if warning is None:
        raise Http404("预警不存在或不在本账号的管辖范围内")
    return warning


def warning_is_overdue(warning: DeptWarning, today: dt.date) -> bool:
    return warning.state != DeptWarning.State.VERIFIED and warning.deadline < today


@dataclass(frozen=True)
class Tally:
    key: str
    label: str
    total: int
    open: int
    overdue: int
    outcomes: dict[str, int]


def _tally(qs: QuerySet[DeptWarning], field: str, today: dt.date, label) -> list[Tally]:
    open_q = ~Q(state=DeptWarning.State.VERIFIED)
    rows = (qs.values(field)
            .annotate(total=Count("id"), open=Count("id", filter=open_q),
                      overdue=Count("id", filter=open_q & Q(deadline__lt=today)),
                      **{f"o_{o}": Count("id", filter=Q(outcome=o)) for o in DeptWarning.Outcome.values})
            .order_by(field))
    return [Tally(r[field], label(r[field]), r["total"], r["open"], r["overdue"],
                  {o: r[f"o_{o}"] for o in DeptWarning.Outcome.values}) for r in rows]


def warning_overview(*, actor, today: dt.date | None = None) -> dict[str, list[Tally]]:
    """The county's view (跟踪盯办): warnings by department, kind, township and village with the
    open, overdue and outcome counts."""
    from fangfan.policy.warnings import KINDS
    from fangfan.regions.models import Region

    today = today or timezone.localdate()
    qs = warnings_visible(actor=actor)
    names = dict(Region.objects.filter(code__in=set(qs.values_list("township_code", flat=True))
                                       | set(qs.values_list("village_code", flat=True))).values_list("code", "name"))
    return {
        "department": _tally(qs, "department", today, lambda k: k),
        "kind": _tally(qs, "kind", today, lambda k: KINDS[k].label if k in KINDS else k),
        "township": _tally(qs, "township_code", today, lambda k: names.get(k, k)),
        "village": _tally(qs.filter(deadline__lt=today).exclude(state=DeptWarning.State.VERIFIED),
                          "village_code", today, lambda k: names.get(k, k)),
    }


def feedback_rows(*, actor, department: str = "") -> list[dict]:
    """结果反馈: each warning of a department with its outcome, for the department that sent the
    data (IDs masked: the department holds the full numbers already)."""
    from fangfan.common.ids import mask
    from fangfan.policy.warnings import KINDS

    qs = warnings_visible(actor=actor).select_related("member", "batch").prefetch_related("evidence__batch")
    if department:
        qs = qs.filter(department=department)
    out = []
    for w in qs.order_by("department", "raised_on", "id"):
        out.append({
            "id": w.pk, "department": w.department, "kind": KINDS[w.kind].label if w.kind in KINDS else w.kind,
            "id_number": mask(w.member.id_number) if w.member_id else "", "village_code": w.village_code,
            "evidence": "; ".join(f"{r.batch.file_name} 第{r.row_number}行" for r in w.evidence.all()),
            "raised_on": w.raised_on, "deadline": w.deadline, "state": w.get_state_display(),
            "outcome": w.get_outcome_display() if w.outcome else "", "verified_on": w.verified_on,
            "note": w.outcome_note,
        })
    return out


def referral_list(*, actor, open_only: bool = False) -> QuerySet[Referral]:
    """Referrals an actor answers or follows: a department its own, 县民政局 the 民政 ones of its
    county, the 县乡村振兴局 all of its county, villages and townships those of their warnings."""
    qs = Referral.objects.select_related("warning", "warning__household")
    if actor is not None:
        role = role_of(actor)
        if role == Role.COUNTY_DEPT:
            qs = qs.filter(county=_county(actor), to_department=actor.department)
        elif role == Role.COUNTY_CA:
            qs = qs.filter(county=_county(actor), to_department="民政")
        else:
            prefix = prefix_for(actor)
            if role not in WARNING_READERS or prefix is None:
                return qs.none()
            qs = qs.filter(code_range_q("warning__village_code", prefix))
    return qs.filter(answered_on__isnull=True) if open_only else qs


def civil_affairs_list(*, actor) -> QuerySet[DeptWarning]:
    """Warnings handed to the 县民政局 as suspected 低保/特困 cases, and 低保退出 warnings."""
    require(actor is None or role_of(actor) in (Role.COUNTY_CA, Role.COUNTY_RR), "只有县民政局和县乡村振兴局可以查看")
    return warnings_visible(actor=actor).filter(Q(dibao_suspected=True) | Q(kind="dibao_exit")).select_related(
        "household", "member")


def negative_hits(*, household) -> list[DeptWarning]:
    """Negative-list hits on a household (shown at the county comparison step, W1 step 6, and on
    the household file: for a monitored household they are a review for removal)."""
    return list(DeptWarning.objects.filter(household=household, action="negative").select_related("batch")
                .order_by("-raised_on", "-id"))


def household_warnings(*, actor, household) -> QuerySet[DeptWarning]:
    """A household's warnings as the actor may read them (the 部门预警 section of its file)."""
    return warnings_visible(actor=actor).filter(household=household).select_related("case").order_by("-raised_on", "-id")


def may_answer_referral(actor, referral: Referral) -> bool:
    """Who records a referral's answer (the same rule as services.referral_answer): 县乡村振兴局
    any of its county, 县民政局 the 民政 ones, a 县行业部门 its own department's."""
    role = role_of(actor)
    if referral.county != getattr(actor, "region_prefix", None):
        return False
    return (role == Role.COUNTY_RR or (role == Role.COUNTY_CA and referral.to_department == "民政")
            or (role == Role.COUNTY_DEPT and actor.department == referral.to_department))
