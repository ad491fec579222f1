"""What every page shares: pagination, XLSX downloads, the region filter of a list."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Iterable, Sequence

from django.core.paginator import Paginator
from django.http import HttpResponse
from urllib.parse import quote

from fangfan.common.safe import XLSX_OPTIONS

PER_PAGE = 50


def paginate(request, items, per_page: int = PER_PAGE) -> dict:
    """{page, query_without_page} for web/_pager.html; a bad page number gives the last page."""
    paginator = Paginator(items, per_page)
    page = paginator.get_page(request.GET.get("page"))
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    return {"page": page, "query_without_page": f"{encoded}&" if encoded else ""}


@dataclass
class Sheet:
    """One sheet of a download: a merged title row, Chinese headers, the rows, an optional note
    under them (or alone, when there are no columns: a table not computed)."""

    title: str
    columns: Sequence[str]
    rows: Iterable[Sequence]
    name: str = ""
    note: str = ""


def xlsx_sheets(sheets: Iterable[Sheet]) -> bytes:
    """Sheets laid out as a county office files them: merged title row, headers, frozen panes."""
    import xlsxwriter

    buffer = io.BytesIO()
    # Text stays text: a name typed as =HYPERLINK(...) is no formula or link in Excel (common.safe).
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, **XLSX_OPTIONS})
    head = book.add_format({"bold": True, "align": "center", "valign": "vcenter", "font_size": 14})
    th = book.add_format({"bold": True, "bg_color": "#F0EEE8", "border": 1, "text_wrap": True})
    td = book.add_format({"border": 1})
    note = book.add_format({"italic": True, "font_color": "#666666"})
    for sheet in sheets:
        ws = book.add_worksheet(re.sub(r"[\[\]:*?/\\]", "", sheet.name or sheet.title)[:31] or "Sheet1")
        # At least two cells: xlsxwriter refuses to merge a single one (the title would be lost).
        ws.merge_range(0, 0, 0, max(len(sheet.columns) - 1, 1), sheet.title, head)
        ws.set_row(0, 26)
        if not sheet.columns:
            ws.write(1, 0, sheet.note, note)
            continue
        for c, name in enumerate(sheet.columns):
            ws.write(1, c, name, th)
            ws.set_column(c, c, max(10, min(40, len(str(name)) * 2 + 2)))
        r = 1
        for r, row in enumerate(sheet.rows, start=2):
            for c, value in enumerate(row):
                ws.write(r, c, "" if value is None else value, td)
        if sheet.note:
            ws.write(r + 2, 0, sheet.note, note)
        ws.freeze_panes(2, 0)
    book.close()
    return buffer.getvalue()


def xlsx_bytes(title: str, columns: Sequence[str], rows: Iterable[Sequence], sheet: str = "Sheet1") -> bytes:
    """One sheet (xlsx_sheets)."""
    return xlsx_sheets([Sheet(title, columns, rows, name=sheet)])


def xlsx_response(title: str, columns: Sequence[str], rows: Iterable[Sequence], filename: str) -> HttpResponse:
    response = HttpResponse(
        xlsx_bytes(title, columns, rows, sheet=title),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response
