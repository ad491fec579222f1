"""Case pages (W1-W4): the case list, the case page with the steps this user may take, one
page per step (its form derived from the Transition), the openers, the assistance plan, the
contact cadre, visits and attachment downloads. Thin: every write goes through
fangfan.workflows.services, every read through a scoped selector; outside the user's region a
case or household looks missing (404)."""
from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.views.decorators.http import require_http_methods, require_POST

from fangfan.accounts.permissions import may_work_cases
from fangfan.common import codes as C
from fangfan.common.money import format_yuan
from fangfan.regions.codes import is_digits
from fangfan.registry import selectors as registry_selectors
from fangfan.registry.models import Measure, Member
from fangfan.web.views.common import paginate
from fangfan.workflows import assistance, elimination, engine, forms as F, identification, notices, results
from fangfan.workflows import selectors, services
from fangfan.workflows.attachments import attachment_get, attachment_path, attachments_of
from fangfan.workflows.errors import ConcurrentEditError, WorkflowError
from fangfan.workflows.households import split_codes
from fangfan.workflows.models import AssistancePlan, Case, Contact, Visit

# ---- helpers ---------------------------------------------------------------------------------


def _require_case_role(user) -> None:
    if not may_work_cases(user):
        raise PermissionDenied("本账号角色不办理案件")


def _household(request, number: str):
    _require_case_role(request.user)
    household = (registry_selectors.households(actor=request.user).select_related("village")
                 .filter(household_number=number).first())
    if household is None:
        raise Http404("无此户或不在本账号的管辖范围内")
    return household


def _case(request, case_id: int) -> Case:
    _require_case_role(request.user)
    case = selectors.cases(actor=request.user).select_related("household__village").filter(pk=case_id).first()
    if case is None:
        raise Http404("无此案件或不在本账号的管辖范围内")
    return case


def _head_name(household) -> str:
    head = household.members.filter(relation="head", status="normal").first()
    return head.name if head else ""


def _risk_labels(value) -> str:
    return "、".join(C.RISK.label(r) for r in split_codes(value) if r in C.RISK.codes)


def _household_summary(household) -> dict:
    return {
        "household": household,
        "head_name": _head_name(household),
        "category_label": C.CATEGORY.label(household.category) if household.category in C.CATEGORY.codes else "",
        "risk_labels": _risk_labels(household.declared_risks),
    }


def _done(request, url: str):
    """After a successful POST: a normal redirect, or HX-Redirect for an HTMX request."""
    if request.headers.get("HX-Request"):
        response = HttpResponse("")
        response["HX-Redirect"] = url
        return response
    return redirect(url)


# Rule result columns shown beside the home check (fen columns formatted in yuan).
RULE_COLUMNS = (
    ("below_line", "收入低于监测范围", "bool"),
    ("per_capita_income", "人均纯收入 (元)", "yuan"),
    ("income_line", "监测收入标准 (元)", "yuan"),
    ("candidate_category", "建议类别", "category"),
    ("detected_risks", "识别出的风险", "risks"),
    ("negative_list_hits", "命中负面清单", "text"),
    ("elimination", "风险消除判断", "elimination"),
    ("elimination_failed", "未满足的消除条件", "text"),
)
ELIMINATION_RESULT = {"eligible": "符合风险消除条件", "tracking": "跟踪关注 (帮扶时间不足)",
                      "not_eligible": "不符合风险消除条件", "": "—"}


def rule_rows(rr: dict) -> list[tuple[str, str]]:
    rows = []
    for key, label, kind in RULE_COLUMNS:
        if key not in rr:
            continue
        value = rr[key]
        if kind == "bool":
            text = "是" if value else "否"
        elif kind == "yuan":
            text = format_yuan(int(value)) if value is not None else "—"
        elif kind == "category":
            text = C.CATEGORY.label(value) if value in C.CATEGORY.codes else "—"
        elif kind == "risks":
            text = _risk_labels(value) or "—"
        elif kind == "elimination":
            text = ELIMINATION_RESULT.get(str(value or ""), str(value))
        else:
            text = str(value or "") or "—"
        rows.append((label, text))
    return rows


