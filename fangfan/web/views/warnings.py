"""部门预警 (workflows.md W6): the warning worklist of the village, township and county with the
home-check forms (转交村, 入户核查, 转介), the county's overview (跟踪盯办), the department's
feedback (结果反馈), referrals (转介) and the 县民政局's list. Thin: scope is
fangfan.departments.selectors', every write fangfan.departments.services'; a warning outside the
user's scope looks missing (404). ID numbers are masked everywhere here; household numbers,
names and links only for roles that read household files (never a 县行业部门)."""
from __future__ import annotations

import csv
import datetime as dt
import io
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.accounts.permissions import may_read_households, role_of
from fangfan.audit.services import audit_record
from fangfan.common import codes as C
from fangfan.common.ids import mask
from fangfan.common.safe import safe_row
from fangfan.departments import selectors
from fangfan.departments.forms import AnswerForm, PassForm, ReferForm, VerifyForm, kind_label, list_filters
from fangfan.departments.forms import evidence_values, region_names, warning_rows
from fangfan.departments.models import REFERRAL_LABELS, DeptWarning
from fangfan.departments.services import PASS_ROLES, VERIFY_ROLES, WarningRefused, referral_answer
from fangfan.departments.services import warning_pass, warning_refer, warning_verify
from fangfan.policy.warnings import KINDS
from fangfan.web.views.common import Sheet, paginate, xlsx_response, xlsx_sheets

# Who opens the worklist and a warning's page (the selectors scope them: a 县行业部门 its own
# department's warnings of its county, without household data).
LIST_ROLES = frozenset({*selectors.WARNING_READERS, Role.COUNTY_DEPT})
OVERVIEW_ROLES = frozenset({Role.COUNTY_RR, Role.COUNTY_CA, Role.CITY, Role.PROVINCE})
FEEDBACK_ROLES = frozenset({Role.COUNTY_DEPT, *OVERVIEW_ROLES})
REFERRAL_ROLES = frozenset({*selectors.WARNING_READERS, Role.COUNTY_DEPT})
CIVIL_ROLES = frozenset({Role.COUNTY_CA, Role.COUNTY_RR})
CASE_OPENERS = frozenset({Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR})
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _require(user, roles, what: str) -> None:
    if role_of(user) not in roles:
        raise PermissionDenied(f"本账号的角色不能查看{what}")


def _done(request, url: str):
    if request.headers.get("HX-Request"):
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# ---- the worklist ------------------------------------------------------------------------------

LIST_COLUMNS = (("id", "编号"), ("urgent", "紧急"), ("department", "部门"), ("kind_label", "预警类型"),
                ("detail", "预警内容"), ("village", "村"), ("household_number", "户编号"), ("member_name", "姓名"),
                ("id_number", "证件号码"), ("state_label", "状态"), ("raised_on", "交办日期"), ("deadline", "核查期限"),
                ("overdue", "逾期"), ("outcome_label", "核查结果"), ("verified_on", "核查日期"))


def _cell(value):
    if isinstance(value, bool):
        return "是" if value else ""
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


def _export_logged(request, what: str, rows: int, filters: dict) -> None:
    # Personal data leaves the system: who took which list, with which filters, how many rows.
    audit_record(actor=request.user, action="dept_warning.export", object_type="dept_warning", object_key=what,
                 after={"rows": rows, **{k: v for k, v in filters.items() if v}},
                 region_code=request.user.region_code)


@login_required
@require_GET
def warning_list(request):
    _require(request.user, LIST_ROLES, "部门预警")
    today = timezone.localdate()
    filters, error = list_filters(request.GET)
    qs = selectors.warning_list(actor=request.user, today=today, **filters)
    households = may_read_households(request.user)
    columns = [c for c in LIST_COLUMNS if households or c[0] not in ("household_number", "member_name")]
    if request.GET.get("format") == "xlsx":
        rows = warning_rows(qs, request.user, today)
        _export_logged(request, "list", len(rows), filters)
        return xlsx_response(f"部门预警 ({today:%Y-%m-%d})", [label for _, label in columns],
                             [[_cell(r[k]) for k, _ in columns] for r in rows], f"部门预警-{today:%Y%m%d}.xlsx")
    context = paginate(request, qs)
    context["rows"] = warning_rows(context["page"].object_list, request.user, today)
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "web/warnings/list.html", {
        **context, "filters": filters, "filter_error": error, "query": query.urlencode(), "today": today,
        "states": DeptWarning.State.choices, "outcomes": DeptWarning.Outcome.choices,
        "departments": DEPARTMENTS if role_of(request.user) != Role.COUNTY_DEPT else (),
        "kinds": [(k.code, k.label) for k in KINDS.values()], "households": households,
    })


