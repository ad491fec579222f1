import datetime as dt

import pytest
from django.test import Client

from fangfan.declarations import services as S
from fangfan.declarations.models import Declaration
from fangfan.declarations.selectors import PUBLIC_RECEIVED
from fangfan.workflows.models import Case
from tests.factories import DEFAULT_VILLAGE, HouseholdFactory, MemberFactory, UserFactory, ensure_region, make_id_number

pytestmark = pytest.mark.django_db

OTHER_VILLAGE = "341225103209"
UNKNOWN_ID = make_id_number(321, dt.date(1990, 5, 6))


@pytest.fixture
def village():
    return ensure_region(DEFAULT_VILLAGE, "王堰村")


def form(**overrides):
    data = {"name": "李四", "id_number": UNKNOWN_ID, "phone": "13912345678", "village": DEFAULT_VILLAGE,
            "risk": "R04", "text": "房屋被洪水冲毁"}
    data.update(overrides)
    return data


def test_it_shows_the_declaration_form_without_login(client, village):
    response = client.get("/declare/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "农户自主申报" in body and "因自然灾害" in body
    assert 'name="csrfmiddlewaretoken"' in body
    assert 'class="menu"' not in body
    assert 'hx-get="/declare/regions/"' in body


def test_it_prefills_the_region_chain_from_a_village_link(client, village):
    body = client.get(f"/declare/?village={DEFAULT_VILLAGE}").content.decode()

    assert f'<option value="{DEFAULT_VILLAGE}" selected>王堰村</option>' in body
    assert '<option value="341225000000" selected>' in body


def test_it_returns_the_villages_of_a_township_as_options_and_empties_lower_selects(client, village):
    ensure_region(OTHER_VILLAGE, "邻村")
    response = client.get("/declare/regions/", {"level": "township", "county": "341225000000"})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="sel-township"' in body and '<option value="341225103000">' in body
    assert 'id="sel-village"' in body and 'hx-swap-oob="true"' in body

    body = client.get("/declare/regions/", {"level": "village", "township": "341225103000"}).content.decode()
    assert "王堰村" in body and "邻村" in body
    assert client.get("/declare/regions/", {"level": "nope"}).status_code == 404


def test_it_rejects_a_post_without_csrf_token(village):
    client = Client(enforce_csrf_checks=True)

    response = client.post("/declare/", form())

    assert response.status_code == 403
    assert not Declaration.objects.exists()


def test_it_accepts_a_post_with_the_pages_csrf_token_and_shows_the_receipt(village):
    client = Client(enforce_csrf_checks=True)
    client.get("/declare/")
    token = client.cookies["csrftoken"].value

    response = client.post("/declare/", {**form(), "csrfmiddlewaretoken": token}, follow=True)

    declaration = Declaration.objects.get()
    body = response.content.decode()
    assert response.redirect_chain[-1][0] == "/declare/done/"
    assert S.format_receipt(declaration.receipt) in body
    assert "请抄下或截图保存回执号" in body
    assert UNKNOWN_ID not in body and "李四" not in body


def test_it_opens_a_case_in_the_households_village_from_the_page(client, village):
    member = MemberFactory(household=HouseholdFactory(village=village))

    client.post("/declare/", form(id_number=member.id_number))

    case = Case.objects.get(household=member.household)
    assert case.channel == "self_declared" and case.village_code == DEFAULT_VILLAGE


def test_it_shows_chinese_errors_next_to_the_fields_and_keeps_the_input(client, village):
    bad_id = UNKNOWN_ID[:17] + ("0" if UNKNOWN_ID[17] != "0" else "1")

    response = client.post("/declare/", form(id_number=bad_id, phone="123"))

    body = response.content.decode()
    assert response.status_code == 400
    assert "证件号码校验位错误" in body and "11位手机号码" in body
    assert 'value="李四"' in body
    assert f'<option value="{DEFAULT_VILLAGE}" selected>' in body
    assert not Declaration.objects.exists()


def test_it_answers_429_in_chinese_beyond_the_phone_limit(client, village):
    for _ in range(S.MAX_PER_PHONE_PER_DAY):
        assert client.post("/declare/", form()).status_code == 302

    response = client.post("/declare/", form())

    assert response.status_code == 429
    assert "每天最多" in response.content.decode()
    assert Declaration.objects.count() == S.MAX_PER_PHONE_PER_DAY


def test_it_shows_only_the_stage_for_receipt_and_phone(client, village):
    member = MemberFactory(name="王五", household=HouseholdFactory(village=village))
    client.post("/declare/", form(id_number=member.id_number, name="王五"))
    declaration = Declaration.objects.get()

    response = client.post("/declare/status/", {"receipt": S.format_receipt(declaration.receipt), "phone": "13912345678"})

    body = response.content.decode()
    assert response.status_code == 200
    assert PUBLIC_RECEIVED in body
    for secret in ("王五", member.id_number, member.household.household_number, "王堰村", "因自然灾害", "洪水"):
        assert secret not in body


def test_it_gives_the_same_neutral_message_for_a_wrong_phone_or_receipt(client, village):
    client.post("/declare/", form())
    receipt = Declaration.objects.get().receipt

    wrong_phone = client.post("/declare/status/", {"receipt": receipt, "phone": "13800000000"}).content.decode()
    wrong_receipt = client.post("/declare/status/", {"receipt": "SB20260101AAAAAAAA", "phone": "13912345678"}).content.decode()

    assert "未查到与该回执号和联系电话相符的申报" in wrong_phone
    assert "未查到与该回执号和联系电话相符的申报" in wrong_receipt
    assert PUBLIC_RECEIVED not in wrong_phone


def test_it_limits_status_lookups_per_address(client, village):
    for _ in range(20):
        assert client.post("/declare/status/", {"receipt": "SB1", "phone": "1"}).status_code == 200

    response = client.post("/declare/status/", {"receipt": "SB1", "phone": "1"})

    assert response.status_code == 429
    assert "每小时最多查询" in response.content.decode()


def test_it_shows_the_declaration_to_its_village_user_and_not_to_another_village(client, village):
    ensure_region(OTHER_VILLAGE, "邻村")
    client.post("/declare/", form())
    receipt = S.format_receipt(Declaration.objects.get().receipt)

    ours = Client()
    ours.force_login(UserFactory(role="village", region_code=DEFAULT_VILLAGE))
    body = ours.get("/declarations/").content.decode()
    assert receipt in body and "待登记" in body and "李四" in body
    assert UNKNOWN_ID not in body  # masked

    theirs = Client()
    theirs.force_login(UserFactory(role="village", region_code=OTHER_VILLAGE))
    response = theirs.get("/declarations/")
    assert response.status_code == 200
    assert receipt not in response.content.decode()


def test_it_lets_the_village_close_a_declaration_and_hides_it_from_others(client, village):
    ensure_region(OTHER_VILLAGE, "邻村")
    client.post("/declare/", form())
    receipt = Declaration.objects.get().receipt

    stranger = Client()
    stranger.force_login(UserFactory(role="village", region_code=OTHER_VILLAGE))
    assert stranger.post(f"/declarations/{receipt}/close/", {"note": "x"}).status_code == 404

    cadre = Client()
    cadre.force_login(UserFactory(role="village", region_code=DEFAULT_VILLAGE))
    response = cadre.post(f"/declarations/{receipt}/close/", {"note": "已走访, 重复申报"}, follow=True)
    assert "已办结" in response.content.decode()
    assert Declaration.objects.get().stage == Declaration.Stage.CLOSED


def test_it_refuses_the_list_to_other_roles_and_anonymous(client):
    assert client.get("/declarations/").status_code == 302  # to the login page
    dept = Client()
    dept.force_login(UserFactory(role="county_dept", region_code="341225000000"))
    assert dept.get("/declarations/").status_code == 403


def test_it_opens_the_case_from_the_list_once_the_village_registered_the_household(client, village):
    client.post("/declare/", form())
    receipt = Declaration.objects.get().receipt
    cadre = Client()
    cadre.force_login(UserFactory(role="village", region_code=DEFAULT_VILLAGE))

    refused = cadre.post(f"/declarations/{receipt}/recheck/", follow=True).content.decode()
    assert "请先登记该户" in refused

    member = MemberFactory(id_number=UNKNOWN_ID, household=HouseholdFactory(village=village))
    response = cadre.post(f"/declarations/{receipt}/recheck/", {"next": "/declarations/?stage="}, follow=True)

    assert response.redirect_chain[-1][0] == "/declarations/?stage="
    assert "已发起识别纳入" in response.content.decode()
    assert Case.objects.get(household=member.household).channel == "self_declared"


def test_it_sends_the_receipt_page_back_to_the_form_without_a_declaration(client):
    response = client.get("/declare/done/")
    assert response.status_code == 302 and response.url == "/declare/"


def test_it_refuses_an_oversized_body_with_413(client, village):
    response = client.post("/declare/", form(text="长" * 20000))

    assert response.status_code == 413
    assert "提交的内容过长" in response.content.decode()
    assert not Declaration.objects.exists()
