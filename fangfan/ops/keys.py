"""The personal-data key file (fangfan.common.pii): create it, count what each key encrypts,
rotate the data key in resumable batches, and drop the old keys nothing uses any more.

What is encrypted is found, not listed: every concrete model field whose name ends in
`_cipher` (its associated data by prefix: `id_` → pii.ID_FIELD, `phone_` → pii.PHONE_FIELD;
any other prefix is an error, so a new kind of cipher column cannot be skipped silently), and
the `*_cipher` columns inside the import snapshot blobs (registry.ImportSnapshot: a household's
creation history decrypts them too).

A rotation writes the ring with its new key (current) to the key file first, old keys kept,
then re-encrypts every value not under the current key, in batches by primary key, each batch
its own transaction. Whatever moment it is killed at, every value is under a key of the file,
and a re-run (`rotate`) sees values under old keys and continues with the current key instead
of adding another. `prune` drops the old keys only when no value is under them."""
from __future__ import annotations

import fcntl
import hashlib
import io
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError, connection, transaction

from fangfan.common import pii
from fangfan.ops import rewrite

log = logging.getLogger("fangfan.ops")

ENV_KEYS = "FANGFAN_PII_KEYS"
FIELD_BY_PREFIX = {"id_": pii.ID_FIELD, "phone_": pii.PHONE_FIELD}
DEFAULT_BATCH = 20_000
PLAIN = "(未加密)"  # the "key" of a value without a key id: a plain number left behind
SNAPSHOT_LABEL = "registry.ImportSnapshot"
# The snapshot tables whose blobs hold ciphers (fangfan.registry.dbframes.seal); others are not read.
SNAPSHOT_TABLES = ("members", "households")
SWEEPS = 3  # passes over the columns: values written under an old key by other processes meanwhile


class KeysError(Exception):
    """A key operation that cannot be done; the message is for the operator (Chinese)."""


def associated_field(name: str) -> bytes:
    """The associated data a `*_cipher` column's values are sealed with (by the name's prefix)."""
    for prefix, value in FIELD_BY_PREFIX.items():
        if name.startswith(prefix):
            return value
    raise KeysError(f"加密列 {name} 的名称无法判断其内容 (应以 {' 或 '.join(FIELD_BY_PREFIX)} 开头): "
                    f"请在 fangfan.ops.keys.FIELD_BY_PREFIX 中登记")


@dataclass(frozen=True)
class CipherColumn:
    label: str  # app_label.Model.field
    table: str
    pk: str
    column: str
    field: bytes


def cipher_columns() -> list[CipherColumn]:
    """Every `*_cipher` field of the installed models (concrete, managed, not proxies)."""
    from django.apps import apps

    out = []
    for model in apps.get_models():
        meta = model._meta
        if meta.proxy or not meta.managed:
            continue
        for f in meta.local_concrete_fields:
            if f.name.endswith("_cipher"):
                out.append(CipherColumn(f"{meta.label}.{f.name}", meta.db_table, meta.pk.column, f.column,
                                        associated_field(f.name)))
    return sorted(out, key=lambda c: c.label)


# ------------------------------------------------------------------------------------ the key file
@dataclass
class KeySource:
    ring: pii.KeyRing
    path: Path | None  # None: the keys come from the environment (FANGFAN_PII_KEYS)

    @property
    def where(self) -> str:
        return str(self.path) if self.path else f"环境变量 {ENV_KEYS}"


def key_location() -> str:
    """Where the keys come from, for messages (nothing is read)."""
    return f"环境变量 {ENV_KEYS}" if os.environ.get(ENV_KEYS) else str(pii.default_key_file())


