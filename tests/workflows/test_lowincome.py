"""W5 低保/特困 cases on the transition engine: application → economic check → township review and
notice → 县民政局 approval → entry; the re-check with continue / phase-out (C2) / exit; single-person
低保; roles, scope, consent, audit and the derived forms, as for W1."""
import datetime as dt

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.departments.models import FeedBatch, FeedRow
from fangfan.lowincome.models import Enrolment
from fangfan.registry.models import Member
from fangfan.workflows import engine, forms as F, lowincome as W5
from fangfan.workflows.engine import fire
from fangfan.workflows.errors import GuardFailed, NotAllowed
from fangfan.workflows.models import Case
from tests.lowincome.factories import ANKANG, ANKANG_OTHER_TOWNSHIP, family, users

pytestmark = pytest.mark.django_db
D = dt.date
CONSENT = {"signer_name": "户主"}
CHECK = {"investigators": ["李四", "王五"], "findings": "入户核实收入、财产"}


def step(case, name, actor, on, **data):
    comment = data.pop("comment", "")
    return fire(case, name, actor=actor, seen_version=case.version, on=on, data=data, comment=comment)


def to_county(case, people, on=D(2026, 3, 2)):
    case = step(case, "economic_check", people["village"], on, **CHECK)
    case = step(case, "township_review", people["township"], on + dt.timedelta(days=1), signed_by="乡长")
    return step(case, "close_notice", people["township"], on + dt.timedelta(days=6))


def test_it_runs_an_application_to_entry_and_flags_every_member_in_dibao():
    people = users()
    # I4 = 6000 for 2 people: 3000 a head, below L = 4830 → 符合低保条件
    h = family(wage_yuan=6000, people=(("户主", D(1980, 5, 1)), ("配偶", D(1982, 5, 1))))
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="低保", on=D(2026, 3, 2),
                              reason="收入低", consent=CONSENT)
    case = to_county(case, people)
    assert case.state == "county_approval"
    assert case.data["economic_check"]["rule_result"]["low_income_class"] == "dibao_eligible"
    assert case.data["economic_check"]["rule_result"]["per_capita_dibao_income"] == 300000
    case = step(case, "approve", people["civil"], D(2026, 3, 10), starts_on=D(2026, 3, 15))
    assert case.state == "entered" and case.closed_on == D(2026, 3, 10)
    assert set(Member.objects.filter(household=h).values_list("dibao", flat=True)) == {True}
    enrolment = Enrolment.objects.get(household=h)
    assert (enrolment.programme, enrolment.starts_on, enrolment.case_id) == ("dibao", D(2026, 3, 1), case.pk)
    names = list(case.events.values_list("transition", flat=True))
    assert names == ["open", "economic_check", "township_review", "close_notice", "approve"]
    assert AuditEvent.objects.filter(object_type="case", object_key=str(case.pk)).count() == 5
    assert AuditEvent.objects.filter(action="member.assistance", household_key=h.household_number).count() == 2


def test_it_keeps_the_notice_running_for_its_days_before_the_county_sees_the_case():
    people = users()
    h = family(wage_yuan=3000)
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=D(2026, 3, 2),
                              consent=CONSENT)
    case = step(case, "economic_check", people["village"], D(2026, 3, 2), **CHECK)
    case = step(case, "township_review", people["township"], D(2026, 3, 3), signed_by="乡长")
    with pytest.raises(GuardFailed, match="2026-03-08起方可结束"):
        step(case, "close_notice", people["township"], D(2026, 3, 7))
    assert step(case, "close_notice", people["township"], D(2026, 3, 8)).state == "county_approval"


def test_it_refuses_the_economic_check_without_consent_and_attaches_the_asset_feeds():
    people = users()
    h = family(wage_yuan=3000)
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=D(2026, 3, 2))
    with pytest.raises(GuardFailed, match="承诺授权书"):
        step(case, "economic_check", people["village"], D(2026, 3, 2), **CHECK)
    member = h.members.get()
    batch = FeedBatch.objects.create(department="不动产", period="2026-02", county="610902", file_name="b.csv",
                                     sha256="b" * 64)
    FeedRow.objects.create(batch=batch, department="不动产", row_number=2, id_number=member.id_number, row_key="r1",
                           values={"房产": "城镇商品房 1 套"}, matched=True, household=h, member=member)
    case = step(case, "record_consent", people["village"], D(2026, 3, 2), signer_name="户主")
    case = step(case, "economic_check", people["village"], D(2026, 3, 3), **CHECK)
    assets = case.data["economic_check"]["assets"]
    assert assets == [{"department": "不动产", "period": "2026-02", "member": "户主", "finding": "房产: 城镇商品房 1 套"}]
    assert member.id_number not in str(assets)


