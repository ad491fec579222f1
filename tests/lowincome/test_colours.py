"""The three-colour view (篇十四 (一)): a month's red/orange/yellow lists with each colour's reason,
the transitions between two months, month by month; scoped (县民政局, 县乡村振兴局, 乡镇 own area,
not villages); the page with drill-down and XLSX, and the API.

The world (安康 610902, L = 4830, orange ×1.5 → 7245), latest result of each month counts:
  C1 (乡镇 100)  Apr red (5000.00)                           May red (5000.00)       red → red
  C2 (乡镇 100)  Apr orange on 04-10, then none on 04-25     May orange (7000.00)    none → orange
  C3 (乡镇 100)  Apr yellow (monitored)                      May none                yellow → none
  C4 (乡镇 101)  Apr yellow (former 低保)                    May red (4830.00 = L)   yellow → red
  C5 (乡镇 101)  Apr none                                    May none                none → none
  C6 (乡镇 101)  no result                                   May yellow (former)     none → yellow
  C7 (乡镇 100)  Apr orange (6000.00)                        no result               orange → none
  X9 (another county) red both months: never shown."""
import datetime as dt
import io

import openpyxl
import pytest

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.lowincome import colours
from fangfan.lowincome.services import LowIncomeError
from fangfan.screening.models import ParameterVersionSet, ScreeningResult, ScreeningRun
from tests.factories import UserFactory
from tests.lowincome.factories import ANKANG, ANKANG_OTHER_TOWNSHIP, family, users

pytestmark = pytest.mark.django_db
D = dt.date
APR, MAY = D(2026, 4, 1), D(2026, 5, 1)
OUTSIDE_VILLAGE = "610921100201"  # 安康市汉阴县: same city, another county


def result(h, on, colour="", pcd=None, elimination=""):
    params, _ = ParameterVersionSet.objects.get_or_create(digest="colours", defaults={"versions": {}})
    run = ScreeningRun.objects.create(actor_name="test", as_of=on)
    return ScreeningResult.objects.create(household=h, as_of=on, household_size=1, parameters=params, run=run,
                                          warning_color=colour, per_capita_dibao_income=pcd, elimination=elimination)


@pytest.fixture
def world():
    def hh(number, village, head):
        return family(village, wage_yuan=6000, people=((head, D(1970, 1, 1)),), household_number=number)

    c1, c2, c3, c7 = (hh(n, ANKANG, head) for n, head in (("C1", "红一"), ("C2", "橙二"), ("C3", "黄三"), ("C7", "橙七")))
    c4, c5, c6 = (hh(n, ANKANG_OTHER_TOWNSHIP, head) for n, head in (("C4", "黄四"), ("C5", "无五"), ("C6", "黄六")))
    x9 = hh("X9", OUTSIDE_VILLAGE, "外县户")
    result(c1, D(2026, 4, 10), "red", 500_000)
    result(c1, D(2026, 5, 10), "red", 500_000)
    result(c2, D(2026, 4, 10), "orange", 600_000)
    result(c2, D(2026, 4, 25), "", 800_000)
    result(c2, D(2026, 5, 10), "orange", 700_000)
    result(c3, D(2026, 4, 10), "yellow", 900_000, elimination="not_eligible")
    result(c3, D(2026, 5, 10), "", 900_000)
    result(c4, D(2026, 4, 10), "yellow", 900_000)
    result(c4, D(2026, 5, 10), "red", 483_000)
    result(c5, D(2026, 4, 10), "", 900_000)
    result(c5, D(2026, 5, 10), "", 900_000)
    result(c6, D(2026, 5, 10), "yellow", 900_000)
    result(c7, D(2026, 4, 10), "orange", 600_000)
    for on in (D(2026, 4, 10), D(2026, 5, 10)):
        result(x9, on, "red", 500_000)
    people = users()
    people["township_b"] = UserFactory(username="t-b", role=Role.TOWNSHIP, region_code=ANKANG_OTHER_TOWNSHIP[:9] + "000")
    people["dept"] = UserFactory(username="d-ak", role=Role.COUNTY_DEPT, region_code=ANKANG[:6] + "000000",
                                 department="医保")
    return people