# ---- one warning -------------------------------------------------------------------------------

def _warning(request, warning_id: int) -> DeptWarning:
    _require(request.user, LIST_ROLES, "部门预警")
    return selectors.warning_get(actor=request.user, warning_id=warning_id)


def _evidence(warning: DeptWarning) -> list[dict]:
    out = []
    for row in warning.evidence.select_related("batch").order_by("batch_id", "row_number"):
        out.append({"file": row.batch.file_name, "period": row.batch.period, "row": row.row_number,
                    "values": evidence_values(row)})
    return out


def _forms_for(user, warning: DeptWarning, bound: dict | None = None) -> dict:
    """The forms this user may use on the warning now (a bound one keeps its errors)."""
    bound = bound or {}
    role = role_of(user)
    out = {}
    if role in PASS_ROLES and warning.state == DeptWarning.State.TOWNSHIP:
        out["pass_form"] = bound.get("pass") or PassForm(initial={"seen_version": warning.version})
    if role in VERIFY_ROLES and warning.state != DeptWarning.State.VERIFIED:
        out["verify_form"] = bound.get("verify") or VerifyForm(initial={"seen_version": warning.version},
                                                               warning=warning)
    if role in VERIFY_ROLES:
        out["refer_form"] = bound.get("refer") or ReferForm()
    return out


def _detail_context(request, warning: DeptWarning, bound: dict | None = None) -> dict:
    user = request.user
    today = timezone.localdate()
    households = may_read_households(user)
    household = warning.household
    names = region_names([warning.village_code, warning.township_code])
    kind = KINDS.get(warning.kind)
    removal = (kind is not None and kind.action == "negative" and household is not None and household.is_monitored
               and role_of(user) in CASE_OPENERS and households)
    return {
        "warning": warning, "kind": kind, "kind_label": kind_label(warning.kind), "evidence": _evidence(warning),
        "households": households, "household": household if households else None,
        "member_name": warning.member.name if households and warning.member_id else "",
        "id_number": mask(warning.member.id_number) if warning.member_id else "",
        "village_name": names.get(warning.village_code, warning.village_code),
        "township_name": names.get(warning.township_code, warning.township_code),
        "risks": "、".join(C.RISK.label(r) for r in warning.risk_codes.split(";") if r in C.RISK.codes),
        "overdue": selectors.warning_is_overdue(warning, today), "today": today,
        "referrals": list(warning.referrals.all()), "referral_labels": REFERRAL_LABELS,
        "removal_href": f"/cases/new/removal/{household.household_number}/" if removal else "",
        "case_visible": households and warning.case_id is not None,
        **_forms_for(user, warning, bound),
    }


@login_required
@require_GET
def warning_detail(request, warning_id: int):
    warning = _warning(request, warning_id)
    return render(request, "web/warnings/detail.html", _detail_context(request, warning))


def _answer_form(request, warning: DeptWarning, key: str, form, template: str):
    """A form with errors: the form alone for HTMX, else the whole page with it."""
    if request.headers.get("HX-Request"):
        return render(request, template, {"warning": warning, f"{key}_form": form})
    return render(request, "web/warnings/detail.html", _detail_context(request, warning, {key: form}))


