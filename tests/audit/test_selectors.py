"""The personal-data access log: full ID views and exports of the county, for the county offices."""
from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from fangfan.accounts.models import Role
from fangfan.audit.selectors import personal_data_log
from fangfan.audit.services import audit_record, personal_data_export_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_lists_the_countys_full_id_views_and_exports_only(client):
    village = UserFactory(username="cun", role=Role.VILLAGE, region_code="341225103208")
    elsewhere = UserFactory(username="other", role=Role.VILLAGE, region_code="341222100201")
    county = UserFactory(username="xian", role=Role.COUNTY_RR, region_code="341225000000")
    audit_record(actor=village, action="member.id_view", object_type="member", object_key="7",
                 household_key="H1", region_code="341225103208", comment="入户核实身份")
    personal_data_export_record(actor=village, what="unregistered", rows=3, reason="核实")
    audit_record(actor=elsewhere, action="member.id_view", object_type="member", object_key="8",
                 household_key="户-外县-2", region_code="341222100201", comment="x")
    audit_record(actor=village, action="household.update", object_type="household", object_key="H1",
                 region_code="341225103208")

    rows = list(personal_data_log(actor=county))

    assert [(e.action, e.actor_name, e.comment) for e in rows] == [
        ("personal_data.export", "cun", "核实"), ("member.id_view", "cun", "入户核实身份")]
    assert [e.object_key for e in personal_data_log(actor=county, action="member.id_view")] == ["7"]
    with pytest.raises(PermissionDenied):
        personal_data_log(actor=village)

    client.force_login(county)
    page = client.get("/audit/personal-data/").content.decode()
    assert "入户核实身份" in page and "查看完整证件号码" in page and "户-外县-2" not in page
    client.force_login(village)
    assert client.get("/audit/personal-data/").status_code == 403
