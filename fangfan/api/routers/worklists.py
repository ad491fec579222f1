"""Worklists (待办) as JSON: the same selectors as the home page, the same scope."""
from __future__ import annotations

import datetime as dt

from django.core.paginator import Paginator
from django.http import Http404
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from fangfan.workflows import worklists
from fangfan.workflows.errors import WorkflowError

router = Router(tags=["worklists"])
PER_PAGE = 50


class SummaryItem(Schema):
    key: str
    title: str
    count: int
    detail: str
    warn: bool


class Summary(Schema):
    as_of: dt.date
    note: str
    lists: list[SummaryItem]


class Column(Schema):
    key: str
    label: str


class Page(Schema):
    key: str
    title: str
    as_of: dt.date
    columns: list[Column]
    count: int
    page: int
    pages: int
    rows: list[dict]


class Filters(Schema):
    township: str = Field("", max_length=12, description="乡镇代码 (9 位前缀或 12 位)")
    village: str = Field("", max_length=12, description="村代码 (12 位)")


class PageFilters(Filters):
    page: int = Field(1, ge=1, le=100000)


@router.get("/", response=Summary, summary="待办汇总: 每个列表的名称与条数")
def summary(request, filters: Query[Filters]):
    as_of = timezone.localdate()
    lists = worklists.worklist_summary(actor=request.auth, as_of=as_of, township=filters.township,
                                       village=filters.village)
    return {"as_of": as_of, "note": worklists.ROLE_NOTE.get(request.auth.role, ""), "lists": lists}


@router.get("/{key}", response=Page, summary="一个待办列表的一页 (每页 50 条)")
def rows(request, key: str, filters: Query[PageFilters]):
    try:
        wl = worklists.worklist_get(actor=request.auth, key=key)
    except WorkflowError:
        raise Http404(f"没有名为 {key} 的待办列表") from None
    as_of = timezone.localdate()
    items = wl.selector(actor=request.auth, as_of=as_of, township=filters.township, village=filters.village)
    paginator = Paginator(items, PER_PAGE)
    page = paginator.get_page(filters.page)
    return {
        "key": wl.key, "title": wl.title, "as_of": as_of,
        "columns": [{"key": k, "label": label} for k, label in wl.columns],
        "count": paginator.count, "page": page.number, "pages": paginator.num_pages,
        "rows": [{k: worklists.cell(v) for k, v in r.items()} for r in page.object_list],
    }
