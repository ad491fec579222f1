"""W1 in the browser, as the people do it: the village cadre on a 360×740 phone opens a case from
a rule candidate, records the consent (附件1; the home check is blocked without it), the home
check (two investigators) and the village review; the public notice list prints without ID
numbers; after the notice period (fired with a later date through the services: time travel)
the township approves and the county compares and approves on their desktops. Screenshots of
every page go to var/browser/."""
from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from fangfan.workflows import services
from fangfan.workflows.models import Case
from tests.browser import scenario as S
from tests.browser.helpers import SHOTS, assert_no_sideways_scroll, login, shot, url

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ID_NUMBER = re.compile(r"\d{17}[\dXx]")


def step_form(page, transition: str):
    """The form of one step on the case page (opened if it sits in a closed <details>)."""
    form = page.locator(f"form[action$='/do/{transition}/']")
    details = page.locator("details.step").filter(has=form)
    if details.count() and not details.first.evaluate("d => d.open"):
        details.first.locator("summary").click()
    return form


def submit(page, form, label: str) -> None:
    """Submit a step (HTMX; the server answers HX-Redirect to the case page) and wait for it."""
    with page.expect_navigation():
        form.get_by_role("button", name=label).click()


def case_state(case_id: int) -> str:
    return Case.objects.get(pk=case_id).state


def test_it_takes_a_rule_candidate_from_the_village_phone_to_county_approval(new_page, live_server):
    people = S.staff()
    household = S.candidate_household(head="王秀英")
    S.screen()
    assert S.candidate_of(household) == "marginal"
    number = household.household_number
    today = timezone.localdate()

    # -- the village cadre's phone: home page worklists → candidates → household → open a case
    phone = new_page(phone=True)
    login(phone, live_server, people["village"].username)
    card = phone.locator("[data-worklist=candidates]")
    assert int(card.locator("b").inner_text()) >= 1
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-01-village-home-360")
    card.click()
    phone.wait_for_url(re.compile(r"/worklists/candidates/"))
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-02-candidates-360")
    phone.get_by_role("link", name=number, exact=True).first.click()
    phone.wait_for_url(re.compile(rf"/households/{number}/"))
    assert "王秀英" in phone.locator("main, body").first.inner_text()
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-03-household-360")
    phone.get_by_role("link", name="发起识别纳入").click()
    phone.wait_for_url(re.compile(rf"/cases/new/identification/{number}/"))
    phone.get_by_label("来源渠道").select_option(label="大数据预警")
    phone.get_by_label("申请事由").fill("规则筛查: 家庭成员患重病, 人均纯收入低于监测范围")
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-04-open-360")
    with phone.expect_navigation():
        phone.get_by_role("button", name="提交").click()
    match = re.search(r"/cases/(\d+)/", phone.url)
    assert match, f"未进入案件页: {phone.url}\n{phone.locator('body').inner_text()[:800]}"
    case_id = int(match.group(1))
    assert case_state(case_id) == "applied"
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-05-case-applied-360")

    # -- without 附件1 the home check is offered as blocked, with the reason; record the consent
    blocked = phone.locator(".step.blocked").filter(has_text="入户核实")
    assert "承诺授权书" in blocked.inner_text()
    form = step_form(phone, "record_consent")
    form.get_by_label("签署人 (户主或家庭成员)").fill("王秀英")
    submit(phone, form, "签署承诺授权书 (附件1)")
    assert household.consents.get().signer_name == "王秀英"

    # -- home check (附件2) by two investigators
    form = step_form(phone, "home_check")
    form.get_by_label("调查人员").fill("李四\n王五")
    form.get_by_label("家庭人口 (人)").fill("1")
    form.get_by_label("家庭年纯收入预估 (元)").fill("3000")
    form.get_by_label("劳动能力").select_option(index=2)
    form.get_by_label("核实情况").fill("户主患重病长期治疗, 无务工收入")
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-06-home-check-form-360")
    submit(phone, form, "入户核实 (附件2)")
    assert case_state(case_id) == "checked"

    # -- village review (民主评议): category and risks come pre-filled from the rule result
    form = step_form(phone, "village_review")
    form.get_by_label("参加评议人员").fill("村支书\n驻村队员\n村民代表")
    assert form.get_by_label("评议结论").input_value() == "include"
    assert form.get_by_label("监测对象类别").input_value() == "marginal"
    shot(phone, "w1-07-review-form-360")
    submit(phone, form, "村民主评议")
    assert case_state(case_id) == "village_notice"
    assert_no_sideways_scroll(phone)
    shot(phone, "w1-08-case-notice-360")

    # -- the public notice list prints, without ID numbers
    phone.goto(url(live_server, f"/workflows/notices/{S.VILLAGE}/"))
    text = phone.locator("body").inner_text()
    assert "王秀英" in text and "拟纳入监测对象" in text
    assert not ID_NUMBER.search(phone.content()), "公示名单不得出现身份证号"
    shot(phone, "w1-09-notice-list-360")
    phone.emulate_media(media="print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    phone.pdf(path=str(SHOTS / "w1-notice-list.pdf"), format="A4")
    assert (SHOTS / "w1-notice-list.pdf").stat().st_size > 1000
    assert phone.locator(".noprint").first.is_hidden()  # the print button does not print

    # -- time travel: the notice period is over (5 days in 阜南); close it through the services
    case = Case.objects.get(pk=case_id)
    later = today + dt.timedelta(days=8)
    case = services.case_advance(actor=people["village"], case_id=case_id, transition="close_village_notice",
                                 seen_version=case.version, on=later)
    assert case.state == "township_review"

    # -- the township approves at /cases/<id>/
    desk = new_page()
    login(desk, live_server, people["township"].username)
    desk.goto(url(live_server, f"/cases/{case_id}/"))
    shot(desk, "w1-10-township-case")
    form = step_form(desk, "township_approve")
    form.get_by_label("签字人 (乡镇负责人)").fill("乡长赵六")
    submit(desk, form, "乡镇审核通过")
    assert case_state(case_id) == "county_comparison"  # no township notice in the national profile

    # -- the county compares with the departments' data, then approves
    county = new_page()
    login(county, live_server, people["county"].username)
    county.goto(url(live_server, f"/cases/{case_id}/"))
    form = step_form(county, "record_comparison")
    for department in ("公安", "不动产", "医保"):
        form.get_by_label(department, exact=True).check()
    shot(county, "w1-11-county-comparison")
    submit(county, form, "县级部门信息比对")
    assert case_state(case_id) == "county_approval"
    form = step_form(county, "approve")
    assert form.get_by_label("监测对象类别").input_value() == "marginal"
    submit(county, form, "县级审定纳入")
    assert case_state(case_id) == "identified"
    household.refresh_from_db()
    assert household.category == "marginal" and household.identified_on is not None
    assert "已纳入" in county.locator(".case-state").inner_text() or "纳入" in county.locator(".case-state").inner_text()
    shot(county, "w1-12-county-identified")
    events = list(Case.objects.get(pk=case_id).events.values_list("transition", flat=True))
    assert events == ["open", "record_consent", "home_check", "village_review", "close_village_notice",
                      "township_approve", "record_comparison", "approve"]
