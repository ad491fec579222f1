"""The browser set-up itself: chromium starts, the login page renders in Chinese at 360 px."""
import pytest

from tests.browser.helpers import assert_no_sideways_scroll, login, shot, url
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_chinese_login_page_on_a_phone_without_sideways_scrolling(phone, live_server):
    phone.goto(url(live_server, "/login/"))
    assert "登录" in phone.locator("body").inner_text()
    assert_no_sideways_scroll(phone)
    assert shot(phone, "smoke-login-360").stat().st_size > 0


def test_it_refuses_a_wrong_password_and_lets_the_right_one_in(phone, live_server):
    UserFactory(username="cun", role="village", region_code="341225103208")
    phone.goto(url(live_server, "/login/"))
    phone.locator("input[name=username]").fill("cun")
    phone.locator("input[name=password]").fill("wrong")
    with phone.expect_navigation():
        phone.locator("form button[type=submit]").click()
    assert "/login/" in phone.url
    assert "密码" in phone.locator(".errorlist, form").first.inner_text()  # Django's Chinese message
    login(phone, live_server, "cun")
    # the home page itself (worklists) is checked at 360 px by the scenarios
    assert phone.url.rstrip("/") == live_server.url
    assert phone.get_by_role("button", name="退出").is_visible()
