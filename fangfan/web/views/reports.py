"""报表 (reports.md Q1-Q3, Q5): the list of reports and one report's tables for the actor's region,
each downloadable as XLSX (every table a sheet) or CSV (?format=csv, &table=KEY for one table).
The numbers come from fangfan.reports.selectors; the scope check is theirs."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_POST

from fangfan.audit.services import personal_data_export_record
from fangfan.regions.scope import code_range_q, prefix_for
from fangfan.reports import services
from fangfan.reports.models import Problem, SpotCheckItem
from fangfan.reports.quality import CHECKS
from fangfan.workflows.errors import WorkflowError

from fangfan.reports import export
from fangfan.reports.selectors import REPORTS, build, kind
from fangfan.web.views.dashboard import XLSX_TYPE, parse_as_of

SHOWN_ROWS = 200  # rows of a table shown on the page; the downloads hold every row


def _download(data: bytes, content_type: str, name: str) -> HttpResponse:
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


@login_required
def report_list(request):
    as_of, as_of_error = parse_as_of(request.GET.get("as_of"))
    region = request.GET.get("region", "")
    query = urlencode({k: v for k, v in (("region", region), ("as_of", as_of.isoformat())) if v})
    return render(request, "web/reports/index.html", {
        "reports": [{"name": r.name, "title": r.title, "source": r.source, "href": f"/reports/{r.name}/?{query}"}
                    for r in REPORTS.values()],
        "as_of_value": as_of.isoformat(), "as_of_error": as_of_error, "region": region,
    })


@login_required
def report_page(request, key: str):
    kind(key)  # unknown name → 404 before any work
    as_of, as_of_error = parse_as_of(request.GET.get("as_of"))
    region = request.GET.get("region", "")
    report = build(name=key, actor=request.user, region=region, as_of=as_of)
    fmt = request.GET.get("format", "")
    table = request.GET.get("table") or None
    if table and table not in [t.key for t in report.tables]:
        table = None
    if fmt in ("xlsx", "csv"):
        # Report lists name households and members: who took which, for the personal-data log.
        rows = sum(t.frame.height for t in report.tables if table in (None, t.key))
        with transaction.atomic():
            personal_data_export_record(actor=request.user, what=f"report:{key}", rows=rows, reason="",
                                        region_code=report.prefix,
                                        filters={"as_of": as_of.isoformat(), "format": fmt, "table": table})
    if fmt == "xlsx":
        return _download(export.xlsx(report), XLSX_TYPE, export.file_name(report, "xlsx"))
    if fmt == "csv":
        return _download(export.csv_bytes(report, table), "text/csv; charset=utf-8", export.file_name(report, "csv"))
    base = {"region": region, "as_of": as_of.isoformat()}
    tables = [{"key": t.key, "title": t.title, "note": t.note, "columns": t.columns,
               "rows": t.frame.head(SHOWN_ROWS).rows(), "total": t.frame.height,
               "csv_href": "?" + urlencode({**base, "format": "csv", "table": t.key})} for t in report.tables]
    return render(request, "web/reports/report.html", {
        "report": report, "tables": tables, "shown_rows": SHOWN_ROWS, "checks": CHECKS.values(),
        "open_problems": _open_problems(request.user) if key == "problem-ledger" else [],
        "pending_items": _pending_items(request.user) if key == "spot-check" else [],
        "as_of_value": as_of.isoformat(), "as_of_error": as_of_error, "region": region,
        "xlsx_href": "?" + urlencode({**base, "format": "xlsx"}), "csv_href": "?" + urlencode({**base, "format": "csv"}),
    })


def _scoped(model, actor, pk: int):
    """The object if it lies in the actor's household scope; 404 otherwise (as if it did not exist)."""
    prefix = prefix_for(actor)
    if prefix is None:
        raise PermissionDenied("本账号无权查看农户数据")
    found = model.objects.filter(code_range_q("village_code", prefix), pk=pk).first()
    if found is None:
        raise Http404("不存在或不在本账号的管辖范围内")
    return found


def _open_problems(actor, limit: int = SHOWN_ROWS):
    prefix = prefix_for(actor)
    return [] if prefix is None else list(
        Problem.objects.filter(code_range_q("village_code", prefix), status=Problem.Status.OPEN)[:limit])


