import datetime as dt

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.registry.models import Household
from fangfan.workflows import elimination as W2
from fangfan.workflows.engine import fire
from fangfan.workflows.errors import GuardFailed, NotAllowed
from fangfan.workflows.models import Case, Notice
from tests.factories import MeasureFactory, MemberFactory
from tests.workflows.factories import D, FUNAN, HUNAN, YINGKOU, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db

VERIFY = {"investigators": ["李四", "王五"], "annex5": {"income": "稳定", "guarantees": "巩固"},
          "investigators_signed": True, "household_signed": True}
REVIEW = {"members": ["村支书", "驻村队员", "组长"], "decision": "eliminate"}


def step(case, name, actor, on, **data):
    comment = data.pop("comment", "")
    return fire(case, name, actor=actor, seen_version=case.version, on=on, data=data, comment=comment)


def monitored(village=FUNAN, **kwargs):
    h = household(village, category="marginal", identified_on=D(2024, 1, 10), declared_risks="R01", **kwargs)
    MeasureFactory(household=h, measure_code="M05", started_on=D(2024, 2, 1), status="done", responsible_unit="县医保局")
    return h


@pytest.mark.parametrize("village, days", [(FUNAN, 5), (HUNAN, 7)])
def test_it_eliminates_through_all_steps_and_sets_eliminated_on(monkeypatch, village, days):
    fake_rule_result(monkeypatch, elimination="eligible")
    people = staff(village)
    h = monitored(village)
    case = W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    assert case.state == "proposed" and case.data["precheck"]["result"] == "eligible"
    case = step(case, "verify", people["village"], D(2025, 6, 3), **VERIFY)
    assert case.data["verify"]["annex4"][0]["measure"] == "健康帮扶"
    case = step(case, "village_review", people["village"], D(2025, 6, 4), **REVIEW)
    notice = Notice.objects.get(case=case)
    assert (notice.days, notice.proposal, notice.reason) == (days, "拟标注风险消除", "因病风险已稳定消除")
    with pytest.raises(GuardFailed, match="方可结束"):
        step(case, "close_village_notice", people["village"], D(2025, 6, 4) + dt.timedelta(days=days - 1))
    case = step(case, "close_village_notice", people["village"], D(2025, 6, 4) + dt.timedelta(days=days))
    case = step(case, "township_approve", people["township"], D(2025, 6, 16), signed_by="乡长")
    with pytest.raises(GuardFailed, match="消除方式"):
        step(case, "approve", people["county"], D(2025, 6, 18), method="随便")
    case = step(case, "approve", people["county"], D(2025, 6, 18), method="帮扶消除")
    assert case.state == "eliminated"
    h.refresh_from_db()
    assert h.eliminated_on == D(2025, 6, 18) and h.extra["elimination_method"] == "assisted"
    assert h.category == "marginal"  # stays in the registry, marked
    assert AuditEvent.objects.filter(action="household.eliminate", household_key=h.household_number).count() == 1


def test_it_refuses_a_proposal_when_e_rules_fail_and_shows_which(monkeypatch):
    fake_rule_result(monkeypatch, elimination="not_eligible", elimination_failed="E1;E3")
    people = staff(FUNAN)
    h = monitored()
    with pytest.raises(GuardFailed, match="E1 无已落实的帮扶措施; E3 收入未持续稳定高于风险消除标准"):
        W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    assert not Case.objects.filter(household=h).exists()
    check = W2.elimination_precheck(h, D(2025, 6, 2))
    assert [f["rule"] for f in check["failed"]] == ["E1", "E3"]


def test_it_refuses_the_county_approval_when_the_e_rules_fail_by_then(monkeypatch):
    fake_rule_result(monkeypatch, elimination="eligible")
    people = staff(FUNAN)
    h = monitored()
    case = W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    case = step(case, "verify", people["village"], D(2025, 6, 3), **VERIFY)
    case = step(case, "village_review", people["village"], D(2025, 6, 4), **REVIEW)
    case = step(case, "close_village_notice", people["village"], D(2025, 6, 9))
    case = step(case, "township_approve", people["township"], D(2025, 6, 10), signed_by="乡长")
    fake_rule_result(monkeypatch, elimination="not_eligible", elimination_failed="E2")
    with pytest.raises(GuardFailed, match="E2"):
        step(case, "approve", people["county"], D(2025, 6, 12), method="natural")
    h.refresh_from_db()
    assert h.eliminated_on is None and Case.objects.get(pk=case.pk).state == "county_approval"


