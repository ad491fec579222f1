"""农户自主申报 in the browser: a villager on a phone, without logging in, declares a difficulty
at /declare/ (the region picked level by level, HTMX filling each select); the receipt number
and the status page answer; the declaration arrives as a W1 case in the right village's
worklist, and not in the neighbouring village's."""
from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from fangfan.accounts.models import Role
from fangfan.workflows.models import Case
from tests.browser import scenario as S
from tests.browser.helpers import assert_no_sideways_scroll, login, shot, url
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE_NUMBER = "13912345678"


def pick(page, level: str, code: str) -> None:
    """Choose one level of the region; HTMX then fills the next level's select."""
    select = page.locator(f"#sel-{level}")
    select.locator(f"option[value='{code}']").wait_for(state="attached")
    # htmx wires a swapped-in select only once the swap has settled (a locator wait: the page's
    # Content Security Policy forbids the eval behind wait_for_function's string predicate)
    expect(page.locator(".htmx-request, .htmx-swapping, .htmx-settling")).to_have_count(0)
    if level == "village":
        select.select_option(code)
        return
    with page.expect_response(lambda r: "/declare/regions/" in r.url):
        select.select_option(code)


def test_it_brings_a_public_self_declaration_to_the_right_villages_worklist(new_page, live_server):
    people = S.staff()
    household = S.candidate_household(head="李桂兰")
    head = household.members.get(relation="head")
    S.candidate_household(S.OTHER_VILLAGE, head="赵大")  # the neighbouring village exists in the tree
    neighbour = UserFactory(username="cun-neighbour", role=Role.VILLAGE, region_code=S.OTHER_VILLAGE)

    villager = new_page(phone=True)
    villager.goto(url(live_server, "/declare/"))
    assert "农户自主申报" in villager.locator("h1").inner_text()
    villager.get_by_label("申报人姓名").fill("李桂兰")
    villager.get_by_label("身份证号码").fill(head.id_number)
    villager.get_by_label("联系电话").fill(PHONE_NUMBER)
    v = S.VILLAGE
    for level, code in (("province", v[:2]), ("city", v[:4]), ("county", v[:6]), ("township", v[:9]),
                        ("village", v)):
        pick(villager, level, code.ljust(12, "0"))
    villager.get_by_label("困难类型").select_option("R01")
    villager.get_by_label("情况说明").fill("丈夫患尿毒症, 每周透析, 家里没有收入")
    assert_no_sideways_scroll(villager)
    shot(villager, "declare-01-form-360")
    with villager.expect_navigation():
        villager.get_by_role("button", name="提交申报").click()
    assert "申报已受理" in villager.locator("h1").inner_text()
    receipt = villager.locator(".receipt").inner_text().strip()
    assert receipt
    assert_no_sideways_scroll(villager)
    shot(villager, "declare-02-receipt-360")

    # the status page shows the stage for the receipt and phone, nothing of the registry
    cache.clear()  # the lookup limit per address counts in the cache, across tests of this process
    villager.goto(url(live_server, "/declare/status/"))
    villager.locator("input[name=receipt]").fill(receipt)
    villager.locator("input[name=phone]").fill(PHONE_NUMBER)
    with villager.expect_navigation():
        villager.locator("form button[type=submit]").first.click()
    status = villager.locator("body").inner_text()
    assert "办理阶段" in status, status[:500]
    assert head.id_number not in status and household.household_number not in status
    villager.locator("input[name=phone]").fill("13900000000")  # a wrong phone: nothing is told
    with villager.expect_navigation():
        villager.locator("form button[type=submit]").first.click()
    assert "未查到" in villager.locator("body").inner_text()
    shot(villager, "declare-03-status-360")

    # a W1 case on channel 农户自主申报 for the household, in the right village
    case = Case.objects.get(household=household, kind=Case.Kind.IDENTIFICATION)
    assert case.channel == "self_declared" and case.state == "applied"

    cadre = new_page(phone=True)
    login(cadre, live_server, people["village"].username)
    card = cadre.locator("[data-worklist=waiting]")
    assert int(card.locator("b").inner_text()) == 1
    card.click()
    cadre.wait_for_url(re.compile(r"/worklists/waiting/"))
    row = cadre.locator("tr").filter(has_text=household.household_number)
    assert row.count() == 1 and "李桂兰" in row.inner_text()
    assert_no_sideways_scroll(cadre)
    shot(cadre, "declare-04-village-worklist-360")
    row.get_by_role("link", name=str(case.pk), exact=True).click()
    cadre.wait_for_url(re.compile(rf"/cases/{case.pk}/"))
    assert "农户自主申报" in cadre.locator(".case-state").inner_text()

    other = new_page(phone=True)
    login(other, live_server, neighbour.username)
    waiting = other.locator("[data-worklist=waiting] b")
    assert waiting.count() == 0 or int(waiting.inner_text()) == 0
    other.goto(url(live_server, "/worklists/waiting/"))
    assert household.household_number not in other.locator("body").inner_text()
