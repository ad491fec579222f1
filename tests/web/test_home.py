import io

import openpyxl
import pytest
from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.audit.models import AuditEvent
from tests.factories import HouseholdFactory, MemberFactory, UserFactory, ensure_region

pytestmark = pytest.mark.django_db

MINE = "341225103208"
OTHER = "341225104201"



def monitored(number, village, head):
    h = HouseholdFactory(household_number=number, village=ensure_region(village, "王店村" if village == MINE else ""),
                         category="marginal", identified_on=timezone.localdate())
    MemberFactory(household=h, name=head, relation="head")
    return h


@pytest.fixture
def village_user():
    monitored("MINE", MINE, "张三")
    monitored("OTHER", OTHER, "李四")
    return UserFactory(role=Role.VILLAGE, region_code=MINE)


def test_it_asks_for_a_login_before_showing_the_worklists(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_shows_each_worklist_with_its_count(client, village_user):
    client.force_login(village_user)
    page = client.get("/").content.decode()
    assert "待我办理的案件" in page and "未落实帮扶联系人的监测户" in page
    assert 'data-worklist="no_contact">未落实帮扶联系人的监测户<b>1</b>' in page


def test_it_shows_the_households_of_the_users_village_only(client, village_user):
    client.force_login(village_user)
    page = client.get("/worklists/no_contact/").content.decode()
    assert "MINE" in page and "王店村" in page and "张三" in page
    assert "OTHER" not in page and "李四" not in page
    assert 'href="/households/MINE/"' in page


def test_it_downloads_a_list_as_xlsx_with_chinese_headers_and_logs_it(client, village_user):
    client.force_login(village_user)
    response = client.get("/worklists/no_contact/?format=xlsx")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[2]][:4] == ["户编号", "村", "户主", "监测类别"]
    assert [c.value for c in sheet[3]][:3] == ["MINE", "王店村", "张三"]
    assert sheet.max_row == 3
    event = AuditEvent.objects.get(action="worklist.export")
    assert event.after["rows"] == 1 and event.actor_name == village_user.username


def test_it_narrows_by_village_and_offers_only_the_users_region(client):
    monitored("A1", MINE, "甲")
    monitored("B1", OTHER, "乙")
    ensure_region("341200000000")
    client.force_login(UserFactory(role=Role.COUNTY_RR, region_code="341225000000"))
    page = client.get("/").content.decode()
    assert f'<option value="{MINE}"' in page and f'<option value="{OTHER}"' in page
    narrowed = client.get(f"/worklists/no_contact/?village={OTHER}").content.decode()
    # By link: a bare "A1" turns up in the page's random CSRF token about once in 60 runs.
    assert "/households/B1/" in narrowed and "/households/A1/" not in narrowed
    bad = client.get("/worklists/no_contact/?village=abc").content.decode()
    assert "无效" in bad


def test_it_shows_the_medical_insurance_user_no_household(client, village_user):
    client.force_login(UserFactory(role=Role.COUNTY_DEPT, region_code="341225000000", department="医保"))
    page = client.get("/").content.decode()
    assert "县行业部门" in page and "MINE" not in page and "data-worklist" not in page
    assert client.get("/worklists/no_contact/").status_code == 404


def test_it_shows_the_admin_a_user_administration_hint(client):
    client.force_login(UserFactory(role=Role.ADMIN, region_code=""))
    page = client.get("/").content.decode()
    assert "用户管理" in page and "data-worklist" not in page


def test_it_serves_the_summary_and_a_page_of_rows_as_json(client, village_user):
    token = api_token_create(actor=village_user, user=village_user, name="test")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    summary = client.get("/api/v1/worklists/", **auth).json()
    assert {"key": "no_contact", "title": "未落实帮扶联系人的监测户", "count": 1, "detail": "", "warn": False} in summary["lists"]
    page = client.get("/api/v1/worklists/no_contact?page=1", **auth).json()
    assert page["count"] == 1 and page["rows"][0]["household_number"] == "MINE"
    assert page["columns"][0] == {"key": "household_number", "label": "户编号"}
    missing = client.get("/api/v1/worklists/nothing", **auth)
    assert missing.status_code == 404 and "nothing" in missing.json()["detail"]
    bad = client.get("/api/v1/worklists/no_contact?village=abc", **auth)
    assert bad.status_code == 400 and "无效" in bad.json()["detail"]
