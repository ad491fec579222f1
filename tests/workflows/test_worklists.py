import datetime as dt

import pytest

from fangfan.accounts.models import Role
from fangfan.screening.models import ParameterVersionSet, ScreeningResult, ScreeningRun
from fangfan.workflows import identification as W1
from fangfan.workflows import worklists as WL
from fangfan.workflows.assistance import contact_assign, plan_record
from fangfan.workflows.engine import fire
from fangfan.workflows.errors import WorkflowError
from tests.workflows.factories import D, FUNAN, fake_rule_result, household, staff, user

pytestmark = pytest.mark.django_db

AS_OF = D(2025, 3, 20)
NEIGHBOUR = "341225103209"  # same township
OTHER_TOWNSHIP = "341225104201"
CONSENT = {"signer_name": "张三"}
CHECK = {"investigators": ["李四", "王五"], "form": {"note": "入户"}}
REVIEW = {"members": ["村支书", "组长"], "decision": "include", "category": "marginal", "risks": ["R01"]}


def step(case, name, actor, on, **data):
    return fire(case, name, actor=actor, seen_version=case.version, on=on, data=data)


def opened(people, village=FUNAN, on=D(2025, 3, 10), head="张三"):
    return W1.identification_open(actor=people["village"], household=household(village, head=head),
                                  channel="cadre_visit", on=on, consent=CONSENT)


def in_notice(people, on, village=FUNAN, head="张三"):
    case = step(opened(people, village, on, head), "home_check", people["village"], on, **CHECK)
    return step(case, "village_review", people["village"], on, **REVIEW)


def at_township(people, on, village=FUNAN):
    case = in_notice(people, on, village)
    return step(case, "close_village_notice", people["village"], on + dt.timedelta(days=5))


@pytest.fixture
def people(monkeypatch):
    fake_rule_result(monkeypatch)
    return staff(FUNAN)


def keys(rows, key="household_number"):
    return sorted(r[key] for r in rows)


def test_it_puts_each_case_on_the_desk_of_the_level_whose_step_is_next(people):
    applied = opened(people, head="甲")
    township_case = at_township(people, D(2025, 3, 1))
    county_case = step(township_case, "township_approve", people["township"], D(2025, 3, 7), signed_by="乡长")
    other = opened(people, on=D(2025, 3, 10))

    village_rows = WL.waiting(actor=people["village"], as_of=AS_OF)
    assert {r["case_id"] for r in village_rows} == {applied.pk, other.pk}
    first = village_rows[0]
    assert first["state"] == "已申请, 待入户核实" and first["next_step"] == "入户核实 (附件2)"
    assert first["deadline"] == D(2025, 3, 25) and first["kind"] == "识别纳入"
    assert [r["case_id"] for r in WL.waiting(actor=people["county"], as_of=AS_OF)] == [county_case.pk]
    # a township may do village steps, but only its own step is on its desk
    assert list(WL.waiting(actor=people["township"], as_of=AS_OF)) == []


def test_it_never_shows_another_villages_case_and_the_township_filter_narrows(people):
    mine = opened(people)
    neighbour = opened(people | {"village": user(Role.VILLAGE, NEIGHBOUR)}, NEIGHBOUR)
    far = opened(people | {"village": user(Role.VILLAGE, OTHER_TOWNSHIP)}, OTHER_TOWNSHIP)
    county_village_desk = user(Role.COUNTY_RR, "341225")
    assert [r["case_id"] for r in WL.waiting(actor=people["village"], as_of=AS_OF)] == [mine.pk]
    # the county has no village step: look through the overdue list instead, far in the future
    later = D(2025, 6, 1)
    assert {r["case_id"] for r in WL.overdue(actor=county_village_desk, as_of=later)} == {mine.pk, neighbour.pk, far.pk}
    narrowed = WL.overdue(actor=county_village_desk, as_of=later, township=OTHER_TOWNSHIP[:9])
    assert [r["case_id"] for r in narrowed] == [far.pk]
    assert [r["case_id"] for r in WL.overdue(actor=county_village_desk, as_of=later, village=NEIGHBOUR)] == [neighbour.pk]
    # a filter outside the user's own village gives nothing, never the other village's cases
    assert WL.overdue(actor=people["village"], as_of=later, village=NEIGHBOUR) == []
    with pytest.raises(WorkflowError, match="无效"):
        WL.overdue(actor=people["village"], as_of=later, village="34122510320x")


