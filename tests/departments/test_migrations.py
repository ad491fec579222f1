"""Migrations 0004/0005 (issue 11): feed rows stored with plain IDs before the encryption are
converted in place — index, cipher, the ID cell dropped from the values — and the row and
warning keys derived from the ID recomputed, so the same rows and facts sent again afterwards
are still recognised (no duplicate rows, no second warning)."""
from __future__ import annotations

import hashlib
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from fangfan.departments.models import DeptWarning, FeedRow
from fangfan.departments.services import feed_import

BEFORE = [("departments", "0003_cycle_run_who")]
DEPARTMENTS = ("公安", "医保", "教育", "民政", "水利", "金融")
_ROW_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _old_form() -> tuple[dict, dict]:
    """The stored rows and warning keys as the code before the encryption wrote them."""
    rows, old_row_key = {}, {}
    for r in FeedRow.objects.all():
        number = r.id_number
        values = {**r.values, "证件号码": number} if number else dict(r.values)
        old_row_key[r.pk] = _sha(_ROW_JSON.encode([r.department, values]))
        rows[r.pk] = {"id_number": number, "values": values, "row_key": old_row_key[r.pk]}
    keys = {}
    for w in DeptWarning.objects.prefetch_related("evidence"):
        evidence = sorted(w.evidence.all(), key=lambda e: old_row_key[e.pk])
        number = evidence[0].id_number
        if w.kind in ("death", "moved_out", "public_payroll"):
            subject = number
        elif w.kind == "large_oop":
            subject = f"{number}|{w.event_on.year}"
        elif w.kind in ("car", "town_house", "company", "large_deposits", "unsafe_water"):
            continue  # keyed by the household, or by a 水利 row (no person): unchanged
        else:
            subject = old_row_key[evidence[0].pk]
        keys[w.pk] = _sha(f"{w.department}|{w.kind}|{subject}")
    return rows, keys


def _migrate(targets) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)


@pytest.mark.django_db(transaction=True)
def test_it_converts_rows_stored_in_clear_and_still_knows_them_afterwards(county, tmp_path):
    for department in DEPARTMENTS:
        feed_import(actor=None, department=department, path=county / f"{department}.csv")
    expected_rows = {r.pk: (r.id_index, r.row_key, r.values, r.id_number) for r in FeedRow.objects.all()}
    expected_keys = dict(DeptWarning.objects.values_list("pk", "key"))
    old_rows, old_keys = _old_form()
    assert old_keys and not set(old_keys.values()) & set(expected_keys.values())  # keys the migration must redo
    assert {"death", "large_oop", "dropout"} <= set(DeptWarning.objects.values_list("kind", flat=True))
    latest = MigrationExecutor(connection).loader.graph.leaf_nodes()

    _migrate(BEFORE)
    try:
        apps = MigrationExecutor(connection).loader.project_state(BEFORE[0]).apps
        OldRow, OldWarning = apps.get_model("departments", "FeedRow"), apps.get_model("departments", "DeptWarning")
        for pk, old in old_rows.items():
            OldRow.objects.filter(pk=pk).update(**old)
        for pk, key in old_keys.items():
            OldWarning.objects.filter(pk=pk).update(key=key)
    finally:
        _migrate(latest)

    converted = {r.pk: (r.id_index, r.row_key, r.values, r.id_number) for r in FeedRow.objects.all()}
    assert converted == expected_rows
    assert dict(DeptWarning.objects.values_list("pk", "key")) == expected_keys
    assert not FeedRow.objects.filter(values__has_key="证件号码").exists()
    for department in DEPARTMENTS:  # the same rows sent again: known, nothing new
        again = tmp_path / f"{department}_2026-05.csv"
        again.write_text((county / f"{department}.csv").read_text(encoding="utf-8") + "\n", encoding="utf-8")
        batch = feed_import(actor=None, department=department, path=again).batch
        assert (batch.new_rows, batch.warnings_raised) == (0, 0), department
