"""Cases written before the IDs were encrypted kept the rule result's members by plain ID: the
migration workflows 0005 names them by blind index, as rule results read from the database do now."""
import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection

from fangfan.common import pii
from fangfan.workflows.models import Case, CaseEvent
from tests.factories import MemberFactory

pytestmark = pytest.mark.django_db


def test_it_replaces_plain_ids_in_stored_rule_results_by_blind_indexes_and_can_run_again():
    migration = importlib.import_module("fangfan.workflows.migrations.0005_rule_results_by_blind_index")
    member = MemberFactory()
    plain = member.id_number
    case = Case.objects.create(
        household=member.household, village_code=member.household.village_id, kind="identification", state="checked", opened_on="2026-01-05",
        data={"home_check": {"rule_result": {"single_person_dibao": plain, "special_member_ids": f"{plain};",
                                             "per_capita_income": 100}}, "note": plain},
    )
    other = MemberFactory()
    untouched = Case.objects.create(household=other.household, village_code=member.household.village_id, kind="identification", state="checked", opened_on="2026-01-05",
                                    data={"home_check": {"rule_result": {"single_person_dibao": ""}}})
    for _ in range(2):
        migration.forward(apps, SimpleNamespace(connection=connection))
        case.refresh_from_db()
        result = case.data["home_check"]["rule_result"]
        assert result["single_person_dibao"] == pii.id_index(plain)
        assert result["special_member_ids"] == f"{pii.id_index(plain)};" and result["per_capita_income"] == 100
    untouched.refresh_from_db()
    assert untouched.data == {"home_check": {"rule_result": {"single_person_dibao": ""}}}
    assert CaseEvent.objects.count() == 0
