"""County parameters kept in the database: a layer above the shipped YAML, set by the county's own
offices, audited, with a what-if preview before saving."""
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command

from fangfan.audit.models import AuditEvent
from fangfan.registry.models import Household
from fangfan.registry.services import registry_import
from fangfan.screening.models import CountyParameter, ScreeningResult
from fangfan.screening.parameters import current_parameters, parameters_in_force
from fangfan.screening.rule_results import rule_result_for
from fangfan.screening.services import county_parameter_preview, county_parameter_set, county_parameter_withdraw, screening_run
from fangfan.workflows import profile
from tests.factories import UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
VILLAGE = "341225103208"  # 阜南县; the examples' village
AS_OF = dt.date(2026, 6, 30)

pytestmark = pytest.mark.django_db



@pytest.fixture
def rr():
    return UserFactory(username="funan_rr", role="county_rr", region_code="341225000000")


@pytest.fixture
def ca():
    return UserFactory(username="funan_ca", role="county_ca", region_code="341225000000")


@pytest.fixture
def imported(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    registry_import(actor=None, path=tmp_path / "in")


def _set(actor, name="monitoring.income_line", value="7000", start=dt.date(2026, 1, 1), prefix="341225",
         document="阜政办〔2026〕1号"):
    return county_parameter_set(actor=actor, name=name, region_prefix=prefix, start=start, value_text=value,
                                document=document)


# ------------------------------------------------------------------------------ setting a value
def test_it_lets_a_county_value_beat_the_shipped_yaml(rr):
    _set(rr, value="7000")

    assert current_parameters().value("monitoring.income_line", VILLAGE, AS_OF) == Decimal("7000.00")
    assert profile.param("monitoring.income_line", VILLAGE, AS_OF) == Decimal("7000.00")
    assert current_parameters().value("monitoring.income_line", "130126100200", AS_OF) == Decimal("6000.00")
    found = current_parameters().get("monitoring.income_line", VILLAGE, AS_OF)
    assert found.source == "县级参数: 阜政办〔2026〕1号" and found.prefix == "341225"


def test_it_applies_a_later_start_only_from_its_date(rr):
    _set(rr, value="7000", start=dt.date(2026, 7, 1))

    params = current_parameters()
    assert params.value("monitoring.income_line", VILLAGE, dt.date(2026, 6, 30)) == Decimal("6000.00")
    assert params.value("monitoring.income_line", VILLAGE, dt.date(2026, 7, 1)) == Decimal("7000.00")


def test_it_keeps_a_correction_as_a_new_row_and_marks_the_old_one(rr):
    first = _set(rr, value="7000")
    second = _set(rr, value="7100", document="阜政办〔2026〕2号(更正)")

    first.refresh_from_db()
    assert first.superseded_by_id == second.pk and first.status_zh == "已更正"
    assert CountyParameter.objects.count() == 2
    assert current_parameters().value("monitoring.income_line", VILLAGE, AS_OF) == Decimal("7100.00")


def test_it_forgets_a_withdrawn_value_but_keeps_it_in_the_history(rr):
    row = _set(rr, value="7000")
    county_parameter_withdraw(actor=rr, pk=row.pk, reason="文件废止")

    assert current_parameters().value("monitoring.income_line", VILLAGE, AS_OF) == Decimal("6000.00")
    row.refresh_from_db()
    assert row.status_zh == "已撤回" and AuditEvent.objects.filter(action="parameter.withdraw").count() == 1


def test_it_lets_only_the_civil_affairs_bureau_set_dibao_values(rr, ca):
    with pytest.raises(PermissionDenied, match="县民政局"):
        _set(rr, name="dibao.line_rural_year", value="5000")
    with pytest.raises(PermissionDenied, match="县乡村振兴局"):
        _set(ca, name="monitoring.income_line", value="7000")
    _set(ca, name="dibao.line_rural_year", value="5000")
    assert current_parameters().value("dibao.line_rural_year", VILLAGE, AS_OF) == Decimal("5000.00")


def test_it_refuses_another_countys_region_and_other_roles(rr):
    with pytest.raises(ValidationError) as error:
        _set(rr, prefix="130126")
    assert "只能设置本县" in error.value.message_dict["region_prefix"][0]
    with pytest.raises(ValidationError):
        _set(rr, prefix="3412")  # the city is above the county
    township = UserFactory(username="funan_town", role="township", region_code="341225103000")
    with pytest.raises(PermissionDenied):
        _set(township)
    city = UserFactory(username="fuyang_city", role="city", region_code="341200000000")
    with pytest.raises(PermissionDenied):
        _set(city)
    assert not CountyParameter.objects.exists()


def test_it_accepts_a_township_prefix_within_the_county(rr):
    _set(rr, prefix="341225103", value="6500")
    params = current_parameters()
    assert params.value("monitoring.income_line", VILLAGE, AS_OF) == Decimal("6500.00")
    assert params.value("monitoring.income_line", "341225104201", AS_OF) == Decimal("6000.00")


@pytest.mark.parametrize(
    ("field", "changes", "message"),
    [
        ("value_text", {"value": "六千元"}, "金额必须是数字"),
        ("value_text", {"value": "12.345"}, "最多两位小数"),
        ("value_text", {"value": ""}, "请填写取值"),
        ("name", {"name": "monitoring.no_such"}, "没有参数"),
        ("document", {"document": "  "}, "文件依据"),
        ("start", {"start": None}, "起始日期"),
    ],
)
def test_it_refuses_bad_input_with_a_chinese_message_and_stores_nothing(rr, field, changes, message):
    with pytest.raises(ValidationError) as error:
        _set(rr, **changes)
    assert message in error.value.message_dict[field][0]
    assert not CountyParameter.objects.exists()
    assert not AuditEvent.objects.filter(action="parameter.set").exists()


def test_it_audits_a_value_with_the_one_it_replaces(rr):
    row = _set(rr, value="7000")

    event = AuditEvent.objects.get(action="parameter.set")
    assert event.object_key == str(row.pk) and event.actor_name == "funan_rr"
    assert event.before["value"] == "6000.00" and event.before["prefix"] == ""
    assert event.after == {"name": "monitoring.income_line", "value": "7000", "prefix": "341225",
                           "start": "2026-01-01", "document": "阜政办〔2026〕1号"}


# ------------------------------------------------------------------------------ what the rules see
def test_it_screens_and_evaluates_households_with_the_county_value(rr, imported):
    # E001: monitoring income per person 4033.33: below 6000, not below a county line of 4000.
    assert rule_result_for(Household.objects.get(household_number="E001"), AS_OF)["candidate_category"] == "unstable_lifted"
    _set(rr, value="4000")

    assert rule_result_for(Household.objects.get(household_number="E001"), AS_OF)["candidate_category"] is None
    screening_run(actor=None, as_of=AS_OF)
    stored = ScreeningResult.objects.get(household__household_number="E001")
    assert stored.income_line == 400_000 and stored.candidate_category == ""
    assert stored.parameters.versions["monitoring.income_line"] == "341225@2026-01-01"


def test_it_previews_how_many_households_change_by_village_before_saving(rr, imported):
    preview = county_parameter_preview(actor=rr, name="monitoring.income_line", region_prefix="341225",
                                       start=dt.date(2026, 1, 1), value_text="4000", as_of=AS_OF)

    assert preview.households == 2
    assert preview.total["category_changed"] == 1
    (village,) = preview.villages
    assert village["village_code"] == VILLAGE and village["category_changed"] == 1
    assert [e["household_id"] for e in village["examples"]] == ["E001"]
    assert village["examples"][0]["category_before"] == "脱贫不稳定户"
    assert village["examples"][0]["category_after"] == "无"
    assert not CountyParameter.objects.exists()  # a preview stores nothing


def test_it_previews_low_income_classes_appearing_once_a_dibao_line_is_set(ca, imported):
    preview = county_parameter_preview(actor=ca, name="dibao.line_rural_year", region_prefix="341225",
                                       start=dt.date(2026, 1, 1), value_text="20000", as_of=AS_OF)

    assert preview.total["class_changed"] == 2  # no line: no class; a high line: both households classed
    assert all(e["class_before"] == "无" and e["class_after"] != "无" for e in preview.villages[0]["examples"])


def test_it_shows_the_parameters_in_force_with_a_warning_while_no_dibao_line_is_set(ca):
    shown = parameters_in_force(actor=ca, region=None, on=AS_OF)
    assert shown.region == "341225" and shown.dibao_line_missing
    _set(ca, name="dibao.line_rural_year", value="5000")
    shown = parameters_in_force(actor=ca, region=None, on=AS_OF)
    assert not shown.dibao_line_missing
    row = next(r for r in shown.rows if r["name"] == "dibao.line_rural_year")
    assert row["value"] == "5000.00" and row["from_database"]


def test_it_warns_in_the_params_command_until_the_county_sets_a_dibao_line(ca, capsys):
    call_command("params", region="341225103208", date="2026-06-30")
    assert "尚未设置农村低保标准 dibao.line_rural_year" in capsys.readouterr().out
    _set(ca, name="dibao.line_rural_year", value="5000")
    call_command("params", region="341225103208", date="2026-06-30")
    out = capsys.readouterr().out
    assert "尚未设置农村低保标准" not in out and "5000.00" in out


def test_it_lets_the_evaluate_command_use_the_county_values_only_when_asked(rr, tmp_path):
    import csv

    _set(rr, value="4000")
    plain, county = tmp_path / "plain.csv", tmp_path / "county.csv"
    call_command("evaluate", str(EXAMPLES), as_of="2026-06-30", out=str(plain), verbosity=0)
    call_command("evaluate", str(EXAMPLES), "--county-params", as_of="2026-06-30", out=str(county), verbosity=0)
    lines = {path: {r["household_id"]: r for r in csv.DictReader(open(path, encoding="utf-8"))} for path in (plain, county)}
    assert lines[plain]["E001"]["income_line"] == "6000.00" and lines[plain]["E001"]["candidate_category"] == "unstable_lifted"
    assert lines[county]["E001"]["income_line"] == "4000.00" and lines[county]["E001"]["candidate_category"] == ""
