import pytest

from fangfan.audit.models import AuditEvent
from fangfan.workflows import assistance, selectors, visits
from fangfan.workflows import identification as W1
from fangfan.workflows.errors import ConcurrentEditError, GuardFailed, NotAllowed
from fangfan.workflows.models import Case, Contact
from tests.factories import IncomeYearFactory, MemberFactory
from tests.workflows.factories import D, FUNAN, HUNAN, household, staff

pytestmark = pytest.mark.django_db


def test_it_suggests_development_measures_first_for_a_household_with_labour():
    h = household(declared_risks="R01;R09")
    codes = [s["measure_code"] for s in assistance.suggest_measures(h)]
    assert codes == ["M02", "M01", "M05", "M09"]
    assert assistance.suggest_measures(h)[2]["department"] == "县医保局"


def test_it_suggests_comprehensive_protection_for_a_household_without_labour():
    h = household(declared_risks="R01")
    h.members.update(labor="lost")
    MemberFactory(household=h, relation="spouse", labor="none")
    assert [s["measure_code"] for s in assistance.suggest_measures(h)] == ["M08", "M05"]


def test_it_gives_a_single_guarantee_risk_a_single_measure():
    h = household(declared_risks="R12")
    assert [(s["measure_code"], s["department"]) for s in assistance.suggest_measures(h)] == [("M10", "县水利局")]


def test_it_records_a_plan_with_catalogue_measures_and_knows_when_it_was_due():
    people = staff(FUNAN)
    h = household(category="marginal", identified_on=D(2025, 3, 14), declared_risks="R01")
    assert assistance.plan_due_on(h) == D(2025, 3, 24)
    assert [r["household"] for r in assistance.plans_overdue(actor=people["county"], as_of=D(2025, 3, 25))] == [h]
    with pytest.raises(GuardFailed, match="不在目录中"):
        assistance.plan_record(actor=people["village"], household=h, on=D(2025, 3, 20),
                               measures=[{"measure_code": "M42"}])
    plan = assistance.plan_record(actor=people["village"], household=h, on=D(2025, 3, 20), measures=[
        {"measure_code": "M05", "started_on": D(2025, 3, 21), "status": "in_progress"},
        {"measure_code": "M02"}])
    measures = list(h.measures.order_by("measure_code").values_list("measure_code", "responsible_unit", "status"))
    assert measures == [("M02", "县人社局", "planned"), ("M05", "县医保局", "in_progress")]
    assert assistance.plans_overdue(actor=people["county"], as_of=D(2025, 3, 25)) == []
    assert AuditEvent.objects.filter(action="measure.add", household_key=h.household_number).count() == 2
    m = h.measures.get(measure_code="M05")
    assistance.measure_status_set(actor=people["village"], measure=m, status="done")
    assert h.measures.get(measure_code="M05").status == "done" and plan.pk


def test_it_refuses_a_measure_status_change_made_on_a_stale_view():
    people = staff(FUNAN)
    h = household(category="marginal", identified_on=D(2025, 3, 14))
    assistance.plan_record(actor=people["village"], household=h, on=D(2025, 3, 20), measures=[{"measure_code": "M05"}])
    m = h.measures.get()
    seen = m.status  # both cadres open the page showing "planned"
    assistance.measure_status_set(actor=people["village"], measure=m, status="in_progress", expected_status=seen)
    with pytest.raises(ConcurrentEditError, match="请刷新"):
        assistance.measure_status_set(actor=people["township"], measure=m, status="done", expected_status=seen)
    m.refresh_from_db()
    assert m.status == "in_progress"
    assert AuditEvent.objects.filter(action="measure.status").count() == 1


def test_it_allows_measures_before_approval_only_through_the_green_channel():
    people = staff(FUNAN)
    h = household()
    with pytest.raises(GuardFailed, match="绿色通道"):
        assistance.measure_add(actor=people["village"], household=h, measure_code="M08", started_on=D(2025, 3, 4))
    W1.identification_open(actor=people["village"], household=h, channel="self_declared", on=D(2025, 3, 3),
                           green_channel_risk="R04")
    m = assistance.measure_add(actor=people["village"], household=h, measure_code="M08", started_on=D(2025, 3, 4))
    assert m.extra == {"green_channel": True}


