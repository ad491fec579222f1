"""The history written before 0006 held plain numbers too (issue 11: none at rest):

- audit rows of members named by their ID (object_type "member", an 18-character plain ID as
  object_key) → named by the blind index, as imports name them now;
- ID and phone numbers in audit rows' before/after JSON (keys "id_number", "phone", at any
  depth) → masked, as lists show them (the household file keeps them, encrypted);
- import snapshot blobs (registry.ImportSnapshot, tables "members" and "households"):
  id_number → id_index + id_cipher, phone → phone_cipher, as imports write them now; the
  blob's sha256 is recomputed (the batch's audit row keeps the digests of the blobs as written).

Irreversible by nature (the masked digits are gone): the reverse does nothing."""
import hashlib
import io
import json
import re

from django.db import migrations

from fangfan.common import pii
from fangfan.common.ids import mask
from fangfan.common.text import mask_phone

BATCH = 20_000
PLAIN_ID = re.compile(r"\d{17}[\dX]")


def _masked(value):
    """The JSON with every "id_number"/"phone" string masked (already masked ones kept)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(item, str) and item and "*" not in item and key in ("id_number", "phone"):
                out[key] = mask(item) if key == "id_number" else mask_phone(item)
            else:
                out[key] = _masked(item)
        return out
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _json_text(value) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False)


def convert_audit(apps, schema_editor):
    from fangfan.ops.rewrite import update_by_pk, walk

    ring = pii.keyring()
    db = schema_editor.connection
    table = apps.get_model("audit", "AuditEvent")._meta.db_table
    # Members named by a plain ID (a masked key, as member.id_view wrote, has '*': kept).
    for rows in walk(db, table=table, columns=["object_key"], batch=BATCH,
                     where="object_type = 'member' AND length(object_key) = 18"):
        plain = [(pk, key) for pk, key in rows if PLAIN_ID.fullmatch(key)]
        update_by_pk(db, table=table, columns=["object_key"],
                     rows=list(zip([pk for pk, _ in plain], ring.index_all([k for _, k in plain]))))
    # Before/after JSON naming a number; read as text (jsonb on PostgreSQL, text on SQLite).
    text = "CAST({0} AS TEXT) LIKE '%%\"id_number\"%%' OR CAST({0} AS TEXT) LIKE '%%\"phone\"%%'"
    where = f"({text.format('before')}) OR ({text.format('after')})"
    for rows in walk(db, table=table, columns=["before", "after"], batch=BATCH, where=where):
        changed = []
        for pk, before, after in rows:
            old = [json.loads(v) if isinstance(v, str) else v for v in (before, after)]
            new = [_masked(v) for v in old]
            if new != old:
                changed.append((pk, _json_text(new[0]), _json_text(new[1])))
        update_by_pk(db, table=table, columns=["before", "after"], rows=changed,
                     casts={"before": "jsonb", "after": "jsonb"})


def convert_snapshots(apps, schema_editor):
    import polars as pl

    ring = pii.keyring()
    ImportSnapshot = apps.get_model("registry", "ImportSnapshot")
    pks = list(ImportSnapshot.objects.filter(table__in=["members", "households"]).order_by("pk")
               .values_list("pk", flat=True))
    for pk in pks:  # one blob at a time: a few hundred kB each
        snap = ImportSnapshot.objects.get(pk=pk)
        frame = pl.read_parquet(io.BytesIO(bytes(snap.data)))
        if snap.table == "members" and "id_number" in frame.columns:
            numbers = frame.get_column("id_number").fill_null("").to_list()
            frame = frame.with_columns(
                pl.Series("id_number", ring.index_all(numbers), dtype=pl.String),
                pl.Series("id_cipher", ring.encrypt_all(numbers, pii.ID_FIELD), dtype=pl.String),
            ).rename({"id_number": "id_index"})
        elif snap.table == "households" and "phone" in frame.columns:
            phones = frame.get_column("phone").fill_null("").to_list()
            frame = frame.with_columns(
                pl.Series("phone", ring.encrypt_all(phones, pii.PHONE_FIELD), dtype=pl.String)
            ).rename({"phone": "phone_cipher"})
        else:
            continue
        buffer = io.BytesIO()
        frame.write_parquet(buffer, compression="zstd")
        snap.data = buffer.getvalue()
        snap.sha256 = hashlib.sha256(snap.data).hexdigest()
        snap.save(update_fields=["data", "sha256"])


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0006_personal_data_encrypted"),
        ("audit", "0004_region_version"),
    ]

    operations = [
        migrations.RunPython(convert_audit, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(convert_snapshots, migrations.RunPython.noop, elidable=True),
    ]
