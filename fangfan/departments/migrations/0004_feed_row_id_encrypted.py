"""Department feed rows hold no plain ID (issue 11): FeedRow.id_number → id_index (blind index)
+ id_cipher, the ID cell dropped from the row's stored values, and the keys derived from the ID
recomputed, so that rows and facts sent again after the migration are still recognised:

- FeedRow.row_key: sha256 of the department and values with the ID's index appended
  (fangfan.departments.feeds.row_key; 水利 rows, which name no person, keep theirs);
- DeptWarning.key where its subject was the person (death, 迁出, 在编: the index; 医保 year
  totals: index|year) or the evidence row (its new row key). Household- and village-keyed
  warnings keep theirs. A key that its old subject does not give back is left as it is.

In batches by primary key; the plain column is dropped by the next migration (0005), in its own
transaction. The definitions are frozen copies: this file must not change when the code does."""
import hashlib
import json

from django.db import migrations, models

from fangfan.common import pii

BATCH = 20_000
# The headers under which a row's stored values could hold the ID (only 证件号码 is written).
ID_COLUMNS = ("证件号码", "身份证号", "身份证号码", "公民身份号码")
HOUSEHOLD_SUBJECT = frozenset({"car", "town_house", "company", "large_deposits"})
PERSON_SUBJECT = frozenset({"public_payroll", "death", "moved_out"})
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _row_key(department: str, values: dict, index: str = "") -> str:
    content = _ROW_JSON.encode([department, values])
    return _sha(f"{content}|{index}" if index else content)


def _without_id(values) -> dict:
    return {k: v for k, v in (values or {}).items() if k not in ID_COLUMNS}


def _warning_keys(apps, ring) -> None:
    """New keys of the person- and row-keyed warnings, read while the rows still hold the plain
    ID and the old row keys (the old key is checked against them before it is replaced)."""
    DeptWarning = apps.get_model("departments", "DeptWarning")
    FeedRow = apps.get_model("departments", "FeedRow")
    through = DeptWarning.evidence.through
    last = 0
    while True:
        warnings = list(DeptWarning.objects.filter(pk__gt=last).exclude(department="水利")
                        .exclude(kind__in=HOUSEHOLD_SUBJECT).order_by("pk")
                        .values_list("pk", "key", "department", "kind", "event_on")[:BATCH])
        if not warnings:
            break
        last = warnings[-1][0]
        evidence: dict[int, list[int]] = {}
        for warning_id, row_id in (through.objects.filter(deptwarning_id__in=[w[0] for w in warnings])
                                   .values_list("deptwarning_id", "feedrow_id")):
            evidence.setdefault(warning_id, []).append(row_id)
        rows = {pk: (number, values, key) for pk, number, values, key in FeedRow.objects.filter(
            pk__in=[r for ids in evidence.values() for r in ids]).values_list("pk", "id_number", "values", "row_key")}
        changed = []
        for pk, key, department, kind, event_on in warnings:
            mine = sorted((rows[r] for r in evidence.get(pk, ()) if r in rows), key=lambda r: r[2])
            if not mine or not mine[0][0]:
                continue
            number, values, old_row_key = mine[0]
            index = ring.index(number)
            if kind in PERSON_SUBJECT:
                old, new = number, index
            elif kind == "large_oop" and event_on is not None:
                old, new = f"{number}|{event_on.year}", f"{index}|{event_on.year}"
            else:
                old, new = old_row_key, _row_key(department, _without_id(values), index)
            if _sha(f"{department}|{kind}|{old}") == key:
                changed.append(DeptWarning(pk=pk, key=_sha(f"{department}|{kind}|{new}")))
        DeptWarning.objects.bulk_update(changed, ["key"], batch_size=2_000)


def encrypt_existing(apps, schema_editor):
    ring = pii.keyring()
    _warning_keys(apps, ring)
    FeedRow = apps.get_model("departments", "FeedRow")
    last = 0
    while True:
        rows = list(FeedRow.objects.filter(pk__gt=last).order_by("pk")
                    .values_list("pk", "department", "id_number", "values")[:BATCH])
        if not rows:
            break
        last = rows[-1][0]
        rows = [r for r in rows if r[2]]  # 水利 rows name no person: unchanged
        numbers = [r[2] for r in rows]
        updates = []
        for (pk, department, _, values), index, cipher in zip(
                rows, ring.index_all(numbers), ring.encrypt_all(numbers, pii.ID_FIELD)):
            values = _without_id(values)
            updates.append(FeedRow(pk=pk, id_index=index, id_cipher=cipher, values=values,
                                   row_key=_row_key(department, values, index)))
        FeedRow.objects.bulk_update(updates, ["id_index", "id_cipher", "values", "row_key"], batch_size=2_000)


class Migration(migrations.Migration):
    dependencies = [("departments", "0003_cycle_run_who")]

    operations = [
        migrations.AddField("feedrow", "id_index",
                            models.CharField("证件号码索引", max_length=32, blank=True, default="")),
        migrations.AddField("feedrow", "id_cipher",
                            models.CharField("证件号码(密文)", max_length=120, blank=True, default="")),
        migrations.RunPython(encrypt_existing, migrations.RunPython.noop, elidable=True),
    ]
