"""ID and phone numbers encrypted at rest (issue 11): id_number → id_index + id_cipher,
phone → phone_cipher, existing rows converted in batches under the key file's current key."""
from django.db import migrations, models

from fangfan.common import pii

BATCH = 20_000


def encrypt_existing(apps, schema_editor):
    ring = pii.keyring()
    Member = apps.get_model("registry", "Member")
    Household = apps.get_model("registry", "Household")
    last = 0
    while True:
        rows = list(Member.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "id_number")[:BATCH])
        if not rows:
            break
        numbers = [n for _, n in rows]
        updates = [Member(pk=pk, id_index=i, id_cipher=c)
                   for (pk, _), i, c in zip(rows, ring.index_all(numbers), ring.encrypt_all(numbers, pii.ID_FIELD))]
        Member.objects.bulk_update(updates, ["id_index", "id_cipher"], batch_size=2_000)
        last = rows[-1][0]
    last = 0
    while True:
        rows = list(Household.objects.filter(pk__gt=last).order_by("pk").values_list("pk", "phone")[:BATCH])
        if not rows:
            break
        phones = [p for _, p in rows]
        updates = [Household(pk=pk, phone_cipher=c)
                   for (pk, p), c in zip(rows, ring.encrypt_all(phones, pii.PHONE_FIELD)) if p]
        Household.objects.bulk_update(updates, ["phone_cipher"], batch_size=2_000)
        last = rows[-1][0]


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
