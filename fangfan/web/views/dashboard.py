"""统计图表: charts (ECharts, static), each with its table and an XLSX download, with drill-down
from the actor's region to the household list. The numbers come from fangfan.registry.stats."""
from __future__ import annotations

import datetime as dt
from urllib.parse import quote, urlencode

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from fangfan.registry import stats
from fangfan.reports import charts as report_charts
from fangfan.web.views.common import Sheet, xlsx_sheets

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_as_of(value: str | None) -> tuple[dt.date, str]:
    """(date, error message): a bad date falls back to today with a message next to the field."""
    today = timezone.localdate()
    if not value:
        return today, ""
    try:
        return dt.date.fromisoformat(value.strip()), ""
    except ValueError:
        return today, "日期格式应为 年-月-日 (如 2026-06-30), 已按今天统计"


def _cell(value, unit: str):
    # A ratio chart's Decimal percentages read as the report prints them ("2.00%", "—").
    if not unit:
        return value
    return "—" if value is None else f"{value}{unit}"


def chart_table(chart: dict) -> tuple[list[str], list[list]]:
    """The chart's numbers as a table (header, rows incl. 合计): what the page, the XLSX and
    the tests read. A report chart (fangfan.reports.charts) adds its extra columns after the
    series and prints its percentages with their unit."""
    with_total = chart["total"] is not None
    unit, extras = chart.get("unit") or "", chart.get("extras") or []
    header = [chart["row_label"], *[s["label"] for s in chart["series"]], *(["合计"] if with_total else []), *extras]
    rows = [[r["label"], *[_cell(v, unit) for v in r["values"]], *([r["total"]] if with_total else []),
             *r.get("extras", [])] for r in chart["rows"]]
    rows.append(["合计", *[_cell(v, unit) for v in chart["totals"]], *([chart["total"]] if with_total else []),
                 *chart.get("extra_totals", [])])
    return header, rows


def workbook(data: dict, charts: list[dict]) -> bytes:
    """One sheet per chart, each with a merged title row (region, chart, as-of date) and Chinese
    headers (common.xlsx_sheets)."""
    place = data["place"]
    sheets = []
    for chart in charts:
        title = f"{place.name} {chart['title']} (截至{data['as_of']:%Y-%m-%d})"
        if not chart["available"]:
            sheets.append(Sheet(title, (), (), name=chart["title"], note=chart["note"]))
            continue
        header, rows = chart_table(chart)
        sheets.append(Sheet(title, header, rows, name=chart["title"], note=chart.get("note") or ""))
    return xlsx_sheets(sheets)


def _link(place_code: str, as_of: dt.date, **extra) -> str:
    params = {"region": place_code, "as_of": as_of.isoformat(), **extra}
    return "?" + urlencode({k: v for k, v in params.items() if v})


def _decorate(data: dict, as_of: dt.date) -> None:
    """Drill-down links on each row: a child region's own dashboard, and a village's household list."""
    place = data["place"]
    for chart in data["charts"]:
        chart["table_header"], table = chart_table(chart)
        for row, cells in zip(chart["rows"], table):
            row["cells"] = cells[1:]
        chart["total_cells"] = table[-1][1:]
        chart["xlsx_href"] = _link(place.code, as_of, format="xlsx", chart=chart["key"])
        chart["data_id"] = f"chart-data-{chart['key']}"
        for row in chart["rows"]:
            region = row["region"]
            row["href"] = _link(region, as_of) if region and region != place.code else ""
            row["households_href"] = (f"/households/?village={region}"
                                      if region and len(stats._normalise(region) or "") == 12 else "")
        chart["js"] = _chart_js(chart)


def _chart_js(chart: dict) -> dict:
    """What dashboard.js draws for one chart (passed through json_script: no inline script)."""
    return {"key": chart["key"], "title": chart["title"], "kind": chart["kind"], "series": chart["series"],
            "rows": [{"label": r["label"], "values": r["values"], "href": r["href"]} for r in chart["rows"]],
            "totals": chart["totals"], "unit": chart.get("unit") or "", "line": chart.get("line")}