@pytest.mark.parametrize(
    ("field", "code"),
    [("village", "３４１２２５１０３２０９"), ("township", "３４１２２５１０３"), ("village", "34122510320９")],
)
def test_it_refuses_a_full_width_code_in_a_filter_like_any_bad_code(people, field, code):
    # str.isdigit() takes full-width digits; the filter must refuse them as it refuses letters.
    label = {"village": "村", "township": "乡镇"}[field]
    with pytest.raises(WorkflowError) as refused:
        WL.narrow_prefix(**{field: code})
    assert str(refused.value) == f"{label}代码 {code!r} 无效, 应为区划代码数字"
    with pytest.raises(WorkflowError, match="无效, 应为区划代码数字"):
        WL.overdue(actor=user(Role.COUNTY_RR, "341225"), as_of=AS_OF, **{field: code})
    assert WL.narrow_prefix(**{field: code.translate({0xFF10 + d: str(d) for d in range(10)})})


def test_it_lists_overdue_identifications_and_comparisons_by_level(people):
    late_village = opened(people, on=D(2025, 2, 1), head="甲")
    county = step(at_township(people, D(2025, 2, 1)), "township_approve", people["township"], D(2025, 2, 8),
                  signed_by="乡长")
    rows = WL.overdue(actor=people["province"], as_of=AS_OF)
    assert [(r["level"], r["case_id"], r["what"]) for r in rows] == [
        ("村级", late_village.pk, "识别认定时限"), ("县级", county.pk, "识别认定时限"), ("县级", county.pk, "部门信息比对时限"),
    ]
    assert rows[0]["deadline"] == D(2025, 2, 16) and rows[0]["days_over"] == 32
    summary = {s["key"]: s for s in WL.worklist_summary(actor=people["province"], as_of=AS_OF)}
    assert summary["overdue"]["count"] == 3 and summary["overdue"]["detail"] == "村级 1 · 县级 2"


def test_it_lists_plans_due_and_overdue_and_households_without_a_contact(people):
    late = household(category="marginal", identified_on=D(2025, 3, 1), head="甲")
    due = household(category="marginal", identified_on=D(2025, 3, 15), head="乙")
    done = household(category="marginal", identified_on=D(2025, 3, 1), head="丙")
    plan_record(actor=people["village"], household=done, on=D(2025, 3, 5), measures=[{"measure_code": "M02"}])
    contact_assign(actor=people["village"], household=due, cadre_name="赵干部", on=D(2025, 3, 16))
    household(category="marginal", identified_on=D(2024, 1, 1), eliminated_on=D(2025, 1, 1))  # eliminated

    rows = WL.plans(actor=people["village"], as_of=AS_OF)
    assert [(r["head"], r["status"], r["due_on"]) for r in rows] == [
        ("甲", "超期", D(2025, 3, 11)), ("乙", "待制定", D(2025, 3, 25)),
    ]
    assert WL.plans_overdue_count(actor=people["village"], as_of=AS_OF) == 1
    assert keys(WL.no_contact(actor=people["village"], as_of=AS_OF), "head") == ["丙", "甲"]
    summary = {s["key"]: s for s in WL.worklist_summary(actor=people["village"], as_of=AS_OF)}
    assert (summary["plans"]["count"], summary["plans"]["detail"], summary["plans"]["warn"]) == (2, "超期 1 · 待制定 1", True)
    assert summary["no_contact"]["count"] == 2


def test_it_lists_visits_overdue_and_due_within_a_week(people):
    household(category="marginal", identified_on=D(2025, 1, 10), head="逾期")  # due 2025-02-10
    household(category="marginal", identified_on=D(2024, 1, 1), last_visit_on=D(2025, 2, 25), head="到期")  # 03-25
    household(category="marginal", identified_on=D(2024, 1, 1), last_visit_on=D(2025, 3, 1), head="未到")  # 04-01
    household(village=NEIGHBOUR, category="marginal", identified_on=D(2025, 1, 10))

    rows = WL.visits(actor=people["village"], as_of=AS_OF)
    assert [(r["head"], r["status"], r["due_on"]) for r in rows] == [
        ("逾期", "逾期", D(2025, 2, 10)), ("到期", "到期", D(2025, 3, 25)),
    ]
    summary = {s["key"]: s for s in WL.worklist_summary(actor=people["village"], as_of=AS_OF)}
    assert (summary["visits"]["count"], summary["visits"]["detail"]) == (2, "逾期 1 · 一周内到期 1")


