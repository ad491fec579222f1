"""ID and phone numbers encrypted at rest (issue 11): id_number → id_index + id_cipher,
phone → phone_cipher, existing rows converted in batches under the key file's current key."""
from django.db import migrations, models

from fangfan.common import pii

BATCH = 20_000


def encrypt_existing(apps, schema_editor):
    # Raw batches by primary key, written back with one statement each (fangfan.ops.rewrite):
    # the ORM way (instances + bulk_update's CASE WHEN) is 7× (PostgreSQL) to 23× (SQLite)
    # slower on a million members (bench/keys_bench.py).
    from fangfan.ops.rewrite import update_by_pk, walk

    ring = pii.keyring()
    db = schema_editor.connection
    for rows in walk(db, table="registry_member", columns=["id_number"], batch=BATCH):
        numbers = [n for _, n in rows]
        update_by_pk(db, table="registry_member", columns=["id_index", "id_cipher"], rows=list(
            zip([pk for pk, _ in rows], ring.index_all(numbers), ring.encrypt_all(numbers, pii.ID_FIELD))))
    for rows in walk(db, table="registry_household", columns=["phone"], batch=BATCH, where="phone <> ''"):
        update_by_pk(db, table="registry_household", columns=["phone_cipher"], rows=list(
            zip([pk for pk, _ in rows], ring.encrypt_all([p for _, p in rows], pii.PHONE_FIELD))))


class Migration(migrations.Migration):
    dependencies = [("registry", "0005_measure_unique_content")]

    operations = [
        migrations.AddField("member", "id_index", models.CharField("证件号码索引", max_length=32, default="")),
        migrations.AddField("member", "id_cipher", models.CharField("证件号码(密文)", max_length=120, default="")),
        migrations.AddField(
            "household", "phone_cipher", models.CharField("联系电话(密文)", max_length=120, blank=True, default="")
        ),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=True),
        migrations.RemoveConstraint("member", "member_id_number_unique"),
        migrations.RemoveField("member", "id_number"),
        migrations.RemoveField("household", "phone"),
        migrations.AlterField("member", "id_index", models.CharField("证件号码索引", max_length=32)),
        migrations.AlterField("member", "id_cipher", models.CharField("证件号码(密文)", max_length=120)),
        migrations.AddConstraint("member", models.UniqueConstraint(fields=["id_index"], name="member_id_index_unique")),
    ]
