import pytest

from fangfan.accounts.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_refuses_a_nul_in_a_query_with_a_chinese_400(client):
    client.force_login(UserFactory(role="village", region_code="341225103208"))
    response = client.get("/households/", {"q": "a\x00b"})
    assert response.status_code == 400 and "NUL" in response.content.decode()


def test_it_refuses_a_nul_in_an_api_query_and_json_body_as_json(client):
    token = api_token_create(actor=None, user=UserFactory(role="village", region_code="341225103208"))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    response = client.get("/api/v1/households/?village=a%00", **auth)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]
    response = client.post("/api/v1/cases/", {"household_number": "A\u0000", "channel": "cadre_visit"},
                           content_type="application/json", **auth)
    assert response.status_code == 400 and "NUL" in response.json()["detail"]


def test_it_lets_ordinary_requests_through(client):
    client.force_login(UserFactory(role="village", region_code="341225103208"))
    assert client.get("/households/", {"q": "张三"}).status_code == 200


def test_it_answers_400_not_500_to_a_json_body_with_a_bad_content_length(client):
    response = client.generic("POST", "/api/v1/cases/", b'{"a": 1}', content_type="application/json",
                              CONTENT_LENGTH="abc")

    assert response.status_code == 400
