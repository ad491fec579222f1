"""/api/v1/users/: who am I for every token user, the user list for administrators only."""
from __future__ import annotations

import pytest

from fangfan.accounts.services import api_token_create
from tests.factories import UserFactory, ensure_region

pytestmark = pytest.mark.django_db



def bearer(user) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=None, user=user)}"}


def test_it_tells_a_token_user_who_they_are(client):
    ensure_region("341225000000", "阜南县")
    user = UserFactory(username="medical", role="county_dept", region_code="341225000000", department="医保")

    response = client.get("/api/v1/users/me", **bearer(user))

    assert response.status_code == 200
    body = response.json()
    assert body["username"] == "medical" and body["role"] == "county_dept" and body["role_label"] == "县行业部门"
    assert (body["region_code"], body["region_name"], body["department"]) == ("341225000000", "阜南县", "医保")


def test_it_answers_401_in_chinese_without_a_token(client):
    response = client.get("/api/v1/users/me")
    assert response.status_code == 401 and "令牌" in response.json()["detail"]


def test_it_lists_users_for_an_administrator_with_filters(client):
    admin = UserFactory(username="admin", role="admin", region_code="")
    UserFactory(username="wang", role="village", region_code="341225103208")
    UserFactory(username="far", role="village", region_code="110101001001")

    body = client.get("/api/v1/users/", {"region": "341225"}, **bearer(admin)).json()

    assert body["count"] == 1 and [u["username"] for u in body["users"]] == ["wang"]
    assert client.get("/api/v1/users/", **bearer(admin)).json()["count"] == 3


@pytest.mark.parametrize("role", ["village", "township", "county_rr", "county_dept", "city", "province"])
def test_it_refuses_the_user_list_to_anyone_but_an_administrator(client, role):
    user = UserFactory(username="me", role=role, region_code="341225000000", department="医保")
    response = client.get("/api/v1/users/", **bearer(user))
    assert response.status_code == 403 and response.json()["detail"] == "只有系统管理员可以查看用户"


def test_a_disabled_users_token_is_refused(client):
    user = UserFactory(username="wang")
    headers = bearer(user)
    user.is_active = False
    user.save()
    assert client.get("/api/v1/users/me", **headers).status_code == 401
