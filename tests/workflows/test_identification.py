import datetime as dt

import pytest

from fangfan.audit.models import AuditEvent
from fangfan.workflows import identification as W1
from fangfan.workflows.engine import fire
from fangfan.workflows.errors import ConsentMissing, GuardFailed, NotAllowed
from fangfan.workflows.models import Case, CaseEvent, Notice
from tests.workflows.factories import D, FUNAN, HUNAN, LINGSHOU, fake_rule_result, household, staff

pytestmark = pytest.mark.django_db

CONSENT = {"signer_name": "张三", "document": "附件1-张三.pdf"}
CHECK = {"investigators": ["李四", "王五"], "form": {"household_size": 3, "note": "入户询问"}}
REVIEW = {"members": ["村支书", "驻村队员", "组长"], "decision": "include", "category": "marginal", "risks": ["R01"]}


def step(case, name, actor, on, **data):
    comment = data.pop("comment", "")
    return fire(case, name, actor=actor, seen_version=case.version, on=on, data=data, comment=comment)


def through_village(case, people, opened, notice_days):
    case = step(case, "home_check", people["village"], opened, **CHECK)
    case = step(case, "village_review", people["village"], opened + dt.timedelta(days=1), **REVIEW)
    return step(case, "close_village_notice", people["village"], opened + dt.timedelta(days=1 + notice_days))


