"""ID and phone numbers of the self-declarations encrypted at rest (issue 11): id_number →
id_index + id_cipher, phone → phone_index + phone_cipher; existing rows converted in batches by
primary key (fangfan.ops.rewrite) under the key file's current key, then the plain columns (and
their indexes) dropped."""
from django.db import migrations, models

from fangfan.common import pii

BATCH = 20_000


def encrypt_existing(apps, schema_editor):
    from fangfan.ops.rewrite import update_by_pk, walk

    ring = pii.keyring()
    db = schema_editor.connection
    table = apps.get_model("declarations", "Declaration")._meta.db_table
    for rows in walk(db, table=table, columns=["id_number", "phone"], batch=BATCH):
        ids = [i for _, i, _ in rows]
        phones = [p for _, _, p in rows]
        update_by_pk(db, table=table, columns=["id_index", "id_cipher", "phone_index", "phone_cipher"],
                     rows=list(zip([pk for pk, _, _ in rows], ring.index_all(ids), ring.encrypt_all(ids, pii.ID_FIELD),
                                   ring.index_all(phones), ring.encrypt_all(phones, pii.PHONE_FIELD))))


class Migration(migrations.Migration):
    dependencies = [("declarations", "0001_declaration")]

    operations = [
        migrations.AddField("declaration", "id_index",
                            models.CharField("证件号码索引", max_length=32, default="")),
        migrations.AddField("declaration", "id_cipher",
                            models.CharField("证件号码(密文)", max_length=120, default="")),
        migrations.AddField("declaration", "phone_index",
                            models.CharField("联系电话索引", max_length=32, default="")),
        migrations.AddField("declaration", "phone_cipher",
                            models.CharField("联系电话(密文)", max_length=120, default="")),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=True),
        migrations.RemoveField("declaration", "id_number"),
        migrations.RemoveField("declaration", "phone"),
        migrations.AlterField("declaration", "id_index",
                              models.CharField("证件号码索引", max_length=32, db_index=True)),
        migrations.AlterField("declaration", "id_cipher", models.CharField("证件号码(密文)", max_length=120)),
        migrations.AlterField("declaration", "phone_index",
                              models.CharField("联系电话索引", max_length=32, db_index=True)),
        migrations.AlterField("declaration", "phone_cipher", models.CharField("联系电话(密文)", max_length=120)),
    ]