def key_source() -> KeySource:
    """The ring as configured now (read afresh, not the process's cached ring)."""
    if os.environ.get(ENV_KEYS):
        try:
            return KeySource(pii.KeyRing.from_json(os.environ[ENV_KEYS]), None)
        except pii.PiiKeyError as exc:
            raise KeysError(f"环境变量 {ENV_KEYS}: {exc}") from None
    path = pii.default_key_file()
    if not path.exists():
        raise KeysError(f"密钥文件 {path} 不存在: 首次部署请运行 fangfan keys init; 已有加密数据时请从备份找回原密钥文件")
    try:
        return KeySource(pii.KeyRing.from_json(path.read_text()), path)
    except OSError as exc:
        raise KeysError(f"无法读取密钥文件 {path}: {exc.strerror or exc}") from None
    except pii.PiiKeyError as exc:
        raise KeysError(f"密钥文件 {path}: {exc}") from None


def _writable(source: KeySource, what: str) -> Path:
    if source.path is None:
        raise KeysError(f"密钥由环境变量 {ENV_KEYS} 提供, 无法{what}: 请把它写入密钥文件 (FANGFAN_PII_KEY_FILE) "
                        f"后在该文件上操作, 完成后再更新环境变量 (见 docs/deploy.md)")
    return source.path


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """One key operation at a time per key file (two rotations would add two keys)."""
    lock = path.with_name(f".{path.name}.lock")
    fd = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KeysError(f"另一个密钥操作 (fangfan keys rotate/prune) 正在使用 {path}, 请等它结束") from None
        yield
    finally:
        os.close(fd)


def _check_actor(actor) -> None:
    # The shell acts as the system (actor None); with --as, only a system administrator.
    if actor is not None and getattr(actor, "role", None) != "admin":
        raise PermissionDenied("只有系统管理员可以管理密钥")


def keys_init(*, force: bool = False) -> Path:
    """Create the key file with fresh keys; never over an existing one, nor (unless forced) beside
    a database that already holds ciphers (a new key could not read them)."""
    if os.environ.get(ENV_KEYS):
        raise KeysError(f"密钥已由环境变量 {ENV_KEYS} 提供, 无需创建密钥文件")
    path = pii.default_key_file()
    if path.exists():
        raise KeysError(f"密钥文件 {path} 已存在, 不会覆盖 (覆盖会使已加密的数据无法解密)")
    if not force:
        held = _stored_values()
        if held:
            raise KeysError(f"数据库中已有 {held:,} 个加密值, 新密钥无法解密它们: 请从备份找回原密钥文件。"
                            f"确认这些数据可以放弃时才加 --force")
    pii.write_key_file(path, pii.KeyRing.generate())
    log.warning("keys init: created %s", path)
    return path


def _stored_values() -> int:
    """Encrypted values in the database (0 when it is not there or not migrated yet)."""
    try:
        existing = set(connection.introspection.table_names())
    except DatabaseError as exc:
        log.info("keys init: database not readable (%s)", exc)
        return 0
    q = connection.ops.quote_name
    total = 0
    with connection.cursor() as cursor:
        for c in cipher_columns():
            if c.table in existing:
                cursor.execute(f"SELECT count(*) FROM {q(c.table)} WHERE {q(c.column)} <> ''")
                total += cursor.fetchone()[0]
    return total


# ----------------------------------------------------------------------------------------- status
@dataclass
class KeyStatus:
    where: str
    current: str
    keys: list[str]
    staged: list[str] = field(default_factory=list)  # added by `keys add`, not current yet
    counts: dict[str, Counter] = field(default_factory=dict)  # column label → key id → values

    def under(self, key_id: str) -> int:
        return sum(c[key_id] for c in self.counts.values())

    @property
    def stale(self) -> int:
        """Values not under the current key (to re-encrypt)."""
        return sum(n for c in self.counts.values() for k, n in c.items() if k != self.current)

    def keys_in_use(self) -> set[str]:
        return {k for c in self.counts.values() for k, n in c.items() if n}


def _key_expr(column: str) -> str:
    q = connection.ops.quote_name(column)
    if connection.vendor == "postgresql":
        return f"CASE WHEN strpos({q}, ':') > 0 THEN split_part({q}, ':', 1) ELSE '{PLAIN}' END"
    return f"CASE WHEN instr({q}, ':') > 0 THEN substr({q}, 1, instr({q}, ':') - 1) ELSE '{PLAIN}' END"


