"""fangfan keys init|status|rotate|prune (runs on SQLite and PostgreSQL)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import stat
from pathlib import Path
from unittest import mock

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command

from fangfan.audit.models import AuditEvent
from fangfan.common import pii
from fangfan.ops import keys
from fangfan.registry.models import Household, ImportSnapshot, Member
from fangfan.registry.selectors import household_history
from fangfan.registry.services import registry_import
from tests.factories import HouseholdFactory, MemberFactory, UserFactory

EXAMPLES = Path(__file__).resolve().parents[1] / "data" / "examples"

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(tmp_path):
    """A key file of the test's own (fresh keys); the suite's keys are back afterwards."""
    path = tmp_path / "keys" / "pii_keys.json"
    pii.write_key_file(path, pii.KeyRing.generate())
    saved = {k: os.environ.pop(k) for k in ("FANGFAN_PII_KEYS",) if k in os.environ}
    with mock.patch.dict(os.environ, {"FANGFAN_PII_KEY_FILE": str(path)}):
        pii.reload_keyring()
        yield path
    os.environ.update(saved)
    pii.reload_keyring()


def run(*args) -> str:
    out = io.StringIO()
    call_command("keys", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def file_keys(path: Path) -> tuple[str, list[str]]:
    data = json.loads(path.read_text())
    return data["current"], sorted(data["data_keys"])


def members(n: int, phones: bool = True) -> list[Member]:
    out = []
    for i in range(n):
        household = HouseholdFactory(phone=f"1381234{i:04d}" if phones else "")
        out.append(MemberFactory(household=household))
    return out


def stored_keys(model, column: str) -> set[str]:
    return {pii.KeyRing.key_of(v) for v in model.objects.values_list(column, flat=True) if v}


def test_it_rotates_every_value_to_a_new_key_and_status_shows_them_all_under_it(key_file):
    made = members(5)
    numbers = {m.pk: m.id_number for m in made}
    indexes = {m.pk: m.id_index for m in made}
    out = run("rotate", "--batch", "2")
    assert "已添加新密钥 k2" in out and "重新加密 10 个值" in out
    assert file_keys(key_file) == ("k2", ["k1", "k2"])  # the old key is kept until pruned
    assert stored_keys(Member, "id_cipher") == {"k2"} and stored_keys(Household, "phone_cipher") == {"k2"}
    for member in Member.objects.all():
        assert member.id_number == numbers[member.pk] and member.id_index == indexes[member.pk]
        assert Member.objects.with_id_number(numbers[member.pk]).get() == member  # the index key stays
    assert Household.objects.get(pk=made[0].household_id).phone == "13812340000"
    status = run("status")
    assert f"密钥文件: {key_file}" in status and "当前密钥: k2" in status and "k1(未使用)" in status
    assert "registry.Member.id_cipher" in status and "k2: 5" in status and "全部数据都在当前密钥下" in status
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_it_resumes_a_rotation_killed_after_its_first_batch_without_adding_a_key(key_file):
    members(5, phones=False)
    real = keys._write_back
    calls = []

    def dies_after_one_batch(column, rows):
        if calls:
            raise KeyboardInterrupt  # the operator's Ctrl-C, or a kill, between two batches
        calls.append(len(rows))
        return real(column, rows)

    with mock.patch.object(keys, "_write_back", dies_after_one_batch), pytest.raises(KeyboardInterrupt):
        run("rotate", "--batch", "2")
    assert file_keys(key_file) == ("k2", ["k1", "k2"])
    found = sorted(pii.KeyRing.key_of(v) for v in Member.objects.values_list("id_cipher", flat=True))
    assert found == ["k1", "k1", "k1", "k2", "k2"]  # the first batch is committed, the rest readable
    assert "尚有 3 个值不在当前密钥下" in run("status")
    assert all(m.id_number for m in Member.objects.all())  # every value reads at this moment

    out = run("rotate", "--batch", "2")
    assert "续做未完成的轮换, 当前密钥 k2" in out and "重新加密 3 个值" in out
    assert file_keys(key_file) == ("k2", ["k1", "k2"])  # no third key
    assert stored_keys(Member, "id_cipher") == {"k2"}


def test_it_adds_a_new_key_with_new_key_even_when_a_rotation_is_unfinished(key_file):
    members(3, phones=False)
    with mock.patch.object(keys, "_write_back", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        run("rotate")
    out = run("rotate", "--new-key", "--prune")
    assert "已添加新密钥 k3" in out and "已删除旧密钥 k1, k2" in out
    assert file_keys(key_file) == ("k3", ["k3"])
    assert stored_keys(Member, "id_cipher") == {"k3"}
    assert all(m.id_number for m in Member.objects.all())


def test_it_makes_a_key_added_beforehand_current_at_the_next_rotation(key_file):
    members(2, phones=False)
    assert "已添加新密钥 k2 (暂不启用)" in run("add")
    assert file_keys(key_file) == ("k1", ["k1", "k2"])
    assert "k2(待启用)" in run("status")
    with pytest.raises(CommandError, match="已有待启用的新密钥 k2"):
        run("add")
    assert run("prune") == "没有可删除的旧密钥\n"  # a staged key is not an old one
    out = run("rotate", "--prune")
    assert "已启用预先添加的密钥 k2" in out and "已删除旧密钥 k1" in out
    assert file_keys(key_file) == ("k2", ["k2"]) and stored_keys(Member, "id_cipher") == {"k2"}
    assert AuditEvent.objects.get(action="pii.keys_rotate").after["staged"] is True
    assert AuditEvent.objects.filter(action="pii.keys_add", object_key="k2").exists()


def test_it_only_finishes_with_resume_and_never_adds_a_key(key_file):
    members(2, phones=False)
    assert "无需续做" in run("rotate", "--resume")
    assert file_keys(key_file) == ("k1", ["k1"])
    assert not AuditEvent.objects.filter(action="pii.keys_rotate").exists()  # nothing done: nothing recorded


def test_it_refuses_to_prune_while_values_remain_under_an_old_key(key_file):
    members(4)
    with mock.patch.object(keys, "_write_back", side_effect=KeyboardInterrupt), pytest.raises(KeyboardInterrupt):
        run("rotate")
    with pytest.raises(CommandError, match="仍有数据使用旧密钥 \\(k1: 8 个\\)"):
        run("prune")
    assert file_keys(key_file) == ("k2", ["k1", "k2"])
    run("rotate")
    assert "已删除旧密钥 k1" in run("prune")
    assert file_keys(key_file) == ("k2", ["k2"])
    assert "没有可删除的旧密钥" in run("prune")
    event = AuditEvent.objects.get(action="pii.keys_prune")
    assert event.after["removed"] == ["k1"] and event.actor_name == "system"


def test_it_records_each_rotation_in_the_audit_log_with_its_counts(key_file):
    members(3)
    admin = UserFactory(role="admin", region_code="", username="keyadmin")
    run("rotate", "--as", "keyadmin")
    event = AuditEvent.objects.get(action="pii.keys_rotate")
    assert event.actor == admin and event.object_key == "k2"
    assert event.after["key_added"] is True and event.after["total"] == 6
    assert event.after["reencrypted"] == {"registry.Household.phone_cipher": 3, "registry.Member.id_cipher": 3}
    assert event.after["remaining"] == 0


def test_it_refuses_a_rotation_by_a_user_who_is_not_an_administrator(key_file):
    UserFactory(username="villager")
    with pytest.raises(CommandError, match="只有系统管理员"):
        run("rotate", "--as", "villager")
    assert file_keys(key_file) == ("k1", ["k1"])


def test_it_leaves_alone_a_value_another_process_changed_during_the_batch(key_file):
    made = members(2)
    target = made[0].household
    stale = pii.keyring()  # the ring of a web process that has not reloaded the key file yet
    real = keys._reseal

    def meanwhile(ring, values, field, what, rows):
        if what == "registry.Household.phone_cipher" and not meanwhile.done:
            meanwhile.done = True
            Household.objects.filter(pk=target.pk).update(phone_cipher=stale.encrypt("13900000000", pii.PHONE_FIELD))
        return real(ring, values, field, what, rows)

    meanwhile.done = False
    with mock.patch.object(keys, "_reseal", meanwhile):
        run("rotate")
    target.refresh_from_db()
    assert target.phone == "13900000000"  # the newer phone is kept, not overwritten by the old one
    assert stored_keys(Household, "phone_cipher") == {"k2"}  # and re-encrypted by the next sweep


def test_it_rotates_the_ciphers_in_import_snapshots_so_history_still_reads(key_file, tmp_path):
    folder = tmp_path / "in"
    shutil.copytree(EXAMPLES, folder)
    registry_import(actor=None, path=folder)
    assert ImportSnapshot.objects.filter(table="members").exists()
    before = {s.pk: s.sha256 for s in ImportSnapshot.objects.all()}
    run("rotate", "--prune")
    assert file_keys(key_file) == ("k2", ["k2"])
    rewritten = list(ImportSnapshot.objects.filter(table="members"))
    assert rewritten and all(s.sha256 != before[s.pk] for s in rewritten)
    assert all(s.sha256 == hashlib.sha256(bytes(s.data)).hexdigest() for s in rewritten)
    assert "registry.ImportSnapshot" in run("status") and "k1" not in run("status").split("密钥:")[1].split("\n")[0]
    household = Household.objects.filter(created_batch__gt="").first()
    admin = UserFactory(role="admin", region_code="")
    history = household_history(actor=admin, household=household)
    assert any(e.object_type == "member" and "*" in e.object_label for e in history)


def test_it_creates_the_key_file_once_and_never_over_one(tmp_path):
    path = tmp_path / "fresh" / "pii_keys.json"
    saved = os.environ.pop("FANGFAN_PII_KEYS", None)
    try:
        with mock.patch.dict(os.environ, {"FANGFAN_PII_KEY_FILE": str(path)}):
            assert "已创建密钥文件" in run("init")
            assert stat.S_IMODE(path.stat().st_mode) == 0o600
            first = path.read_text()
            with pytest.raises(CommandError, match="已存在, 不会覆盖"):
                run("init")
            assert path.read_text() == first
    finally:
        if saved is not None:
            os.environ["FANGFAN_PII_KEYS"] = saved


def test_it_refuses_a_new_key_file_beside_data_encrypted_under_another(tmp_path):
    MemberFactory()  # encrypted under the suite's keys
    path = tmp_path / "lost" / "pii_keys.json"
    with mock.patch.dict(os.environ, {"FANGFAN_PII_KEY_FILE": str(path)}):
        with pytest.raises(CommandError, match="数据库中已有 1 个加密值"):
            run("init")
        assert not path.exists()


def test_it_refuses_to_add_a_key_when_the_keys_come_from_the_environment(key_file):
    with mock.patch.dict(os.environ, {"FANGFAN_PII_KEYS": key_file.read_text()}):
        with pytest.raises(CommandError, match="环境变量 FANGFAN_PII_KEYS"):
            run("rotate")
        assert "密钥文件: 环境变量 FANGFAN_PII_KEYS" in run("status")


def test_it_says_which_row_does_not_decrypt(key_file):
    member = MemberFactory()
    Member.objects.filter(pk=member.pk).update(id_cipher="k1:AAAA")
    with pytest.raises(CommandError, match=f"registry.Member.id_cipher 第 {member.pk} 行的加密值无法解密"):
        run("rotate")


def test_it_handles_every_cipher_field_of_the_installed_models():
    handled = {c.label: c.field for c in keys.cipher_columns()}
    fields = [f"{m._meta.label}.{f.name}" for m in apps.get_models() for f in m._meta.concrete_fields
              if f.name.endswith("_cipher")]
    assert fields and set(fields) == set(handled)
    assert handled["registry.Member.id_cipher"] == pii.ID_FIELD
    assert handled["registry.Household.phone_cipher"] == pii.PHONE_FIELD


def test_it_fails_loudly_on_a_cipher_column_of_an_unknown_kind():
    with pytest.raises(keys.KeysError, match="bank_cipher"):
        keys.associated_field("bank_cipher")