def _rule_result(case: Case, on) -> tuple[list, str]:
    """The rule result stored with the home check; before it, today's (marked as such)."""
    stored = (case.data.get("home_check") or {}).get("rule_result")
    if stored:
        return rule_rows(stored), "入户核实当日的规则结果"
    try:
        return rule_rows(results.rule_result(case.household, on)), "今日规则结果 (入户核实时将随记录保存)"
    except Exception:  # noqa: BLE001 - a household with incomplete data has no result yet; say so
        return [], "该户数据不全, 暂无规则结果"


# ---- case list -------------------------------------------------------------------------------

def _state_choices() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for wf in F.all_workflows():
        for code, label in wf.states.items():
            seen.setdefault(code, label)
    return list(seen.items())


@login_required
def case_list(request):
    _require_case_role(request.user)
    kind = request.GET.get("kind", "")
    state = request.GET.get("state", "")
    village = request.GET.get("village", "").strip()
    kind = kind if kind in Case.Kind.values else ""
    state = state if state in dict(_state_choices()) else ""
    village = village if is_digits(village) and len(village) <= 12 else ""
    qs = selectors.case_list(actor=request.user, kind=kind, state=state, region=village).select_related(
        "household__village").prefetch_related(
        Prefetch("household__members", queryset=Member.objects.filter(relation="head"), to_attr="heads"))
    ctx = paginate(request, qs)
    for case in ctx["page"].object_list:
        case.state_label = selectors.state_label(case)
        case.head_name = case.household.heads[0].name if case.household.heads else ""
    return render(request, "web/cases/list.html", {
        **ctx, "kinds": Case.Kind.choices, "states": _state_choices(), "kind": kind, "state": state,
        "village": village,
    })


# ---- case page -------------------------------------------------------------------------------

def _transitions(case: Case, user, on) -> tuple[list, list]:
    """(enabled, blocked) transitions for this user now; enabled ones carry their form."""
    enabled, blocked = [], []
    for t, reasons in engine.available(case, user, on):
        if reasons:
            blocked.append({"t": t, "reasons": reasons})
        else:
            enabled.append({"t": t, "form": F.transition_form(t, case, initial=F.step_initial(t, case))})
    return enabled, blocked


def _case_context(request, case: Case) -> dict:
    on = F.today()
    wf = engine.workflow_for(case.kind)
    events = list(case.events.all())
    attachment_ids = {int(a) for e in events for a in e.attachments if str(a).isdigit()}
    files = {a.pk: a for a in attachments_of(actor=request.user).filter(pk__in=attachment_ids)}
    for e in events:
        e.files = [files[int(a)] for a in e.attachments if str(a).isdigit() and int(a) in files]
        e.from_label = wf.state_label(e.from_state) if e.from_state else ""
        e.to_label = wf.state_label(e.to_state)
    case_notices = list(case.notices.all())
    for n in case_notices:
        n.last_day = notices.last_day(n)
        n.closable_from = notices.closable_from(n)
    enabled, blocked = _transitions(case, request.user, on)
    ctx = {
        "case": case, "wf": wf, "state_label": wf.state_label(case.state), "events": events,
        "notices": case_notices, "objections": list(case.objections.all()),
        "enabled": enabled, "blocked": blocked, "today": on,
        "attachments": attachments_of(actor=request.user).filter(case=case),
        **_household_summary(case.household),
    }
    from fangfan.lowincome.checkshare import case_links

    ctx["shared_checks"] = case_links(case, on)  # the other programme's cases of the household (issue 12)
    if case.kind == Case.Kind.IDENTIFICATION:
        ctx["deadline"] = identification.deadline_status(case, on)
        ctx["rule_rows"], ctx["rule_note"] = _rule_result(case, on)
        ctx["channel_label"] = identification.CHANNELS.get(case.channel, case.channel)
    if case.kind == Case.Kind.ELIMINATION:
        ctx["precheck"] = case.data.get("precheck") or {}
        ctx["precheck_label"] = ELIMINATION_RESULT.get(ctx["precheck"].get("result", ""), "")
    return ctx


