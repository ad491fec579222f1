"""统计图表: exact counts in the tables, drill-down, scope, XLSX, static ECharts and the API."""
from __future__ import annotations

import datetime as dt
import io
import re
from html.parser import HTMLParser

import pytest

from fangfan.accounts.services import api_token_create
from fangfan.registry import stats
from fangfan.screening.models import ParameterVersionSet, ScreeningResult, ScreeningRun
from fangfan.workflows import identification as W1
from fangfan.workflows import selectors as wf
from tests.factories import HouseholdFactory, MemberFactory, UserFactory, ensure_region

pytestmark = pytest.mark.django_db

D = dt.date
AS_OF = D(2026, 7, 1)
COUNTY = "341225000000"
TOWN_A, TOWN_B = "341225103000", "341225104000"
V1, V2, V3 = "341225103208", "341225103209", "341225104201"



def user(role: str, region: str):
    return UserFactory(username=f"{role}-{region}", role=role, region_code=region)


def hh(number, village, **kw):
    h = HouseholdFactory(household_number=number, village=ensure_region(village), **kw)
    MemberFactory(household=h, relation="head")
    return h


def result(h, on, color="", cls=""):
    params, _ = ParameterVersionSet.objects.get_or_create(digest="t", defaults={"versions": {}})
    run = ScreeningRun.objects.create(actor_name="test", as_of=on)
    return ScreeningResult.objects.create(household=h, as_of=on, household_size=1, parameters=params, run=run,
                                          warning_color=color, low_income_class=cls)


@pytest.fixture
def county():
    """Two townships, three villages; as of 2026-07-01 four households are monitored."""
    ensure_region(COUNTY, "阜南县")
    ensure_region(TOWN_A, "王家坝镇")
    ensure_region(TOWN_B, "曹集镇")
    ensure_region(V1, "王店村")
    ensure_region(V2, "李岗村")
    ensure_region(V3, "曹集村")
    a = hh("A", V1, category="unstable_lifted", identified_on=D(2026, 3, 10), declared_risks="R01;R02")
    b = hh("B", V1, category="marginal", identified_on=D(2026, 5, 2), declared_risks="R01", household_type="ordinary")
    c = hh("C", V1)  # 脱贫户, not monitored
    hh("D", V1, category="sudden_hardship", identified_on=D(2026, 1, 10), eliminated_on=D(2026, 6, 15),
       declared_risks="R05")  # eliminated before the as-of date: not monitored any more
    hh("E", V2, category="marginal", identified_on=D(2026, 4, 1), declared_risks="R08", household_type="ordinary")
    f = hh("F", V3, category="unstable_lifted", identified_on=D(2026, 6, 20), declared_risks="R04")
    hh("G", V3, household_type="ordinary")
    hh("LATER", V3, category="marginal", identified_on=D(2026, 8, 1), household_type="ordinary")  # after as-of
    result(a, D(2026, 1, 1), "yellow", "dibao")  # superseded by the newer one below
    result(a, D(2026, 6, 1), "red", "dibao_marginal")
    result(b, D(2026, 6, 1), "orange", "dibao_eligible")
    result(b, D(2026, 8, 1), "", "")  # after the as-of date: not used
    result(c, D(2026, 6, 1), "yellow", "")
    result(f, D(2026, 6, 1), "red", "tekun")
    return {"a": a, "b": b, "c": c, "f": f}


class _Tables(HTMLParser):
    """{data-table key: [[cell text, ...], ...]} of a page (header, body and total rows)."""

    def __init__(self):
        super().__init__()
        self.tables, self._key, self._row, self._cell = {}, None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table" and "data-table" in attrs:
            self._key = attrs["data-table"]
            self.tables[self._key] = []
        elif self._key and tag == "tr":
            self._row = []
        elif self._key and tag in ("td", "th") and self._row is not None:
            self._cell = ""

    def handle_endtag(self, tag):
        if tag == "table":
            self._key = None
        elif self._key and tag in ("td", "th") and self._cell is not None:
            self._row.append(self._cell.strip())
            self._cell = None
        elif self._key and tag == "tr" and self._row is not None:
            self.tables[self._key].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell += data


def tables(response) -> dict:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def page(client, actor, **params):
    client.force_login(actor)
    return client.get("/dashboard/", {"as_of": AS_OF.isoformat(), **params})


