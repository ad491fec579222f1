"""临时救助: 分级审批 at and around the township limit (3000 元, fangfan default), 先行救助 at and
around its limit (1000 元) with the papers after, the same-cause interval (12 months) and who may
do which step."""
import datetime as dt

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.lowincome.models import TempAid
from fangfan.lowincome.services import LowIncomeError
from fangfan.lowincome.tempaid import approval_level, temp_aid_apply, temp_aid_decide, temp_aid_papers, temp_aid_review
from tests.lowincome.factories import ANKANG, ANKANG_OTHER_TOWNSHIP, family, users

pytestmark = pytest.mark.django_db
D = dt.date


@pytest.mark.parametrize(("fen", "level"), [(299_999, "township"), (300_000, "township"), (300_001, "county")])
def test_it_gives_the_approval_level_at_and_around_the_township_limit(fen, level):
    got, limit, arithmetic = approval_level(ANKANG, D(2026, 6, 1), fen)
    assert (got, limit) == (level, 300_000)
    assert ("≤ 乡镇审批限额 3000.00 元" in arithmetic) == (level == "township")


def test_it_lets_the_township_grant_the_limit_itself_and_sends_one_fen_more_to_the_county():
    people = users()
    h = family(wage_yuan=3000)
    at = temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=300_000, reason="住院",
                        on=D(2026, 6, 1))
    assert (at.state, at.level) == ("township", "township")
    at = temp_aid_review(actor=people["township"], aid_id=at.pk, approve=True, comment="属实", on=D(2026, 6, 3))
    assert (at.state, at.paid_on, at.decided_by) == ("granted", D(2026, 6, 3), people["township"])

    h2 = family(wage_yuan=3000)
    above = temp_aid_apply(actor=people["village"], household=h2, cause="accident", amount=300_001, reason="火灾",
                           on=D(2026, 6, 1))
    assert above.level == "county"
    assert "3000.01 元 > 乡镇审批限额 3000.00 元" in above.level_arithmetic
    above = temp_aid_review(actor=people["township"], aid_id=above.pk, approve=True, comment="同意上报", on=D(2026, 6, 2))
    assert (above.state, above.paid_on) == ("county", None)
    with pytest.raises(LowIncomeError, match="县民政局"):
        temp_aid_decide(actor=people["county"], aid_id=above.pk, approve=True, comment="", on=D(2026, 6, 4))
    with pytest.raises(LowIncomeError, match="县民政局"):
        temp_aid_decide(actor=people["township"], aid_id=above.pk, approve=True, comment="", on=D(2026, 6, 4))
    above = temp_aid_decide(actor=people["civil"], aid_id=above.pk, approve=True, comment="批准", on=D(2026, 6, 4))
    assert (above.state, above.paid_on, above.decided_by) == ("granted", D(2026, 6, 4), people["civil"])
    actions = list(AuditEvent.objects.filter(object_type="temp_aid", object_key=str(above.pk))
                   .order_by("id").values_list("action", flat=True))
    assert actions == ["temp_aid.apply", "temp_aid.review", "temp_aid.decide"]


def test_it_follows_a_countys_own_dated_limit():
    from fangfan.screening.services import county_parameter_set

    people = users()
    county_parameter_set(actor=people["civil"], name="dibao.temp_aid_township_limit", region_prefix="610902",
                         start=D(2026, 7, 1), value_text="5000", document="汉民发〔2026〕7号")
    assert approval_level(ANKANG, D(2026, 6, 30), 400_000)[0] == "county"
    assert approval_level(ANKANG, D(2026, 7, 1), 400_000)[0] == "township"
    assert approval_level(ANKANG, D(2026, 7, 1), 500_001)[0] == "county"


def test_it_pays_a_small_urgent_aid_at_once_and_takes_the_papers_after():
    people = users()
    h = family(wage_yuan=3000)
    with pytest.raises(LowIncomeError, match="1000.01 元 > 先行救助上限 1000.00 元"):
        temp_aid_apply(actor=people["township"], household=h, cause="accident", amount=100_001, reason="车祸",
                       on=D(2026, 6, 1), urgent=True)
    with pytest.raises(LowIncomeError, match="乡镇账号"):
        temp_aid_apply(actor=people["village"], household=h, cause="accident", amount=50_000, reason="车祸",
                       on=D(2026, 6, 1), urgent=True)
    assert not TempAid.objects.exists()
    aid = temp_aid_apply(actor=people["township"], household=h, cause="accident", amount=100_000, reason="车祸",
                         on=D(2026, 6, 1), urgent=True)
    assert (aid.state, aid.paid_on, aid.papers_due_on) == ("urgent_paid", D(2026, 6, 1), D(2026, 6, 11))
    with pytest.raises(LowIncomeError, match="补充的材料"):
        temp_aid_papers(actor=people["village"], aid_id=aid.pk, note=" ", on=D(2026, 6, 5))
    aid = temp_aid_papers(actor=people["village"], aid_id=aid.pk, note="诊断书、费用清单", on=D(2026, 6, 5))
    assert (aid.state, aid.papers_on, aid.paid_on) == ("granted", D(2026, 6, 5), D(2026, 6, 1))


