"""ID and phone numbers are stored encrypted (issue 11): after an import, a re-import with a
changed phone, a screening and an export, no table of the database holds a plain number — not
the member and household tables, not the audit rows, not the import snapshots."""
from __future__ import annotations

import datetime as dt
import io

import polars as pl
import pytest
from django.db import connection

from fangfan.common import pii
from fangfan.registry.models import Household, ImportSnapshot, Member
from fangfan.registry.search import household_search
from fangfan.registry.services import registry_export, registry_import
from fangfan.registry.synthetic import generate_county, write_county
from fangfan.screening.services import screening_run
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _every_text_value() -> str:
    """All rows of all tables as one text (the import snapshots decoded: Parquet is compressed)."""
    parts = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                parts.append("|".join(str(v) for v in row if not isinstance(v, (bytes, memoryview))))
    for snap in ImportSnapshot.objects.all():
        frame = pl.read_parquet(io.BytesIO(bytes(snap.data)))
        parts.append(frame.select(pl.all().cast(pl.String)).write_csv())
    return "\n".join(parts)


@pytest.fixture
def county(tmp_path):
    county = generate_county("341225", 40, seed=7)
    folder = tmp_path / "county"
    write_county(county, folder)
    return county, folder


def test_it_stores_no_plain_id_or_phone_number_anywhere(county, tmp_path):
    generated, folder = county
    registry_import(actor=None, path=folder)
    # A phone changed and re-imported: the change is in the history, masked.
    households = pl.read_csv(folder / "households.csv", infer_schema=False)
    with_phone = households.filter(pl.col("联系电话").is_not_null() & (pl.col("联系电话") != ""))
    number = with_phone["户编号"][0]
    households = households.with_columns(
        pl.when(pl.col("户编号") == number).then(pl.lit("13912345678")).otherwise(pl.col("联系电话")).alias("联系电话")
    )
    households.write_csv(folder / "households.csv")
    assert registry_import(actor=None, path=folder).updated["households"] == 1
    screening_run(actor=None, as_of=dt.date(2026, 4, 30))
    registry_export(actor=None, out=tmp_path / "out")

    stored = _every_text_value()
    ids = generated.tables["members"]["id_number"].to_list()
    phones = [p for p in generated.tables["households"]["phone"].to_list() if p] + ["13912345678"]
    assert len(ids) > 100 and len(phones) > 10
    assert [i for i in ids if i in stored] == []
    assert [p for p in phones if p in stored] == []
    # ... yet the numbers come back where they are needed: the file, the export, a search by ID.
    assert Household.objects.get(household_number=number).phone == "13912345678"
    exported = pl.read_csv(tmp_path / "out" / "members.csv", infer_schema=False)
    assert sorted(exported["证件号码"].to_list()) == sorted(ids)
    head = Member.objects.with_id_number(ids[0]).get()
    assert head.id_number == ids[0] and head.id_index == pii.id_index(ids[0])
    user = UserFactory(role="county_rr", region_code="341225000000")
    assert [h.pk for h in household_search(actor=user, q=ids[0]).households] == [head.household_id]


def test_it_refuses_a_second_member_with_the_same_id_through_the_blind_index(county):
    _, folder = county
    registry_import(actor=None, path=folder)
    member = Member.objects.first()
    clone = Member(household=member.household, name="复制", birth_date=member.birth_date, sex=member.sex,
                   relation="other", id_number=member.id_number)
    assert clone.id_cipher != member.id_cipher  # a fresh nonce: ciphers never compare
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        clone.save()
