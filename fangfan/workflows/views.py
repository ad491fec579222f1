"""Thin views over selectors: the printable public notice list of a village."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from fangfan.audit.services import audit_record
from fangfan.common.dates import DateError, parse_date
from fangfan.regions.models import Region
from fangfan.regions.scope import in_scope
from fangfan.workflows import notices, selectors


@login_required
def notice_list(request, village_code: str):
    if not in_scope(request.user, village_code):
        raise Http404("不在本账号的管辖范围内")
    try:
        on = parse_date(request.GET["on"]) if request.GET.get("on") else timezone.localdate()
    except DateError as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain; charset=utf-8")
    region = Region.objects.filter(code=village_code).first()
    rows = notices.notice_rows(selectors.notices_running(actor=request.user, village_code=village_code, on=on))
    title = "防止返贫监测对象公示名单"
    if request.GET.get("format") == "xlsx":
        audit_record(actor=request.user, action="notice.export", object_type="notice_list", object_key=village_code,
                     region_code=village_code, after={"on": on.isoformat(), "rows": len(rows)})
        response = HttpResponse(
            notices.notice_xlsx(rows, f"{title} {region.name if region else village_code} {on:%Y-%m-%d}"),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="notice-{village_code}-{on:%Y%m%d}.xlsx"'
        return response
    return render(request, "workflows/notice_list.html", {
        "title": title, "rows": rows, "on": on, "village_code": village_code,
        "village_name": region.name if region else "",
    })
