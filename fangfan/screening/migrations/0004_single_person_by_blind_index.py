"""Stored results name the single-person 低保 candidates (单人保候选) by the blind index of their ID,
as screenings write them since registry 0006 (issue 11: no plain ID at rest); the results
stored before held the plain IDs, ';'-joined: converted in batches by primary key (only the few
rows with candidates are read). An index already there is kept: a re-run changes nothing more."""
from django.db import migrations

from fangfan.common import pii

BATCH = 20_000


def index_candidates(apps, schema_editor):
    from fangfan.ops.rewrite import update_by_pk, walk

    index = pii.keyring().index
    db = schema_editor.connection
    table = apps.get_model("screening", "ScreeningResult")._meta.db_table
    for rows in walk(db, table=table, columns=["single_person_dibao"], batch=BATCH,
                     where="single_person_dibao <> ''"):
        changed = []
        for pk, text in rows:
            new = ";".join(k if pii.is_index(k) else index(k) for k in text.split(";") if k)
            if new != text:
                changed.append((pk, new))
        update_by_pk(db, table=table, columns=["single_person_dibao"], rows=changed)


class Migration(migrations.Migration):
    dependencies = [("screening", "0003_result_household_index_dropped")]

    operations = [migrations.RunPython(index_candidates, migrations.RunPython.noop, elidable=True)]
