from __future__ import annotations

import polars as pl
import pytest
from django.core.exceptions import PermissionDenied

from fangfan.accounts.models import DEPARTMENTS, Role
from fangfan.common import pii
from fangfan.departments import selectors
from fangfan.departments.services import feed_import
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
COUNTY_CODE = "341225000000"


def _import_all(folder):
    for d in DEPARTMENTS:
        feed_import(actor=None, department=d, path=folder / f"{d}.csv")


def test_it_lists_unknown_ids_as_unregistered_for_the_county(county, planted):
    _import_all(county)
    rr = UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE)
    ca = UserFactory(username="ca", role=Role.COUNTY_CA, region_code=COUNTY_CODE)
    strangers = planted.filter(pl.col("effect") == "no_match")

    entries = selectors.unregistered(actor=rr)

    index = pii.keyring().index
    assert {e.id_index for e in entries} == {index(n) for n in strangers["id_number_18"]}
    assert {(e.id_index, e.departments) for e in entries} == {
        (index(r["id_number_18"]), (r["department"],)) for r in strangers.iter_rows(named=True)}
    assert selectors.unregistered(actor=ca) == entries
    assert sorted(selectors.unregistered_numbers(entries, full=True)) == sorted(strangers["id_number_18"])
    only = selectors.unregistered(actor=rr, department="金融")
    assert {e.id_index for e in only} == {index(n) for n in strangers.filter(pl.col("department") == "金融")["id_number_18"]}


def test_it_shows_the_unregistered_list_to_no_one_outside_the_county_offices(county):
    _import_all(county)
    other = UserFactory(username="rr2", role=Role.COUNTY_RR, region_code="341222000000")
    medical = UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="医保")
    township = UserFactory(username="xz", role=Role.TOWNSHIP, region_code="341225103000")

    assert selectors.unregistered(actor=other) == []
    for actor in (medical, township):
        with pytest.raises(PermissionDenied):
            selectors.unregistered(actor=actor)


def test_it_lists_a_department_only_its_own_batches(county):
    _import_all(county)
    medical = UserFactory(username="yb", role=Role.COUNTY_DEPT, region_code=COUNTY_CODE, department="医保")
    rr = UserFactory(username="rr", role=Role.COUNTY_RR, region_code=COUNTY_CODE)
    village = UserFactory(username="cun", role=Role.VILLAGE)

    assert [b.department for b in selectors.batch_list(actor=medical)] == ["医保"]
    assert selectors.batch_list(actor=medical, department="民政").get().department == "医保"
    assert selectors.batch_list(actor=rr).count() == 12
    assert selectors.batch_list(actor=rr, department="民政").get().department == "民政"
    with pytest.raises(PermissionDenied):
        selectors.batch_list(actor=village)
