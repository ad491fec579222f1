"""集中排查 (workflows.md W7; 篇二 五, 篇一 (三)): creating campaigns and setting their phases
(县乡村振兴局, audited), the entry window every village and township write passes through, the
home-visit coverage of the field phase, and the campaigns a profile's calendar implies.

Deadlines are instants in the project's TIME_ZONE (Asia/Shanghai): a phase due on a day with a
time (信息录入 05-31 18:00) closes at that time — 18:00:00 is already closed; a phase due on a
day without a time closes at the end of that day.

The entry window (篇二 五(四): 系统将在5月31日18:00时关闭相关权限): from the close of a campaign's
entry phase, village and township accounts cannot write to households of its region
(entry_window_guard, called by the write services). The correction phase (数据修正) is the
county's: 各县(市)区 get the province's problem list and correct the data, so county accounts keep
writing throughout, and village and township accounts stay closed until the correction phase
ends — unless the county opens the correction phase to them from a day it sets (phase_set
opens_on, e.g. when it hands the problem list down to the townships). After the correction phase
the campaign restricts nothing; a campaign without a correction phase stays closed to village
and township accounts until its last deadline."""
from __future__ import annotations

import calendar as month_calendar
import datetime as dt
import zoneinfo
from dataclasses import dataclass

import polars as pl
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from fangfan.audit.services import audit_record
from fangfan.regions import codes as region_codes
from fangfan.reports.models import Campaign, CampaignPhase
from fangfan.workflows.errors import NotAllowed, WorkflowError

# 篇二 (一)2: the ten priority groups (重点人群), in the plan's order.
TARGET_GROUPS: dict[str, str] = {
    "lifted": "脱贫户特别是当年度脱贫户",
    "below_line": "家庭人均纯收入低于省监测范围的农户",
    "income_drop": "家庭人均纯收入较上一年度明显减少的农户",
    "tekun": "分散供养特困人员特别是单人户",
    "dibao": "低保户特别是近两年新识别和申请低保的农户",
    "disabled": "残疾人家庭特别是新致残、重度残疾和一户多残的农户",
    "many_children": "多子女特别是非义务教育阶段在读子女较多的农户",
    "migrant_work": "务工收入占比较高且务工时间不稳定的农户",
    "rigid_expense": "因病因灾因意外事故等刚性支出较大或收入大幅缩减的农户",
    "other_burden": "参加危房改造及其他家庭负担较重且生活困难的农户",
}
KINDS = [k for k, _ in CampaignPhase.Kind.choices]
KIND_LABELS = dict(CampaignPhase.Kind.choices)
CLOSED_ROLES = frozenset({"village", "township"})  # whose writes the entry window closes
CREATORS = frozenset({"county_rr"})  # 县乡村振兴局 creates campaigns and sets their phases


class EntryWindowClosed(NotAllowed, PermissionDenied):
    """A village or township write after the entry window closed. A NotAllowed for the case pages
    and the API (which show WorkflowError messages; 403), and a PermissionDenied for callers that
    know only that (the import command, the household pages): the message reaches the user as is."""


def tz() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def now() -> dt.datetime:
    return timezone.now()


def closes_at(phase: CampaignPhase) -> dt.datetime:
    """The instant a phase is over: its due time on its due day, else the end of the day."""
    if phase.due_time is not None:
        return dt.datetime.combine(phase.due_on, phase.due_time, tzinfo=tz())
    return dt.datetime.combine(phase.due_on + dt.timedelta(days=1), dt.time(0), tzinfo=tz())


def due_text(phase: CampaignPhase) -> str:
    return f"{phase.due_on:%Y-%m-%d}" + (f" {phase.due_time:%H:%M}" if phase.due_time is not None else "")


def opens_on(phases: list[CampaignPhase], kind: str) -> dt.date | None:
    """The first day of a phase: its own opens_on, else the day after the previous deadline."""
    ordered = sorted(phases, key=lambda p: (p.due_on, p.due_time or dt.time.max))
    for i, phase in enumerate(ordered):
        if phase.kind == kind:
            if phase.opens_on is not None:
                return phase.opens_on
            return ordered[i - 1].due_on + dt.timedelta(days=1) if i else None
    return None