def test_it_keeps_one_contact_per_household_and_the_history_of_reassignments():
    people = staff(FUNAN)
    h = household(category="marginal", identified_on=D(2025, 3, 14))
    assert list(assistance.households_without_contact(actor=people["county"])) == [h]
    assistance.contact_assign(actor=people["township"], household=h, cadre_name="刘干部", on=D(2025, 3, 15))
    assistance.contact_assign(actor=people["township"], household=h, cadre_name="陈干部", on=D(2025, 6, 1))
    assert assistance.contact_current(h).cadre_name == "陈干部"
    assert list(Contact.objects.filter(household=h).values_list("cadre_name", "ended_on")) == [
        ("陈干部", None), ("刘干部", D(2025, 6, 1))]
    assert list(assistance.households_without_contact(actor=people["county"])) == []
    outsider = staff(HUNAN)["township"]
    with pytest.raises(NotAllowed):
        assistance.contact_assign(actor=outsider, household=h, cadre_name="x", on=D(2025, 6, 2))


def test_it_schedules_visits_by_s1():
    monitored = household(category="marginal", identified_on=D(2025, 1, 31))
    eliminated = household(category="marginal", identified_on=D(2024, 1, 1), eliminated_on=D(2025, 2, 28))
    lifted = household(household_type="lifted")
    ordinary = household(household_type="ordinary")
    as_of = D(2025, 3, 10)
    assert visits.visit_due_on(monitored, as_of) == D(2025, 2, 28)  # month end clamps
    assert visits.visit_due_on(eliminated, as_of) == D(2025, 8, 28)
    assert visits.visit_due_on(lifted, as_of) == as_of
    assert visits.visit_due_on(ordinary, as_of) is None
    people = staff(FUNAN)
    overdue = selectors.visits_overdue(actor=people["county"], as_of=as_of)
    assert [(r["household"], r["days_over"]) for r in overdue] == [(monitored, 10)]
    assert selectors.visits_overdue(actor=staff(HUNAN)["county"], as_of=as_of) == []
    visits.visit_record(actor=people["village"], household=monitored, visited_on=D(2025, 3, 5), method="电话",
                        visitors="刘干部")
    monitored.refresh_from_db()
    assert monitored.last_visit_on == D(2025, 3, 5)
    assert visits.visit_due_on(monitored, as_of) == D(2025, 4, 5)


def test_it_raises_an_identification_case_when_a_visit_finds_a_new_risk():
    people = staff(FUNAN)
    h = household(household_type="lifted")
    v = visits.visit_record(actor=people["village"], household=h, visited_on=D(2025, 3, 5), method="入户",
                            visitors="刘干部、陈干部", findings="户主住院", new_risks=["R01"])
    case = Case.objects.get(household=h)
    assert v.raised_case == case and case.channel == "cadre_visit" and case.state == "applied"
    assert "新发现风险 因病" in v.warning
    again = visits.visit_record(actor=people["village"], household=h, visited_on=D(2025, 3, 6), method="wechat",
                                visitors="刘干部", new_risks="R01;R05")
    assert again.raised_case is None and f"已有办理中的识别纳入案件 {case.pk}" in again.warning


def test_it_raises_a_case_on_a_sharp_income_fall_and_a_warning_for_a_monitored_household():
    people = staff(FUNAN)
    h = household(household_type="ordinary")
    IncomeYearFactory(household=h, year=2024, wage=3_000_000)
    v = visits.visit_record(actor=people["village"], household=h, visited_on=D(2025, 8, 1), method="home",
                            visitors="刘干部", net_income=1_500_000)
    assert v.raised_case is None  # exactly half: not below (1 − 0.5) × previous
    v = visits.visit_record(actor=people["village"], household=h, visited_on=D(2025, 8, 2), method="home",
                            visitors="刘干部", net_income=1_499_999)
    assert v.raised_case is not None and "收入大幅缩减" in v.warning
    m = household(category="marginal", identified_on=D(2025, 1, 1), declared_risks="R01")
    v = visits.visit_record(actor=people["village"], household=m, visited_on=D(2025, 8, 2), method="home",
                            visitors="刘干部", new_risks=["R01", "R09"])
    assert v.raised_case is None and v.warning.startswith("监测户预警: 新发现风险 住房出现安全问题")


