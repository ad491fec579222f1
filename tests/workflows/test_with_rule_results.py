"""The workflows with the real rule result of fangfan.screening (no substitute)."""
import pytest

from fangfan.workflows import elimination as W2
from fangfan.workflows import identification as W1
from fangfan.workflows.engine import fire
from fangfan.workflows.errors import GuardFailed
from tests.factories import IncomeYearFactory, MeasureFactory, MemberFactory
from tests.workflows.factories import D, FUNAN, household, staff

pytestmark = pytest.mark.django_db


def test_it_stores_the_real_rule_result_beside_the_home_check():
    people = staff(FUNAN)
    h = household(FUNAN, household_type="ordinary", housing_safe=False)
    IncomeYearFactory(household=h, year=2024, wage=800_000)  # 8000 yuan for one person: above the 6000 line
    h.members.update(health="serious_illness")
    case = W1.identification_open(actor=people["village"], household=h, channel="self_declared", on=D(2025, 3, 3),
                                  consent={"signer_name": "张三"})
    case = fire(case, "home_check", actor=people["village"], seen_version=case.version, on=D(2025, 3, 4),
                data={"investigators": ["甲", "乙"], "form": {"x": 1}})
    result = case.data["home_check"]["rule_result"]
    assert result["household_id"] == h.household_number
    assert (result["per_capita_income"], result["income_line"], result["below_line"]) == (800000, 600000, False)
    assert set(result["detected_risks"].split(";")) == {"R01", "R09"}
    assert result["as_of"] == "2025-03-04"  # stored as JSON


def test_it_refuses_a_real_elimination_pre_check_without_an_implemented_measure():
    people = staff(FUNAN)
    h = household(FUNAN, household_type="ordinary", category="marginal", identified_on=D(2024, 1, 10),
                  declared_risks="R07")
    IncomeYearFactory(household=h, year=2024, wage=2_000_000)
    with pytest.raises(GuardFailed, match="E1 无已落实的帮扶措施"):
        W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    MeasureFactory(household=h, measure_code="M02", started_on=D(2024, 2, 1), status="done")
    MemberFactory(household=h, relation="spouse")
    case = W2.elimination_propose(actor=people["village"], household=h, on=D(2025, 6, 2))
    assert case.state == "proposed" and case.data["precheck"]["result"] == "eligible"