def closed_window(phases: list[CampaignPhase]) -> tuple[dt.datetime, dt.datetime] | None:
    """[from, until) in which village and township accounts may not write; None without an entry phase."""
    by_kind = {p.kind: p for p in phases}
    entry = by_kind.get("entry")
    if entry is None:
        return None
    start = closes_at(entry)
    correction = by_kind.get("correction")
    if correction is not None:
        until = closes_at(correction)
        if correction.opens_on is not None:
            until = min(until, dt.datetime.combine(correction.opens_on, dt.time(0), tzinfo=tz()))
    else:
        until = max(closes_at(p) for p in phases)
    return (start, until) if until > start else None


def _overlaps(campaign_region: str, code: str) -> bool:
    prefix = region_codes.prefix_of(code) if len(code) == 12 else code
    return code.startswith(campaign_region) or campaign_region.startswith(prefix)


def entry_window_guard(*, actor, region_code: str = "", at: dt.datetime | None = None) -> None:
    """Refuse a village or township account's write to `region_code` (a household's village, or
    the actor's own region when empty) while a campaign's entry window there is closed."""
    role = getattr(actor, "role", None)
    if role not in CLOSED_ROLES:
        return
    at = at or now()
    code = region_code or getattr(actor, "region_code", "") or ""
    local = at.astimezone(tz()).date()
    # Entry phases already due (a window is at most a few weeks long; a year back is plenty).
    for entry in CampaignPhase.objects.filter(kind="entry", due_on__lte=local,
                                              due_on__gte=local - dt.timedelta(days=366)).select_related("campaign"):
        if not _overlaps(entry.campaign.region, code):
            continue
        window = closed_window(list(entry.campaign.phases.all()))
        if window and window[0] <= at < window[1]:
            raise EntryWindowClosed(
                f"集中排查录入已于 {due_text(entry)} 截止, 村、乡镇账号不能再修改; 如需更正请联系县乡村振兴局")


# ---------------------------------------------------------------------------------------- writes
@dataclass(frozen=True)
class PhaseSpec:
    kind: str
    due_on: dt.date
    due_time: dt.time | None = None
    opens_on: dt.date | None = None
    label: str = ""


def _require_creator(actor, region: str) -> None:
    if actor is None:
        return
    if getattr(actor, "role", None) not in CREATORS:
        raise NotAllowed("集中排查须由县乡村振兴局账号设置")
    from fangfan.regions.scope import prefix_for

    own = prefix_for(actor) or ""
    if not region.startswith(own):
        raise NotAllowed(f"只能为本辖区 ({own}) 设置集中排查")


def _check_region(region: str) -> str:
    region = (region or "").strip()
    if not region_codes.is_digits(region) or len(region) not in (2, 4, 6, 9, 12):
        raise WorkflowError(f"区划代码格式不正确: {region!r} (应为12位区划代码或其2/4/6/9位前缀)")
    return region_codes.prefix_of(region) if len(region) == 12 else region


def _check_phases(phases: list[PhaseSpec]) -> None:
    kinds = [p.kind for p in phases]
    unknown = [k for k in kinds if k not in KIND_LABELS]
    if unknown:
        raise WorkflowError(f"未知的阶段: {'、'.join(unknown)} (应为 {'、'.join(KIND_LABELS.values())})")
    if len(set(kinds)) != len(kinds):
        raise WorkflowError("每个阶段只能设置一次")
    dues = [(p.due_on, p.due_time or dt.time.max) for p in sorted(phases, key=lambda p: KINDS.index(p.kind))]
    if dues != sorted(dues):
        raise WorkflowError("各阶段截止时间应按 前期准备→现场排查→信息录入→数据修正→总结报告 依次排列")
    for p in phases:
        if p.opens_on is not None and p.opens_on > p.due_on:
            raise WorkflowError(f"{KIND_LABELS[p.kind]}的开始日期 {p.opens_on} 晚于截止日期 {p.due_on}")


def _phase_row(p: CampaignPhase) -> dict:
    return {"kind": p.kind, "opens_on": p.opens_on.isoformat() if p.opens_on else None,
            "due": due_text(p)}


