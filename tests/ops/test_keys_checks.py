"""`fangfan check --deploy` about the key file, and `fangfan backup`'s reminder of it."""
from __future__ import annotations

import io
import os
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

from fangfan.common import pii
from fangfan.ops import checks
from fangfan.ops.checks import check_pii_keys
from fangfan.registry.models import Member
from tests.factories import MemberFactory


def ids(found) -> list[str]:
    return [c.id for c in found]


@pytest.fixture
def keys_at(tmp_path, monkeypatch):
    """A key file at a given place, the database a SQLite file in tmp_path/db/."""
    monkeypatch.setattr(checks, "_sqlite_folder", lambda: (tmp_path / "db").resolve())
    saved = os.environ.pop("FANGFAN_PII_KEYS", None)

    def at(relative: str, mode: int = 0o600) -> Path:
        path = tmp_path / relative
        pii.write_key_file(path, pii.KeyRing.generate())
        path.chmod(mode)
        os.environ["FANGFAN_PII_KEY_FILE"] = str(path)
        return path

    previous = os.environ.get("FANGFAN_PII_KEY_FILE")
    yield at
    os.environ.pop("FANGFAN_PII_KEY_FILE", None)
    if previous is not None:
        os.environ["FANGFAN_PII_KEY_FILE"] = previous
    if saved is not None:
        os.environ["FANGFAN_PII_KEYS"] = saved


def test_it_passes_a_key_file_of_mode_0600_apart_from_the_database(keys_at):
    keys_at("etc/pii_keys.json")
    assert check_pii_keys() == []


def test_it_warns_when_group_or_others_may_read_the_key_file(keys_at):
    path = keys_at("etc/pii_keys.json", mode=0o640)
    found = check_pii_keys()
    assert ids(found) == ["fangfan.pii.W001"] and "640" in found[0].msg and f"chmod 600 {path}" in found[0].hint


def test_it_warns_when_the_key_file_lies_beside_the_sqlite_database(keys_at):
    keys_at("db/pii_keys.json")
    found = check_pii_keys()
    assert ids(found) == ["fangfan.pii.W002"] and "同一文件夹" in found[0].msg


def test_it_knows_the_folder_of_a_sqlite_database():
    assert checks._sqlite_folder({"ENGINE": "django.db.backends.sqlite3", "NAME": "/srv/data/fangfan.sqlite3"}) == \
        Path("/srv/data")
    assert checks._sqlite_folder({"ENGINE": "django.db.backends.postgresql", "NAME": "fangfan"}) is None


def test_it_errs_when_the_key_file_is_missing_or_malformed(keys_at, tmp_path):
    path = keys_at("etc/pii_keys.json")
    path.write_text("{not json")
    found = check_pii_keys()
    assert ids(found) == ["fangfan.pii.E001"] and "无法加载" in found[0].msg
    path.unlink()
    found = check_pii_keys()
    assert ids(found) == ["fangfan.pii.E001"] and "不存在" in found[0].msg and "fangfan keys init" in found[0].hint


def test_it_errs_when_the_keys_in_the_environment_do_not_load(keys_at):
    with mock.patch.dict(os.environ, {"FANGFAN_PII_KEYS": '{"current": "k1"}'}):
        assert ids(check_pii_keys()) == ["fangfan.pii.E001"]
    with mock.patch.dict(os.environ, {"FANGFAN_PII_KEYS": pii.KeyRing.generate().to_json()}):
        assert check_pii_keys() == []


@pytest.mark.django_db
def test_it_errs_with_database_when_stored_numbers_do_not_decrypt_under_the_key_file(keys_at):
    MemberFactory()  # under the suite's keys
    assert Member.objects.count() == 1
    keys_at("etc/pii_keys.json")  # another key file
    assert check_pii_keys() == []  # without --database nothing is read
    found = check_pii_keys(databases=["default"])
    assert ids(found) == ["fangfan.pii.E002"] and "registry.Member.id_cipher" in found[0].msg


@pytest.mark.django_db
def test_it_passes_with_database_when_the_stored_numbers_decrypt():
    MemberFactory()
    assert [c for c in check_pii_keys(databases=["default"]) if c.id == "fangfan.pii.E002"] == []


@pytest.mark.django_db(transaction=True)
def test_it_reminds_at_backup_that_the_key_file_is_not_in_it(tmp_path):
    err = io.StringIO()
    call_command("backup", str(tmp_path / "b.db"), stdout=io.StringIO(), stderr=err)
    lines = err.getvalue().strip().splitlines()
    assert len(lines) == 1 and "个人信息密钥" in lines[0] and "不在此备份中" in lines[0]
    assert str(pii.default_key_file()) in lines[0]