def _pending_items(actor, limit: int = SHOWN_ROWS):
    prefix = prefix_for(actor)
    return [] if prefix is None else list(
        SpotCheckItem.objects.filter(code_range_q("village_code", prefix), result="")
        .select_related("household")[:limit])


def _date(value: str | None, field: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat((value or "").strip())
    except ValueError:
        raise WorkflowError(f"{field}应为日期 年-月-日 (如 2026-07-31)") from None


def _act(request, back: str, work) -> HttpResponse:
    try:
        done = work()
    except WorkflowError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, done)
    return redirect(back)


@login_required
@require_POST
def spot_check_draw(request):
    county = (request.POST.get("county") or prefix_for(request.user) or "")[:6]
    seed_text = (request.POST.get("seed") or "").strip()

    def work():
        if seed_text and not seed_text.isdigit():
            raise WorkflowError("随机种子应为非负整数(留空则随机生成)")
        check = services.spot_check_draw(actor=request.user, county=county, as_of=timezone.localdate(),
                                         seed=int(seed_text) if seed_text else None)
        return f"已抽取 {check.items.count()} 户(抽样框 {check.frame_households} 户, 随机种子 {check.seed})"
    return _act(request, "/reports/spot-check/", work)


@login_required
@require_POST
def spot_check_record(request, item_id: int):
    item = _scoped(SpotCheckItem, request.user, item_id)

    def work():
        deadline = _date(request.POST.get("deadline"), "整改期限") if request.POST.get("result") == "problem" else None
        services.spot_check_record(actor=request.user, item=item, result=request.POST.get("result", ""),
                                   note=request.POST.get("note", ""), on=timezone.localdate(),
                                   owner=request.POST.get("owner", ""), deadline=deadline)
        return f"已录入 {item.household.household_number} 的抽查结果"
    return _act(request, "/reports/spot-check/", work)


@login_required
@require_POST
def problem_new(request):
    village = (request.POST.get("village_code") or "").strip()

    def work():
        problem = services.problem_raise(
            actor=request.user, source=request.POST.get("source", "supervision"), village_code=village,
            description=request.POST.get("description", ""), owner=request.POST.get("owner", ""),
            deadline=_date(request.POST.get("deadline"), "整改期限"), on=timezone.localdate())
        return f"已登记问题 {problem.pk}"
    return _act(request, "/reports/problem-ledger/", work)


@login_required
@require_POST
def problem_close(request, problem_id: int):
    problem = _scoped(Problem, request.user, problem_id)

    def work():
        version = request.POST.get("seen_version", "")
        services.problem_close(actor=request.user, problem=problem, evidence=request.POST.get("evidence", ""),
                               on=timezone.localdate(), seen_version=int(version) if version.isdigit() else -1)
        return f"问题 {problem.pk} 已销号"
    return _act(request, "/reports/problem-ledger/", work)


@login_required
@require_POST
def problems_from_quality(request):
    def work():
        n = services.problems_from_quality(
            actor=request.user, region=request.POST.get("region", ""), as_of=timezone.localdate(),
            rules=request.POST.getlist("rules"), owner=request.POST.get("owner", ""),
            deadline=_date(request.POST.get("deadline"), "整改期限"))
        return f"已将 {n} 个数据质量问题列入问题台账"
    return _act(request, "/reports/problem-ledger/", work)


# ---- 集中排查 (W7) ------------------------------------------------------------------------------
def _campaign(actor, campaign_id: int):
    from fangfan.reports.campaigns import campaigns_for

    found = campaigns_for(actor).filter(pk=campaign_id).first()
    if found is None:
        raise Http404("不存在或不在本账号的管辖范围内")
    return found


def _phase_specs(post) -> list:
    """The phases of the create form: per kind a due date, optional time and opening day; a kind
    left without a date is not part of the campaign."""
    from fangfan.reports.campaigns import KIND_LABELS, PhaseSpec

    specs = []
    for kind, label in KIND_LABELS.items():
        due = (post.get(f"{kind}_due") or "").strip()
        if not due:
            continue
        specs.append(PhaseSpec(kind, _date(due, f"{label}截止日期"), _time(post.get(f"{kind}_time"), label),
                               _date(post.get(f"{kind}_opens"), f"{label}开始日期") if post.get(f"{kind}_opens") else None))
    return specs


