"""Scope in the browser and over the API: the 医保 user (县行业部门) opens no household file; a
village cadre gets "not found" for another village's household, by URL and by API token,
while its own household opens."""
from __future__ import annotations

import pytest

from fangfan.accounts.services import api_token_create
from tests.browser import scenario as S
from tests.browser.helpers import assert_no_sideways_scroll, login, shot, url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_shows_the_yibao_user_no_household_file(new_page, live_server):
    people = S.staff()
    household = S.candidate_household()
    page = new_page()
    login(page, live_server, people["yibao"].username)
    response = page.goto(url(live_server, f"/households/{household.household_number}/"))
    assert response.status == 404
    assert household.members.get(relation="head").name not in page.locator("body").inner_text()
    shot(page, "scope-yibao-household-404")
    response = page.goto(url(live_server, f"/households/?q={household.household_number}"))
    assert response.status in (403, 404)
    assert household.household_number not in page.locator("body").inner_text()

    token = api_token_create(actor=None, user=people["yibao"], name="browser-test")
    headers = {"Authorization": f"Bearer {token}"}
    api = page.context.request
    answer = api.get(url(live_server, f"/api/v1/households/{household.household_number}"), headers=headers)
    assert answer.status == 404 and answer.json()["detail"]
    listing = api.get(url(live_server, f"/api/v1/households/?q={household.household_number}"), headers=headers)
    assert listing.status in (403, 404) or household.household_number not in listing.text()


def test_it_gives_a_village_cadre_404_for_another_villages_household_by_url_and_api(new_page, live_server):
    people = S.staff()
    own = S.candidate_household(head="本村户主")
    foreign = S.candidate_household(S.OTHER_VILLAGE, head="外村户主")
    page = new_page(phone=True)
    login(page, live_server, people["village"].username)

    response = page.goto(url(live_server, f"/households/{own.household_number}/"))
    assert response.status == 200 and "本村户主" in page.locator("body").inner_text()
    assert_no_sideways_scroll(page)
    response = page.goto(url(live_server, f"/households/{foreign.household_number}/"))
    assert response.status == 404
    assert "外村户主" not in page.locator("body").inner_text()
    assert_no_sideways_scroll(page)
    shot(page, "scope-village-foreign-household-404-360")

    token = api_token_create(actor=None, user=people["village"], name="browser-test")
    api = page.context.request  # the same browser, with only the bearer token
    headers = {"Authorization": f"Bearer {token}"}
    mine = api.get(url(live_server, f"/api/v1/households/{own.household_number}"), headers=headers)
    assert mine.status == 200 and mine.json()["household_number"] == own.household_number
    theirs = api.get(url(live_server, f"/api/v1/households/{foreign.household_number}"), headers=headers)
    assert theirs.status == 404
    assert theirs.json()["detail"]  # a Chinese message, the same as for a household that does not exist
    assert "外村户主" not in theirs.text()
    missing = api.get(url(live_server, "/api/v1/households/H-NO-SUCH"), headers=headers)
    assert missing.status == 404 and missing.json()["detail"] == theirs.json()["detail"]