def campaign_create(*, actor, name: str, region: str, year: int, phases: list[PhaseSpec],
                    target_groups: list[str] | None = None, coverage_target: int = 100, source: str = "",
                    planned_key: str = "") -> Campaign:
    region = _check_region(region)
    _require_creator(actor, region)
    name = (name or "").strip()
    if not name:
        raise WorkflowError("须填写集中排查名称")
    groups = list(TARGET_GROUPS) if target_groups is None else list(dict.fromkeys(target_groups))
    unknown = [g for g in groups if g not in TARGET_GROUPS]
    if unknown:
        raise WorkflowError(f"未知的重点人群: {'、'.join(unknown)}")
    if not 0 < coverage_target <= 100:
        raise WorkflowError("入户覆盖目标应为 1 到 100 之间的百分数")
    if not phases:
        raise WorkflowError("须设置各阶段截止日期")
    _check_phases(phases)
    with transaction.atomic():
        campaign = Campaign.objects.create(name=name[:100], region=region, year=year, target_groups=groups,
                                           coverage_target=coverage_target, source=source[:100],
                                           planned_key=planned_key,
                                           created_by=actor if getattr(actor, "pk", None) else None)
        rows = CampaignPhase.objects.bulk_create([
            CampaignPhase(campaign=campaign, kind=p.kind, label=p.label or KIND_LABELS[p.kind], opens_on=p.opens_on,
                          due_on=p.due_on, due_time=p.due_time) for p in phases])
        audit_record(actor=actor, action="campaign.create", object_type="campaign", object_key=str(campaign.pk),
                     after={"name": campaign.name, "region": region, "year": year, "target_groups": groups,
                            "coverage_target": coverage_target, "phases": [_phase_row(p) for p in rows]},
                     region_code=region.ljust(12, "0"))
    return campaign


def phase_set(*, actor, campaign: Campaign, kind: str, due_on: dt.date, due_time: dt.time | None = None,
              opens_on: dt.date | None = None, seen_version: int | None = None) -> CampaignPhase:
    """Set (or add) one phase's deadline and opening day."""
    _require_creator(actor, campaign.region)
    with transaction.atomic():
        current = Campaign.objects.select_for_update().get(pk=campaign.pk)
        if seen_version is not None and current.version != seen_version:
            raise WorkflowError("该集中排查已被他人修改, 请刷新后重试")
        existing = {p.kind: p for p in current.phases.all()}
        old = existing.get(kind)
        specs = [PhaseSpec(p.kind, p.due_on, p.due_time, p.opens_on) for k, p in existing.items() if k != kind]
        _check_phases([*specs, PhaseSpec(kind, due_on, due_time, opens_on)])
        phase = old or CampaignPhase(campaign=current, kind=kind, label=KIND_LABELS[kind])
        before = _phase_row(old) if old else None
        phase.due_on, phase.due_time, phase.opens_on = due_on, due_time, opens_on
        phase.save()
        current.version += 1
        current.save(update_fields=["version"])
        audit_record(actor=actor, action="campaign.phase_set", object_type="campaign", object_key=str(current.pk),
                     before=before, after=_phase_row(phase), region_code=current.region.ljust(12, "0"))
    return phase