def test_it_refuses_dibao_for_a_household_above_the_line_unless_the_county_gives_a_reason():
    people = users()
    h = family(wage_yuan=6000)  # one person, 6000 ≥ 4830: 低保边缘, not eligible
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=D(2026, 3, 2),
                              consent=CONSENT)
    case = to_county(case, people)
    with pytest.raises(GuardFailed, match="低保边缘"):
        step(case, "approve", people["civil"], D(2026, 3, 10), starts_on=D(2026, 3, 1))
    case = step(case, "approve", people["civil"], D(2026, 3, 10), starts_on=D(2026, 3, 1),
                override_reason="突发重病, 收入已中断")
    assert case.state == "entered"


def test_it_lets_only_the_county_civil_affairs_bureau_approve_and_only_in_its_scope():
    people = users()
    h = family(wage_yuan=3000)
    case = to_county(W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=D(2026, 3, 2),
                                        consent=CONSENT), people)
    with pytest.raises(NotAllowed, match="县民政局"):
        step(case, "approve", people["county"], D(2026, 3, 10), starts_on=D(2026, 3, 1))
    with pytest.raises(NotAllowed):
        step(case, "approve", people["township"], D(2026, 3, 10), starts_on=D(2026, 3, 1))
    elsewhere = users(ANKANG_OTHER_TOWNSHIP)
    other = family(ANKANG_OTHER_TOWNSHIP, wage_yuan=3000)
    other_case = W5.lowincome_apply(actor=elsewhere["village"], household=other, programme="dibao",
                                    on=D(2026, 3, 2), consent=CONSENT)
    with pytest.raises(NotAllowed, match="管辖范围"):
        step(other_case, "economic_check", people["township"], D(2026, 3, 2), **CHECK)
    with pytest.raises(NotAllowed):
        W5.lowincome_apply(actor=people["civil"], household=family(wage_yuan=1), programme="dibao", on=D(2026, 3, 2))


def test_it_enters_a_single_person_dibao_only_for_the_severely_disabled_member_of_a_marginal_household():
    people = users()
    # 2 people, I4 12000: 6000 a head, between L 4830 and 1.5 × L 7245 → 低保边缘
    h = family(wage_yuan=12000, people=(("户主", D(1975, 1, 1)),
                                       ("重残", D(1990, 1, 1), {"disability_grade": "1", "disability_kind": "physical"})))
    disabled = h.members.get(name="重残")
    head = h.members.get(name="户主")
    wrong = W5.lowincome_apply(actor=people["village"], household=h, programme="单人保", on=D(2026, 3, 2),
                               member_ids=[head.pk], consent=CONSENT)
    wrong = to_county(wrong, people)
    # Members are named by their ID's blind index in rule results and enrolments (issue 11).
    assert wrong.data["economic_check"]["rule_result"]["single_person_dibao"] == disabled.id_index
    with pytest.raises(GuardFailed, match="单人保限于"):
        step(wrong, "approve", people["civil"], D(2026, 3, 10), starts_on=D(2026, 3, 1))
    step(wrong, "reject_county", people["civil"], D(2026, 3, 10), comment="户主不是重残重病成员")
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="single_person", on=D(2026, 3, 11),
                              member_ids=[disabled.pk])
    case = to_county(case, people, D(2026, 3, 11))
    case = step(case, "approve", people["civil"], D(2026, 3, 20), starts_on=D(2026, 4, 1), own_income=0)
    assert case.state == "entered"
    assert dict(h.members.values_list("name", "dibao")) == {"户主": False, "重残": True}
    assert Enrolment.objects.get(household=h).members == [disabled.id_index]


def test_it_needs_members_for_a_single_person_application():
    people = users()
    with pytest.raises(GuardFailed, match="单人保须选择"):
        W5.lowincome_apply(actor=people["village"], household=family(wage_yuan=1), programme="single_person",
                           on=D(2026, 3, 2))


def _entered(people, wage_yuan=3000, on=D(2026, 1, 5)):
    h = family(wage_yuan=wage_yuan)
    case = W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=on, consent=CONSENT)
    case = to_county(case, people, on)
    step(case, "approve", people["civil"], on + dt.timedelta(days=10), starts_on=on)
    return h


