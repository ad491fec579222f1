"""What every page shares: pagination, XLSX downloads, the region filter of a list."""
from __future__ import annotations

import io
import re
from typing import Iterable, Sequence

from django.core.paginator import Paginator
from django.http import HttpResponse
from urllib.parse import quote

PER_PAGE = 50


def paginate(request, items, per_page: int = PER_PAGE) -> dict:
    """{page, query_without_page} for web/_pager.html; a bad page number gives the last page."""
    paginator = Paginator(items, per_page)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    return {"page": page, "query_without_page": f"{encoded}&" if encoded else ""}


def xlsx_bytes(title: str, columns: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    """A sheet with a merged title row and Chinese headers, as a county office files it."""
    import xlsxwriter

    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    ws = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", "", sheet)[:31] or "Sheet1")
    head = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "font_size": 14})
    th = book.add_format({"bold": True, "bg_color": "#F0EEE8", "border": 1, "text_wrap": True})
    td = book.add_format({"border": 1})
    ws.merge_range(0, 0, 0, max(len(columns) - 1, 0), title, head)
    ws.set_row(0, 26)
    for c, name in enumerate(columns):
        ws.write(1, c, name, th)
        ws.set_column(c, c, max(10, min(40, len(str(name)) * 2 + 2)))
    r = 1
    for r, row in enumerate(rows, start=2):
        for c, value in enumerate(row):
            ws.write(r, c, "" if value is None else value, td)
    ws.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()


def xlsx_response(title: str, columns: Sequence[str], rows: Iterable[Sequence], filename: str) -> HttpResponse:
    response = HttpResponse(
        xlsx_bytes(title, columns, rows, sheet=title),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
