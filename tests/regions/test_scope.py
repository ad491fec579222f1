import pytest

from fangfan.regions.codes import ancestors, county_name, is_known_county, level_of, prefix_of
from fangfan.regions.scope import in_scope, prefix_for, scope_queryset
from fangfan.registry.models import Household
from tests.factories import HouseholdFactory, UserFactory, ensure_region


def test_it_reads_levels_and_prefixes_from_12_digit_codes():
    assert level_of("340000000000") == "province" and prefix_of("340000000000") == "34"
    assert level_of("341200000000") == "city" and prefix_of("341200000000") == "3412"
    assert level_of("341225000000") == "county" and prefix_of("341225000000") == "341225"
    assert level_of("341225103000") == "township" and prefix_of("341225103000") == "341225103"
    assert level_of("341225103208") == "village" and prefix_of("341225103208") == "341225103208"
    assert ancestors("341225103208") == ["340000000000", "341200000000", "341225000000", "341225103000"]


def test_it_knows_county_names_and_validity_from_gbt2260():
    assert county_name("341225") == "阜南县"
    assert county_name("130126") == "灵寿县"
    assert is_known_county("341225")
    assert not is_known_county("999999")
    assert not is_known_county("34122")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "role,region,visible",
    [
        ("village", "341225103208", {"A"}),
        ("township", "341225103000", {"A", "B"}),
        ("county_rr", "341225000000", {"A", "B", "C"}),
        ("county_rr", "130126000000", set()),
        ("city", "341200000000", {"A", "B", "C"}),
        ("province", "340000000000", {"A", "B", "C", "D"}),
        ("admin", "", set()),  # users and roles only: no personal data (三员分立)
    ],
)
def test_it_shows_each_role_only_the_households_of_its_region(role, region, visible):
    HouseholdFactory(household_number="A", village=ensure_region("341225103208"))
    HouseholdFactory(household_number="B", village=ensure_region("341225103209"))
    HouseholdFactory(household_number="C", village=ensure_region("341225104201"))
    HouseholdFactory(household_number="D", village=ensure_region("340102001001"))
    user = UserFactory(role=role, region_code=region)
    seen = set(scope_queryset(Household.objects.all(), user).values_list("household_number", flat=True))
    assert seen == visible


@pytest.mark.django_db
def test_it_shows_nothing_to_a_user_without_a_region_or_not_logged_in():
    HouseholdFactory(household_number="A")
    nobody = UserFactory(role="county_rr", region_code="")
    assert prefix_for(nobody) is None
    assert not scope_queryset(Household.objects.all(), nobody).exists()
    assert prefix_for(None) is None
    assert not in_scope(None, "341225103208")


def test_it_bounds_a_prefix_by_the_next_prefix_not_by_punctuation():
    from fangfan.regions.scope import code_range, code_range_sql

    assert code_range("3412") == ("3412", "3413")
    assert code_range("341229") == ("341229", "341230")
    assert code_range("0399") == ("0399", "0400")
    assert code_range("99") == ("99", None)
    assert code_range_sql("village_code", "") == ("", [])
    assert code_range_sql("village_code", "99") == ("village_code >= %s", ["99"])
    with pytest.raises(ValueError):
        code_range("34:")


@pytest.mark.django_db
def test_it_scopes_by_code_under_a_chinese_collation_too():
    """Databases created with zh_CN/ICU collations ignore punctuation: a ':'-bounded range
    would hide every household of the county there. The digit bound works under any collation."""
    from django.db import connection

    from fangfan.regions.scope import code_range_sql

    if connection.vendor != "postgresql":
        pytest.skip("collations are PostgreSQL's")
    sql, params = code_range_sql('c COLLATE "und-x-icu"', "3412")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c FROM (VALUES ('341225001001'), ('341299999999'), ('341300000000'), ('341100000000')) v(c)"
            f" WHERE {sql} ORDER BY c",
            params,
        )
        assert [r[0] for r in cursor.fetchall()] == ["341225001001", "341299999999"]