def column_counts(column: CipherColumn) -> Counter:
    """Values by key id, read from the key id prefix (nothing decrypted)."""
    q = connection.ops.quote_name
    sql = (f"SELECT {_key_expr(column.column)}, count(*) FROM {q(column.table)} "
           f"WHERE {q(column.column)} <> '' GROUP BY 1")
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return Counter(dict(cursor.fetchall()))


def _snapshot_model():
    from django.apps import apps

    return apps.get_model("registry", "ImportSnapshot")


def _snapshot_batches(batch: int = 20) -> Iterator[list[tuple]]:
    """(pk, data, sha256) of the snapshot blobs that may hold ciphers, a few at a time."""
    model = _snapshot_model()
    last = 0
    while True:
        rows = list(model.objects.filter(pk__gt=last, table__in=SNAPSHOT_TABLES).order_by("pk")
                    .values_list("pk", "data", "sha256")[:batch])
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def _blob_columns(frame) -> list[str]:
    return [name for name in frame.columns if name.endswith("_cipher")]


def _read_blob(data):
    import polars as pl

    return pl.read_parquet(io.BytesIO(bytes(data)))


def _blob_keys(frame, name: str) -> Counter:
    import polars as pl

    values = frame.get_column(name).fill_null("")
    values = values.filter(values != "")
    keys = pl.when(values.str.contains(":", literal=True)).then(values.str.split(":").list.first()).otherwise(pl.lit(PLAIN))
    counted = pl.select(keys.alias("k")).get_column("k").value_counts()
    return Counter(dict(counted.iter_rows()))


def snapshot_counts() -> Counter:
    total: Counter = Counter()
    for rows in _snapshot_batches():
        for _, data, _ in rows:
            frame = _read_blob(data)
            for name in _blob_columns(frame):
                total.update(_blob_keys(frame, name))
    return total


def keys_status() -> KeyStatus:
    source = key_source()
    status = KeyStatus(source.where, source.ring.current, sorted(source.ring.data_keys, key=_number),
                       staged_keys(source.ring))
    for column in cipher_columns():
        status.counts[column.label] = column_counts(column)
    status.counts[SNAPSHOT_LABEL] = snapshot_counts()
    return status


# ------------------------------------------------------------------------------------ add (stage)
def _number(key_id: str) -> int:
    return int(key_id[1:]) if key_id[:1] == "k" and key_id[1:].isdigit() else -1


def staged_keys(ring: pii.KeyRing) -> list[str]:
    """Keys newer than the current one: added by `keys add`, made current by the next rotation."""
    return sorted((k for k in ring.data_keys if _number(k) > _number(ring.current)), key=_number)


def keys_add(*, actor) -> str:
    """Add a new data key to the file without making it current: once the web processes are
    restarted they read values under it, so the rotation that makes it current (`keys rotate`)
    never meets a process that cannot read what it has re-encrypted."""
    _check_actor(actor)
    path = _writable(key_source(), "添加新密钥")
    with _exclusive(path):
        source = key_source()
        staged = staged_keys(source.ring)
        if staged:
            raise KeysError(f"已有待启用的新密钥 {staged[-1]}: 重启 web 服务后运行 fangfan keys rotate 启用它")
        grown = source.ring.with_new_key()
        pii.write_key_file(path, pii.KeyRing(grown.data_keys, source.ring.current, grown.index_key))
        with transaction.atomic():
            from fangfan.audit.services import audit_record

            audit_record(actor=actor, action="pii.keys_add", object_type="pii_keys", object_key=grown.current,
                         after={"key": grown.current, "current": source.ring.current, "key_file": str(path)})
    log.warning("keys add: %s added to %s (not current yet)", grown.current, path)
    return grown.current


# ----------------------------------------------------------------------------------------- rotate
Progress = Callable[[str, int], None]  # (what is being re-encrypted, values just done)