def test_it_runs_all_seven_steps_and_sets_category_identified_on_and_risks(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    h = household(FUNAN)
    case = W1.identification_open(actor=people["village"], household=h, channel="农户自主申报", on=D(2025, 3, 3),
                                  consent=CONSENT)
    case = through_village(case, people, D(2025, 3, 3), 5)
    assert case.state == "township_review"
    case = step(case, "township_approve", people["township"], D(2025, 3, 10), signed_by="乡长赵六")
    assert case.state == "county_comparison"  # no township notice in the national profile
    hit = {"department": "公安", "finding": "无车辆登记"}
    case = step(case, "record_comparison", people["county"], D(2025, 3, 12), departments=["公安", "不动产"], hits=[])
    case = step(case, "approve", people["county"], D(2025, 3, 14), category="marginal", risks=["R01", "R09"])
    assert case.state == "identified" and case.closed_on == D(2025, 3, 14)
    h.refresh_from_db()
    assert (h.category, h.identified_on, h.declared_risks) == ("marginal", D(2025, 3, 14), "R01;R09")
    assert case.data["approve"]["plan_due_on"] == "2025-03-24"
    # every transition left an event and an audit row; the household change is audited too
    names = list(case.events.values_list("transition", flat=True))
    assert names == ["open", "home_check", "village_review", "close_village_notice", "township_approve",
                     "record_comparison", "approve"]
    audits = AuditEvent.objects.filter(object_type="case", object_key=str(case.pk))
    assert audits.count() == 7
    assert AuditEvent.objects.filter(action="household.identify", household_key=h.household_number).get().after[
        "category"] == "marginal"
    assert case.data["home_check"]["rule_result"]["candidate_category"] == "marginal"
    assert hit  # (hits may be empty: nothing found)


def test_it_refuses_the_home_check_without_consent_and_blocks_asset_queries(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    h = household(FUNAN)
    case = W1.identification_open(actor=people["village"], household=h, channel="cadre_visit", on=D(2025, 3, 3))
    with pytest.raises(ConsentMissing, match="承诺授权书"):
        W1.require_consent(h)
    with pytest.raises(GuardFailed, match="承诺授权书"):
        step(case, "home_check", people["village"], D(2025, 3, 4), **CHECK)
    case = step(case, "record_consent", people["village"], D(2025, 3, 4), signer_name="张三")
    assert W1.require_consent(h).signer_name == "张三"
    case = step(case, "home_check", people["village"], D(2025, 3, 4), **CHECK)
    assert case.state == "checked"


def test_it_needs_two_investigators_at_the_home_check(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = W1.identification_open(actor=people["village"], household=household(), channel="proxy", on=D(2025, 3, 3),
                                  consent=CONSENT)
    with pytest.raises(GuardFailed, match="不少于2名"):
        step(case, "home_check", people["village"], D(2025, 3, 3), investigators=["李四", "李四"], form={"a": 1})
    assert Case.objects.get(pk=case.pk).state == "applied"


def test_it_requires_a_reasoned_decision_for_a_negative_list_hit(monkeypatch):
    fake_rule_result(monkeypatch, negative_list_hits="S2")
    people = staff(FUNAN)
    case = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = step(case, "home_check", people["village"], D(2025, 3, 3), **CHECK)
    with pytest.raises(GuardFailed, match="负面清单 \\(S2\\)"):
        step(case, "village_review", people["village"], D(2025, 3, 4), **REVIEW)
    case = step(case, "village_review", people["village"], D(2025, 3, 4), **REVIEW,
                negative_list_decision="农机为扶贫项目配发, 评议认定")
    assert case.data["village_review"]["negative_list_hits"] == ["S2"]


@pytest.mark.parametrize("village, days", [(FUNAN, 5), (HUNAN, 7)])
def test_it_keeps_the_village_notice_open_for_the_profile_days(monkeypatch, village, days):
    fake_rule_result(monkeypatch)
    people = staff(village)
    case = W1.identification_open(actor=people["village"], household=household(village), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = step(case, "home_check", people["village"], D(2025, 3, 3), **CHECK)
    case = step(case, "village_review", people["village"], D(2025, 3, 10), **REVIEW)
    notice = Notice.objects.get(case=case)
    assert notice.days == days
    last_day = D(2025, 3, 10) + dt.timedelta(days=days - 1)
    with pytest.raises(GuardFailed, match=f"至{last_day:%Y-%m-%d}止"):
        step(case, "close_village_notice", people["village"], last_day)
    case = step(case, "close_village_notice", people["village"], last_day + dt.timedelta(days=1))
    assert case.state == "township_review"


def test_it_adds_a_township_notice_in_lingshou(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(LINGSHOU)
    case = W1.identification_open(actor=people["village"], household=household(LINGSHOU), channel="big_data",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = through_village(case, people, D(2025, 3, 3), 5)
    case = step(case, "township_approve", people["township"], D(2025, 3, 10), signed_by="乡长")
    assert case.state == "township_notice"
    with pytest.raises(GuardFailed, match="乡镇公示"):
        step(case, "close_township_notice", people["township"], D(2025, 3, 14))
    case = step(case, "close_township_notice", people["township"], D(2025, 3, 15))
    assert case.state == "county_comparison"
    assert list(case.notices.values_list("level", "starts_on", "days")) == [
        ("village", D(2025, 3, 4), 5), ("township", D(2025, 3, 10), 5)]


def test_it_blocks_the_notice_until_each_objection_is_investigated_and_answered(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = step(case, "home_check", people["village"], D(2025, 3, 3), **CHECK)
    case = step(case, "village_review", people["village"], D(2025, 3, 4), **REVIEW)
    with pytest.raises(GuardFailed, match="没有待调查答复的异议"):  # nothing to answer yet
        step(case, "answer_objection", people["village"], D(2025, 3, 5), objection=1, investigation="x",
             answer="x", outcome="dismissed")
    case = step(case, "raise_objection", people["village"], D(2025, 3, 5), content="该户儿子在城里有房", raised_by="村民甲")
    objection = case.objections.get()
    with pytest.raises(GuardFailed, match=f"异议尚未调查答复 \\(异议编号 {objection.pk}\\)"):
        step(case, "close_village_notice", people["village"], D(2025, 3, 9))
    case = step(case, "answer_objection", people["village"], D(2025, 3, 7), objection=objection.pk,
                investigation="查不动产登记, 无城镇住房", answer="经核实异议不成立", outcome="dismissed")
    case = step(case, "close_village_notice", people["village"], D(2025, 3, 9))
    assert case.state == "township_review"
    objection.refresh_from_db()
    assert objection.answered_on == D(2025, 3, 7)


def test_it_does_not_move_on_when_an_objection_is_upheld(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = step(case, "home_check", people["village"], D(2025, 3, 3), **CHECK)
    case = step(case, "village_review", people["village"], D(2025, 3, 4), **REVIEW)
    case = step(case, "raise_objection", people["village"], D(2025, 3, 5), content="有小轿车")
    case = step(case, "answer_objection", people["village"], D(2025, 3, 6), objection=case.objections.get().pk,
                investigation="车管所查询属实", answer="异议成立", outcome="upheld")
    with pytest.raises(GuardFailed, match="异议经核实成立"):
        step(case, "close_village_notice", people["village"], D(2025, 3, 9))
    case = step(case, "reject_village", people["village"], D(2025, 3, 9), comment="公示异议成立, 不予纳入")
    assert case.state == "rejected"
    assert Notice.objects.get(case=case).cancelled


def test_it_rejects_with_a_reason_and_keeps_the_history(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    h = household()
    case = W1.identification_open(actor=people["village"], household=h, channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = through_village(case, people, D(2025, 3, 3), 5)
    with pytest.raises(GuardFailed, match="须填写理由"):
        step(case, "reject_township", people["township"], D(2025, 3, 10))
    case = step(case, "reject_township", people["township"], D(2025, 3, 10), comment="收入高于监测范围且无风险")
    assert case.state == "rejected"
    events = CaseEvent.objects.filter(case=case)
    assert events.last().comment == "收入高于监测范围且无风险"
    assert events.count() == 5
    h.refresh_from_db()
    assert h.category == ""
    # a rejected case can be followed by a new application
    again = W1.identification_open(actor=people["village"], household=h, channel="self_declared", on=D(2025, 4, 1))
    assert again.pk != case.pk and Case.objects.filter(household=h).count() == 2


def test_it_sends_a_case_back_one_step_and_cancels_the_running_notice(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = through_village(case, people, D(2025, 3, 3), 5)
    case = step(case, "township_approve", people["township"], D(2025, 3, 10), signed_by="乡长")
    case = step(case, "send_back_county", people["county"], D(2025, 3, 11), comment="比对材料不全, 退回乡镇")
    assert case.state == "township_review"
    case = step(case, "send_back_township", people["township"], D(2025, 3, 12), comment="请重新评议")
    assert case.state == "checked"
    case = step(case, "village_review", people["village"], D(2025, 3, 13), **REVIEW)
    case = step(case, "send_back_village", people["village"], D(2025, 3, 14), comment="评议人数不足")
    assert case.state == "checked"
    assert [n.cancelled for n in case.notices.all()] == [False, True]


def test_it_flags_the_green_channel_only_for_illness_disaster_or_accident(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    with pytest.raises(GuardFailed, match="绿色通道"):
        W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                               on=D(2025, 3, 3), green_channel_risk="R07")
    case = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                  on=D(2025, 3, 3), green_channel_risk="R04")
    assert case.green_channel
    other = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                   on=D(2025, 3, 3))
    with pytest.raises(GuardFailed, match="绿色通道"):
        step(other, "green_channel", people["village"], D(2025, 3, 4), risk="R02")
    other = step(other, "green_channel", people["village"], D(2025, 3, 4), risk="R01")
    assert Case.objects.get(pk=other.pk).green_channel


def test_it_refuses_a_second_open_case_or_a_monitored_household(monkeypatch):
    people = staff(FUNAN)
    h = household()
    W1.identification_open(actor=people["village"], household=h, channel="self_declared", on=D(2025, 3, 3))
    with pytest.raises(GuardFailed, match="已有办理中"):
        W1.identification_open(actor=people["village"], household=h, channel="self_declared", on=D(2025, 3, 4))
    monitored = household(category="marginal", identified_on=D(2024, 1, 1))
    with pytest.raises(GuardFailed, match="已是监测对象"):
        W1.identification_open(actor=people["village"], household=monitored, channel="proxy", on=D(2025, 3, 4))
    with pytest.raises(Exception, match="来源渠道"):
        W1.identification_open(actor=people["village"], household=household(), channel="电话", on=D(2025, 3, 4))


def test_it_refuses_a_village_user_at_township_and_county_steps(monkeypatch):
    fake_rule_result(monkeypatch)
    people = staff(FUNAN)
    case = W1.identification_open(actor=people["village"], household=household(), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = through_village(case, people, D(2025, 3, 3), 5)
    with pytest.raises(NotAllowed, match="乡镇"):
        step(case, "township_approve", people["village"], D(2025, 3, 10), signed_by="x")
    with pytest.raises(NotAllowed, match="县乡村振兴局"):
        step(case, "reject_county", people["village"], D(2025, 3, 10), comment="x")
    case = step(case, "township_approve", people["township"], D(2025, 3, 10), signed_by="乡长")
    case = step(case, "record_comparison", people["county"], D(2025, 3, 11), departments=["公安"], hits=[])
    for who in ("village", "township", "city", "province"):
        with pytest.raises(NotAllowed, match="须由县乡村振兴局办理"):
            step(case, "approve", people[who], D(2025, 3, 12), category="marginal", risks=["R01"])
    assert Case.objects.get(pk=case.pk).state == "county_approval"


@pytest.mark.parametrize("village, deadline, overdue", [(FUNAN, D(2025, 10, 11), True), (LINGSHOU, D(2025, 10, 30), False)])
def test_it_judges_a_case_finished_on_20_october_by_the_profile_time_limit(monkeypatch, village, deadline, overdue):
    """Raised on Friday 26 September 2025, finished on 20 October: late under 15 calendar days,
    in time under 灵寿's 20 working days (National Day week off, 28 Sep and 11 Oct worked)."""
    fake_rule_result(monkeypatch)
    people = staff(village)
    case = W1.identification_open(actor=people["village"], household=household(village), channel="self_declared",
                                  on=D(2025, 9, 26), consent=CONSENT)
    case = step(case, "home_check", people["village"], D(2025, 9, 28), **CHECK)
    case = step(case, "village_review", people["village"], D(2025, 9, 29), **REVIEW)
    case = step(case, "close_village_notice", people["village"], D(2025, 10, 4))
    case = step(case, "township_approve", people["township"], D(2025, 10, 9), signed_by="乡长")
    if case.state == "township_notice":
        case = step(case, "close_township_notice", people["township"], D(2025, 10, 14))
    case = step(case, "record_comparison", people["county"], D(2025, 10, 16), departments=["公安"], hits=[
        {"department": "公安", "finding": "名下小轿车一辆 (已报废)"}])
    with pytest.raises(GuardFailed, match="hits_decision"):
        step(case, "approve", people["county"], D(2025, 10, 20), category="marginal", risks=["R01"])
    case = step(case, "approve", people["county"], D(2025, 10, 20), category="marginal", risks=["R01"],
                hits_decision="车辆已报废注销, 不影响认定")
    status = W1.deadline_status(case, D(2025, 11, 30))
    assert (status["deadline"], status["overdue"]) == (deadline, overdue)


def test_it_lists_a_comparison_overdue_at_the_county(monkeypatch):
    from fangfan.workflows import selectors

    fake_rule_result(monkeypatch)
    people = staff(LINGSHOU)
    case = W1.identification_open(actor=people["village"], household=household(LINGSHOU), channel="self_declared",
                                  on=D(2025, 3, 3), consent=CONSENT)
    case = through_village(case, people, D(2025, 3, 3), 5)
    case = step(case, "township_approve", people["township"], D(2025, 3, 10), signed_by="乡长")
    case = step(case, "close_township_notice", people["township"], D(2025, 3, 15))
    assert W1.comparison_deadline(case) == D(2025, 3, 25)
    rows = selectors.overdue(actor=people["county"], as_of=D(2025, 3, 26), level="county")
    assert [(r["what"], r["deadline"], r["days_over"]) for r in rows] == [("部门信息比对时限", D(2025, 3, 25), 1)]
    # 20 working days from 3 March end on 31 March: the identification limit itself is not yet over
    assert W1.deadline_status(case, D(2025, 3, 26))["deadline"] == D(2025, 3, 31)
