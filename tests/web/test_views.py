import pytest

from tests.factories import HouseholdFactory, MemberFactory, UserFactory, ensure_region

pytestmark = pytest.mark.django_db


def test_it_asks_for_a_login_before_showing_anything(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_it_masks_id_numbers_on_the_household_page_and_hides_other_regions(client):
    member = MemberFactory(household=HouseholdFactory(household_number="MINE"))
    HouseholdFactory(household_number="OTHER", village=ensure_region("341225104201"))
    client.force_login(UserFactory(role="village", region_code="341225103208"))
    page = client.get("/households/MINE/").content.decode()
    assert member.name in page
    assert member.id_number not in page and member.id_number[:6] + "********" + member.id_number[-4:] in page
    assert client.get("/households/OTHER/").status_code == 404