# Charts the page loads after the rest (htmx): overdue work runs the workflow selectors, seconds
# for a county of 100k households; the other charts are a few GROUP BY queries.
LAZY = ("overdue",)
LAZY_TITLES = {"overdue": "逾期事项(按层级)"}
# The report charts (Q1-Q3) run whole reports (the data-quality one reads every member): computed
# only when their section scrolls into view (htmx `revealed`) or the page is asked for them
# (?charts=reports, the no-script way), never with the rest of the page.
REPORTS_PART = "reports"


def _report_data(request, region: str, as_of: dt.date, only=report_charts.KEYS) -> dict:
    charts = report_charts.report_charts(actor=request.user, region=region, as_of=as_of, only=only)
    return {"place": stats.place_for(actor=request.user, region=region), "charts": charts, "as_of": as_of}


@login_required
def dashboard_page(request):
    as_of, as_of_error = parse_as_of(request.GET.get("as_of"))
    region = request.GET.get("region", "")
    key = request.GET.get("chart", "") or request.GET.get("part", "")
    if key and key not in stats.CHARTS and key not in report_charts.KEYS and key != REPORTS_PART:
        raise Http404("没有这个图表")
    if key in report_charts.KEYS or key == REPORTS_PART:
        data = _report_data(request, region, as_of, only=(key,) if key in report_charts.KEYS else report_charts.KEYS)
        if request.GET.get("format") == "xlsx":
            response = HttpResponse(workbook(data, data["charts"]), content_type=XLSX_TYPE)
            title = data["charts"][0]["title"] if key in report_charts.KEYS else "报表图表"
            name = f"统计图表_{data['place'].name}_{title}_{as_of:%Y%m%d}.xlsx"
            response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
            return response
        _decorate(data, as_of)
        return render(request, "web/dashboard/_charts.html", {"charts": data["charts"]})
    if request.GET.get("format") == "xlsx":
        data = stats.dashboard(actor=request.user, region=region, as_of=as_of,
                               only=(key,) if key else stats.CHARTS)
        response = HttpResponse(workbook(data, data["charts"]), content_type=XLSX_TYPE)
        title = data["charts"][0]["title"] if key else "全部"
        name = f"统计图表_{data['place'].name}_{title}_{as_of:%Y%m%d}.xlsx"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
        return response
    if request.GET.get("part"):
        data = stats.dashboard(actor=request.user, region=region, as_of=as_of, only=(key,))
        _decorate(data, as_of)
        return render(request, "web/dashboard/_chart.html", {"chart": data["charts"][0]})
    data = stats.dashboard(actor=request.user, region=region, as_of=as_of,
                           only=tuple(k for k in stats.CHARTS if k not in LAZY))
    place = data["place"]
    _decorate(data, as_of)
    reports_inline = request.GET.get("charts") == REPORTS_PART
    shown_reports = _report_data(request, region, as_of) if reports_inline else {"charts": []}
    _decorate({**shown_reports, "place": place}, as_of)
    return render(request, "web/dashboard/index.html", {
        "report_charts": shown_reports["charts"],
        "reports_part": None if reports_inline else {
            "href": _link(place.code, as_of, part=REPORTS_PART), "page_href": _link(place.code, as_of, charts=REPORTS_PART),
            "xlsx_href": _link(place.code, as_of, format="xlsx", chart=REPORTS_PART)},
        **data, "as_of_value": request.GET.get("as_of", as_of.isoformat()) if as_of_error else as_of.isoformat(),
        "as_of_error": as_of_error,
        "lazy": [{"key": k, "title": LAZY_TITLES[k], "href": _link(place.code, as_of, part=k),
                  "xlsx_href": _link(place.code, as_of, format="xlsx", chart=k)} for k in LAZY],
        "xlsx_all_href": _link(place.code, as_of, format="xlsx"),
        "households_href": f"/households/?village={place.code}" if place.is_village else "",
    })


urlpatterns: list = [path("dashboard/", dashboard_page, name="dashboard")]
