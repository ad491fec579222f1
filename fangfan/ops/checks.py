"""`fangfan check --deploy`: the personal-data key file (fangfan.common.pii).

Errors: the keys cannot be loaded (missing file, unreadable, malformed), or, with
`--database default`, a stored value does not decrypt under them (the wrong key file).
Warnings: the file is readable or writable by group or others, or it lies in the SQLite
database's folder (whoever copies the database folder, or backs it up, takes the key with it)."""
from __future__ import annotations

import os
from pathlib import Path

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from fangfan.common import pii

ENV_KEYS = "FANGFAN_PII_KEYS"
HINT = "见 docs/deploy.md 「个人信息密钥」"


@register(Tags.security, deploy=True)
def check_pii_keys(app_configs=None, databases=None, **kwargs):
    if app_configs is not None and not any(c.name == "fangfan.ops" for c in app_configs):
        return []
    if os.environ.get(ENV_KEYS):
        try:
            ring = pii.KeyRing.from_json(os.environ[ENV_KEYS])
        except pii.PiiKeyError as exc:
            return [Error(f"环境变量 {ENV_KEYS} 中的密钥无法加载: {exc}", hint=HINT, id="fangfan.pii.E001")]
        return _stored_values(ring, databases)
    path = pii.default_key_file()
    if not path.exists():
        return [Error(f"个人信息密钥文件 {path} 不存在", id="fangfan.pii.E001",
                      hint="首次部署: fangfan keys init; 已有加密数据: 从备份找回原密钥文件。" + HINT)]
    try:
        ring = pii.KeyRing.from_json(path.read_text())
    except OSError as exc:
        return [Error(f"无法读取个人信息密钥文件 {path}: {exc.strerror or exc}", hint=HINT, id="fangfan.pii.E001")]
    except pii.PiiKeyError as exc:
        return [Error(f"个人信息密钥文件 {path} 无法加载: {exc}", hint=HINT, id="fangfan.pii.E001")]
    found = []
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        found.append(Warning(f"个人信息密钥文件 {path} 的权限为 {mode:o}, 同组或其他用户可以读写",
                             hint=f"chmod 600 {path} (属主为运行 fangfan 的用户)", id="fangfan.pii.W001"))
    database = _sqlite_folder()
    if database is not None and path.resolve().is_relative_to(database):
        found.append(Warning(f"个人信息密钥文件 {path} 与 SQLite 数据库在同一文件夹 {database}: 复制或备份数据库文件夹即连同密钥",
                             hint="用 FANGFAN_PII_KEY_FILE 把密钥放到别处 (如 /etc/fangfan/pii_keys.json) 并单独备份。" + HINT,
                             id="fangfan.pii.W002"))
    return found + _stored_values(ring, databases)


def _sqlite_folder(db: dict | None = None) -> Path | None:
    db = settings.DATABASES.get("default", {}) if db is None else db
    if db.get("ENGINE") != "django.db.backends.sqlite3" or str(db.get("NAME", "")) in ("", ":memory:"):
        return None
    return Path(db["NAME"]).resolve().parent


def _stored_values(ring: pii.KeyRing, databases) -> list:
    """With --database: one stored value of each cipher column must decrypt under the ring."""
    if not databases or "default" not in databases:
        return []
    from django.db import DatabaseError, connection

    from fangfan.ops.keys import KeysError, cipher_columns

    q = connection.ops.quote_name
    try:
        columns = cipher_columns()
    except KeysError as exc:
        return [Error(str(exc), id="fangfan.pii.E003")]
    for column in columns:
        try:
            with connection.cursor() as cursor:
                cursor.execute(f"SELECT {q(column.column)} FROM {q(column.table)} WHERE {q(column.column)} <> '' LIMIT 1")
                row = cursor.fetchone()
        except DatabaseError:
            return []  # not migrated yet: nothing stored to compare with
        if row is None:
            continue
        try:
            ring.decrypt(row[0], column.field)
        except pii.DecryptError as exc:
            return [Error(f"数据库中的 {column.label} 无法用当前密钥解密: {exc}", id="fangfan.pii.E002",
                          hint="密钥文件与数据库不符 (换错了密钥文件或恢复了别处的数据库?)。" + HINT)]
    return []
