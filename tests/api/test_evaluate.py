"""POST /api/v1/evaluate/household: one household's interchange rows → rule results and explanation."""
import csv
from pathlib import Path

import pytest

from fangfan.accounts.services import api_token_create
from fangfan.screening.services import county_parameter_set
from tests.factories import UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
URL = "/api/v1/evaluate/household"

pytestmark = pytest.mark.django_db



def _rows(table: str, household: str) -> list[dict]:
    with open(EXAMPLES / f"{table}.csv", encoding="utf-8-sig") as fh:
        return [row for row in csv.DictReader(fh) if row["户编号"] == household]


def _payload(household: str = "E001", **changes) -> dict:
    body = {"as_of": "2026-06-30", **{t: _rows(t, household) for t in ("households", "members", "incomes", "measures")}}
    body.update(changes)
    return body


def _token(role="village", region="341225103208", username="api-user") -> str:
    user = UserFactory(username=username, role=role, region_code=region)
    return api_token_create(actor=user, user=user, name="test")


def _post(client, token, body):
    return client.post(URL, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")


def test_it_returns_the_rule_results_in_yuan_and_the_structured_explanation(client):
    response = _post(client, _token(), _payload())

    assert response.status_code == 200, response.content
    data = response.json()
    assert data["household_id"] == "E001" and data["village_code"] == "341225103208"
    results = data["results"]
    # 2025: monitoring income 12100 ÷ 3 persons (the same figures as an import and screening)
    assert results["per_capita_income"] == "4033.33" and results["income_line"] == "6000.00"
    assert results["candidate_category"] == "unstable_lifted" and results["below_line"] == "true"
    rules = {rule["id"]: rule for rule in data["explanation"]["rules"]}
    assert rules["M1"]["fired"] is True
    line = rules["M1"]["parameters"]["monitoring.income_line"]
    assert line["value"] == "6000" and "全国" in line["source"]
    assert "4033.33" in data["explanation"]["explanation"]


def test_it_uses_the_countys_own_values_from_the_database(client):
    rr = UserFactory(username="funan_rr", role="county_rr", region_code="341225000000")
    import datetime as dt

    county_parameter_set(actor=rr, name="monitoring.income_line", region_prefix="341225", start=dt.date(2026, 1, 1),
                         value_text="4000", document="阜政办〔2026〕1号")
    data = _post(client, _token(), _payload()).json()
    assert data["results"]["income_line"] == "4000.00" and data["results"]["candidate_category"] == ""
    m1 = next(r for r in data["explanation"]["rules"] if r["id"] == "M1")
    assert "县级参数: 阜政办〔2026〕1号" in m1["parameters"]["monitoring.income_line"]["source"]


def test_it_accepts_english_column_names_like_the_import(client):
    body = _payload()
    body["households"] = [{"household_id": "E001", "village_code": "341225103208", "household_type": "lifted",
                           "housing_safe": True, "water_safe": True}]
    response = _post(client, _token(), body)
    assert response.status_code == 200, response.content
    assert response.json()["results"]["household_id"] == "E001"


def test_it_lists_every_problem_of_bad_rows_with_table_row_and_column(client):
    members = _rows("members", "E001")
    members[1]["证件号码"] = "341225197008203020"  # wrong check digit
    incomes = _rows("incomes", "E001")
    incomes[0]["工资性收入"] = "很多"
    response = _post(client, _token(), _payload(members=members, incomes=incomes))

    assert response.status_code == 422
    data = response.json()
    problems = {(p["table"], p["row"], p["column"]) for p in data["problems"]}
    assert ("members", 2, "证件号码") in problems and ("incomes", 1, "工资性收入") in problems
    assert all(p["reason"] for p in data["problems"]) and data["detail"].startswith("户数据有误")
    assert "341225197008203020" not in response.content.decode()  # IDs masked as in import problems


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"households": []}, "户表必须恰好一行"),
        ({"members": []}, "缺少"),
        ({"households": [{"户编号": "X", "村代码": "12ab"}]}, ""),
    ],
)
def test_it_answers_422_not_500_for_a_household_that_cannot_be_read(client, changes, reason):
    response = _post(client, _token(), _payload(**changes))
    assert response.status_code == 422
    assert reason in response.json()["detail"]


def test_it_answers_422_for_a_body_that_is_not_rows(client):
    response = _post(client, _token(), {"as_of": "not a date", "households": "x"})
    assert response.status_code == 422 and "detail" in response.json()


def test_it_refuses_a_household_of_another_county(client):
    token = _token(role="county_rr", region="130126000000", username="lingshou")
    response = _post(client, token, _payload())
    assert response.status_code in (403, 404)
    assert "results" not in response.json()


def test_it_refuses_a_department_user_and_a_request_without_a_token(client):
    token = _token(role="county_dept", region="341225000000", username="yibao")
    assert _post(client, token, _payload()).status_code in (403, 404)
    assert client.post(URL, _payload(), content_type="application/json").status_code == 401
