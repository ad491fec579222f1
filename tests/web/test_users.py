"""用户管理 pages: administrators only, Chinese errors next to the fields, token shown once."""
from __future__ import annotations

import pytest

from fangfan.accounts.models import User
from fangfan.accounts.services import api_token_user
from fangfan.audit.models import AuditEvent
from tests.factories import UserFactory, ensure_region

pytestmark = pytest.mark.django_db

VILLAGE = "341225103208"
PASSWORD = "Lq8-long-enough"



@pytest.fixture
def admin(client):
    ensure_region(VILLAGE, "王店村")
    user = UserFactory(username="admin", role="admin", region_code="")
    client.force_login(user)
    return user


@pytest.mark.parametrize("role", ["village", "township", "county_rr", "county_ca", "county_dept", "city", "province"])
def test_it_shows_403_on_every_user_page_to_anyone_but_an_administrator(client, role):
    target = UserFactory(username="target")
    client.force_login(UserFactory(username="me", role=role, region_code="341225000000", department="医保"))
    for url in ("/users/", "/users/new/", f"/users/{target.pk}/", f"/users/{target.pk}/password/",
                f"/users/{target.pk}/token/"):
        assert client.get(url).status_code == 403, url
    response = client.post("/users/new/", {"username": "x", "role": "admin", "password": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 403 and not User.objects.filter(username="x").exists()
    assert "只有系统管理员可以管理用户" in client.get("/users/").content.decode()


def test_it_asks_for_a_login_first(client):
    response = client.get("/users/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_lists_users_with_their_region_names_and_filters_them(client, admin):
    UserFactory(username="wang", role="village", region_code=VILLAGE, first_name="王小明")
    UserFactory(username="far", role="village", region_code="110101001001", is_active=False)

    page = client.get("/users/").content.decode()
    assert "wang" in page and "王小明" in page and "王店村" in page and "far" in page and "停用" in page
    page = client.get("/users/", {"region": "341225"}).content.decode()
    # User names as the list shows them (a bare "far" may turn up in the page's random CSRF token).
    assert ">wang<" in page and ">far<" not in page
    page = client.get("/users/", {"active": "0"}).content.decode()
    assert ">far<" in page and ">wang<" not in page
    page = client.get("/users/", {"q": "nobody-at-all"}).content.decode()
    assert "没有符合条件的用户" in page


def test_it_paginates_the_user_list(client, admin):
    for n in range(55):
        UserFactory(username=f"u{n:03d}")
    page = client.get("/users/").content.decode()
    assert "第 1 / 2 页" in page and "u048" in page and "u049" not in page  # admin + u000…u048
    assert "u054" in client.get("/users/", {"page": 2}).content.decode()


def test_it_creates_a_user_and_goes_to_its_page(client, admin):
    response = client.post("/users/new/", {
        "username": "wang", "full_name": "王小明", "role": "village", "region_code": VILLAGE,
        "department": "", "password": PASSWORD, "password2": PASSWORD,
    })
    user = User.objects.get(username="wang")
    assert response.status_code == 302 and response["Location"] == f"/users/{user.pk}/"
    assert user.check_password(PASSWORD) and user.region_code == VILLAGE
    page = client.get(response["Location"]).content.decode()
    assert "已创建用户 wang" in page and "创建" in page and "admin" in page


def test_it_shows_chinese_errors_next_to_the_fields_and_writes_nothing(client, admin):
    response = client.post("/users/new/", {
        "username": "wang", "role": "county_dept", "region_code": "341225103000", "department": "",
        "password": "short", "password2": "short",
    })
    page = response.content.decode()
    assert response.status_code == 200
    assert "县行业部门账号的管辖区划须为县级代码" in page and "县行业部门账号须选择部门" in page
    assert not User.objects.filter(username="wang").exists()

    response = client.post("/users/new/", {
        "username": "wang", "role": "village", "region_code": VILLAGE, "password": PASSWORD, "password2": "other-pass",
    })
    assert "两次输入的密码不一致" in response.content.decode()
    response = client.post("/users/new/", {
        "username": "wang", "role": "village", "region_code": VILLAGE, "password": "short", "password2": "short",
    })
    assert "密码太短" in response.content.decode()
    assert not User.objects.filter(username="wang").exists()


def test_it_edits_role_region_and_state(client, admin):
    ensure_region("341225104201")
    user = UserFactory(username="wang", role="village", region_code=VILLAGE)
    response = client.post(f"/users/{user.pk}/", {
        "full_name": "王小明", "role": "township", "region_code": "341225104000", "department": "", "is_active": "",
    })
    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.role, user.region_code, user.is_active) == ("township", "341225104000", False)
    page = client.get(f"/users/{user.pk}/").content.decode()
    assert "已停用" in page and "角色: village → township" in page


def test_an_administrator_cannot_disable_themself_on_the_page_and_nothing_is_saved(client, admin):
    response = client.post(f"/users/{admin.pk}/", {"full_name": "改名", "role": "admin", "region_code": "", "is_active": ""})
    assert response.status_code == 200 and "不能停用自己的账号" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and admin.first_name == ""


def test_it_resets_a_password(client, admin):
    user = UserFactory(username="wang")
    response = client.post(f"/users/{user.pk}/password/", {"password": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert AuditEvent.objects.filter(action="user.set_password", object_key="wang").exists()


def test_it_makes_an_api_token_and_shows_it_once(client, admin):
    user = UserFactory(username="wang")
    response = client.post(f"/users/{user.pk}/token/", {"name": "统计"})
    page = response.content.decode()
    assert "只显示这一次" in page and response["Cache-Control"] == "no-store"
    token = page.split('id="token"')[0].rsplit('value="', 1)[1].split('"')[0]
    assert api_token_user(token) == user
    assert token not in client.get(f"/users/{user.pk}/").content.decode()
    assert "统计" in client.get(f"/users/{user.pk}/").content.decode()


def test_an_unknown_user_is_404(client, admin):
    assert client.get("/users/999999/").status_code == 404


def test_the_pages_fit_a_phone(client, admin):
    page = client.get("/users/").content.decode()
    assert 'class="table-wrap"' in page and 'class="filters"' in page
    assert 'class="stack"' in client.get("/users/new/").content.decode()


def test_it_shows_every_problem_of_the_new_user_form_at_once(client, admin):
    page = client.post("/users/new/", {
        "username": "a b", "role": "village", "region_code": "12", "password": "short", "password2": "short",
    }).content.decode()
    assert "用户名只能包含" in page and "区划代码须为12位数字" in page and "密码太短" in page