@dataclass
class Rotation:
    key: str  # the current key at the end
    added: bool  # this run added the key (False: it continued an unfinished rotation)
    reencrypted: dict[str, int]  # column label → values re-encrypted
    remaining: int  # values still under old keys (written meanwhile by processes with the old ring)
    seconds: float
    pruned: list[str] = field(default_factory=list)
    staged: bool = False  # the key made current was added beforehand (`keys add`)

    @property
    def total(self) -> int:
        return sum(self.reencrypted.values())


def _reseal(ring: pii.KeyRing, values: list[str], field: bytes, what: str, rows: list) -> list[str]:
    """The values decrypted and encrypted again under the current key (`rows` name them in errors)."""
    try:
        return ring.encrypt_all(ring.decrypt_all(values, field), field)
    except pii.DecryptError:
        for row, value in zip(rows, values):
            try:
                ring.decrypt(value, field)
            except pii.DecryptError as exc:
                raise KeysError(f"{what} 第 {row} 行的加密值无法解密, 轮换停止 (已完成的批次保留): {exc}") from None
        raise


def _rotate_column(ring: pii.KeyRing, column: CipherColumn, batch: int, progress: Progress | None) -> int:
    prefix = f"{ring.current}:"
    q = connection.ops.quote_name
    done = 0
    condition = f"{q(column.column)} <> '' AND substr({q(column.column)}, 1, %s) <> %s"
    for rows in rewrite.walk(connection, table=column.table, columns=[column.column], pk=column.pk, batch=batch,
                             where=condition, params=[len(prefix), prefix]):
        pks = [r[0] for r in rows]
        old = [r[1] for r in rows]
        new = _reseal(ring, old, column.field, column.label, pks)
        with transaction.atomic():
            # Guarded by the old cipher: a value another process changed meanwhile is left alone
            # (the next sweep sees it if it is still under an old key).
            written = _write_back(column, list(zip(pks, new, old)))
        done += written
        if progress:
            progress(column.label, len(rows))
    return done


def _write_back(column: CipherColumn, rows: list[tuple]) -> int:
    return rewrite.update_by_pk(connection, table=column.table, pk=column.pk, columns=[column.column], rows=rows,
                                guard=column.column)


def _rotate_snapshots(ring: pii.KeyRing, progress: Progress | None) -> int:
    import polars as pl

    model = _snapshot_model()
    prefix = f"{ring.current}:"
    done = 0
    for rows in _snapshot_batches():
        for pk, data, sha in rows:
            frame = _read_blob(data)
            changed = 0
            for name in _blob_columns(frame):
                values = frame.get_column(name).fill_null("").to_list()
                stale = [i for i, v in enumerate(values) if v and not v.startswith(prefix)]
                if not stale:
                    continue
                fresh = _reseal(ring, [values[i] for i in stale], associated_field(name),
                                f"{SNAPSHOT_LABEL} {pk} 的 {name} 列", stale)
                for i, value in zip(stale, fresh):
                    values[i] = value
                frame = frame.with_columns(pl.Series(name, values, dtype=pl.String))
                changed += len(stale)
            if not changed:
                continue
            buffer = io.BytesIO()
            frame.write_parquet(buffer, compression="zstd")
            blob = buffer.getvalue()
            with transaction.atomic():
                written = model.objects.filter(pk=pk, sha256=sha).update(
                    data=blob, sha256=hashlib.sha256(blob).hexdigest())
            if written:
                done += changed
                if progress:
                    progress(SNAPSHOT_LABEL, changed)
    return done


