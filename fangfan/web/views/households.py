"""农户档案: search and list, the household file (一户一档), its history and rule explanation
(read on demand, HTMX), and the logged full-ID view. Thin: selectors and services do the work."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from fangfan.accounts.models import Role
from fangfan.accounts.permissions import may_read_households, may_view_full_id, may_work_cases, role_of
from fangfan.common.text import mask_phone
from fangfan.registry import selectors
from fangfan.registry.models import Member
from fangfan.registry.search import MAX_HITS
from fangfan.registry.services import member_id_reveal
from fangfan.web.views.common import paginate

_CASE_OPENERS = (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR)


def _readable(request) -> None:
    # 县行业部门 and users without a region read no household file: it looks like "not found".
    if not may_read_households(request.user):
        raise Http404("无此户或不在管辖范围内")


@login_required
@require_GET
def household_list(request):
    if not may_read_households(request.user):
        raise PermissionDenied("本角色不能查阅农户档案")
    q = request.GET.get("q", "").strip()[:64]
    village = request.GET.get("village", "").strip()[:100]
    found = selectors.household_search(actor=request.user, q=q, village=village)
    context = {"q": q, "village": village, "result": found, "limit": MAX_HITS, **paginate(request, found.households)}
    page = context["page"]
    page.object_list = list(page.object_list)
    heads = selectors.head_names([h.pk for h in page.object_list])
    for h in page.object_list:
        h.head_name = heads.get(h.pk, "")
    return render(request, "web/households/list.html", context)


def _actions(user, household) -> list[tuple[str, str]]:
    """The case pages this user may start for the household (engineer D's pages)."""
    role = role_of(user)
    n = household.household_number
    actions = []
    if role in _CASE_OPENERS and not household.is_monitored:
        actions.append(("发起识别纳入", f"/cases/new/identification/{n}/"))
    if household.is_monitored and may_work_cases(user) and role in _CASE_OPENERS:
        actions.append(("提名风险消除", f"/cases/new/elimination/{n}/"))
    if household.is_monitored and role in _CASE_OPENERS:
        actions.append(("帮扶计划", f"/plans/{n}/"))
    if role in _CASE_OPENERS:
        actions.append(("回访", f"/visits/{n}/new/"))
    from fangfan.web.views.lowincome import household_actions

    return actions + household_actions(user, household)


@login_required
@require_GET
def household_detail(request, number: str):
    _readable(request)
    file = selectors.household_file(actor=request.user, household_number=number)
    if file is None:
        raise Http404("无此户或不在管辖范围内")
    file["actions"] = _actions(request.user, file["household"])
    file["may_view_full_id"] = may_view_full_id(request.user)
    # Supervisors (市, 省) read the file but do not call the household: the number is masked.
    phone = file["household"].phone
    file["phone"] = phone if file["may_view_full_id"] else mask_phone(phone)
    file["dept_warnings"] = _dept_warnings(request.user, file["household"])
    file["lowincome"] = _lowincome(file)
    return render(request, "web/households/file.html", file)


def _dept_warnings(user, household) -> list[dict]:
    """The 部门预警 section: the household's department warnings as this user may read them."""
    from fangfan.departments.selectors import household_warnings
    from fangfan.policy.warnings import KINDS

    return [{"warning": w, "kind": KINDS[w.kind].label if w.kind in KINDS else w.kind}
            for w in household_warnings(actor=user, household=household)]


def _lowincome(file: dict) -> dict:
    """The 低保/特困 section (fangfan.lowincome): class with its arithmetic, 应保未保, top-up."""
    from fangfan.lowincome.selectors import household_lowincome

    household = file["household"]
    return household_lowincome(household=household, members=list(household.members.all()), result=file["result"],
                               incomes=file["incomes"])


@login_required
@require_GET
def household_history(request, number: str):
    _readable(request)
    household = selectors.households(actor=request.user).filter(household_number=number).first()
    if household is None:
        raise Http404("无此户或不在管辖范围内")
    history = selectors.household_history(actor=request.user, household=household)
    return render(request, "web/households/_history.html", {"history": history, "household": household})


@login_required
@require_GET
def household_explain(request, number: str):
    _readable(request)
    found = selectors.household_explanation(actor=request.user, household_number=number, now=bool(request.GET.get("now")))
    if found is None:
        raise Http404("无此户或不在管辖范围内")
    found["rules"] = selectors.explanation_view(found["explained"])
    return render(request, "web/households/_explain.html", found)


@login_required
@require_POST
def member_full_id(request, member_id: int):
    _readable(request)
    reason = request.POST.get("reason", "")
    context = {"member_id": member_id, "reason": reason}
    try:
        context["full_id"] = member_id_reveal(actor=request.user, member_id=member_id, reason=reason)
    except Member.DoesNotExist:
        raise Http404("无此成员或不在管辖范围内")
    except ValueError as exc:
        context["error"] = str(exc)
    return render(request, "web/households/_full_id.html", context)


urlpatterns: list = [
    path("households/", household_list, name="household_list"),
    path("households/members/<int:member_id>/id/", member_full_id, name="member_full_id"),
    path("households/<str:number>/", household_detail, name="household_detail"),
    path("households/<str:number>/history/", household_history, name="household_history"),
    path("households/<str:number>/explain/", household_explain, name="household_explain"),
]
