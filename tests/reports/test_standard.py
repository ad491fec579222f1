"""Q5 standard tables: the township monthly report and the June report on a small registry,
counted by hand; the command and the page give the same cells as XLSX and CSV."""
import datetime as dt
import io

import openpyxl
import pytest
from django.core.management import call_command

from fangfan.accounts.models import Role
from fangfan.reports.selectors import build
from tests.factories import MeasureFactory, UserFactory
from tests.reports.conftest import AS_OF, V1, V2, V3, household

pytestmark = pytest.mark.django_db


@pytest.fixture
def registry(places):
    household("P1", V1, persons=3)  # 脱贫户, not monitored
    new = household("N1", V1, persons=2, household_type="ordinary", category="marginal",
                    identified_on=dt.date(2026, 6, 3), last_visit_on=dt.date(2026, 6, 10))
    MeasureFactory(household=new, measure_code="M02", started_on=dt.date(2026, 6, 5))
    MeasureFactory(household=new, measure_code="M05", started_on=dt.date(2026, 5, 5))
    household("E1", V2, persons=1, category="unstable_lifted", identified_on=dt.date(2025, 1, 1),
              eliminated_on=dt.date(2026, 6, 30))
    household("S1", V3, persons=4, category="sudden_hardship", identified_on=dt.date(2026, 2, 1),
              last_visit_on=dt.date(2026, 3, 1))  # visit due 04-01: overdue at 06-30


MONTHLY_COLUMNS = ["区划代码", "名称", "总户数", "总人数", "脱贫户数", "脱贫人口", "监测户数", "监测人口", "脱贫不稳定户",
                   "边缘易致贫户", "突发严重困难户", "本月识别户数", "本月风险消除户数", "回访逾期户数", "本月回退户数",
                   "本月清退户数", "本月新落实措施户次", "本月回访户数", "部门预警交办数", "已核查数", "逾期未核查数",
                   "监测率(监测户÷脱贫户)"]


def test_it_counts_the_township_monthly_report(registry):
    report = build(name="township-monthly", actor=None, region="341225", as_of=AS_OF)
    township = report.table("monthly_township")
    assert township.columns == MONTHLY_COLUMNS
    assert township.rows() == [
        # P1 N1 E1: 6 persons; 脱贫户 P1 E1 (4); monitored N1 (E1 eliminated on 06-30); N1 identified in June,
        # E1 eliminated in June; N1's M02 started in June
        ("341225103000", "甲镇", 3, 6, 2, 4, 1, 2, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0, "50.00%"),
        ("341225104000", "乙镇", 1, 4, 1, 4, 1, 4, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, "100.00%"),
    ]
    assert [r[:3] for r in report.table("monthly_village").rows()] == [(V1, "一村", 2), (V2, "二村", 1), (V3, "三村", 1)]


def test_it_counts_the_june_report_over_the_first_half_year(registry):
    report = build(name="june", actor=None, region="341225", as_of=AS_OF)
    assert report.table("half_county").rows()[0][:5] == ("341225000000", "阜南县", 4, 10, 2)
    columns = report.table("half_county").columns
    row = dict(zip(columns, report.table("half_county").rows()[0]))
    # identified 2026-01-01..06-30: N1 and S1; eliminated: E1; no stored screening result: classes 0
    assert (row["本期识别户数"], row["本期风险消除户数"], row["回访逾期户数"], row["低保"]) == (2, 1, 1, 0)


def test_it_writes_the_report_as_xlsx_and_csv_from_the_command(registry, tmp_path):
    out = tmp_path / "月报.xlsx"
    call_command("report", "township-monthly", "--as-of", "2026-06-30", "--region", "341225", "--out", str(out))
    book = openpyxl.load_workbook(out)
    sheet = book.worksheets[0]
    assert sheet["A1"].value == "阜南县 乡镇防返贫监测月报 — 防返贫监测月报(按乡镇, 2026年06月)(截至2026-06-30)"
    assert "A1:V1" in [str(r) for r in sheet.merged_cells.ranges]
    assert [c.value for c in sheet[2]] == MONTHLY_COLUMNS
    assert [c.value for c in sheet[3]][:4] == ["341225103000", "甲镇", 3, 6]
    csv_out = tmp_path / "m.csv"
    call_command("report", "township-monthly", "--as-of", "2026-06-30", "--region", "341225", "--out", str(csv_out),
                 "--table", "monthly_township")
    lines = csv_out.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(MONTHLY_COLUMNS)
    assert lines[2].startswith("341225104000,乙镇,1,4,")


def test_it_refuses_bad_arguments_with_a_clear_message(registry, tmp_path):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="没有名为 monthly 的报表"):
        call_command("report", "monthly", "--as-of", "2026-06-30", "--out", str(tmp_path / "x.xlsx"))
    with pytest.raises(CommandError, match="--as-of 无效"):
        call_command("report", "june", "--as-of", "2026-13-01", "--out", str(tmp_path / "x.xlsx"))
    with pytest.raises(CommandError, match="区划代码格式不正确"):
        call_command("report", "june", "--as-of", "2026-06-30", "--region", "34x", "--out", str(tmp_path / "x.xlsx"))
    assert not (tmp_path / "x.xlsx").exists()


def test_it_serves_the_report_page_downloads_and_api_in_the_users_region(registry, client):
    from fangfan.accounts.services import api_token_create

    user = UserFactory(username="xiang", role=Role.TOWNSHIP, region_code="341225103000")
    client.force_login(user)
    page = client.get("/reports/scale-risk/?as_of=2026-06-30")
    assert page.status_code == 200 and "一村" in page.content.decode() and "三村" not in page.content.decode()
    xlsx = client.get("/reports/scale-risk/?as_of=2026-06-30&format=xlsx")
    book = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert "乙镇" not in [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row]
    from fangfan.audit.models import AuditEvent

    logged = AuditEvent.objects.get(action="personal_data.export")  # in the county's personal-data log
    assert (logged.actor_name, logged.object_key, logged.region_code) == ("xiang", "report:scale-risk", "341225103000")
    assert logged.after["format"] == "xlsx" and logged.after["rows"] > 0
    assert client.get("/reports/scale-risk/?region=341225104201").status_code == 404
    assert client.get("/reports/nothing/").status_code == 404
    token = api_token_create(actor=None, user=user)
    api = client.get("/api/v1/reports/township-monthly?as_of=2026-06-30", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert api["region"] == "341225103"
    township = next(t for t in api["tables"] if t["key"] == "monthly_township")
    assert township["rows"] == [["341225103000", "甲镇", 3, 6, 2, 4, 1, 2, 0, 1, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 0,
                                 "50.00%"]]