def keys_rotate(*, actor, batch: int = DEFAULT_BATCH, new_key: bool = False, resume_only: bool = False,
                prune: bool = False, progress: Progress | None = None,
                started: Callable[[KeyStatus], None] | None = None) -> Rotation:
    """Finish an unfinished rotation, else start one with a new key (`new_key`: always start one;
    `resume_only`: never). `started` is told the counts before any value is re-encrypted."""
    _check_actor(actor)
    if batch < 1:
        raise KeysError("--batch 应为正整数")
    if new_key and resume_only:
        raise KeysError("--new-key 与 --resume 不能同时使用")
    t0 = time.perf_counter()
    source = key_source()
    path = source.path
    with _exclusive(path) if path else _nothing():
        source = key_source()  # again, under the lock: another rotation may just have written it
        status = keys_status()
        added = staged = False
        if new_key or (status.stale == 0 and not resume_only):
            path = _writable(source, "添加新密钥")
            staged = staged_keys(source.ring)
            if staged:  # added beforehand by `keys add`, so the web processes already read it
                ring = pii.KeyRing(source.ring.data_keys, staged[-1], source.ring.index_key)
            else:
                ring = source.ring.with_new_key()
            # Written before any value is re-encrypted, old keys kept: every value is readable
            # under the file at every moment of the rotation, whenever it is killed.
            pii.write_key_file(path, ring)
            added = True
            log.warning("keys rotate: %s %s in %s as the current key", ring.current,
                        "staged, now" if staged else "added", path)
            status = keys_status()
        else:
            ring = source.ring
        pii.reload_keyring()  # this process writes under the current key from now on
        if started:
            started(status)
        counts: Counter = Counter()
        for sweep in range(SWEEPS):
            if sweep and status.stale == 0:
                break
            for column in cipher_columns():
                if any(k != ring.current for k, n in status.counts.get(column.label, {}).items() if n):
                    counts[column.label] += _rotate_column(ring, column, batch, progress)
            if any(k != ring.current for k, n in status.counts.get(SNAPSHOT_LABEL, {}).items() if n):
                counts[SNAPSHOT_LABEL] += _rotate_snapshots(ring, progress)
            status = keys_status()
        outcome = Rotation(ring.current, added, dict(counts), status.stale, time.perf_counter() - t0,
                           staged=bool(staged))
        if prune and status.stale == 0:
            outcome.pruned = _prune(source=key_source(), status=status, actor=actor)
        if not (added or outcome.total or outcome.pruned):
            return outcome  # nothing to do (a --resume after a finished rotation): no audit row
        with transaction.atomic():
            from fangfan.audit.services import audit_record

            audit_record(actor=actor, action="pii.keys_rotate", object_type="pii_keys", object_key=ring.current,
                         after={"key": ring.current, "key_added": added, "staged": outcome.staged,
                                "reencrypted": outcome.reencrypted, "total": outcome.total, "remaining": outcome.remaining,
                                "seconds": round(outcome.seconds, 1), "pruned": outcome.pruned,
                                "key_file": status.where})
    log.warning("keys rotate: %d values re-encrypted under %s in %.1fs (%d remaining)", outcome.total,
                ring.current, outcome.seconds, outcome.remaining)
    return outcome


@contextmanager
def _nothing() -> Iterator[None]:
    yield


# ------------------------------------------------------------------------------------------ prune
def _prune(*, source: KeySource, status: KeyStatus, actor) -> list[str]:
    path = _writable(source, "删除旧密钥")
    keep = {source.ring.current, *staged_keys(source.ring)}
    old = {k: status.under(k) for k in source.ring.data_keys if k not in keep}
    held = {k: n for k, n in old.items() if n}
    if held:
        shown = "、".join(f"{k}: {n:,} 个" for k, n in sorted(held.items()))
        raise KeysError(f"仍有数据使用旧密钥 ({shown}), 不能删除: 请先运行 fangfan keys rotate 完成轮换")
    if not old:
        return []
    pii.write_key_file(path, source.ring.without_keys(old))
    pii.reload_keyring()
    log.warning("keys prune: removed %s from %s", ", ".join(sorted(old)), path)
    return sorted(old)


def keys_prune(*, actor) -> list[str]:
    """Remove the old data keys from the key file when no value is under them any more."""
    _check_actor(actor)
    source = key_source()
    path = _writable(source, "删除旧密钥")
    with _exclusive(path):
        removed = _prune(source=key_source(), status=keys_status(), actor=actor)
        if removed:
            with transaction.atomic():
                from fangfan.audit.services import audit_record

                audit_record(actor=actor, action="pii.keys_prune", object_type="pii_keys",
                             object_key=source.ring.current, after={"removed": removed, "key_file": str(path)})
    return removed