def test_it_opens_a_yingkou_household_assisted_under_six_months_only_as_tracking(monkeypatch):
    fake_rule_result(monkeypatch, elimination="tracking")
    people = staff(YINGKOU)
    h = household(YINGKOU, category="marginal", identified_on=D(2025, 1, 10), declared_risks="R07")
    MeasureFactory(household=h, measure_code="M02", started_on=D(2025, 3, 15), status="done")
    case = W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    assert case.state == "tracking"
    assert case.data["precheck"]["tracking_until"] == "2025-09-15"  # min_months_assisted 6 in 营口
    with pytest.raises(GuardFailed, match="跟踪关注 \\(可于2025-09-15后提名\\)"):
        step(case, "repropose", people["village"], D(2025, 7, 1))
    assert [t for t in ("verify", "approve") if t in
            [x.name for x in W2.ELIMINATION.transitions if "tracking" in x.sources]] == []
    fake_rule_result(monkeypatch, elimination="eligible")
    case = step(case, "repropose", people["village"], D(2025, 9, 16))
    assert case.state == "proposed" and case.data["repropose"]["precheck"]["result"] == "eligible"


def test_it_requires_signatures_on_annex_4_and_5(monkeypatch):
    fake_rule_result(monkeypatch, elimination="eligible")
    people = staff(FUNAN)
    case = W2.elimination_propose(actor=people["village"], household=monitored(), on=D(2025, 6, 2))
    with pytest.raises(GuardFailed, match="签字"):
        step(case, "verify", people["village"], D(2025, 6, 3), **{**VERIFY, "household_signed": False})


def test_it_asks_for_scrutiny_of_dibao_or_multi_risk_households(monkeypatch):
    fake_rule_result(monkeypatch, elimination="eligible")
    people = staff(FUNAN)
    h = monitored()
    MemberFactory(household=h, relation="spouse", dibao=True)
    case = W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    for name, data, who, on in [("verify", VERIFY, "village", 3), ("village_review", REVIEW, "village", 4),
                                ("close_village_notice", {}, "village", 9),
                                ("township_approve", {"signed_by": "乡长"}, "township", 10)]:
        case = step(case, name, people[who], D(2025, 6, on), **data)
    with pytest.raises(GuardFailed, match="重点审查"):
        step(case, "approve", people["county"], D(2025, 6, 12), method="assisted")
    case = step(case, "approve", people["county"], D(2025, 6, 12), method="assisted", scrutiny="低保继续保留, 收入稳定")
    assert case.state == "eliminated"


def _eliminated(village):
    return household(village, category="marginal", identified_on=D(2023, 1, 10), eliminated_on=D(2024, 6, 1),
                     declared_risks="R01")


def test_it_rolls_back_an_elimination_approved_by_the_county():
    people = staff(FUNAN)
    h = _eliminated(FUNAN)
    with pytest.raises(GuardFailed, match="理由"):
        W2.rollback_request(actor=people["village"], household=h, on=D(2025, 5, 20), reason=" ")
    case = W2.rollback_request(actor=people["village"], household=h, on=D(2025, 5, 20), reason="整户无劳动能力")
    case = step(case, "township_endorse", people["township"], D(2025, 5, 21), signed_by="乡长")
    with pytest.raises(GuardFailed, match="无需报送上级"):
        step(case, "county_forward", people["county"], D(2025, 5, 22))
    with pytest.raises(NotAllowed):
        step(case, "county_approve", people["township"], D(2025, 5, 22))
    case = step(case, "county_approve", people["county"], D(2025, 5, 22))
    assert case.state == "approved"
    h.refresh_from_db()
    assert h.eliminated_on is None and h.category == "marginal" and h.is_monitored
    assert h.extra["eliminated_on_before_rollback"] == "2024-06-01"


def test_it_sends_yingkou_rollbacks_and_removals_to_the_province():
    people = staff(YINGKOU)
    h = _eliminated(YINGKOU)
    case = W2.removal_request(actor=people["county"], household=h, on=D(2025, 5, 20), reason="家庭成员财政供养, 错误纳入")
    assert case.state == "county_review" and case.data["approval_level"] == "province"
    with pytest.raises(GuardFailed, match="省级审批"):
        step(case, "county_approve", people["county"], D(2025, 5, 21))
    case = step(case, "county_forward", people["county"], D(2025, 5, 21))
    with pytest.raises(NotAllowed, match="省督查"):
        step(case, "higher_approve", people["city"], D(2025, 5, 22))
    case = step(case, "higher_approve", people["province"], D(2025, 5, 23))
    assert case.state == "approved"
    h = Household.objects.get(pk=h.pk)  # never deleted
    assert (h.category, h.identified_on, h.eliminated_on) == ("", None, None)
    assert h.extra["category_before_removal"] == "marginal"
    assert [e.transition for e in case.events.all()] == ["open", "county_forward", "higher_approve"]


def test_it_keeps_a_refused_removal_request_with_its_history():
    people = staff(FUNAN)
    h = monitored()
    case = W2.removal_request(actor=people["village"], household=h, on=D(2025, 5, 20), reason="疑似错误纳入")
    case = step(case, "reject_township", people["township"], D(2025, 5, 21), comment="核实为符合条件的监测对象")
    assert case.state == "rejected" and case.events.count() == 2
    h.refresh_from_db()
    assert h.category == "marginal"