# ---------------------------------------------------------------------------------------- coverage
def coverage(campaign: Campaign, *, prefix: str | None = None):
    """Home-visit coverage of the field phase (篇二 五(二): 对脱贫户、监测户…要做到100%入户): the target
    households are the 脱贫户 and the households monitored at the field deadline in the campaign's
    region (narrowed to `prefix`); a household counts as visited with a 入户 visit dated within the
    field phase. Returns (tables by village/township/county, the households not yet visited)."""
    from fangfan.registry.bulk import fetch_frame
    from fangfan.regions.scope import code_range_sql
    from fangfan.reports.data import Snapshot, monitored_expr
    from fangfan.reports.tables import ReportTable, levels_for, pct, region_codes as level_codes, rollup

    phases = list(campaign.phases.all())
    field = next((p for p in phases if p.kind == "field"), None)
    if field is None:
        return [], None
    since = opens_on(phases, "field") or dt.date(campaign.year, 1, 1)
    until = field.due_on
    area = prefix if prefix and prefix.startswith(campaign.region) else campaign.region
    snap = Snapshot(prefix=area, as_of=until)
    targets = snap.households.filter((pl.col("household_type") == "lifted") | monitored_expr(until))
    sql, params = code_range_sql("h.village_code", area)
    visited = fetch_frame(
        "SELECT DISTINCT v.household_id AS hid FROM workflows_visit v "
        "JOIN registry_household h ON h.id = v.household_id "
        "WHERE v.method = 'home' AND v.visited_on >= %s AND v.visited_on <= %s" + (f" AND {sql}" if sql else ""),
        [since, until, *params], {"hid": pl.Int64})
    targets = targets.with_columns(pl.col("hid").is_in(visited.get_column("hid").implode()).alias("visited"))
    names = snap.names()
    target_pct = campaign.coverage_target
    out = []
    for digits, level, label in reversed(levels_for(area)):
        frame = rollup(targets, [pl.len().alias("应入户户数"), pl.col("visited").sum().alias("已入户户数")], digits,
                       names, level_codes(snap, level) if level != "village" else None)
        frame = frame.with_columns(
            (pl.col("应入户户数") - pl.col("已入户户数")).alias("未入户户数"),
            pct(pl.col("已入户户数"), pl.col("应入户户数")).alias("入户覆盖率"),
            pl.when(pl.col("应入户户数") == 0).then(pl.lit("—"))
            .when(pl.col("已入户户数") * 100 >= pl.col("应入户户数") * target_pct).then(pl.lit("是"))
            .otherwise(pl.lit("否")).alias("达到目标"))
        out.append(ReportTable(f"coverage_{level}", f"入户覆盖情况(按{label})", frame,
                               note=f"现场排查期 {since:%Y-%m-%d} 至 {until:%Y-%m-%d}; 目标 {target_pct}%"))
    pending = targets.filter(~pl.col("visited")).sort("village_code", "household_number").select(
        pl.col("household_number").alias("户编号"), pl.col("village_code").alias("村代码"),
        pl.col("village_code").replace_strict(names, default="").alias("村名"),
        pl.when(pl.col("household_type") == "lifted").then(pl.lit("脱贫户")).otherwise(pl.lit("监测户")).alias("类别"))
    out.append(ReportTable("coverage_pending", "未入户的脱贫户和监测户", pending))
    return out, (since, until)


# ---------------------------------------------------------------------------------------- planning
def _month_day(year: int, text: str) -> dt.date:
    month, day = (int(x) for x in text.split("-"))
    return dt.date(year, month, day)


def calendar_phases(year: int, phases) -> list[PhaseSpec]:
    """PhaseSpecs from a profile's campaign.calendar (policy CampaignPhase: phase, label, due MM-DD, time HH:MM)."""
    return [PhaseSpec(p.phase, _month_day(year, p.due), dt.time.fromisoformat(p.time) if p.time else None,
                      None, p.label) for p in phases]


def sweep_phases(year: int, k: int, n: int) -> list[PhaseSpec]:
    """Sweep k of n a year (湖南 篇九: 每年不少于两次, no dates given): the year is split into n equal
    runs of months; the field phase is the run to four days before its end, entry closes on its last
    day at 18:00, correction and report are due 5 and 12 days later — the intervals of 篇二's calendar
    (fangfan default; the county changes them with phase_set)."""
    months = 12 // n
    first = dt.date(year, (k - 1) * months + 1, 1)
    last_month = k * months
    last = dt.date(year, last_month, month_calendar.monthrange(year, last_month)[1])
    return [PhaseSpec("field", last - dt.timedelta(days=4), None, first),
            PhaseSpec("entry", last, dt.time(18, 0)),
            PhaseSpec("correction", last + dt.timedelta(days=5)),
            PhaseSpec("report", last + dt.timedelta(days=12))]


@dataclass(frozen=True)
class PlannedCampaign:
    region: str
    key: str
    name: str
    source: str
    phases: list[PhaseSpec]