def test_it_counts_monitored_households_by_category_and_risk_per_township_exactly(client, county):
    t = tables(page(client, user("county_rr", COUNTY)))
    assert t["category"] == [
        ["乡镇", "脱贫不稳定户", "边缘易致贫户", "突发严重困难户", "合计"],
        ["王家坝镇", "1", "2", "0", "3"],
        ["曹集镇", "1", "0", "0", "1"],
        ["合计", "2", "2", "0", "4"],
    ]
    # A household with two risks counts under each; only risks that occur get a column.
    assert t["risk"] == [
        ["乡镇", "因病", "因学", "因自然灾害", "缺劳动力"],
        ["王家坝镇", "2", "1", "0", "1"],
        ["曹集镇", "0", "0", "1", "0"],
        ["合计", "2", "1", "1", "1"],
    ]


def test_it_counts_identifications_and_eliminations_per_month(client, county):
    rows = {r[0]: r[1:] for r in tables(page(client, user("county_rr", COUNTY)))["monthly"]}
    assert list(rows)[1] == "2025-08" and list(rows)[-2] == "2026-07"  # twelve months up to as-of
    assert rows["2026-01"] == ["1", "0"] and rows["2026-03"] == ["1", "0"]
    assert rows["2026-06"] == ["1", "1"] and rows["2026-07"] == ["0", "0"]
    assert rows["合计"] == ["5", "1"]


def test_it_counts_low_income_classes_and_colours_from_the_latest_result_up_to_the_as_of_date(client, county):
    t = tables(page(client, user("county_rr", COUNTY)))
    assert t["warning"] == [
        ["乡镇", "红色预警", "橙色预警", "黄色预警", "合计"],
        ["王家坝镇", "1", "1", "1", "3"],
        ["曹集镇", "1", "0", "0", "1"],
        ["合计", "2", "1", "1", "4"],
    ]
    assert t["low_income"][1:] == [
        ["王家坝镇", "0", "0", "1", "1", "0", "2"],
        ["曹集镇", "1", "0", "0", "0", "0", "1"],
        ["合计", "1", "0", "1", "1", "0", "3"],
    ]


def test_it_drills_down_from_the_county_to_a_township_and_a_village_and_its_household_list(client, county):
    actor = user("county_rr", COUNTY)
    response = page(client, actor)
    link = f'href="?region={TOWN_A}&amp;as_of=2026-07-01"'
    assert link in response.content.decode()
    town = client.get("/dashboard/", {"region": TOWN_A, "as_of": "2026-07-01"})
    content = town.content.decode()
    assert "阜南县</a> › <span aria-current=\"page\">王家坝镇" in content
    assert tables(town)["category"][1:] == [["王店村 农户名单", "1", "1", "0", "2"],
                                            ["李岗村 农户名单", "0", "1", "0", "1"],
                                            ["合计", "1", "2", "0", "3"]]
    assert f'href="/households/?village={V1}"' in content
    village = client.get("/dashboard/", {"region": V1, "as_of": "2026-07-01"})
    assert village.status_code == 200
    assert f'href="/households/?village={V1}"' in village.content.decode()
    assert tables(village)["category"][-1] == ["合计", "1", "1", "0", "2"]


def test_it_shows_a_village_user_only_its_own_village(client, county):
    actor = user("village", V1)
    assert page(client, actor, region=V2).status_code == 404
    assert page(client, actor, region=TOWN_B).status_code == 404
    assert page(client, actor, region="abc").status_code == 404
    # Asking for the county clamps to the user's own village.
    clamped = page(client, actor, region=COUNTY)
    assert clamped.status_code == 200
    assert tables(clamped)["category"][-1] == ["合计", "1", "1", "0", "2"]
    assert "李岗村" not in clamped.content.decode()


@pytest.mark.parametrize("region", ["３４１２２５", "３４１２２５０００００００", "abc"])
def test_it_refuses_a_region_code_that_is_not_ascii_digits(client, county, region):
    # Full-width digits pass str.isdigit(); the dashboard answers them as it answers letters.
    from django.http import Http404

    actor = user("county_rr", COUNTY)
    with pytest.raises(Http404, match="区划代码格式不正确"):
        stats.place_for(actor=actor, region=region)
    assert page(client, actor, region=region).status_code == 404
    assert stats.place_for(actor=actor, region="341225").prefix == "341225"


def test_it_refuses_the_dashboard_to_a_county_department_user(client, county):
    assert page(client, user("county_dept", COUNTY)).status_code == 403


def test_it_shows_a_chinese_message_for_a_bad_date(client, county):
    client.force_login(user("county_rr", COUNTY))
    response = client.get("/dashboard/", {"as_of": "2026-13-45"})
    assert response.status_code == 200 and "日期格式应为" in response.content.decode()