@pytest.mark.parametrize(("on", "refused"), [(D(2027, 1, 14), True), (D(2027, 1, 15), False)])
def test_it_refuses_the_same_cause_within_twelve_months(on, refused):
    people = users()
    h = family(wage_yuan=3000)
    first = temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=80_000, reason="住院",
                           on=D(2026, 1, 10))
    temp_aid_review(actor=people["township"], aid_id=first.pk, approve=True, comment="", on=D(2026, 1, 15))
    if refused:
        with pytest.raises(LowIncomeError, match="2026-01-15 因「重大疾病」.*2027-01-15 起方可再次申请"):
            temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=50_000, reason="复发", on=on)
        assert TempAid.objects.count() == 1
    else:
        assert temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=50_000, reason="复发",
                              on=on).state == "township"
    # another cause is never blocked by it
    assert temp_aid_apply(actor=people["village"], household=h, cause="disaster", amount=50_000, reason="冰雹",
                          on=on).state == "township"


def test_it_refuses_a_second_open_application_for_the_same_cause_and_does_not_count_a_refused_one():
    people = users()
    h = family(wage_yuan=3000)
    aid = temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=50_000, reason="住院",
                         on=D(2026, 6, 1))
    with pytest.raises(LowIncomeError, match="办理中"):
        temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=50_000, reason="住院",
                       on=D(2026, 6, 2))
    with pytest.raises(LowIncomeError, match="理由"):
        temp_aid_review(actor=people["township"], aid_id=aid.pk, approve=False, comment="", on=D(2026, 6, 3))
    aid = temp_aid_review(actor=people["township"], aid_id=aid.pk, approve=False, comment="已有医疗救助",
                          on=D(2026, 6, 3))
    assert aid.state == "refused" and aid.paid_on is None
    assert temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=50_000, reason="再次申请",
                          on=D(2026, 6, 4)).state == "township"


def test_it_refuses_bad_input_and_outside_actors_with_reasons():
    people = users()
    other = users(ANKANG_OTHER_TOWNSHIP)
    h = family(wage_yuan=3000)
    cases = [
        (dict(actor=people["village"], cause="lottery", amount=100, reason="x"), "事由类别"),
        (dict(actor=people["village"], cause="illness", amount=0, reason="x"), "大于 0"),
        (dict(actor=people["village"], cause="illness", amount=100, reason=" "), "写明救助事由"),
        (dict(actor=other["township"], cause="illness", amount=100, reason="x"), "管辖范围"),
        (dict(actor=people["civil"], cause="illness", amount=100, reason="x"), "角色"),
    ]
    for kwargs, message in cases:
        with pytest.raises(LowIncomeError, match=message):
            temp_aid_apply(household=h, on=D(2026, 6, 1), **kwargs)
    assert not TempAid.objects.exists()
    aid = temp_aid_apply(actor=people["village"], household=h, cause="illness", amount=100, reason="x", on=D(2026, 6, 1))
    for actor in (people["village"], other["township"], people["civil"]):
        with pytest.raises(LowIncomeError):
            temp_aid_review(actor=actor, aid_id=aid.pk, approve=True, comment="", on=D(2026, 6, 2))
    TempAid.objects.filter(pk=aid.pk).update(version=2)  # someone else acted meanwhile
    with pytest.raises(LowIncomeError, match="第1版, 现在是第2版"):
        temp_aid_review(actor=people["township"], aid_id=aid.pk, approve=True, comment="", on=D(2026, 6, 2),
                        seen_version=1)


def test_it_refuses_village_and_township_temp_aid_steps_once_a_campaigns_entry_window_has_closed(monkeypatch):
    from fangfan.workflows.errors import NotAllowed
    from tests.lowincome.factories import entry_campaign, set_clock

    people = users()
    entry_campaign(ANKANG[:6])
    set_clock(monkeypatch, "2026-05-31T17:59:59")
    waiting = temp_aid_apply(actor=people["village"], household=family(wage_yuan=3000), cause="illness",
                             amount=100_000, reason="住院", on=D(2026, 5, 31))
    urgent = temp_aid_apply(actor=people["township"], household=family(wage_yuan=3000), cause="accident",
                            amount=50_000, reason="火灾", on=D(2026, 5, 31), urgent=True)
    set_clock(monkeypatch, "2026-05-31T18:00:00")
    with pytest.raises(NotAllowed, match="18:00 截止"):
        temp_aid_apply(actor=people["village"], household=family(wage_yuan=3000), cause="illness", amount=100_000,
                       reason="住院", on=D(2026, 5, 31))
    with pytest.raises(NotAllowed, match="18:00 截止"):
        temp_aid_review(actor=people["township"], aid_id=waiting.pk, approve=True, comment="属实", on=D(2026, 5, 31))
    with pytest.raises(NotAllowed, match="18:00 截止"):
        temp_aid_papers(actor=people["township"], aid_id=urgent.pk, note="补齐病历", on=D(2026, 5, 31))
    assert sorted(TempAid.objects.values_list("state", flat=True)) == ["township", "urgent_paid"]