@login_required
def case_detail(request, case_id: int):
    case = _case(request, case_id)
    template = "web/cases/_panel.html" if request.headers.get("HX-Request") else "web/cases/detail.html"
    return render(request, template, _case_context(request, case))


@login_required
@require_http_methods(["GET", "POST"])
def case_step(request, case_id: int, name: str):
    case = _case(request, case_id)
    wf = engine.workflow_for(case.kind)
    try:
        t = wf.transition(name)
    except WorkflowError:
        raise Http404(f"「{wf.label}」没有这一步") from None
    offered = {tr.name: reasons for tr, reasons in engine.available(case, request.user, F.today())}
    stale = None
    if name not in offered:
        seen = request.POST.get("seen_version", "") if request.method == "POST" else ""
        if not (seen.isdigit() and int(seen) != case.version):
            raise PermissionDenied(f"「{t.label}」不是本账号在当前状态下可办理的操作")
        # The page was read before someone else moved the case on: say so, not "no permission".
        stale = F.transition_form(t, case, data=request.POST, files=request.FILES)
        stale.errors.clear()
        stale.add_error(None, f"案件已被他人办理, 现为「{wf.state_label(case.state)}」, 请刷新后重试。")
    if stale is not None:
        form = stale
    elif request.method == "POST":
        form = F.transition_form(t, case, data=request.POST, files=request.FILES)
        if form.is_valid():
            try:
                services.case_step(
                    actor=request.user, case_id=case.pk, transition=name,
                    seen_version=form.cleaned_data["seen_version"], comment=form.cleaned_data["comment"],
                    data=form.payload(), files=form.cleaned_data["attachments"],
                )
            except ConcurrentEditError as exc:
                form.add_error(None, f"案件已被他人修改, 请刷新后重试。({exc})")
            except WorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"已办理「{t.label}」")
                return _done(request, reverse("case_detail", args=[case.pk]))
    else:
        form = F.transition_form(t, case, initial=F.step_initial(t, case))
    ctx = {"case": case, "t": t, "form": form, "reasons": offered.get(name, []),
           "state_label": wf.state_label(case.state), **_household_summary(case.household)}
    if case.kind == Case.Kind.IDENTIFICATION and name in ("home_check", "village_review"):
        ctx["rule_rows"], ctx["rule_note"] = _rule_result(case, F.today())
    template = "web/cases/_step_form.html" if request.headers.get("HX-Request") else "web/cases/step.html"
    return render(request, template, ctx, status=409 if stale is not None else 200)


# ---- openers ---------------------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def open_identification(request, number: str):
    household = _household(request, number)
    if request.method == "POST":
        form = F.IdentificationOpenForm(request.POST, request.FILES)
        if form.is_valid():
            d = form.cleaned_data
            consent = {"signer_name": d["signer_name"], "signed_on": d["signed_on"]} if d["signer_name"] else None
            try:
                case = services.case_open_identification(
                    actor=request.user, household=household, channel=d["channel"], on=F.today(),
                    reason=d["reason"], consent=consent, green_channel_risk=d["green_channel_risk"] or None,
                    files=d["attachments"],
                )
            except WorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, f"已发起识别纳入案件 {case.pk}")
                return _done(request, reverse("case_detail", args=[case.pk]))
    else:
        form = F.IdentificationOpenForm(initial={"channel": request.GET.get("channel", "")})
    return render(request, "web/cases/open.html", {
        "form": form, "title": "发起识别纳入", **_household_summary(household),
        "open_cases": household.cases.filter(closed_on__isnull=True),
    })