def test_it_gives_the_same_visit_schedule_as_the_rules_engine():
    """S1 has one definition (fangfan.policy.rules.schedule): the workflows' due dates and the
    evaluate/screen results agree, also where a profile sets its own marginal interval (阜南)."""
    from fangfan.policy.evaluate import evaluate_tables
    from fangfan.registry import dbframes

    made = [
        household(category="marginal", identified_on=D(2025, 1, 31)),
        household(category="marginal", identified_on=D(2024, 1, 1), eliminated_on=D(2025, 2, 28)),
        household(category="unstable", household_type="lifted", identified_on=D(2025, 2, 10)),
        household(household_type="lifted"),
        household(household_type="ordinary"),
    ]
    as_of = D(2025, 3, 10)
    tables = dbframes.read_tables(tables=("households",))
    results = evaluate_tables(tables, as_of=as_of)
    by_engine = dict(results.select("household_id", "visit_due_on").iter_rows())
    assert {h.household_number: visits.visit_due_on(h, as_of) for h in made} == by_engine
    overdue = {r["household"].household_number for r in selectors.visits_overdue(actor=staff(FUNAN)["county"], as_of=as_of)}
    assert overdue == set(results.filter("visit_overdue").get_column("household_id"))


def test_it_adds_two_measures_of_one_kind_starting_the_same_day_with_different_content():
    people = staff(FUNAN)
    h = household(category="marginal", identified_on=D(2025, 3, 14))
    tea = assistance.measure_add(actor=people["village"], household=h, measure_code="M01", started_on=D(2025, 4, 1),
                                 content="茶叶种植补助")
    solar = assistance.measure_add(actor=people["village"], household=h, measure_code="M01", started_on=D(2025, 4, 1),
                                   content="光伏帮扶收益")
    assert sorted(h.measures.values_list("content", flat=True)) == ["光伏帮扶收益", "茶叶种植补助"]
    keys = list(AuditEvent.objects.filter(action="measure.add").order_by("id").values_list("object_key", flat=True))
    assert keys == [f"{h.household_number}:M01:2025-04-01:茶叶种植补助", f"{h.household_number}:M01:2025-04-01:光伏帮扶收益"]
    assistance.measure_status_set(actor=people["village"], measure=solar, status="done")
    assert AuditEvent.objects.get(action="measure.status").object_key == keys[1]
    assert tea.pk != solar.pk


def test_it_refuses_only_an_exact_repeat_of_a_measure():
    people = staff(FUNAN)
    h = household(category="marginal", identified_on=D(2025, 3, 14))
    assistance.measure_add(actor=people["village"], household=h, measure_code="M01", started_on=D(2025, 4, 1),
                           content="茶叶种植补助")
    with pytest.raises(GuardFailed, match="已有 2025-04-01 开始的 产业帮扶「茶叶种植补助」, 不能重复录入"):
        assistance.measure_add(actor=people["village"], household=h, measure_code="M01", started_on=D(2025, 4, 1),
                               content=" 茶叶种植补助 ", status="done")
    assistance.measure_add(actor=people["village"], household=h, measure_code="M01", started_on=D(2025, 4, 1))
    with pytest.raises(GuardFailed, match="未填措施内容"):
        assistance.measure_add(actor=people["village"], household=h, measure_code="M01", started_on=D(2025, 4, 1))
    assert h.measures.count() == 2
    assert AuditEvent.objects.filter(action="measure.add").count() == 2