def _time(value: str | None, label: str):
    import datetime as dt

    value = (value or "").strip()
    if not value:
        return None
    try:
        return dt.time.fromisoformat(value)
    except ValueError:
        raise WorkflowError(f"{label}截止时间应为 时:分 (如 18:00)") from None


@login_required
def campaign_list(request):
    from fangfan.reports import campaigns as C

    if request.method == "POST":
        def work():
            year = (request.POST.get("year") or "").strip()
            target = (request.POST.get("coverage_target") or "100").strip()
            if not year.isdigit() or not target.isdigit():
                raise WorkflowError("年度和入户覆盖目标应为整数")
            campaign = C.campaign_create(
                actor=request.user, name=request.POST.get("name", ""), region=request.POST.get("region", ""),
                year=int(year), phases=_phase_specs(request.POST), target_groups=request.POST.getlist("target_groups"),
                coverage_target=int(target))
            return f"已设置集中排查「{campaign.name}」"
        return _act(request, "/reports/campaigns/", work)
    rows = [C.summary(c, request.user) for c in C.campaigns_for(request.user).prefetch_related("phases")[:SHOWN_ROWS]]
    return render(request, "web/reports/campaigns.html", {
        "campaigns": rows, "may_create": getattr(request.user, "role", None) in C.CREATORS,
        "groups": C.TARGET_GROUPS.items(), "kinds": C.KIND_LABELS.items(),
        "region": prefix_for(request.user) or "", "year": timezone.localdate().year,
    })


@login_required
def campaign_detail(request, campaign_id: int):
    from fangfan.reports import campaigns as C

    campaign = _campaign(request.user, campaign_id)
    tables, period = C.coverage(campaign, prefix=prefix_for(request.user))
    return render(request, "web/reports/campaign.html", {
        "c": C.summary(campaign, request.user), "campaign": campaign, "period": period,
        "tables": [{"key": t.key, "title": t.title, "note": t.note, "columns": t.columns,
                    "rows": t.frame.head(SHOWN_ROWS).rows(), "total": t.frame.height} for t in tables],
        "shown_rows": SHOWN_ROWS, "may_edit": getattr(request.user, "role", None) in C.CREATORS,
        "kinds": C.KIND_LABELS.items(),
    })


@login_required
@require_POST
def campaign_phase(request, campaign_id: int):
    from fangfan.reports import campaigns as C

    campaign = _campaign(request.user, campaign_id)
    kind = request.POST.get("kind", "")

    def work():
        label = C.KIND_LABELS.get(kind, kind)
        version = request.POST.get("seen_version", "")
        C.phase_set(actor=request.user, campaign=campaign, kind=kind,
                    due_on=_date(request.POST.get("due_on"), f"{label}截止日期"),
                    due_time=_time(request.POST.get("due_time"), label),
                    opens_on=_date(request.POST.get("opens_on"), f"{label}开始日期")
                    if request.POST.get("opens_on") else None,
                    seen_version=int(version) if version.isdigit() else None)
        return f"已设置{label}"
    return _act(request, f"/reports/campaigns/{campaign.pk}/", work)


urlpatterns: list = [
    path("reports/", report_list, name="reports"),
    path("reports/campaigns/", campaign_list, name="campaigns"),
    path("reports/campaigns/<int:campaign_id>/", campaign_detail, name="campaign"),
    path("reports/campaigns/<int:campaign_id>/phase/", campaign_phase, name="campaign_phase"),
    path("reports/<str:key>/", report_page, name="report"),
    path("reports/spot-check/draw/", spot_check_draw, name="spot_check_draw"),
    path("reports/spot-check/items/<int:item_id>/", spot_check_record, name="spot_check_record"),
    path("reports/problems/new/", problem_new, name="problem_new"),
    path("reports/problems/from-quality/", problems_from_quality, name="problems_from_quality"),
    path("reports/problems/<int:problem_id>/close/", problem_close, name="problem_close"),
]
