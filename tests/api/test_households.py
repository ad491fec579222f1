import datetime as dt

import pytest

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from fangfan.screening.services import screening_run
from tests.factories import IncomeYearFactory, MemberFactory, UserFactory
from tests.registry.factories import household_with
from tests.workflows.factories import FUNAN

pytestmark = pytest.mark.django_db
OTHER_VILLAGE = "341225103209"



def _token(user) -> str:
    admin = UserFactory(username="admin-api", role=Role.ADMIN, region_code="")
    return api_token_create(actor=admin, user=user, name="test")


@pytest.fixture
def village_user():
    return UserFactory(username="cun", role=Role.VILLAGE, region_code=FUNAN)


@pytest.fixture
def home():
    h = household_with(FUNAN, "张三")
    MemberFactory(household=h, name="李四", relation="spouse")
    IncomeYearFactory(household=h, year=2025, wage=1_500_000, business_income=300_000, business_cost=100_000,
                      transfer_income=200_000, insurance_claims=50_000, compliant_oop=250_000)
    return h


def _get(client, url, user):
    return client.get(url, HTTP_AUTHORIZATION=f"Bearer {_token(user)}")


def test_it_returns_the_household_file_with_masked_ids_and_income_arithmetic(client, village_user, home):
    head = home.members.get(relation="head")
    response = _get(client, f"/api/v1/households/{home.household_number}", village_user)
    assert response.status_code == 200
    data = response.json()
    assert head.id_number not in response.content.decode()
    assert data["members"][0]["id_number_masked"] == head.id_number[:6] + "********" + head.id_number[-4:]
    income = data["incomes"][0]
    assert (income["net_income"], income["monitoring_income"], income["per_capita_income"]) == (
        "19000.00", "17000.00", "8500.00")
    assert income["amounts"]["wage"] == "15000.00"
    assert data["result"] is None and data["rules"] == []


def test_it_returns_the_latest_result_with_its_explanation(client, village_user, home):
    screening_run(actor=village_user, as_of=dt.date(2026, 3, 1))
    data = _get(client, f"/api/v1/households/{home.household_number}", village_user).json()
    assert data["result"]["as_of"] == "2026-03-01" and data["result"]["per_capita_income"] == "8500.00"
    m1 = next(r for r in data["rules"] if r["id"] == "M1")
    assert m1["source"] == "篇八, 篇十二"
    line = m1["parameters"][0]
    assert line["value"].endswith(" 元") and line["start"] and line["source"]
    results = _get(client, f"/api/v1/households/{home.household_number}/results", village_user).json()
    assert [r["as_of"] for r in results] == ["2026-03-01"]


def test_it_lists_and_searches_within_scope(client, village_user, home):
    outside = household_with(OTHER_VILLAGE, "张森")
    data = _get(client, "/api/v1/households/?q=zs", village_user).json()
    assert [h["household_number"] for h in data["households"]] == [home.household_number]
    assert data["households"][0]["head_name"] == "张三"
    everything = _get(client, "/api/v1/households/", village_user).json()
    assert outside.household_number not in {h["household_number"] for h in everything["households"]}


def test_it_answers_404_json_for_another_villages_household(client, home):
    other = UserFactory(username="other", role=Role.VILLAGE, region_code=OTHER_VILLAGE)
    for url in (f"/api/v1/households/{home.household_number}", f"/api/v1/households/{home.household_number}/results"):
        response = _get(client, url, other)
        assert response.status_code == 404
        assert response.json()["detail"] == "无此户或不在管辖范围内"


def test_it_answers_404_to_the_medical_insurance_user(client, home):
    dept = UserFactory(username="yibao", role=Role.COUNTY_DEPT, region_code=FUNAN[:6].ljust(12, "0"))
    assert _get(client, f"/api/v1/households/{home.household_number}", dept).status_code == 404
    assert _get(client, "/api/v1/households/", dept).status_code == 404


def test_it_explains_a_bad_id_number_in_chinese(client, village_user, home):
    head = home.members.get(relation="head")
    wrong = head.id_number[:17] + ("0" if head.id_number[17] != "0" else "1")
    data = _get(client, f"/api/v1/households/?q={wrong}", village_user).json()
    assert data["households"] == [] and "校验位" in data["error"]


def test_it_answers_503_in_chinese_when_the_database_goes_away(client, village_user, home):
    from django.db import OperationalError, connection

    from fangfan.web.middleware import DATABASE_DOWN_MESSAGE

    token = _token(village_user)

    def gone(execute, sql, params, many, context):
        if "registry_household" in sql:
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(gone):
        response = client.get(f"/api/v1/households/{home.household_number}", HTTP_AUTHORIZATION=f"Bearer {token}")

    assert response.status_code == 503 and response.json()["detail"] == DATABASE_DOWN_MESSAGE


def test_it_names_the_single_person_candidates_by_name_and_masked_id_not_by_number_or_index(client):
    from tests.lowincome.factories import family, users

    # one person at 6000 yuan: 低保边缘 in 安康; the 二级 disabled member is the 单人保 candidate
    h = family(wage_yuan=12000, people=(("户主", dt.date(1980, 5, 1)), ("重残", dt.date(1990, 1, 1),
                                                                     {"disability_grade": "2", "disability_kind": "visual"})))
    disabled = h.members.get(name="重残")
    screening_run(actor=None, as_of=dt.date(2026, 3, 31), region="610902")
    user = users()["civil"]
    masked = disabled.id_number[:6] + "********" + disabled.id_number[-4:]

    file = _get(client, f"/api/v1/households/{h.household_number}", user)
    history = _get(client, f"/api/v1/households/{h.household_number}/results", user)

    assert file.json()["result"]["single_person_dibao"] == f"重残 {masked}"
    assert history.json()[0]["single_person_dibao"] == f"重残 {masked}"
    for response in (file, history):
        assert disabled.id_number not in response.content.decode()
        assert disabled.id_index not in response.content.decode()