def _list(actor, month=MAY, **kw):
    return [(r["number"], r["colour"], r["reason"]) for r in colours.colour_lists(actor=actor, month=month, **kw)["rows"]]


def test_it_lists_each_colour_of_the_month_with_its_reason(world):
    got = colours.colour_lists(actor=world["civil"], month=MAY)
    assert got["counts"] == {"red": 2, "orange": 1, "yellow": 1} and got["screened"] == 6
    assert [(r["number"], r["colour"], r["reason"], r["head"], r["pcd_yuan"]) for r in got["rows"]] == [
        ("C1", "red", "突发严重困难 (M2), 且低保口径人均收入 5000.00 元 ≥ 低保标准 4830.00 元 (尚未达到低保条件)", "红一", "5000.00"),
        ("C4", "red", "突发严重困难 (M2), 且低保口径人均收入 4830.00 元 ≥ 低保标准 4830.00 元 (尚未达到低保条件)", "黄四", "4830.00"),
        ("C2", "orange", "低保标准 4830.00 元 ≤ 低保口径人均收入 7000.00 元 < 1.5 × 低保标准 = 7245.00 元", "橙二", "7000.00"),
        ("C6", "yellow", "曾享受低保、特困 (已退出)", "黄六", "9000.00"),
    ]


def test_it_takes_each_households_latest_result_of_the_month(world):
    # C2 was orange on 04-10 but without colour on 04-25: April lists C7 as the only orange.
    assert _list(world["civil"], APR, colour="orange") == [
        ("C7", "orange", "低保标准 4830.00 元 ≤ 低保口径人均收入 6000.00 元 < 1.5 × 低保标准 = 7245.00 元")]
    assert _list(world["civil"], APR, colour="yellow") == [("C3", "yellow", "监测对象 (风险未消除)"),
                                                           ("C4", "yellow", "曾享受低保、特困 (已退出)")]


def test_it_counts_the_transitions_between_two_months_with_the_households_of_each_cell(world):
    t = colours.colour_transitions(actor=world["civil"], first=APR, second=MAY)
    # rows: April red, orange, yellow, none; columns: May red, orange, yellow, none
    assert t["matrix"] == [[1, 0, 0, 0],
                           [0, 0, 0, 1],
                           [1, 0, 0, 1],
                           [0, 1, 1, 1]]
    listed = {(c["from"], c["to"]): c["households"] for c in t["cells"] if c["count"]}
    assert listed == {("red", "red"): ["C1"], ("orange", "none"): ["C7"], ("yellow", "red"): ["C4"],
                      ("yellow", "none"): ["C3"], ("none", "orange"): ["C2"], ("none", "yellow"): ["C6"],
                      ("none", "none"): None}


def test_it_shows_the_changes_month_by_month(world):
    april, may = colours.colour_by_month(actor=world["civil"], months=[MAY, APR])
    assert (april["month"], april["screened"], april["counts"], april["previous"]) == (
        APR, 6, {"red": 1, "orange": 1, "yellow": 2}, None)
    assert (may["screened"], may["counts"], may["previous"], may["changed"], may["entered"], may["left"]) == (
        6, {"red": 2, "orange": 1, "yellow": 1}, APR, 5, {"red": 1, "orange": 1, "yellow": 1},
        {"red": 0, "orange": 1, "yellow": 2})
    assert colours.colour_months(actor=world["civil"]) == [MAY, APR]


