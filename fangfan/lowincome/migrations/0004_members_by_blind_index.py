"""The members of an enrolment and of a payment line are kept by the blind index of their ID
(issue 11: no plain ID at rest), like registry.Member.id_index; existing rows converted in
batches by primary key (fangfan.ops.rewrite). A value already an index is kept, so a re-run after
an interruption changes nothing more."""
import json

from django.db import migrations, models

from fangfan.common import pii

BATCH = 20_000


def _keys(values, index) -> list[str]:
    return [v if pii.is_index(v) else index(v) for v in (str(x) for x in values or [])]


def index_members(apps, schema_editor):
    from fangfan.ops.rewrite import update_by_pk, walk

    index = pii.keyring().index
    db = schema_editor.connection
    for name in ("Enrolment", "PaymentLine"):
        table = apps.get_model("lowincome", name)._meta.db_table
        for rows in walk(db, table=table, columns=["members"], batch=BATCH):
            changed = []
            for pk, members in rows:
                old = json.loads(members) if isinstance(members, str) else members  # text on SQLite
                new = _keys(old, index)
                if new != list(old or []):
                    changed.append((pk, json.dumps(new)))
            update_by_pk(db, table=table, columns=["members"], rows=changed, casts={"members": "jsonb"})


class Migration(migrations.Migration):
    dependencies = [("lowincome", "0003_zero_report_visit")]

    operations = [
        migrations.RunPython(index_members, migrations.RunPython.noop, elidable=True),
        migrations.AlterField("paymentline", "members", models.JSONField("保障成员", default=list)),
    ]