@pytest.mark.parametrize("above, ends", [
    (D(2026, 1, 31), D(2026, 7, 31)),
    (D(2025, 8, 31), D(2026, 2, 28)),  # month arithmetic clamps to the month's end
    (D(2026, 3, 15), D(2026, 9, 15)),
])
def test_it_phases_out_a_household_whose_income_rose_above_the_line_with_its_end_date(above, ends):
    people = users()
    h = _entered(people, on=D(2025, 6, 2))
    h.incomes.update(wage=900_000)  # 9000 > 4830
    review = W5.lowincome_review_open(actor=people["civil"], household=h, on=D(2026, 3, 20), reason="年度复核")
    review = step(review, "recheck", people["township"], D(2026, 3, 21), **CHECK)
    review = step(review, "phase_out", people["civil"], D(2026, 3, 22), income_above_on=above)
    assert review.state == "phasing_out"
    assert review.data["phase_out"]["ends_on"] == ends.isoformat()
    enrolment = Enrolment.objects.get(household=h)
    assert (enrolment.phase_out_from, enrolment.phase_out_ends_on) == (above, ends)
    assert h.members.get().dibao  # kept through the phase-out


def test_it_refuses_a_phase_out_while_the_income_is_still_below_the_line():
    people = users()
    h = _entered(people)
    review = W5.lowincome_review_open(actor=people["township"], household=h, on=D(2026, 3, 20))
    review = step(review, "recheck", people["village"], D(2026, 3, 21), **CHECK)
    with pytest.raises(GuardFailed, match="未超过低保标准"):
        step(review, "phase_out", people["civil"], D(2026, 3, 22), income_above_on=D(2026, 3, 1))
    review = step(review, "continue", people["civil"], D(2026, 3, 22))
    assert review.state == "continued"
    assert Enrolment.objects.get(household=h).last_checked_on == D(2026, 3, 22)


def test_it_exits_with_a_reason_clearing_the_flags_and_marking_the_household_former():
    people = users()
    h = _entered(people)
    review = W5.lowincome_review_open(actor=people["civil"], household=h, on=D(2026, 3, 20))
    with pytest.raises(GuardFailed, match="退出原因"):
        step(review, "exit", people["civil"], D(2026, 3, 21), exit_reason="whatever")
    review = step(review, "exit", people["civil"], D(2026, 3, 21), exit_reason="moved", comment="全家迁往西安")
    assert review.state == "exited"
    h.refresh_from_db()
    assert h.former_dibao_tekun and not h.members.get().dibao
    enrolment = Enrolment.objects.get(household=h)
    assert enrolment.exited_on == D(2026, 3, 21) and enrolment.exit_reason == "户籍迁出: 全家迁往西安"
    with pytest.raises(GuardFailed, match="没有在保"):
        W5.lowincome_review_open(actor=people["civil"], household=h, on=D(2026, 3, 22))


def test_it_refuses_a_second_open_application_and_one_while_already_in_dibao():
    people = users()
    h = _entered(people)
    with pytest.raises(GuardFailed, match="已在低保保障中"):
        W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=D(2026, 3, 2))
    other = family(wage_yuan=100)
    W5.lowincome_apply(actor=people["village"], household=other, programme="dibao", on=D(2026, 3, 2))
    with pytest.raises(GuardFailed, match="已有办理中"):
        W5.lowincome_apply(actor=people["township"], household=other, programme="tekun", on=D(2026, 3, 2))


@pytest.mark.parametrize("kind", [Case.Kind.LOWINCOME, Case.Kind.LOWINCOME_REVIEW])
def test_it_derives_a_form_for_every_w5_step(kind):
    wf = engine.workflow_for(kind)
    h = family(wage_yuan=1)
    case = Case.objects.create(kind=kind, household=h, village_code=h.village_id, state=wf.initial,
                               opened_on=D(2026, 3, 1), version=3)
    for t in wf.transitions:
        form = F.transition_form(t, case)
        for key in t.requires:
            assert key in form.fields or any(f.startswith(f"{key}__") for f in form.fields)
    if kind == Case.Kind.LOWINCOME:
        approve = F.transition_form(wf.transition("approve"), case)
        assert approve.fields["starts_on"].required and not approve.fields["override_reason"].required
        assert wf.transition("approve").roles_for(case) == frozenset({"county_ca"})
    else:
        bad = F.transition_form(wf.transition("exit"), case, data={"seen_version": 3, "exit_reason": "x"})
        assert not bad.is_valid() and "exit_reason" in bad.errors


def test_it_puts_the_approval_on_the_civil_affairs_desk():
    from fangfan.workflows.worklists import waiting

    people = users()
    h = family(wage_yuan=3000)
    case = to_county(W5.lowincome_apply(actor=people["village"], household=h, programme="dibao", on=D(2026, 3, 2),
                                        consent=CONSENT), people)
    rows = list(waiting(actor=people["civil"], as_of=D(2026, 3, 9)))
    assert [(r["case_id"], r["next_step"]) for r in rows] == [(case.pk, "县民政局审批纳入")]
    assert all(r["case_id"] != case.pk for r in waiting(actor=people["county"], as_of=D(2026, 3, 9)))