def test_it_limits_a_township_to_its_own_villages_and_refuses_villages_and_departments(world):
    own = [("C4", "red"), ("C6", "yellow")]
    assert [(n, c) for n, c, _ in _list(world["township_b"])] == own
    assert [(n, c) for n, c, _ in _list(world["civil"], township=ANKANG_OTHER_TOWNSHIP[:9])] == own
    assert [(n, c) for n, c, _ in _list(world["county"], township=ANKANG_OTHER_TOWNSHIP[:9] + "000")] == own
    # a township asking for another township's list gets nothing
    assert _list(world["township_b"], township=ANKANG[:9]) == []
    t = colours.colour_transitions(actor=world["township_b"], first=APR, second=MAY)
    assert t["matrix"] == [[0, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 1]]
    assert _list(world["village"]) == [] and _list(world["dept"]) == []
    assert colours.colour_months(actor=world["village"]) == []
    with pytest.raises(LowIncomeError, match="乡镇代码"):
        colours.colour_lists(actor=world["civil"], month=MAY, township="王家坝")
    with pytest.raises(LowIncomeError, match="两个月份相同"):
        colours.colour_transitions(actor=world["civil"], first=MAY, second=MAY)


def test_it_shows_the_page_with_drill_down_the_matrix_and_a_cell(client, world):
    client.force_login(world["civil"])
    page = client.get("/lowincome/colours/?month=2026-05&from=2026-04&to=2026-05&cell=yellow-red").content.decode()
    assert '<a href="/households/C1/">C1</a>' in page and "7245.00 元" in page and "/X9/" not in page and ">X9<" not in page
    assert "黄色→红色 (1 户)" in page and '<a href="/households/C4/">C4</a>' in page
    # the month defaults to the newest with results; April → May is the default comparison
    default = client.get("/lowincome/colours/").content.decode()
    assert "三色预警 2026年05月" in default and "cell=red-red" in default
    bad = client.get("/lowincome/colours/?month=2026-13", follow=True).content.decode()
    assert "月份 &#x27;2026-13&#x27; 无效" in bad
    assert "超出范围" in client.get("/lowincome/colours/?from=2026-04&to=9999-12", follow=True).content.decode()
    client.force_login(world["village"])
    assert client.get("/lowincome/colours/").status_code == 403


def test_it_exports_the_lists_and_the_matrix_as_xlsx(client, world):
    client.force_login(world["county"])
    response = client.get("/lowincome/colours/?month=2026-05&from=2026-04&to=2026-05&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    lists = [row for row in book["预警名单"].iter_rows(values_only=True)]
    assert [r[4] for r in lists if r[0] in (1, 2, 3, 4)] == ["C1", "C4", "C2", "C6"]
    matrix = [row for row in book["转移矩阵"].iter_rows(values_only=True)]
    assert ("黄色", 1, 0, 0, 1) in matrix and ("无", 0, 1, 1, 1) in matrix
    moved = [row for row in book["转移户"].iter_rows(values_only=True)]
    assert ("黄色", "红色", 1, "C4") in moved and not any("X9" in str(v) for row in lists + moved for v in row)


def test_it_answers_the_lists_and_the_transitions_through_the_api(client, world):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=world['civil'])}"}
    body = client.get("/api/v1/lowincome/colours?month=2026-05&colour=red", **auth).json()
    assert body["counts"] == {"red": 2, "orange": 1, "yellow": 1} and body["months"] == ["2026-05", "2026-04"]
    assert [(h["household_number"], h["per_capita_dibao_income"]) for h in body["households"]] == [
        ("C1", "5000.00"), ("C4", "4830.00")]
    t = client.get("/api/v1/lowincome/colours/transitions?from=2026-04&to=2026-05", **auth).json()
    assert t["matrix"][2] == [1, 0, 0, 1] and t["from"] == "2026-04"
    assert {(c["from"], c["to"]): c["households"] for c in t["cells"]}[("yellow", "none")] == ["C3"]
    bad = client.get("/api/v1/lowincome/colours?colour=purple", **auth)
    assert bad.status_code == 422 and "颜色" in bad.json()["detail"]
    village = {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=world['village'])}"}
    assert client.get("/api/v1/lowincome/colours", **village).status_code == 403
