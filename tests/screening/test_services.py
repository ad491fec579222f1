import datetime as dt
import shutil
from pathlib import Path

import pytest

from fangfan.registry.models import Household, Member
from fangfan.registry.services import household_update, registry_import
from fangfan.screening.models import ScreeningResult, ScreeningRun
from fangfan.screening.rule_results import rule_result_for
from fangfan.screening.services import screening_run
from tests.factories import UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"
AS_OF = dt.date(2026, 6, 30)

pytestmark = pytest.mark.django_db


@pytest.fixture
def imported(tmp_path):
    shutil.copytree(EXAMPLES, tmp_path / "in")
    registry_import(actor=None, path=tmp_path / "in")


def test_it_stores_each_households_results_with_the_parameter_versions_used(imported):
    summary = screening_run(actor=None, as_of=AS_OF)

    assert (summary.households, summary.created) == (2, 2)
    e001 = ScreeningResult.objects.get(household__household_number="E001", as_of=AS_OF)
    # 2025: net 18000 + (6000 − 2500) + 0 + 3600 = 25100; monitoring 25100 + 8000 − 21000 = 12100; ÷ 3 = 4033.33
    assert (e001.net_income, e001.monitoring_income, e001.per_capita_income) == (2_510_000, 1_210_000, 403_333)
    assert e001.below_line and e001.candidate_category == "unstable_lifted" and e001.income_line == 600_000
    assert e001.parameters.versions["monitoring.income_line"].startswith("national@")
    assert "4033.33" in e001.explanation


def test_it_refuses_to_delete_the_run_or_parameter_versions_behind_stored_results(imported):
    from django.db.models import ProtectedError

    screening_run(actor=None, as_of=AS_OF)
    result = ScreeningResult.objects.first()

    # No database constraint on these two references (screening.models): the ORM keeps them.
    with pytest.raises(ProtectedError):
        result.run.delete()
    with pytest.raises(ProtectedError):
        result.parameters.delete()
    assert ScreeningResult.objects.filter(run=result.run, parameters=result.parameters).count() == 2


def test_it_changes_nothing_when_run_again_on_the_same_inputs(imported):
    screening_run(actor=None, as_of=AS_OF)
    runs, results = ScreeningRun.objects.count(), list(ScreeningResult.objects.values_list("id", "run_id"))

    again = screening_run(actor=None, as_of=AS_OF)

    assert not again.changed and again.unchanged == 2
    assert ScreeningRun.objects.count() == runs
    assert list(ScreeningResult.objects.values_list("id", "run_id")) == results


def test_it_updates_only_the_household_whose_inputs_changed(imported):
    screening_run(actor=None, as_of=AS_OF)
    e002 = Household.objects.get(household_number="E002")
    household_update(actor=None, household=e002, changes={"housing_safe": True}, expected_version=e002.version)

    again = screening_run(actor=None, as_of=AS_OF)

    assert (again.created, again.updated, again.unchanged) == (0, 1, 1)
    assert "R09" not in ScreeningResult.objects.get(household=e002).detected_risks


def test_it_screens_only_inside_the_users_region(imported):
    outsider = UserFactory(role="county_rr", region_code="130126000000")
    assert screening_run(actor=outsider, as_of=AS_OF).households == 0
    with pytest.raises(PermissionError):
        screening_run(actor=outsider, as_of=AS_OF, region="341225")


def test_it_evaluates_a_single_household_from_the_database_like_the_batch(imported):
    batch = screening_run(actor=None, as_of=AS_OF)
    assert batch.created == 2
    one = rule_result_for(Household.objects.get(household_number="E002"), AS_OF)
    stored = ScreeningResult.objects.get(household__household_number="E002")
    assert one["household_id"] == "E002"
    assert one["per_capita_income"] == stored.per_capita_income
    assert one["explanation"] == stored.explanation
    assert Member.objects.filter(household__household_number="E002").count() == one["household_size"]


def test_it_screens_a_province_county_by_county_like_all_at_once(tmp_path):
    """A scope of several counties is screened one county at a time (bounded memory); the stored
    results are those of one evaluation of the whole scope, for the scope's latest income year."""
    import polars as pl

    from fangfan.policy.evaluate import evaluate_tables
    from fangfan.registry import dbframes
    from fangfan.registry.interchange.write import write_tables
    from fangfan.registry.synthetic import generate_county

    for code, seed in (("341225", 1), ("341222", 2)):
        tables = dict(generate_county(code, 60, seed).tables)
        if code == "341222":  # this county has only the older year: it must still be screened for 2025
            tables["incomes"] = tables["incomes"].filter(pl.col("year") < 2025)
        write_tables(tables, tmp_path / code, "csv")
        registry_import(actor=None, path=tmp_path / code)
    province = UserFactory(username="prov", role="province", region_code="340000000000")

    summary = screening_run(actor=province, as_of=AS_OF)

    assert (summary.households, summary.created) == (120, 120)
    expected = evaluate_tables(dbframes.read_tables("34"), as_of=AS_OF)
    stored = dict(ScreeningResult.objects.filter(as_of=AS_OF).values_list("household__household_number", "year"))
    assert set(stored.values()) == {2025} and set(stored) == set(expected["household_id"])
    colours = dict(ScreeningResult.objects.values_list("household__household_number", "warning_color"))
    assert colours == {h: c or "" for h, c in expected.select("household_id", "warning_color").iter_rows()}
    assert ScreeningRun.objects.get().summary["households"] == 120
    again = screening_run(actor=province, as_of=AS_OF)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 120)


@pytest.mark.django_db(transaction=True)
def test_it_reads_the_same_registry_outside_a_transaction_as_inside_one(tmp_path):
    # Outside a transaction PostgreSQL reads the members on a second connection meanwhile.
    from django.db import transaction

    from fangfan.registry import dbframes
    from fangfan.screening.services import _read_registry

    shutil.copytree(EXAMPLES, tmp_path / "in")
    registry_import(actor=None, path=tmp_path / "in")

    outside = _read_registry("")
    with transaction.atomic():
        inside = _read_registry("")

    assert list(outside) == list(dbframes.TABLE_NAMES)
    assert outside["members"].height > 0 and outside["households"].height == 2
    for name in dbframes.TABLE_NAMES:
        assert outside[name].equals(inside[name]), name