@login_required
@require_http_methods(["GET", "POST"])
def open_elimination(request, number: str):
    household = _household(request, number)
    form = F.EliminationProposeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.elimination_propose(actor=request.user, household=household, on=F.today(),
                                                reason=form.cleaned_data["reason"])
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            label = "跟踪关注" if case.state == "tracking" else "风险消除"
            messages.success(request, f"已提名{label}, 案件 {case.pk}")
            return _done(request, reverse("case_detail", args=[case.pk]))
    try:
        check = elimination.elimination_precheck(household, F.today())
    except WorkflowError as exc:
        check = {"result": "", "failed": [], "error": str(exc)}
    except Exception:  # noqa: BLE001 - incomplete household data: the pre-check cannot run
        check = {"result": "", "failed": [], "error": "该户数据不全, 无法进行风险消除预检"}
    return render(request, "web/cases/open_elimination.html", {
        "form": form, "check": check, "check_label": ELIMINATION_RESULT.get(check.get("result", ""), ""),
        "rule_rows": rule_rows(check.get("rule_result") or {}), **_household_summary(household),
    })


def _open_undo(request, number: str, kind: str, title: str):
    household = _household(request, number)
    form = F.ReasonForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            case = services.case_open_undo(actor=request.user, household=household, kind=kind, on=F.today(),
                                           reason=form.cleaned_data["reason"], files=form.cleaned_data["attachments"])
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已提交{title}申请, 案件 {case.pk}")
            return _done(request, reverse("case_detail", args=[case.pk]))
    return render(request, "web/cases/open.html", {"form": form, "title": f"申请{title}",
                                                   **_household_summary(household)})


@login_required
@require_http_methods(["GET", "POST"])
def open_rollback(request, number: str):
    return _open_undo(request, number, Case.Kind.ROLLBACK, "风险消除回退")


@login_required
@require_http_methods(["GET", "POST"])
def open_removal(request, number: str):
    return _open_undo(request, number, Case.Kind.REMOVAL, "监测对象清退")


# ---- W3: plan, measures, contact --------------------------------------------------------------

def _plan_context(request, household, form=None) -> dict:
    suggestions = assistance.suggest_measures(household)
    form = form or F.PlanForm(initial={"measures": [s["measure_code"] for s in suggestions],
                                       "started_on": F.today(), "status": "planned"})
    measures = list(household.measures.all().order_by("-started_on", "id"))
    for m in measures:
        m.status_form = F.MeasureStatusForm(initial={"status": m.status, "expected_status": m.status},
                                            prefix=f"m{m.pk}")
    return {
        "form": form, "suggestions": suggestions, "measures": measures,
        "plans": AssistancePlan.objects.filter(household=household).select_related("made_by"),
        "due_on": assistance.plan_due_on(household), "contact": assistance.contact_current(household),
        **_household_summary(household),
    }


@login_required
@require_http_methods(["GET", "POST"])
def plan_page(request, number: str):
    household = _household(request, number)
    form = None
    if request.method == "POST":
        form = F.PlanForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            try:
                services.plan_record(
                    actor=request.user, household=household, on=F.today(), note=d["note"],
                    measures=[{"measure_code": code, "started_on": d["started_on"], "status": d["status"]}
                              for code in d["measures"]],
                )
            except WorkflowError as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, "已保存帮扶计划")
                return _done(request, reverse("plan_page", args=[number]))
    return render(request, "web/cases/plan.html", _plan_context(request, household, form))


@login_required
@require_POST
def measure_status(request, number: str, measure_id: int):
    household = _household(request, number)
    measure = Measure.objects.filter(pk=measure_id, household=household).select_related("household").first()
    if measure is None:
        raise Http404("无此帮扶措施")
    form = F.MeasureStatusForm(request.POST, prefix=f"m{measure.pk}")
    if not form.is_valid():
        messages.error(request, F.error_text(form))
    else:
        try:
            services.measure_status_set(actor=request.user, measure=measure, status=form.cleaned_data["status"],
                                        comment=form.cleaned_data["comment"],
                                        expected_status=form.cleaned_data["expected_status"])
        except WorkflowError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"{C.MEASURE.label(measure.measure_code)}: 已改为「{C.MEASURE_STATUS.label(measure.status)}」")
    return _done(request, reverse("plan_page", args=[number]))