def test_it_serves_echarts_from_static_files_and_has_no_inline_script_or_cdn(client, county):
    content = page(client, user("county_rr", COUNTY)).content.decode()
    assert "/static/web/vendor/echarts-5.6.0.min.js" in content and "/static/web/dashboard.js" in content
    scripts = re.findall(r"<script([^>]*)>", content)
    assert all("src=" in attrs or 'type="application/json"' in attrs for attrs in scripts)
    assert not re.search(r"<script[^>]+src=\"(https?:)?//", content)
    assert 'id="chart-data-category"' in content and 'type="application/json"' in content


def test_it_downloads_an_xlsx_with_the_same_numbers(client, county):
    import openpyxl

    actor = user("county_rr", COUNTY)
    shown = tables(page(client, actor))
    response = client.get("/dashboard/", {"as_of": "2026-07-01", "format": "xlsx"})
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert len(book.sheetnames) == 6
    sheet = book["监测对象户数(按类别)"]
    assert sheet["A1"].value == "阜南县 监测对象户数(按类别) (截至2026-07-01)"
    assert "A1:E1" in [str(r) for r in sheet.merged_cells.ranges]
    cells = [[str(v) for v in row] for row in sheet.iter_rows(min_row=2, max_row=5, values_only=True)]
    assert cells == shown["category"]
    one = client.get("/dashboard/", {"as_of": "2026-07-01", "format": "xlsx", "chart": "warning"})
    book = openpyxl.load_workbook(io.BytesIO(one.content))
    assert book.sheetnames == ["三色预警户数"]
    assert [c.value for c in book.active[5]] == ["合计", 2, 1, 1, 4]
    assert client.get("/dashboard/", {"format": "xlsx", "chart": "nope"}).status_code == 404


def test_it_counts_overdue_work_with_the_workflow_selectors(client, county):
    village = user("village", V1)
    W1.identification_open(actor=village, household=county["c"], channel="self_declared", on=D(2026, 6, 1))
    actor = user("county_rr", COUNTY)
    chart = stats.by_overdue(actor=actor, as_of=AS_OF)
    series = [s["key"] for s in chart["series"]]
    totals = dict(zip(series, chart["totals"]))
    assert totals["case_village"] == wf.overdue_counts(actor=actor, as_of=AS_OF)["village"] == 1
    assert totals["plan"] == len(wf.plans_overdue(actor=actor, as_of=AS_OF))
    assert totals["visit"] == len(wf.visits_overdue(actor=actor, as_of=AS_OF))
    rows = {r["label"]: dict(zip(series, r["values"])) for r in chart["rows"]}
    assert rows["王家坝镇"]["case_village"] == 1 and rows["曹集镇"]["case_village"] == 0
    # The page loads this section after the others (htmx), with the same numbers in its table.
    main = page(client, actor).content.decode()
    assert 'hx-get="?region=341225000000&amp;as_of=2026-07-01&amp;part=overdue"' in main
    part = tables(page(client, actor, region=COUNTY, part="overdue"))["overdue"]
    assert part[0][:2] == ["乡镇", "村级识别/比对超时"] and part[1][:2] == ["王家坝镇", "1"]
    assert part[-1] == ["合计", *map(str, chart["totals"]), str(chart["total"])]
    # Narrowed to the other township, the case is not counted.
    other = stats.by_overdue(actor=actor, region=TOWN_B, as_of=AS_OF)
    assert dict(zip([s["key"] for s in other["series"]], other["totals"]))["case_village"] == 0


