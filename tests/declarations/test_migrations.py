"""The migration that encrypts the declarations (0002) converts the rows stored before it: plain
ID and phone in, blind indexes and ciphers out, the plain columns gone."""
import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from fangfan.common import pii
from fangfan.declarations.models import Declaration
from fangfan.declarations.selectors import PUBLIC_RECEIVED, declaration_public_status
from tests.factories import DEFAULT_VILLAGE, ensure_region, make_id_number

BEFORE = [("declarations", "0001_declaration")]
AFTER = [("declarations", "0002_personal_data_encrypted")]


@pytest.mark.django_db(transaction=True)
def test_it_encrypts_the_declarations_stored_before_and_drops_the_plain_columns():
    ensure_region(DEFAULT_VILLAGE)
    number = make_id_number(321, dt.date(1960, 2, 2))
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps.get_model("declarations", "Declaration")
        old.objects.create(receipt="SB20260101ABCDEFGH", name="旧申报", id_number=number, phone="13912345678",
                           village_id=DEFAULT_VILLAGE, declared_village_id=DEFAULT_VILLAGE, risk="R01")
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(AFTER)

    declaration = Declaration.objects.get(receipt="SB20260101ABCDEFGH")
    assert (declaration.id_number, declaration.phone) == (number, "13912345678")
    assert declaration.id_index == pii.id_index(number)
    assert declaration_public_status(receipt="SB20260101ABCDEFGH", phone="13912345678") == PUBLIC_RECEIVED
    columns = {c.name for c in connection.introspection.get_table_description(
        connection.cursor(), "declarations_declaration")}
    assert {"id_number", "phone"}.isdisjoint(columns)
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM declarations_declaration")
        row = "|".join(map(str, cursor.fetchone()))
    assert number not in row and "13912345678" not in row
