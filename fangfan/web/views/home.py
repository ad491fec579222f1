"""The home page (待办): each of the user's worklists with its count, filtered by township and
village; each list on its own page, paginated, downloadable as XLSX. Thin: the rows come
from fangfan.workflows.worklists, the same selectors the API uses."""
from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from fangfan.audit.services import audit_record
from fangfan.regions.models import Region
from fangfan.regions.scope import code_range_q, region_prefix_for
from fangfan.web.views.common import paginate, xlsx_response
from fangfan.workflows import worklists
from fangfan.workflows.errors import WorkflowError

MAX_VILLAGE_OPTIONS = 2000  # a province has tens of thousands: past this, pick a township first


def _filters(request) -> dict:
    """The township / village filter and the options the user may pick (own region only)."""
    township = request.GET.get("township", "").strip()
    village = request.GET.get("village", "").strip()
    prefix = region_prefix_for(request.user)
    error = ""
    try:
        worklists.narrow_prefix(township, village)
    except WorkflowError as exc:
        error, township, village = str(exc), "", ""
    townships, villages = [], []
    if prefix is not None and len(prefix) < 12:
        scope = Region.objects.filter(code_range_q("code", prefix))
        if len(prefix) < 9:
            townships = list(scope.filter(level="township").values_list("code", "name"))
        within = scope.filter(level="village")
        if township:
            within = within.filter(code_range_q("code", township[:9]))
        villages = list(within.values_list("code", "name")[:MAX_VILLAGE_OPTIONS])
    return {"township": township, "village": village, "townships": townships, "villages": villages,
            "filter_error": error}


@login_required
def home(request):
    as_of = timezone.localdate()
    filters = _filters(request)
    summary = worklists.worklist_summary(
        actor=request.user, as_of=as_of, township=filters["township"], village=filters["village"]
    )
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "web/home.html", {
        "summary": summary, "as_of": as_of, "note": worklists.ROLE_NOTE.get(request.user.role, ""),
        "query": query.urlencode(), **filters,
    })


@login_required
def worklist(request, key: str):
    try:
        wl = worklists.worklist_get(actor=request.user, key=key)
    except WorkflowError:
        raise Http404("没有这个待办列表") from None
    as_of = timezone.localdate()
    filters = _filters(request)
    rows = wl.selector(actor=request.user, as_of=as_of, township=filters["township"], village=filters["village"])
    if request.GET.get("format") == "xlsx":
        return _download(request, wl, rows, as_of, filters)
    context = paginate(request, rows)
    table = [[(k, worklists.cell(r.get(k)), r) for k, _ in wl.columns] for r in context["page"].object_list]
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return render(request, "web/worklists/list.html", {
        "worklist": wl, "table": table, "as_of": as_of, "query": query.urlencode(),
        "open_case": key == "candidates" and request.user.role in ("village", "township"),
        **context, **filters,
    })


def _download(request, wl, rows, as_of, filters):
    body = [[worklists.cell(r.get(k)) for k, _ in wl.columns] for r in rows]
    if wl.personal:
        # Names of household heads leave the system: who took which list, and how many rows.
        audit_record(
            actor=request.user, action="worklist.export", object_type="worklist", object_key=wl.key,
            after={"rows": len(body), "as_of": as_of.isoformat(), "township": filters["township"],
                   "village": filters["village"]},
            region_code=filters["village"] or filters["township"] or request.user.region_code,
        )
    title = f"{wl.title} ({as_of:%Y-%m-%d})"
    return xlsx_response(title, [label for _, label in wl.columns], body, f"待办-{wl.title}-{as_of:%Y%m%d}.xlsx")


urlpatterns: list = [
    path("", home, name="home"),
    path("worklists/<str:key>/", worklist, name="worklist"),
]