@login_required
@require_POST
def warning_pass_view(request, warning_id: int):
    warning = _warning(request, warning_id)
    if role_of(request.user) not in PASS_ROLES:
        raise PermissionDenied("只有乡镇和县乡村振兴局可以把预警转交村核查")
    form = PassForm(request.POST)
    if form.is_valid():
        try:
            warning_pass(actor=request.user, warning_id=warning.pk, note=form.cleaned_data["note"],
                         seen_version=form.cleaned_data["seen_version"])
        except WarningRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"预警 {warning.pk} 已转交村核查")
            return _done(request, reverse("warning_detail", args=[warning.pk]))
    return _answer_form(request, warning, "pass", form, "web/warnings/_pass_form.html")


@login_required
@require_POST
def warning_verify_view(request, warning_id: int):
    warning = _warning(request, warning_id)
    if role_of(request.user) not in VERIFY_ROLES:
        raise PermissionDenied("只有村、乡镇和县乡村振兴局可以录入入户核查结果")
    form = VerifyForm(request.POST, request.FILES, warning=warning)
    if form.is_valid():
        d = form.cleaned_data
        try:
            done = warning_verify(actor=request.user, warning_id=warning.pk, outcome=d["outcome"], note=d["note"],
                                  file=d.get("file") or None, confirm_status=form.confirm(),
                                  seen_version=d["seen_version"])
        except WarningRefused as exc:
            form.add_error(None, str(exc))
        else:
            text = f"预警 {warning.pk} 已核查: {done.get_outcome_display()}"
            if done.case_id:
                text += f", 已发起识别纳入案件 {done.case_id}"
            if done.status_applied:
                text += ", 人员状态已更新"
            messages.success(request, text)
            return _done(request, reverse("warning_detail", args=[warning.pk]))
    return _answer_form(request, warning, "verify", form, "web/warnings/_verify_form.html")


@login_required
@require_POST
def warning_refer_view(request, warning_id: int):
    warning = _warning(request, warning_id)
    if role_of(request.user) not in VERIFY_ROLES:
        raise PermissionDenied("只有村、乡镇和县乡村振兴局可以转介预警")
    form = ReferForm(request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            warning_refer(actor=request.user, warning_id=warning.pk, to_department=d["to_department"], reason=d["reason"])
        except WarningRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已转介{REFERRAL_LABELS[d['to_department']]}")
            return _done(request, reverse("warning_detail", args=[warning.pk]))
    return _answer_form(request, warning, "refer", form, "web/warnings/_refer_form.html")


# ---- the county's overview (跟踪盯办) ---------------------------------------------------------

def overview_charts(tallies: dict) -> list[dict]:
    """The overview as charts in the dashboard's shape (web/dashboard/_chart.html, dashboard.js)."""
    state_series = [{"key": "open", "label": "待核查(未逾期)"}, {"key": "red", "label": "逾期未核查"},
                    {"key": "verified", "label": "已核查"}]
    outcomes = DeptWarning.Outcome

    def state_values(t):
        return [t.open - t.overdue, t.overdue, t.total - t.open]

    specs = (
        ("department", "按部门", "部门", state_series, tallies["department"], state_values),
        ("outcome", "核查结果(按部门)", "部门", [{"key": o, "label": label} for o, label in outcomes.choices],
         tallies["department"], lambda t: [t.outcomes[o] for o in outcomes.values]),
        ("kind", "按预警类型", "预警类型", state_series, tallies["kind"], state_values),
        ("township", "按乡镇", "乡镇", state_series, tallies["township"], state_values),
        ("village", "逾期未核查的村", "村", [{"key": "red", "label": "逾期未核查"}], tallies["village"],
         lambda t: [t.overdue]),
    )
    charts = []
    for key, title, row_label, series, items, values in specs:
        rows = [{"label": t.label, "values": values(t), "href": "", "households_href": ""} for t in items]
        for r in rows:
            r["total"] = sum(r["values"])
        totals = [sum(r["values"][i] for r in rows) for i in range(len(series))]
        chart = {"key": f"warnings-{key}", "title": title, "kind": "bar", "series": series, "rows": rows,
                 "totals": totals, "total": sum(totals) if len(series) > 1 else None, "available": True,
                 "note": "", "row_label": row_label, "data_id": f"chart-data-warnings-{key}",
                 "xlsx_href": "?format=xlsx"}
        chart["table_header"] = [row_label, *[s["label"] for s in series], *(["合计"] if len(series) > 1 else [])]
        chart["js"] = {"key": chart["key"], "title": title, "kind": "bar", "series": series,
                       "rows": [{"label": r["label"], "values": r["values"], "href": ""} for r in rows],
                       "totals": totals}
        charts.append(chart)
    return charts


@login_required
@require_GET
def overview(request):
    _require(request.user, OVERVIEW_ROLES, "部门预警总览")
    from fangfan.web.views.dashboard import chart_table

    today = timezone.localdate()
    charts = overview_charts(selectors.warning_overview(actor=request.user, today=today))
    if request.GET.get("format") == "xlsx":
        sheets = []
        for chart in charts:
            header, rows = chart_table(chart)
            sheets.append(Sheet(f"部门预警{chart['title']} (截至{today:%Y-%m-%d})", header, rows, name=chart["title"]))
        response = HttpResponse(xlsx_sheets(sheets), content_type=XLSX)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'部门预警总览-{today:%Y%m%d}.xlsx')}"
        return response
    summary = charts[0]
    return render(request, "web/warnings/overview.html", {
        "charts": charts, "today": today, "total": summary["total"] or 0,
        "open": summary["totals"][0] + summary["totals"][1], "overdue": summary["totals"][1],
        "verified": summary["totals"][2],
    })


