import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from fangfan.accounts.models import Role
from fangfan.registry import selectors
from fangfan.registry.services import household_update
from fangfan.screening.services import screening_run
from tests.factories import IncomeYearFactory, MeasureFactory, UserFactory
from tests.registry.factories import household_with

pytestmark = pytest.mark.django_db
VILLAGE = "341225103208"



@pytest.fixture
def cadre():
    return UserFactory(username="cun", role=Role.VILLAGE, region_code=VILLAGE)


def test_it_reads_the_file_in_a_fixed_number_of_queries(cadre):
    small = household_with(VILLAGE, "张三")
    big = household_with(VILLAGE, "李四", "李五", "李六", "李七")
    for h in (small, big):
        IncomeYearFactory(household=h, year=2024)
        IncomeYearFactory(household=h, year=2025)
    MeasureFactory(household=big)
    selectors.household_file(actor=cadre, household_number=small.household_number)  # parameters cached
    counts = []
    for h in (small, big):
        with CaptureQueriesContext(connection) as ctx:
            selectors.household_file(actor=cadre, household_number=h.household_number)
        counts.append(len(ctx.captured_queries))
    assert counts[0] == counts[1] <= 12


def test_it_computes_income_steps_with_the_policy_engine(cadre):
    h = household_with(VILLAGE, "张三", "张四", "张五")
    IncomeYearFactory(household=h, year=2025, wage=1_000_000, basic_pension=100_000, dibao_payment=50_000,
                      insurance_claims=1, compliant_oop=0, education_expense=30_000)
    a = selectors.household_file(actor=cadre, household_number=h.household_number)["incomes"][0]
    assert (a.net_income, a.monitoring_income) == (1_000_000, 1_000_001)
    assert a.per_capita_income == 333_334  # ÷ 3 rounded half up, as rule I3
    assert a.dibao_income == 850_000 and a.per_capita_dibao_income == 283_333
    assert a.rigid_expense == 30_000 and a.employment_cost == 0


def test_it_matches_the_stored_rule_result(cadre):
    h = household_with(VILLAGE, "张三", "张四")
    IncomeYearFactory(household=h, year=2025, wage=987_654, compliant_oop=12_345)
    screening_run(actor=cadre, as_of=dt.date(2026, 3, 1))
    file = selectors.household_file(actor=cadre, household_number=h.household_number)
    assert file["incomes"][0].per_capita_income == file["result"].per_capita_income


def test_it_labels_history_in_chinese_with_yuan(cadre):
    h = household_with(VILLAGE, "张三")
    household_update(actor=cadre, household=h, changes={"declared_risks": "R01;R09"})
    entry = selectors.household_history(actor=cadre, household=h)[-1]
    assert entry.action_label == "修改户"
    assert [(c.label, c.after) for c in entry.changes] == [("致贫返贫风险", "因病、住房出现安全问题")]
    assert selectors.display_value("income", "wage", 123450) == "1234.50 元"
    assert selectors.display_value("member", "id_number", "34122519700101001X") == "341225********001X"


def test_it_finds_nothing_outside_the_scope():
    h = household_with(VILLAGE, "张三")
    other = UserFactory(username="other", role=Role.VILLAGE, region_code="341225103209")
    assert selectors.household_file(actor=other, household_number=h.household_number) is None
    assert selectors.household_explanation(actor=other, household_number=h.household_number) is None
    assert selectors.result_history(actor=other, household_number=h.household_number) is None
