"""A report as XLSX (one sheet per table: merged title row naming place, report and as-of date,
Chinese headers, frozen panes; the shared writer of fangfan.web.views.common with XLSX_OPTIONS,
so text stays text) or as CSV (UTF-8 with BOM for Excel; every text cell through safe_cell)."""
from __future__ import annotations

import csv
import io

from fangfan.common.safe import safe_row
from fangfan.reports.tables import Report


def _title(report: Report, table) -> str:
    return f"{report.place_name} {report.title} — {table.title}(截至{report.as_of:%Y-%m-%d})"


def xlsx(report: Report) -> bytes:
    from fangfan.web.views.common import Sheet, xlsx_sheets

    sheets = []
    for table in report.tables:
        note = "; ".join(p for p in (table.note, report.basis) if p)
        sheets.append(Sheet(_title(report, table), table.columns, table.rows(), name=table.title[:31], note=note))
    return xlsx_sheets(sheets)


def csv_text(report: Report, table_key: str | None = None) -> str:
    """One table (`table_key`) as a plain CSV; otherwise every table, each under its title line."""
    out = io.StringIO()
    writer = csv.writer(out)
    tables = [report.table(table_key)] if table_key else report.tables
    for i, table in enumerate(tables):
        if not table_key:
            if i:
                writer.writerow([])
            writer.writerow(safe_row([_title(report, table)]))
        writer.writerow(safe_row(table.columns))
        for row in table.rows():
            writer.writerow(safe_row(["" if v is None else v for v in row]))
    return out.getvalue()


def csv_bytes(report: Report, table_key: str | None = None) -> bytes:
    return ("\ufeff" + csv_text(report, table_key)).encode("utf-8")


def file_name(report: Report, extension: str) -> str:
    return f"{report.title}_{report.place_name}_{report.as_of:%Y%m%d}.{extension}"