# ---- 结果反馈 (per department) -----------------------------------------------------------------

FEEDBACK_COLUMNS = (("id", "预警编号"), ("department", "部门"), ("kind", "预警类型"), ("id_number", "证件号码"),
                    ("village_code", "村代码"), ("evidence", "依据数据"), ("raised_on", "交办日期"),
                    ("deadline", "核查期限"), ("state", "状态"), ("outcome", "核查结果"),
                    ("verified_on", "核查日期"), ("note", "核查情况"))


@login_required
@require_GET
def feedback(request):
    _require(request.user, FEEDBACK_ROLES, "结果反馈")
    is_department = role_of(request.user) == Role.COUNTY_DEPT
    department = "" if is_department else request.GET.get("department", "")
    department = department if department in DEPARTMENTS else ""
    rows = selectors.feedback_rows(actor=request.user, department=department)
    shown = request.user.department if is_department else department
    today = timezone.localdate()
    body = [[_cell(r[k]) for k, _ in FEEDBACK_COLUMNS] for r in rows]
    headers = [label for _, label in FEEDBACK_COLUMNS]
    fmt = request.GET.get("format")
    name = f"{shown or '各部门'}预警核查结果反馈"
    if fmt in ("xlsx", "csv"):
        _export_logged(request, f"feedback.{fmt}", len(body), {"department": shown})
    if fmt == "xlsx":
        return xlsx_response(f"{name} ({today:%Y-%m-%d})", headers, body, f"{name}-{today:%Y%m%d}.xlsx")
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        # People open it in Excel: text that would run as a formula is quoted (common.safe).
        writer.writerow(safe_row(headers))
        writer.writerows(safe_row(r) for r in body)
        # UTF-8 with BOM: Excel on a county office's PC opens it without garbling the Chinese.
        response = HttpResponse(("\ufeff" + out.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(f'{name}-{today:%Y%m%d}.csv')}"
        return response
    context = paginate(request, rows)
    counts = {label: sum(1 for r in rows if r["outcome"] == label) for label in DeptWarning.Outcome.labels}
    return render(request, "web/warnings/feedback.html", {
        **context, "department": shown, "departments": () if is_department else DEPARTMENTS,
        "is_department": is_department, "total": len(rows), "counts": counts,
        "open": sum(1 for r in rows if not r["outcome"]),
    })


# ---- 转介 ----------------------------------------------------------------------------------

def _referral_context(request, bound: dict | None = None) -> dict:
    user = request.user
    open_only = request.GET.get("open") == "1"
    qs = selectors.referral_list(actor=user, open_only=open_only).select_related("warning__member")
    context = paginate(request, qs)
    items = list(context["page"].object_list)
    visible = set(selectors.warnings_visible(actor=user).filter(pk__in=[r.warning_id for r in items])
                  .values_list("pk", flat=True))
    households = may_read_households(user)
    names = region_names(r.warning.village_code for r in items)
    bound = bound or {}
    for r in items:
        w = r.warning
        r.warning_visible = w.pk in visible
        r.village_name = names.get(w.village_code, w.village_code)
        r.label = REFERRAL_LABELS.get(r.to_department, r.to_department)
        r.household_number = w.household.household_number if households and w.household_id else ""
        r.member_name = w.member.name if households and w.member_id else ""
        r.id_number = mask(w.member.id_number) if w.member_id else ""
        r.may_answer = r.answered_on is None and selectors.may_answer_referral(user, r)
        if r.may_answer:
            r.form = bound.get(r.pk) or AnswerForm(prefix=f"r{r.pk}")
    context["items"] = items
    context["open_only"] = open_only
    return context


@login_required
@require_GET
def referral_list(request):
    _require(request.user, REFERRAL_ROLES, "转介事项")
    return render(request, "web/warnings/referrals.html", _referral_context(request))


@login_required
@require_POST
def referral_answer_view(request, referral_id: int):
    _require(request.user, REFERRAL_ROLES, "转介事项")
    referral = selectors.referral_list(actor=request.user).filter(pk=referral_id).first()
    if referral is None:
        raise Http404("转介事项不存在或不在本账号的范围内")
    if not selectors.may_answer_referral(request.user, referral):
        raise PermissionDenied("该转介事项不由本账号答复")
    form = AnswerForm(request.POST, prefix=f"r{referral.pk}")
    if form.is_valid():
        try:
            referral_answer(actor=request.user, referral_id=referral.pk, answer=form.cleaned_data["answer"])
        except WarningRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"转介事项 {referral.pk} 已答复")
            return _done(request, reverse("referral_list"))
    if request.headers.get("HX-Request"):
        referral.form = form
        return render(request, "web/warnings/_answer_form.html", {"r": referral})
    return render(request, "web/warnings/referrals.html", _referral_context(request, {referral.pk: form}))


