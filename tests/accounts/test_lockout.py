"""Login throttling (django-axes): a user name is locked after N wrong passwords, with a Chinese
page; the right password does not get in while locked; the API's token login is not affected;
passwords are hashed with Argon2."""
import pytest
from django.contrib.auth.hashers import check_password, make_password

from fangfan.accounts.models import Role
from fangfan.accounts.services import api_token_create
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "pw-fangfan-test"


@pytest.fixture
def user():
    return UserFactory(username="cadre", role=Role.VILLAGE)


def fail(client, username, times):
    for _ in range(times):
        client.post("/login/", {"username": username, "password": "wrong-password"})


def test_it_locks_a_user_name_after_the_failure_limit_with_a_chinese_page(client, settings, user):
    fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    response = client.post("/login/", {"username": user.username, "password": "wrong-password"})
    assert response.status_code == 429
    page = response.content.decode()
    assert "账号已暂时锁定" in page and f"连续输错 {settings.AXES_FAILURE_LIMIT} 次" in page
    # The right password does not get in while locked, from another address either.
    response = client.post("/login/", {"username": user.username, "password": PASSWORD}, REMOTE_ADDR="10.9.9.9")
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_it_lets_a_user_in_below_the_limit_and_forgets_the_failures(client, settings, user):
    fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    response = client.post("/login/", {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    client.logout()
    fail(client, user.username, settings.AXES_FAILURE_LIMIT - 1)
    assert client.post("/login/", {"username": user.username, "password": PASSWORD}).status_code == 302


def test_it_does_not_lock_another_user_behind_the_same_address_with_another_browser(client, settings, user):
    other = UserFactory(username="neighbour", role=Role.VILLAGE)
    fail(client, user.username, settings.AXES_FAILURE_LIMIT)
    response = client.post("/login/", {"username": other.username, "password": PASSWORD},
                           HTTP_USER_AGENT="another browser")
    assert response.status_code == 302


def test_it_keeps_the_api_token_working_for_a_locked_user_name(client, settings, user):
    token = api_token_create(actor=None, user=user)
    fail(client, user.username, settings.AXES_FAILURE_LIMIT)
    response = client.get("/api/v1/households/", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_it_hashes_passwords_with_argon2(settings):
    from fangfan.settings import PASSWORD_HASHERS  # the production list, not the tests' fast one

    settings.PASSWORD_HASHERS = PASSWORD_HASHERS
    encoded = make_password("一个足够长的密码")
    assert encoded.startswith("argon2$argon2id$")
    assert check_password("一个足够长的密码", encoded)
