"""Every page a role reaches from its menu and its home page fits a 360 px phone: no sideways
scrolling (tables scroll inside .table-wrap), no server error. One test per role walks its
menu entries, its worklists, a household file and a case page, and lists every page that
does not fit, with the elements that stick out."""
from __future__ import annotations

import pytest
from django.utils import timezone

from fangfan.accounts.models import Role
from fangfan.workflows import services
from tests.browser import scenario as S
from tests.browser.helpers import assert_no_sideways_scroll, login, shot, url
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = {
    "village": (Role.VILLAGE, S.VILLAGE, ""),
    "township": (Role.TOWNSHIP, S.VILLAGE[:9].ljust(12, "0"), ""),
    "county_rr": (Role.COUNTY_RR, S.VILLAGE[:6].ljust(12, "0"), ""),
    "county_ca": (Role.COUNTY_CA, S.VILLAGE[:6].ljust(12, "0"), ""),
    "county_dept": (Role.COUNTY_DEPT, S.VILLAGE[:6].ljust(12, "0"), "医保"),
    "admin": (Role.ADMIN, "", ""),
}


@pytest.mark.parametrize("who", list(ROLES))
def test_it_fits_every_page_of_the_role_on_a_360_px_phone(new_page, live_server, who):
    role, region, department = ROLES[who]
    cadre = UserFactory(username="cun-layout", role=Role.VILLAGE, region_code=S.VILLAGE)
    candidate = S.candidate_household(head="张桂芳")
    opened = S.candidate_household(head="刘建国")
    S.screen()
    case = services.case_open_identification(actor=cadre, household=opened, channel="cadre_visit",
                                             on=timezone.localdate(), consent={"signer_name": "刘建国"})
    user = cadre if who == "village" else UserFactory(username=f"layout-{who}", role=role, region_code=region,
                                                      department=department)
    page = new_page(phone=True)
    login(page, live_server, user.username)

    paths = ["/"]
    paths += page.eval_on_selector_all("nav a[href^='/']", "links => links.map(a => a.getAttribute('href'))")
    paths += page.eval_on_selector_all("a[data-worklist]", "links => links.map(a => a.getAttribute('href'))")
    if role in (Role.VILLAGE, Role.TOWNSHIP, Role.COUNTY_RR):
        paths += [f"/households/{candidate.household_number}/", f"/households/?q={candidate.household_number}",
                  f"/cases/{case.pk}/", f"/cases/new/identification/{candidate.household_number}/",
                  f"/workflows/notices/{S.VILLAGE}/"]
    problems = []
    for path in dict.fromkeys(paths):
        response = page.goto(url(live_server, path))
        if response.status >= 500:
            problems.append(f"{path}: HTTP {response.status}")
            continue
        if response.status >= 400:
            continue  # not this role's page (the scope tests check those answers)
        shot(page, f"layout-{who}-{path.strip('/') or 'home'}")
        try:
            assert_no_sideways_scroll(page)
        except AssertionError as exc:
            problems.append(str(exc))
    assert not problems, f"{who}: " + "\n".join(problems)
