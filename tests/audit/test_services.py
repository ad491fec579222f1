import pytest

from fangfan.audit.models import AuditEvent
from fangfan.audit.services import audit_bulk, audit_record
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_it_records_who_did_what_to_which_region_by_its_12_digit_code():
    user = UserFactory(username="county1", role="county_rr", region_code="341225000000")
    for code in ("341225", "341225103208", ""):
        audit_record(actor=user, action="x.test", object_type="x", object_key=code or "all", region_code=code)
    audit_bulk(actor=None, rows=[{"action": "x.bulk", "object_type": "x", "object_key": "1", "region_code": "3412"}])

    stored = list(AuditEvent.objects.order_by("id").values_list("actor_name", "region_code"))
    assert stored == [("county1", "341225000000"), ("county1", "341225103208"), ("county1", ""),
                      ("system", "341200000000")]
