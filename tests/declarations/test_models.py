"""A declaration's ID and phone are stored encrypted (issue 11): the rows hold the blind indexes
and ciphers, never the numbers, yet the declaration is still matched to its member, found by
(receipt, phone) on the public status page and counted by phone for the throttle."""
import datetime as dt

import pytest
from django.db import connection

from fangfan.common import pii
from fangfan.declarations import services as S
from fangfan.declarations.models import Declaration
from fangfan.declarations.selectors import PUBLIC_RECEIVED, declaration_public_status
from tests.factories import DEFAULT_VILLAGE, HouseholdFactory, MemberFactory, ensure_region, make_id_number

pytestmark = pytest.mark.django_db

UNKNOWN_ID = make_id_number(498, dt.date(1979, 9, 9), "F")


def _stored_rows(*tables: str) -> str:
    parts = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend("|".join(map(str, row)) for row in cursor.fetchall())
    return "\n".join(parts)


def test_it_stores_neither_the_id_nor_the_phone_of_a_declaration_in_clear():
    member = MemberFactory(household=HouseholdFactory(village=ensure_region(DEFAULT_VILLAGE, "示例村")))
    registered = S.declaration_submit(name="张三", id_number=member.id_number, phone="139 1234-5678",
                                      village_code=DEFAULT_VILLAGE, risk="R01", client_ip="10.0.0.1")
    unknown = S.declaration_submit(name="李四", id_number=UNKNOWN_ID.lower(), phone="0558-6123456",
                                   village_code=DEFAULT_VILLAGE, risk="R02", client_ip="10.0.0.2")

    stored = _stored_rows("declarations_declaration", "audit_auditevent", "workflows_case", "workflows_caseevent")
    for number in (member.id_number, UNKNOWN_ID, "13912345678", "05586123456"):
        assert number not in stored
    # ... but the numbers come back, normalised, for the village that calls the declarant back.
    found = Declaration.objects.get(pk=unknown.pk)
    assert (found.id_number, found.phone) == (UNKNOWN_ID, "05586123456")
    assert found.id_index == pii.id_index(UNKNOWN_ID) and found.phone_index == pii.keyring().index("05586123456")
    assert Declaration.objects.get(pk=registered.pk).household == member.household  # matched by the blind index


def test_it_finds_the_declaration_by_receipt_and_phone_through_the_phones_blind_index():
    ensure_region(DEFAULT_VILLAGE)
    first = S.declaration_submit(name="李四", id_number=UNKNOWN_ID, phone="13912345678",
                                 village_code=DEFAULT_VILLAGE, risk="R01", client_ip="10.0.0.1")
    S.declaration_submit(name="王五", id_number=make_id_number(497), phone="13800000000",
                         village_code=DEFAULT_VILLAGE, risk="R01", client_ip="10.0.0.2")

    assert declaration_public_status(receipt=first.receipt, phone="+86 139-1234-5678") == PUBLIC_RECEIVED
    assert declaration_public_status(receipt=first.receipt, phone="13800000000") is None  # another's phone


def test_it_counts_the_per_phone_limit_on_the_same_phone_written_differently():
    ensure_region(DEFAULT_VILLAGE)
    for i, phone in enumerate(("13912345678", "139 1234 5678", "+8613912345678")):
        S.declaration_submit(name="李四", id_number=UNKNOWN_ID, phone=phone, village_code=DEFAULT_VILLAGE,
                             risk="R01", client_ip=f"10.0.3.{i}")
    with pytest.raises(S.DeclarationThrottled, match="每天最多"):
        S.declaration_submit(name="李四", id_number=UNKNOWN_ID, phone="139-1234-5678", village_code=DEFAULT_VILLAGE,
                             risk="R01", client_ip="10.0.3.9")


def test_it_puts_the_declarations_ciphers_under_the_key_rotation():
    from fangfan.ops.keys import cipher_columns

    found = {(c.label, c.field) for c in cipher_columns()}
    assert ("declarations.Declaration.id_cipher", pii.ID_FIELD) in found
    assert ("declarations.Declaration.phone_cipher", pii.PHONE_FIELD) in found