def planned(*, year: int, region: str = "", params=None) -> list[PlannedCampaign]:
    """The campaigns the profiles' calendars imply for a year: a profile with campaign.calendar (营口)
    gets one campaign on it; one with reviews.sweeps_per_year above 1 and no calendar (湖南: 2) gets
    that many sweeps. `region` narrows to the profiles inside it, or names the region to plan for."""
    if params is None:
        from fangfan.screening.parameters import current_parameters

        params = current_parameters()
    on = dt.date(year, 1, 1)
    wanted = _check_region(region) if region else ""
    prefixes = {p for name in ("campaign.calendar", "reviews.sweeps_per_year")
                for p in params._values.get(name, {}) if p}
    if wanted:
        prefixes = {p for p in prefixes if p.startswith(wanted)} or {wanted}
    names = _names(prefixes)
    out: list[PlannedCampaign] = []
    for prefix in sorted(prefixes):
        place = names.get(prefix, prefix)
        found = params.get("campaign.calendar", prefix, on)
        if found is not None and found.value:
            out.append(PlannedCampaign(prefix, "calendar", f"{place}{year}年防止返贫监测帮扶集中排查", found.source,
                                       calendar_phases(year, found.value)))
            continue
        sweeps = int(params.value("reviews.sweeps_per_year", prefix, on, 1))
        if sweeps > 1:
            if 12 % sweeps:
                raise WorkflowError(f"{place}: 每年排查次数 {sweeps} 不能整分12个月, 请逐次设置集中排查")
            source = params.get("reviews.sweeps_per_year", prefix, on).source
            out += [PlannedCampaign(prefix, f"sweep-{k}/{sweeps}", f"{place}{year}年第{k}次集中排查", source,
                                    sweep_phases(year, k, sweeps)) for k in range(1, sweeps + 1)]
    return out


def _names(prefixes) -> dict[str, str]:
    from fangfan.regions.models import Region

    found = dict(Region.objects.filter(code__in=[p.ljust(12, "0") for p in prefixes]).values_list("code", "name"))
    return {p: found.get(p.ljust(12, "0")) or p for p in prefixes}


def campaign_plan(*, actor, year: int, region: str = "") -> tuple[list[Campaign], list[PlannedCampaign]]:
    """Create the planned campaigns not created before; returns (created, already there)."""
    created, existing = [], []
    for plan in planned(year=year, region=region):
        if Campaign.objects.filter(region=plan.region, year=year, planned_key=plan.key).exists():
            existing.append(plan)
            continue
        try:
            created.append(campaign_create(actor=actor, name=plan.name, region=plan.region, year=year,
                                           phases=plan.phases, source=plan.source, planned_key=plan.key))
        except IntegrityError:  # planned at the same moment by someone else
            existing.append(plan)
    return created, existing


# ---------------------------------------------------------------------------------------- reads
def campaigns_for(actor):
    """The campaigns whose region overlaps the actor's household scope (a township sees its county's
    and its own); PermissionDenied for an account without one (县行业部门, administrator)."""
    from django.db.models import Q

    if actor is None:
        return Campaign.objects.all()
    from fangfan.regions.scope import prefix_for

    prefix = prefix_for(actor)
    if prefix is None:
        raise PermissionDenied("本账号无权查看农户数据")
    if not prefix:
        return Campaign.objects.all()
    above = [prefix[:n] for n in (2, 4, 6, 9, 12) if n <= len(prefix)]
    return Campaign.objects.filter(Q(region__in=above) | Q(region__startswith=prefix))


def summary(campaign: Campaign, actor=None, at: dt.datetime | None = None) -> dict:
    """What the list, the detail page and the API show of a campaign: its phases with their
    deadlines and state, and whether the entry window is closed to village and township accounts now."""
    at = at or now()
    phases = sorted(campaign.phases.all(), key=lambda p: (p.due_on, p.due_time or dt.time.max))
    window = closed_window(phases)
    rows = []
    for p in phases:
        start = opens_on(phases, p.kind)
        state = "已截止" if at >= closes_at(p) else (
            "进行中" if start is None or at.astimezone(tz()).date() >= start else "未开始")
        rows.append({"kind": p.kind, "label": p.label or KIND_LABELS[p.kind], "opens_on": start,
                     "due": due_text(p), "due_on": p.due_on, "due_time": p.due_time, "state": state})
    current = next((r["label"] for r in rows if r["state"] == "进行中"), "已结束" if rows and all(
        r["state"] == "已截止" for r in rows) else "未开始")
    return {
        "id": campaign.pk, "name": campaign.name, "region": campaign.region, "year": campaign.year,
        "target_groups": [{"code": g, "label": TARGET_GROUPS.get(g, g)} for g in campaign.target_groups],
        "coverage_target": campaign.coverage_target, "source": campaign.source, "version": campaign.version,
        "phases": rows, "current": current,
        "entry_closed": bool(window and window[0] <= at < window[1]),
        "closed_from": window[0] if window else None, "closed_until": window[1] if window else None,
    }
