import datetime as dt

import pytest

from fangfan.accounts.models import Role
from fangfan.audit.models import AuditEvent
from fangfan.registry.services import household_update
from fangfan.screening.services import screening_run
from tests.factories import IncomeYearFactory, MemberFactory, UserFactory
from tests.workflows.factories import FUNAN, household

pytestmark = pytest.mark.django_db
OTHER_VILLAGE = "341225103209"



@pytest.fixture
def village_user():
    return UserFactory(username="cun", role=Role.VILLAGE, region_code=FUNAN)


@pytest.fixture
def home(village_user):
    h = household(FUNAN, head="张三", declared_risks="R01")
    MemberFactory(household=h, name="李四", relation="spouse", health="serious_illness")
    IncomeYearFactory(household=h, year=2025, wage=1_500_000, business_income=300_000, business_cost=100_000,
                      transfer_income=200_000, basic_pension=120_000, insurance_claims=50_000, compliant_oop=250_000)
    return h


def _login(client, user):
    client.force_login(user)
    return client


def test_it_shows_incomes_in_yuan_with_the_arithmetic(client, village_user, home):
    page = _login(client, village_user).get(f"/households/{home.household_number}/").content.decode()
    # I1: 15000 + (3000 − 1000) + 0 + 2000 = 19000; I2: 19000 + 500 − 2500 = 17000; I3: ÷ 2 = 8500
    assert "19000.00" in page and "17000.00" in page and "8500.00" in page
    assert "家庭纯收入 (I1)" in page and "人均纯收入 (I3)" in page
    assert "1500000" not in page  # never fen
    assert "− 基础养老金" in page and "1200.00" in page


def test_it_masks_ids_and_labels_members_in_chinese(client, village_user, home):
    head = home.members.get(relation="head")
    page = _login(client, village_user).get(f"/households/{home.household_number}/").content.decode()
    assert head.id_number not in page
    assert head.id_number[:6] + "********" + head.id_number[-4:] in page
    assert "户主" in page and "患有大病" in page and "因病" in page


def test_it_says_not_yet_evaluated_then_explains_with_sources_and_parameter_values(client, village_user, home):
    c = _login(client, village_user)
    assert "尚未评估" in c.get(f"/households/{home.household_number}/").content.decode()
    screening_run(actor=village_user, as_of=dt.date(2026, 3, 1))
    page = c.get(f"/households/{home.household_number}/").content.decode()
    assert "尚未评估" not in page and "2026-03-01" in page
    explained = c.get(f"/households/{home.household_number}/explain/").content.decode()
    assert "篇二 (一)3①" in explained  # I2's source
    assert "人均纯收入低于监测线" in explained  # M1
    assert "元" in explained and "起始日期" in explained and "篇" in explained
    assert "8500.00 元" in explained  # I3 result in yuan


def test_it_evaluates_now_without_a_stored_result(client, village_user, home):
    explained = _login(client, village_user).get(f"/households/{home.household_number}/explain/?now=1").content.decode()
    assert "即时评估" in explained and "M1" in explained


def test_it_shows_the_history_with_chinese_labels(client, village_user, home):
    household_update(actor=village_user, household=home, changes={"phone": "13800000000", "housing_safe": False})
    history = _login(client, village_user).get(f"/households/{home.household_number}/history/").content.decode()
    assert "联系电话" in history and "住房安全" in history and "是 → 否" in history
    assert "housing_safe" not in history


def test_it_reveals_a_full_id_with_a_reason_and_logs_it(client, village_user, home):
    head = home.members.get(relation="head")
    c = _login(client, village_user)
    refused = c.post(f"/households/members/{head.pk}/id/", {"reason": ""}).content.decode()
    assert "请填写" in refused and head.id_number not in refused
    shown = c.post(f"/households/members/{head.pk}/id/", {"reason": "入户核查身份"}).content.decode()
    assert head.id_number in shown
    event = AuditEvent.objects.get(action="member.id_view")
    assert event.comment == "入户核查身份" and event.actor_name == "cun" and event.household_key == home.household_number


def test_it_refuses_a_full_id_to_a_city_user(client, home):
    city = UserFactory(username="shi", role=Role.CITY, region_code=FUNAN[:4].ljust(12, "0"))
    head = home.members.get(relation="head")
    c = _login(client, city)
    assert "查看完整号码" not in c.get(f"/households/{home.household_number}/").content.decode()
    response = c.post(f"/households/members/{head.pk}/id/", {"reason": "想看看"})
    assert response.status_code == 403 and head.id_number.encode() not in response.content
    assert not AuditEvent.objects.filter(action="member.id_view").exists()


def test_it_gives_404_to_the_medical_insurance_user(client, home):
    dept = UserFactory(username="yibao", role=Role.COUNTY_DEPT, region_code=FUNAN[:6].ljust(12, "0"))
    c = _login(client, dept)
    assert c.get(f"/households/{home.household_number}/").status_code == 404
    assert c.get(f"/households/{home.household_number}/history/").status_code == 404
    assert c.get("/households/").status_code == 403


def test_it_gives_404_for_another_villages_household(client, home):
    other = UserFactory(username="other", role=Role.VILLAGE, region_code=OTHER_VILLAGE)
    c = _login(client, other)
    assert c.get(f"/households/{home.household_number}/").status_code == 404
    assert c.get(f"/households/{home.household_number}/explain/").status_code == 404
    head = home.members.get(relation="head")
    assert c.post(f"/households/members/{head.pk}/id/", {"reason": "核查"}).status_code == 404


def test_it_searches_by_number_and_lists_the_head(client, village_user, home):
    page = _login(client, village_user).get("/households/", {"q": home.household_number[:4]}).content.decode()
    assert home.household_number in page and "张三" in page


def test_it_offers_case_actions_by_role(client, village_user, home):
    page = _login(client, village_user).get(f"/households/{home.household_number}/").content.decode()
    assert f"/cases/new/identification/{home.household_number}/" in page
    assert f"/visits/{home.household_number}/new/" in page


def test_it_masks_the_household_phone_for_supervisors_but_not_for_the_village(client, village_user, home):
    home.phone = "13812345678"
    home.save(update_fields=["phone_cipher"])
    province = UserFactory(username="sheng", role=Role.PROVINCE, region_code="340000000000")

    village_page = _login(client, village_user).get(f"/households/{home.household_number}/").content.decode()
    province_page = _login(client, province).get(f"/households/{home.household_number}/").content.decode()

    assert "13812345678" in village_page
    assert "138****5678" in province_page and "13812345678" not in province_page


def test_it_names_the_rules_members_by_name_and_masked_id_never_by_number_or_index(client, village_user, home):
    from fangfan.common import pii
    from fangfan.common.ids import mask

    ill = home.members.get(name="李四")
    explained = _login(client, village_user).get(f"/households/{home.household_number}/explain/?now=1").content.decode()
    assert f"李四 {mask(ill.id_number)}" in explained
    assert ill.id_number not in explained and pii.id_index(ill.id_number) not in explained
