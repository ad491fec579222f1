"""The personal-data access log for the county (个人信息访问记录): every full ID view and every
export of personal data, with who, when, what and why. Thin: fangfan.audit.selectors reads."""
from __future__ import annotations

import datetime as dt

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.http import require_GET

from fangfan.audit.selectors import PERSONAL_DATA_ACTIONS, personal_data_log
from fangfan.web.views.common import paginate, xlsx_response

COLUMNS = ("时间", "操作人", "操作", "对象", "区划", "户编号", "行数/范围", "用途或理由")


def _day(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()) if text and text.strip() else None
    except ValueError:
        return None


def _row(event) -> list:
    after = event.after or {}
    scope = "; ".join(f"{k}={v}" for k, v in after.items() if k not in ("reason",))
    return [timezone.localtime(event.at).strftime("%Y-%m-%d %H:%M:%S"), event.actor_name,
            PERSONAL_DATA_ACTIONS.get(event.action, event.action), f"{event.object_type}:{event.object_key}",
            event.region_code, event.household_key, scope, event.comment]


@login_required
@require_GET
def personal_data(request):
    action = request.GET.get("action", "")
    action = action if action in PERSONAL_DATA_ACTIONS else ""
    who = request.GET.get("who", "").strip()[:150]
    since, until = _day(request.GET.get("since", "")), _day(request.GET.get("until", ""))
    qs = personal_data_log(actor=request.user, action=action, who=who, since=since, until=until)
    if request.GET.get("format") == "xlsx":
        return xlsx_response("个人信息访问记录", COLUMNS, (_row(e) for e in qs[:100_000]), "个人信息访问记录.xlsx")
    context = paginate(request, qs)
    return render(request, "web/audit/personal_data.html", {
        **context, "rows": [_row(e) for e in context["page"].object_list], "columns": COLUMNS,
        "actions": PERSONAL_DATA_ACTIONS, "action": action, "who": who, "since": since, "until": until,
    })


urlpatterns = [
    path("audit/personal-data/", personal_data, name="audit-personal-data"),
]