def test_it_lists_running_and_ending_notices_and_unanswered_objections(people):
    running = in_notice(people, D(2025, 3, 19), head="甲")  # last day 03-23
    ending = in_notice(people, D(2025, 3, 17), head="乙")  # last day 03-21
    over = in_notice(people, D(2025, 3, 10), head="丙")  # last day 03-14: closable, not closed
    ending = step(ending, "raise_objection", people["village"], D(2025, 3, 18), content="家有轿车", raised_by="村民")
    answered = step(running, "raise_objection", people["village"], D(2025, 3, 19), content="不实")
    objection = answered.objections.get()
    step(answered, "answer_objection", people["village"], D(2025, 3, 20), objection=objection.pk,
         investigation="核实", answer="不成立", outcome="dismissed")

    rows = WL.notices(actor=people["village"], as_of=AS_OF)
    assert [(r["case_id"], r["status"], r["open_objections"]) for r in rows] == [
        (over.pk, "已期满, 待结束公示", 0), (ending.pk, "即将结束", 1), (running.pk, "公示中", 0),
    ]
    objections = list(WL.objections(actor=people["village"], as_of=AS_OF))
    assert [(o["case_id"], o["content"], o["days_open"]) for o in objections] == [(ending.pk, "家有轿车", 2)]
    summary = {s["key"]: s for s in WL.worklist_summary(actor=people["village"], as_of=AS_OF)}
    assert summary["notices"]["detail"] == "即将结束或已期满 2" and summary["objections"]["count"] == 1


def _result(h, as_of, category="marginal"):
    run = ScreeningRun.objects.create(actor_name="t", as_of=as_of)
    versions, _ = ParameterVersionSet.objects.get_or_create(digest="x", defaults={"versions": {}})
    return ScreeningResult.objects.create(
        household=h, as_of=as_of, household_size=3, candidate_category=category, detected_risks="R01;R09",
        per_capita_income=403_333, income_line=600_000, parameters=versions, run=run,
    )


def test_it_lists_rule_candidates_not_monitored_and_without_an_open_case(people):
    fresh = household(head="候选")
    _result(fresh, D(2025, 3, 1))
    _result(household(head="已监测", category="marginal", identified_on=D(2025, 1, 1)), D(2025, 3, 1))
    _result(household(head="无类别"), D(2025, 3, 1), category="")
    with_case = opened(people, head="已立案")
    _result(with_case.household, D(2025, 3, 1))
    _result(household(village=NEIGHBOUR), D(2025, 3, 1))

    rows = list(WL.candidates(actor=people["village"], as_of=AS_OF))
    assert [(r["head"], r["candidate"], r["risks"], r["per_capita_income"]) for r in rows] == [
        ("候选", "边缘易致贫户", "因病、住房出现安全问题", "4033.33"),
    ]


def test_it_gives_departments_and_admins_no_lists_and_supervisors_the_overdue_view(people):
    assert WL.lists_for(user(Role.COUNTY_DEPT, "341225")) == ()
    assert WL.worklist_summary(actor=user(Role.ADMIN, ""), as_of=AS_OF) == []
    assert WL.lists_for(people["city"]) == ("waiting", "overdue")
    with pytest.raises(WorkflowError):
        WL.worklist_get(actor=people["city"], key="candidates")


def test_it_keeps_a_scope_result_only_until_the_data_changes(monkeypatch):
    from fangfan.audit.services import audit_record
    from fangfan.workflows import worklists

    calls = []

    def compute():
        calls.append(1)
        return len(calls)

    on = dt.date(2026, 6, 1)
    assert worklists.cached("t", "341225", on, compute) == 1
    assert worklists.cached("t", "341225", on, compute) == 1  # nothing written: kept
    assert worklists.cached("t", "341226", on, compute) == 2  # another scope
    audit_record(actor=None, action="test.write", object_type="t", object_key="1")
    assert worklists.cached("t", "341225", on, compute) == 3  # a write: computed again
