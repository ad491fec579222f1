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
        member_assistance_set(actor=people["township"], household=h, id_numbers=[member.id_number], dibao=True,
                              reason="复核")
    member.refresh_from_db()
    assert member.dibao is False
    assert member_assistance_set(actor=people["civil"], household=h, id_numbers=[member.id_number], dibao=True,
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
