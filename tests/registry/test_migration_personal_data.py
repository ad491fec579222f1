"""Migrations 0006/0007 of registry on a database that held plain ID and phone numbers: the
members, households, audit rows and import snapshots written before them come out encrypted,
indexed or masked (MigrationExecutor: back to 0005, plain rows in, forward again)."""
from __future__ import annotations

import datetime as dt
import hashlib
import io

import polars as pl
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from fangfan.audit.models import AuditEvent
from fangfan.common import pii
from fangfan.registry.models import Household, ImportSnapshot, Member

BEFORE = ("registry", "0005_measure_unique_content")
ID_A, ID_B = "34122519900101100X", "341225198505052224"
PHONE = "13812345678"


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


def _old_state(executor: MigrationExecutor):
    executor.loader.build_graph()
    applied = executor.loader.applied_migrations
    audit = max(name for app, name in applied if app == "audit")
    return executor.loader.project_state([BEFORE, ("audit", audit)]).apps


@pytest.mark.django_db(transaction=True)
def test_it_encrypts_the_plain_numbers_and_history_of_an_existing_database():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = _old_state(executor)
    Region = old.get_model("regions", "Region")
    village = Region.objects.create(code="341225103208", level="village", name="村")
    OldHousehold, OldMember = old.get_model("registry", "Household"), old.get_model("registry", "Member")
    with_phone = OldHousehold.objects.create(household_number="H1", village=village, household_type="lifted",
                                             phone=PHONE, housing_safe=True, water_safe=True)
    without = OldHousehold.objects.create(household_number="H2", village=village, household_type="lifted",
                                          phone="", housing_safe=True, water_safe=True)
    for household, number in ((with_phone, ID_A), (without, ID_B)):
        OldMember.objects.create(household=household, name="张三", id_number=number, birth_date=dt.date(1990, 1, 1),
                                 sex="M", relation="head")
    OldEvent = old.get_model("audit", "AuditEvent")
    OldEvent.objects.create(actor_name="system", action="member.update", object_type="member", object_key=ID_A,
                            household_key="H1", before={"id_number": ID_B, "name": "李四"},
                            after={"id_number": ID_A, "name": "张三"})
    OldEvent.objects.create(actor_name="system", action="household.update", object_type="household",
                            object_key="H1", household_key="H1", before={"phone": "13900000000"},
                            after={"phone": PHONE, "rows": [{"id_number": ID_B}]})
    masked_view = OldEvent.objects.create(actor_name="a", action="member.id_view", object_type="member",
                                          object_key="341225********100X", household_key="H1")
    untouched = OldEvent.objects.create(actor_name="a", action="case.open", object_type="case", object_key="7",
                                        after={"note": "phone 未变"})
    Batch, Snapshot = old.get_model("registry", "ImportBatch"), old.get_model("registry", "ImportSnapshot")
    batch = Batch.objects.create(batch="b1", actor_name="system", source="x")
    blobs = {
        "members": pl.DataFrame({"household_number": ["H1", "H2"], "id_number": [ID_A, ID_B], "name": ["张三", "王五"]}),
        "households": pl.DataFrame({"household_number": ["H1", "H2"], "phone": [PHONE, ""]}),
        "incomes": pl.DataFrame({"household_number": ["H1"], "year": [2025]}),
    }
    for table, frame in blobs.items():
        data = _parquet(frame)
        Snapshot.objects.create(import_batch=batch, table=table, first_household="H1", last_household="H2",
                                rows=frame.height, sha256=hashlib.sha256(data).hexdigest(), data=data)

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    a = Member.objects.with_id_number(ID_A).get()
    assert a.id_number == ID_A and a.id_index == pii.id_index(ID_A) and a.id_cipher.startswith(pii.keyring().current)
    assert Member.objects.with_id_number(ID_B).get().household.household_number == "H2"
    assert Household.objects.get(household_number="H1").phone == PHONE
    assert Household.objects.get(household_number="H2").phone_cipher == ""

    update = AuditEvent.objects.get(action="member.update")
    assert update.object_key == pii.id_index(ID_A)
    assert update.before == {"id_number": "341225********2224", "name": "李四"}
    assert update.after == {"id_number": "341225********100X", "name": "张三"}
    household = AuditEvent.objects.get(action="household.update")
    assert household.before == {"phone": "139****0000"}
    assert household.after == {"phone": "138****5678", "rows": [{"id_number": "341225********2224"}]}
    assert AuditEvent.objects.get(pk=masked_view.pk).object_key == "341225********100X"
    assert AuditEvent.objects.get(pk=untouched.pk).after == {"note": "phone 未变"}

    snapshots = {s.table: s for s in ImportSnapshot.objects.all()}
    for snap in snapshots.values():
        assert snap.sha256 == hashlib.sha256(bytes(snap.data)).hexdigest()
    members = pl.read_parquet(io.BytesIO(bytes(snapshots["members"].data)))
    assert members.columns == ["household_number", "id_index", "name", "id_cipher"]
    assert members["id_index"].to_list() == [pii.id_index(ID_A), pii.id_index(ID_B)]
    assert pii.keyring().decrypt_all(members["id_cipher"].to_list(), pii.ID_FIELD) == [ID_A, ID_B]
    households = pl.read_parquet(io.BytesIO(bytes(snapshots["households"].data)))
    assert households.columns == ["household_number", "phone_cipher"]
    assert pii.keyring().decrypt_all(households["phone_cipher"].to_list(), pii.PHONE_FIELD) == [PHONE, ""]
    assert bytes(snapshots["incomes"].data) == _parquet(blobs["incomes"])  # tables without numbers: as they were