# ---- 县民政局: suspected 低保/特困 and 低保退出 --------------------------------------------------

@login_required
@require_GET
def civil_affairs(request):
    _require(request.user, CIVIL_ROLES, "低保特困移交名单")
    today = timezone.localdate()
    qs = selectors.civil_affairs_list(actor=request.user).order_by("-raised_on", "-id")
    columns = [c for c in LIST_COLUMNS if c[0] not in ("urgent",)]
    if request.GET.get("format") == "xlsx":
        rows = warning_rows(qs, request.user, today)
        _export_logged(request, "civil_affairs", len(rows), {})
        return xlsx_response(f"疑似低保特困及低保退出 ({today:%Y-%m-%d})", [label for _, label in columns],
                             [[_cell(r[k]) for k, _ in columns] for r in rows], f"低保特困移交-{today:%Y%m%d}.xlsx")
    context = paginate(request, qs)
    context["rows"] = warning_rows(context["page"].object_list, request.user, today)
    dibao = {w.pk: w.dibao_suspected for w in context["page"].object_list}
    for r in context["rows"]:
        r["why"] = "疑似低保/特困(已转介民政)" if dibao.get(r["id"]) else "退出低保(黄色关注)"
    return render(request, "web/warnings/civil_affairs.html", {**context, "households": may_read_households(request.user)})


urlpatterns = [
    path("warnings/", warning_list, name="warning_list"),
    path("warnings/overview/", overview, name="warning_overview"),
    path("warnings/feedback/", feedback, name="warning_feedback"),
    path("warnings/civil-affairs/", civil_affairs, name="warning_civil_affairs"),
    path("warnings/<int:warning_id>/", warning_detail, name="warning_detail"),
    path("warnings/<int:warning_id>/pass/", warning_pass_view, name="warning_pass"),
    path("warnings/<int:warning_id>/verify/", warning_verify_view, name="warning_verify"),
    path("warnings/<int:warning_id>/refer/", warning_refer_view, name="warning_refer"),
    path("referrals/", referral_list, name="referral_list"),
    path("referrals/<int:referral_id>/answer/", referral_answer_view, name="referral_answer"),
]