def test_it_returns_the_same_numbers_from_the_api(client, county):
    actor = user("county_rr", COUNTY)
    shown = tables(page(client, actor))
    token = api_token_create(actor=actor, user=actor, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    body = client.get("/api/v1/dashboard/", {"as_of": "2026-07-01"}, **auth).json()
    assert body["region"]["name"] == "阜南县" and [c["name"] for c in body["children"]] == ["王家坝镇", "曹集镇"]
    charts = {c["key"]: c for c in body["charts"]}
    assert set(charts) == {"category", "risk", "monthly", "low_income", "warning", "overdue"}
    for key in ("category", "warning", "low_income"):
        api_rows = [[r["label"], *map(str, r["values"]), str(r["total"])] for r in charts[key]["rows"]]
        assert api_rows == shown[key][1:-1]
    assert charts["category"]["totals"] == [2, 2, 0] and charts["category"]["total"] == 4
    assert charts["category"]["rows"][0]["region"] == TOWN_A
    assert body["summary"] == {"households": 8, "monitored": 4, "lifted": 4, "monitoring_rate": 100.0}
    assert body["screening_dates"] == ["2026-06-01"]
    town = client.get("/api/v1/dashboard/", {"region": TOWN_A, "as_of": "2026-07-01"}, **auth).json()
    assert [b["name"] for b in town["breadcrumb"]] == ["阜南县", "王家坝镇"]


def test_it_answers_404_and_422_in_chinese_from_the_api(client, county):
    actor = user("village", V1)
    token = api_token_create(actor=actor, user=actor, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    response = client.get("/api/v1/dashboard/", {"region": V2}, **auth)
    assert response.status_code == 404 and "管辖范围" in response.json()["detail"]
    response = client.get("/api/v1/dashboard/", {"as_of": "someday"}, **auth)
    assert response.status_code == 422 and "日期" in response.json()["detail"]


def test_it_counts_overdue_work_on_a_province_dashboard_as_the_county_does(client, county):
    actor = user("province", "340000000000")
    response = page(client, actor)
    part = tables(page(client, actor, part="overdue"))["overdue"]
    county_chart = stats.by_overdue(actor=user("county_rr", COUNTY), as_of=AS_OF)
    assert part[-1] == ["合计", *map(str, county_chart["totals"]), str(county_chart["total"])]
    # The province sees its cities, with the same category totals as the county.
    assert tables(response)["category"][-1] == ["合计", "2", "2", "0", "4"]
    token = api_token_create(actor=actor, user=actor, name="test")
    body = client.get("/api/v1/dashboard/", {"as_of": "2026-07-01"}, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    overdue = next(c for c in body["charts"] if c["key"] == "overdue")
    assert overdue["available"] is True and overdue["totals"] == county_chart["totals"]
    assert [c["code"] for c in body["children"]] == ["341200000000"]


def test_it_loads_the_report_charts_only_when_their_section_is_revealed(client, county, monkeypatch):
    from fangfan.reports import charts as report_charts

    actor = user("county_rr", COUNTY)
    computed = []
    real = report_charts.report_charts
    monkeypatch.setattr(report_charts, "report_charts", lambda **kw: computed.append(kw) or real(**kw))
    main = page(client, actor).content.decode()
    assert computed == [] and 'data-table="quality_score"' not in main
    assert ('hx-get="?region=341225000000&amp;as_of=2026-07-01&amp;part=reports" hx-trigger="revealed"' in main)
    part = page(client, actor, part="reports")
    shown = tables(part)
    assert len(computed) == 1 and set(shown) == {"income_decline", "scale_ratio", "quality_score"}
    assert not re.search(r"<script(?![^>]*application/json)", part.content.decode())
    assert 'id="chart-data-scale_ratio"' in part.content.decode()
    # The tables are the reports' figures: 数据质量得分 by township, monitored persons by township.
    from fangfan.reports.selectors import build

    quality = build(name="data-quality", actor=actor, region=COUNTY, as_of=AS_OF)
    assert shown["quality_score"][0] == ["乡镇", "数据质量得分(无问题户占比)", "户数", "有问题户数", "问题数"]
    assert shown["quality_score"][1:-1] == [[name, score, str(n), str(bad), str(k)]
                                            for _, name, n, bad, k, score in quality.table("score_township").rows()]
    (_, _, n, bad, k, score), = quality.table("score_county").rows()
    assert shown["quality_score"][-1] == ["合计", score, str(n), str(bad), str(k)]
    # One person each. 王家坝镇: A, B, E monitored of A-E (D eliminated), both villages over the line;
    # 曹集镇: F of F, G, LATER (identified after the as-of date).
    assert shown["scale_ratio"][1:] == [["王家坝镇", "60.00%", "5", "3", "2"], ["曹集镇", "33.33%", "3", "1", "1"],
                                        ["合计", "50.00%", "8", "4", "3"]]
    assert shown["income_decline"][-1] == ["合计", "0", "0", "—", ""]
    # Without scripts: the whole page with the report charts in it, and each as XLSX.
    inline = tables(page(client, actor, charts="reports"))
    assert inline["scale_ratio"] == shown["scale_ratio"] and "category" in inline
    import openpyxl

    book = openpyxl.load_workbook(io.BytesIO(page(client, actor, format="xlsx", chart="scale_ratio").content))
    assert book.sheetnames == ["未消除风险监测人口占比(按乡镇)"]
    assert [c.value for c in book.active[3]] == ["王家坝镇", "60.00%", "5", "3", "2"]