@login_required
@require_http_methods(["GET", "POST"])
def contact_page(request, number: str):
    household = _household(request, number)
    form = F.ContactForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            services.contact_assign(actor=request.user, household=household, cadre_name=d["cadre_name"],
                                    phone=d["phone"], unit=d["unit"], on=F.today())
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"已确定帮扶联系人 {d['cadre_name']}")
            return _done(request, reverse("contact_page", args=[number]))
    return render(request, "web/cases/contact.html", {
        "form": form, "contacts": Contact.objects.filter(household=household),
        "current": assistance.contact_current(household), **_household_summary(household),
    })


# ---- W4: visits ------------------------------------------------------------------------------

@login_required
def visit_list(request, number: str):
    household = _household(request, number)
    visits = list(Visit.objects.filter(household=household).select_related("raised_case"))
    for v in visits:
        v.income_text = format_yuan(v.net_income) if v.net_income is not None else ""
        v.risk_labels = _risk_labels(v.new_risks)
    try:
        from fangfan.workflows.visits import visit_due_on

        due = visit_due_on(household, F.today())
    except Exception:  # noqa: BLE001 - the schedule needs complete data; the list works without it
        due = None
    return render(request, "web/cases/visits.html", {"visits": visits, "due_on": due,
                                                     **_household_summary(household)})


@login_required
@require_http_methods(["GET", "POST"])
def visit_new(request, number: str):
    household = _household(request, number)
    form = F.VisitForm(request.POST or None, initial={"visited_on": F.today(), "method": "home"})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            visit = services.visit_record(
                actor=request.user, household=household, visited_on=d["visited_on"], method=d["method"],
                visitors=d["visitors"], findings=d["findings"], net_income=d["net_income"], new_risks=d["new_risks"],
            )
        except WorkflowError as exc:
            form.add_error(None, str(exc))
        else:
            text = "已保存回访记录"
            if visit.warning:
                text += f"。{visit.warning}"
            (messages.warning if visit.warning else messages.success)(request, text)
            if visit.raised_case_id:
                return _done(request, reverse("case_detail", args=[visit.raised_case_id]))
            return _done(request, reverse("visit_list", args=[number]))
    return render(request, "web/cases/visit_new.html", {"form": form, **_household_summary(household)})


# ---- attachments -----------------------------------------------------------------------------

@login_required
def attachment_download(request, attachment_id: int):
    attachment = attachment_get(actor=request.user, attachment_id=attachment_id)
    if attachment is None:
        raise Http404("无此附件或不在本账号的管辖范围内")
    file_path = attachment_path(attachment)
    if not file_path.exists():
        raise Http404("附件文件已丢失, 请联系管理员")
    response = FileResponse(file_path.open("rb"), as_attachment=True, filename=attachment.original_name,
                            content_type=attachment.content_type)
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("cases/", case_list, name="case_list"),
    path("cases/<int:case_id>/", case_detail, name="case_detail"),
    path("cases/<int:case_id>/do/<str:name>/", case_step, name="case_step"),
    path("cases/new/identification/<str:number>/", open_identification, name="case_open_identification"),
    path("cases/new/elimination/<str:number>/", open_elimination, name="case_open_elimination"),
    path("cases/new/rollback/<str:number>/", open_rollback, name="case_open_rollback"),
    path("cases/new/removal/<str:number>/", open_removal, name="case_open_removal"),
    path("plans/<str:number>/", plan_page, name="plan_page"),
    path("plans/<str:number>/measures/<int:measure_id>/status/", measure_status, name="measure_status"),
    path("contacts/<str:number>/", contact_page, name="contact_page"),
    path("visits/<str:number>/", visit_list, name="visit_list"),
    path("visits/<str:number>/new/", visit_new, name="visit_new"),
    path("attachments/<int:attachment_id>/", attachment_download, name="attachment_download"),
]
