"""Writes of the low-income app (fangfan.lowincome.services) refused to village and township
accounts while a campaign's entry window is closed (W7); the county's are not."""
import datetime as dt

import pytest

from fangfan.lowincome.services import member_assistance_set
from fangfan.workflows.errors import NotAllowed
from tests.lowincome.factories import ANKANG, entry_campaign, family, set_clock, users

pytestmark = pytest.mark.django_db


def test_it_refuses_a_township_setting_dibao_flags_after_the_entry_window_closes_but_not_the_county(monkeypatch):
    people = users()
    h = family(wage_yuan=2000)
    member = h.members.get()
    entry_campaign(ANKANG[:6])
    set_clock(monkeypatch, "2026-05-31T18:00:00")
    with pytest.raises(NotAllowed, match="18:00 截止"):
        member_assistance_set(actor=people["township"], household=h, members=[member.id_index], dibao=True,
                              reason="复核")
    member.refresh_from_db()
    assert member.dibao is False
    assert member_assistance_set(actor=people["civil"], household=h, members=[member.id_index], dibao=True,
                                 reason="县民政局审批纳入") == 1
    member.refresh_from_db()
    assert member.dibao is True


def test_it_refuses_a_village_opening_a_dibao_application_or_recheck_after_the_entry_window_closes(monkeypatch):
    from fangfan.workflows import services as wf
    from fangfan.workflows.models import Case

    people = users()
    h = family(wage_yuan=2000)
    entry_campaign(ANKANG[:6])
    set_clock(monkeypatch, "2026-05-31T18:00:00")

    with pytest.raises(NotAllowed, match="18:00 截止"):
        wf.case_open_lowincome(actor=people["village"], household=h, programme="dibao", on=dt.date(2026, 5, 31),
                               reason="家庭困难")
    with pytest.raises(NotAllowed, match="18:00 截止"):
        wf.case_open_lowincome_review(actor=people["village"], household=h, on=dt.date(2026, 5, 31), reason="年度复核")
    assert not Case.objects.filter(household=h).exists()


def _stored_rows(*tables: str) -> str:
    """Every row of the tables named, as the database holds them."""
    from django.db import connection

    parts = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            parts.extend("|".join(map(str, row)) for row in cursor.fetchall())
    return "\n".join(parts)


def test_it_keeps_the_enrolled_and_paid_members_by_blind_index_and_no_plain_id():
    from fangfan.lowincome.models import Enrolment, PaymentLine
    from fangfan.lowincome.payments import payment_lists_build
    from fangfan.lowincome.services import enrolment_enter, enrolment_exit

    people = users()
    h = family(wage_yuan=2000, people=(("户主", dt.date(1980, 5, 1)), ("配偶", dt.date(1982, 5, 1))))
    head, spouse = h.members.order_by("id")
    # A caller may name the members by plain ID or by blind index: both are stored as the index.
    enrolment = enrolment_enter(actor=people["civil"], household=h, case=None, programme="dibao",
                                members=[head.id_number, spouse.id_index], starts_on=dt.date(2026, 1, 1),
                                on=dt.date(2026, 1, 5))
    assert Enrolment.objects.get(pk=enrolment.pk).members == [head.id_index, spouse.id_index]
    assert set(h.members.values_list("dibao", flat=True)) == {True}
    payment_lists_build(actor=people["civil"], month=dt.date(2026, 3, 1), region=ANKANG[:9])
    line = PaymentLine.objects.get(household=h)
    assert sorted(line.members) == sorted([head.id_index, spouse.id_index]) and line.amount > 0

    stored = _stored_rows("lowincome_enrolment", "lowincome_paymentline", "lowincome_paymentlist", "audit_auditevent")
    assert head.id_index in stored
    assert head.id_number not in stored and spouse.id_number not in stored

    enrolment_exit(actor=people["civil"], enrolment=enrolment, on=dt.date(2026, 4, 1), reason="收入提高")
    assert set(h.members.values_list("dibao", flat=True)) == {False}


def test_it_converts_the_plain_ids_of_existing_enrolments_and_payment_lines_to_blind_indexes():
    import importlib
    from types import SimpleNamespace

    from django.apps import apps
    from django.db import connection

    from fangfan.lowincome.models import Enrolment, PaymentLine
    from fangfan.lowincome.payments import payment_lists_build

    migration = importlib.import_module("fangfan.lowincome.migrations.0004_members_by_blind_index")
    people = users()
    h = family(wage_yuan=2000)
    h.members.update(dibao=True)
    member = h.members.get()
    payment_lists_build(actor=people["civil"], month=dt.date(2026, 3, 1), region=ANKANG[:9])
    enrolment = Enrolment.objects.create(household=h, programme="dibao", members=[member.id_index],
                                         starts_on=dt.date(2026, 1, 1), approved_on=dt.date(2026, 1, 1))
    # Rows as they were before this change: the plain ID.
    Enrolment.objects.filter(pk=enrolment.pk).update(members=[member.id_number])
    PaymentLine.objects.filter(household=h).update(members=[member.id_number])

    for _ in range(2):  # an interrupted migration run again changes nothing more
        migration.index_members(apps, SimpleNamespace(connection=connection))
        assert Enrolment.objects.get(pk=enrolment.pk).members == [member.id_index]
        assert list(PaymentLine.objects.filter(household=h).values_list("members", flat=True)) == [[member.id_index]]
