"""The import of interchange files (data.md) into the registry: read and validate, compare
with the database, write the changes with their history in one transaction. Apart from the
small write services (registry.services) because it is most of the registry's writing code."""
from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction

from fangfan.audit.services import audit_record
from fangfan.common import pii
from fangfan.common.ids import mask
from fangfan.common.text import mask_phone
from fangfan.common.tables import HOUSEHOLDS, INCOMES, MEASURES, MEMBERS, Table
from fangfan.regions import codes as region_codes
from fangfan.regions.models import Region
from fangfan.registry import dbframes
from fangfan.registry.bulk import bulk_insert, diff_frames, fetch_frame, now_utc, update_rows
from fangfan.registry.interchange.parts import partition_folders, read_partitions
from fangfan.registry.interchange.read import Problem, ReadResult, read_interchange
from fangfan.registry.models import MEASURE_KEY_LENGTH, ImportBatch, ImportSnapshot
from fangfan.registry.progress import Progress
from fangfan.reports.campaigns import entry_window_guard
from fangfan.registry.search import initials_expr

_IN_CHUNK = 5_000  # keys per IN (...) query: well under SQLite's parameter limit


class ImportRejected(Exception):
    """The files break data.md's rules: nothing was written."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__(f"{len(problems)} 个问题,未写入任何数据: " + "; ".join(str(p) for p in problems[:5]))


@dataclass
class TablePlan:
    """What an import does to one table: rows to insert, rows to update (with old values)."""

    name: str
    inserts: pl.DataFrame
    updates: pl.DataFrame  # new values + "<col>__old" + "id"
    unchanged: int
    compare: list[str]


@dataclass
class ImportSummary:
    batch: str
    source: str
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    unchanged: dict[str, int] = field(default_factory=dict)
    regions_created: int = 0
    rows_read: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    check_only: bool = False

    @property
    def changed(self) -> bool:
        return any(self.created.values()) or any(self.updated.values()) or self.regions_created > 0

    def as_dict(self) -> dict:
        return {
            "batch": self.batch,
            "source": self.source,
            "rows_read": self.rows_read,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "regions_created": self.regions_created,
            "seconds": round(self.seconds, 3),
            "check_only": self.check_only,
        }


# --------------------------------------------------------------------------- reading the database


def _chunks(values: list, size: int = _IN_CHUNK):
    for start in range(0, len(values), size):
        yield values[start : start + size]


_KEY_SEPARATOR = "\x1f"  # ASCII unit separator: never inside a validated key


def _any_of(column: str, keys: list[str]) -> tuple[str, list[str]]:
    """`column = ANY(...)` with the keys as one text parameter split by the server: psycopg
    quotes a Python list as an array element by element (about 1 s for 400k keys)."""
    joined = _KEY_SEPARATOR.join(keys)
    if _KEY_SEPARATOR in "".join(keys):  # pragma: no cover - keys are validated before this
        raise ValueError("key contains the separator")
    return f"{column} = ANY(string_to_array(%s, %s))", [joined, _KEY_SEPARATOR]


def _fetch_in(sql_head: str, column: str, keys: list, schema: dict) -> pl.DataFrame:
    if connection.vendor == "postgresql":
        condition, params = _any_of(column, keys)
        return dbframes.normalise_extra(fetch_frame(f"{sql_head} WHERE {condition}", params, schema))
    frames = []
    for chunk in _chunks(keys):
        placeholders = ", ".join(["%s"] * len(chunk))
        frames.append(dbframes.normalise_extra(fetch_frame(f"{sql_head} WHERE {column} IN ({placeholders})", chunk, schema)))
    frames = [f for f in frames if f.height]
    if not frames:  # the query's own columns, no rows
        return dbframes.normalise_extra(fetch_frame(f"{sql_head} WHERE 1 = 0", [], schema))
    return pl.concat(frames, how="vertical_relaxed")


def _existing(table: Table, household_numbers: list[str], member_ids: list[str]) -> pl.DataFrame:
    """Existing database rows for the households (or member IDs) of the files, in database form."""
    cols = dbframes.db_columns(table) + ["extra"]
    schema = {**dbframes.db_schema(table), "id": pl.Int64, "household_number": pl.String}
    if table.name == "households":
        head = f"SELECT h.id, {dbframes.select_list('h', cols)} FROM registry_household h"
        return dbframes.open_sealed(_fetch_in(head, "h.household_number", household_numbers, schema))
    if table.name == "members":
        cols.append("id_cipher")  # decrypted only for the few rows a problem message names
        schema["id_cipher"] = pl.String
    head = (
        f"SELECT t.id, h.household_number, {dbframes.select_list('t', cols)} "
        f"FROM {dbframes.DB_TABLE[table.name]} t JOIN registry_household h ON h.id = t.household_id"
    )
    if table.name == "members":
        # The members of the files' households, and any member with one of the files' IDs
        # (who may live in another household).
        # Two queries, each on its own index: with OR across the two tables PostgreSQL can only
        # scan both tables whole (every member of the nation for an import of two households).
        by_household = _fetch_in(head, "h.household_number", household_numbers, schema)
        # Only the IDs not already found there (on a re-import: none, which halves the reading).
        elsewhere = pl.Series(member_ids, dtype=pl.String)
        elsewhere = elsewhere.filter(~elsewhere.is_in(by_household.get_column("id_index").implode())).to_list()
        if not elsewhere:
            return by_household
        by_id = _fetch_in(head, "t.id_index", elsewhere, schema)
        return pl.concat([by_household, by_id], how="vertical_relaxed").unique("id", keep="first", maintain_order=True)
    return _fetch_in(head, "h.household_number", household_numbers, schema)


# --------------------------------------------------------------------------- planning


def _new_frame(table: Table, result: ReadResult) -> pl.DataFrame:
    frame = result.tables[table.name]
    db = dbframes.to_db_frame(table, frame, result.extra_columns.get(table.name, []))
    if table.name != "households":
        db = db.with_columns(frame["household_id"].alias("household_number"))
    if table.name == "members":
        # Search by pinyin initials (registry.search): computed once per distinct character.
        db = db.with_columns(initials_expr(db["name"]))
    return db.with_columns(frame["_row"].alias("_row"))


def _plan(table: Table, new: pl.DataFrame, old: pl.DataFrame, key: list[str]) -> TablePlan:
    compare = [c for c in dbframes.db_columns(table) + ["extra"] if c not in key]
    if table.name != "households" and "household_number" not in key:
        compare.append("household_number")  # a member moving between households is a change
    inserts, updates, unchanged = diff_frames(new, old, key, compare)
    return TablePlan(table.name, inserts, updates, unchanged, compare)


def _database_problems(result: ReadResult, members: pl.DataFrame, old_members: pl.DataFrame) -> list[Problem]:
    """Rules that need the database: one member ID in two households, members that would vanish.
    `members` are the files' members as database values (blind index and the hidden plain ID)."""
    problems: list[Problem] = []
    source = result.sources.get("members", "members")
    file_households = set(result.tables["households"]["household_id"].to_list())
    if old_members.height == 0:
        return problems
    moved = members.join(
        old_members.select("id_index", pl.col("household_number").alias("db_household")), on="id_index"
    ).filter(pl.col("db_household") != pl.col("household_number"))
    for row in moved.iter_rows(named=True):
        if row["db_household"] not in file_households:
            problems.append(
                Problem(
                    source,
                    row["_row"],
                    "证件号码",
                    mask(row[dbframes.PLAIN_ID]),
                    f"证件号码已登记在户 {row['db_household']},与户 {row['household_number']} 重复",
                )
            )
    missing = old_members.filter(
        pl.col("household_number").is_in(list(file_households)) & ~pl.col("id_index").is_in(members["id_index"].implode())
    )
    missing = missing.with_columns(pl.Series("id_number", pii.keyring().decrypt_all(missing["id_cipher"].to_list()),
                                             dtype=pl.String))
    h_rows = dict(zip(result.tables["households"]["household_id"], result.tables["households"]["_row"]))
    for row in missing.iter_rows(named=True):
        problems.append(
            Problem(
                result.sources.get("households", "households"),
                h_rows.get(row["household_number"]),
                "户编号",
                row["household_number"],
                f"库中成员 {row['name']}({mask(row['id_number'])})未出现在人表中;成员不能删除,"
                "请保留该成员并将人员状态改为 死亡/迁出/注销",
            )
        )
    return problems


# --------------------------------------------------------------------------- regions


def _region_rows(village_codes: set[str], villages: pl.DataFrame | None) -> list[Region]:
    """Regions to create or rename: every village of the files and all its ancestors."""
    names: dict[str, str] = {}
    extra: dict[str, dict] = {}
    if villages is not None:
        for row in villages.iter_rows(named=True):
            code = row["village_code"]
            names[code] = row.get("village_name") or ""
            extra[code] = {"delisted": bool(row.get("delisted")), "village_kind": row.get("village_kind") or ""}
            if row.get("township_name"):
                names[code[:9] + "000"] = row["township_name"]
            village_codes.add(code)
    wanted: dict[str, Region] = {}
    for code in sorted(village_codes):
        for ancestor in region_codes.ancestors(code):
            if ancestor not in wanted:
                province, county = region_codes.gbt2260_info(ancestor[:6])
                level = region_codes.level_of(ancestor)
                name = names.get(ancestor) or {
                    "province": province,
                    "city": region_codes.gbt2260_info(ancestor[:4] + "00")[1],
                    "county": county,
                }.get(level) or ""
                wanted[ancestor] = Region(code=ancestor, level=level, name=name)
        wanted[code] = Region(code=code, level="village", name=names.get(code, ""), **extra.get(code, {}))
    return list(wanted.values())


def _ensure_regions(rows: list[Region], actor, batch: str) -> int:
    existing = {r.code: r for r in Region.objects.filter(code__in=[r.code for r in rows])}
    created = 0
    for region in sorted(rows, key=lambda r: r.code.rstrip("0") and len(region_codes.prefix_of(r.code))):
        parent_code = None
        for n in (9, 6, 4, 2):
            candidate = region.code[:n].ljust(12, "0")
            if candidate != region.code and len(region_codes.prefix_of(region.code)) > n:
                parent_code = candidate
                break
        old = existing.get(region.code)
        if old is None:
            region.parent_id = parent_code
            region.save(force_insert=True)
            created += 1
            continue
        changes = {}
        for attr in ("name", "delisted", "village_kind"):
            new_value = getattr(region, attr)
            if attr == "name" and not new_value:
                continue
            if region.level != "village" and attr != "name":
                continue
            if getattr(old, attr) != new_value:
                changes[attr] = (getattr(old, attr), new_value)
        if changes:
            for attr, (_, new_value) in changes.items():
                setattr(old, attr, new_value)
            old.save(update_fields=list(changes))
            audit_record(
                actor=actor,
                action="region.update",
                object_type="region",
                object_key=old.code,
                region_code=old.code,
                before={k: v[0] for k, v in changes.items()},
                after={k: v[1] for k, v in changes.items()},
                batch=batch,
            )
    return created


# --------------------------------------------------------------------------- writing


def _jsonable(value):
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def _update_households(plan: TablePlan, now) -> None:
    cols = [c for c in plan.compare if c != "household_number"]
    if "name_initials" in plan.updates.columns:
        cols.append("name_initials")  # follows the name (not compared: derived from it)
    update_rows(
        "registry_household",
        dbframes.seal(plan.updates.select([*cols, pl.lit(now).alias("updated_at"), "id"])),
        also="version = version + 1",
    )


def _seal_inserts(plans: dict[str, TablePlan]) -> None:
    """New rows as stored (IDs and phones encrypted), before the snapshots and the writes see them."""
    for plan in plans.values():
        plan.inserts = dbframes.seal(plan.inserts)


def history_value(column: str, value):
    """A value as the history (audit before/after) keeps it: phones are personal data, masked
    there (the household file has them whole); dates as ISO text."""
    return mask_phone(value) if column == "phone" and value else _jsonable(value)


def _update_events(plan: TablePlan, object_type: str, key: pl.Expr, regions: pl.DataFrame) -> pl.DataFrame:
    """One event per changed row with only the changed fields before and after."""
    if plan.updates.height == 0:
        return pl.DataFrame(schema=_EVENT_SCHEMA)
    frame = plan.updates.with_columns(key.cast(pl.String).alias("_key")).join(
        regions, on="household_number", how="left"
    )
    rows = []
    for row in frame.iter_rows(named=True):
        before = {c: history_value(c, row[f"{c}__old"]) for c in plan.compare if row[c] != row[f"{c}__old"]}
        after = {c: history_value(c, row[c]) for c in before}
        rows.append((f"{object_type}.update", object_type, row["_key"], row["household_number"], row["region"] or "",
                     json.dumps(before, ensure_ascii=False), json.dumps(after, ensure_ascii=False)))
    return pl.DataFrame(rows, schema=_EVENT_SCHEMA, orient="row")


_EVENT_SCHEMA = {
    "action": pl.String, "object_type": pl.String, "object_key": pl.String, "household_key": pl.String,
    "region_code": pl.String, "before": pl.String, "after": pl.String,
}


def _insert_events(
    frame: pl.DataFrame, object_type: str, key: pl.Expr, household_col: str, regions: pl.DataFrame
) -> pl.DataFrame:
    """One creation event per new row, its values as the 'after' JSON (built vectorised)."""
    cols = [c for c in frame.columns if not c.startswith("_") and c not in ("household_pk", "id", "id_cipher")]
    return (
        frame.join(regions, left_on=household_col, right_on="household_number", how="left")
        .select(
            pl.lit(f"{object_type}.create").alias("action"),
            pl.lit(object_type).alias("object_type"),
            key.cast(pl.String).alias("object_key"),
            pl.col(household_col).alias("household_key"),
            pl.col("region").fill_null("").alias("region_code"),
            pl.lit(None, dtype=pl.String).alias("before"),
            pl.struct(cols).struct.json_encode().alias("after"),
        )
    )


def _write_audit(events: list[pl.DataFrame], actor, batch: str) -> None:
    events = [e for e in events if e.height]
    if not events:
        return
    frame = pl.concat([e.cast(_EVENT_SCHEMA) for e in events], how="vertical")
    frame = frame.with_columns(
        pl.lit(now_utc()).alias("at"),
        pl.lit(getattr(actor, "pk", None), dtype=pl.Int64).alias("actor_id"),
        pl.lit(getattr(actor, "username", "system")).alias("actor_name"),
        pl.lit("").alias("comment"),
        pl.lit(batch).alias("batch"),
    )
    bulk_insert("audit_auditevent", frame)


def _household_pks(numbers: list[str]) -> pl.DataFrame:
    return _fetch_in(
        "SELECT id AS household_pk, household_number, village_code FROM registry_household",
        "household_number",
        numbers,
        {"household_pk": pl.Int64, "household_number": pl.String, "village_code": pl.String},
    )


def registry_import(*, actor, path: str | Path, check_only: bool = False, progress: bool = False) -> ImportSummary:
    """Import interchange files (data.md) into the registry.

    Households are matched by 户编号, members by 证件号码, income rows by (户编号, 年度), measures by
    (户编号, 措施类别, 开始日期, 措施内容). New rows are created, changed rows updated with their before/after
    recorded, unchanged rows left alone — so re-importing the same files changes nothing. Any
    problem in the files (or against the database) rejects the whole import.

    PATH may also be a folder of interchange folders (a city's or a province's counties): every
    part is read and validated first (keys checked across parts), then the parts are compared
    with the database and written one after the other in ONE transaction, so memory is that of
    one part and the import is still all or nothing."""
    started = time.perf_counter()
    scope = _import_scope(actor)  # before reading anything: a role that may not import learns it at once
    if not check_only:
        entry_window_guard(actor=actor, region_code=scope)  # W7: closed after a campaign's entry
    path = Path(path)
    batch = uuid.uuid4().hex[:12]
    bar = Progress(enabled=progress)
    summary = ImportSummary(batch=batch, source=str(path), check_only=check_only)
    folders = partition_folders(path)
    if folders:
        _import_parts(actor=actor, path=path, folders=folders, summary=summary, bar=bar, scope=scope)
    else:
        with bar.step("读取并校验文件"):
            result = read_interchange(path, progress=progress)
        if not result.ok:
            raise ImportRejected(result.problems)
        with _import_transaction(actor=actor, path=path, summary=summary, scope=scope) as write:
            write(result, bar)
    summary.seconds = time.perf_counter() - started
    bar.done(summary)
    return summary


def _import_parts(*, actor, path: Path, folders: list[Path], summary: ImportSummary, bar: Progress, scope: str) -> None:
    with bar.step(f"读取并校验 {len(folders)} 个部分"):
        data = read_partitions(folders, step=bar.update if bar.enabled else None)
    with data:
        if not data.ok:
            raise ImportRejected(data.problems)
        problems: list[Problem] = []
        with _import_transaction(actor=actor, path=path, summary=summary, scope=scope) as write:
            for part in data.parts:
                result = ReadResult(tables=data.tables(part), sources=part.labels, extra_columns=part.extra_columns)
                with bar.step(f"导入 {part.name}({part.households} 户)"):
                    try:
                        # After a part with problems the others are only checked, to list every problem.
                        write(result, bar, check_only=bool(problems))
                    except ImportRejected as exc:
                        problems.extend(exc.problems)
            if problems:
                raise ImportRejected(problems)  # rolls back the parts written before


def _import_scope(actor) -> str:
    """The code prefix an actor may import into ('' = everywhere: the system itself, i.e. a
    shell command without --as). Only the roles that write the registry may import, and only
    inside their own region (roles.md)."""
    from fangfan.accounts.permissions import may_write_registry
    from fangfan.regions.scope import prefix_for

    if actor is None:
        return ""
    if not may_write_registry(actor):
        raise PermissionDenied("本账号的角色不能导入户数据(只有村、乡镇和县乡村振兴局账号可以导入)")
    prefix = prefix_for(actor)
    if not prefix:  # None (no region set) — and never '' for a user: that would be everywhere
        raise PermissionDenied("本账号未设置管辖区划, 不能导入户数据")
    return prefix


class _LazyLabel:
    """The actor's region as "code name", looked up only when a problem names it."""

    def __init__(self, actor):
        self.actor, self.text = actor, None

    def __str__(self) -> str:
        if self.text is None:
            code = getattr(self.actor, "region_code", "")
            name = Region.objects.filter(code=code).values_list("name", flat=True).first()
            self.text = f"{code} {name}" if name else code
        return self.text

    def __format__(self, spec: str) -> str:  # f-strings call __format__, not __str__
        return format(str(self), spec)


_SHOWN = 5  # household numbers named per village outside the scope


def _scope_problems(result: ReadResult, scope: str, actor, existing: pl.DataFrame | None = None) -> list[Problem]:
    """Every village of the files outside the actor's region (one problem per village, naming
    its households), and every household of the files already registered outside it (an import
    may not move a household from another village into one's own)."""
    if not scope:
        return []
    where = _LazyLabel(actor)
    problems: list[Problem] = []
    households = result.tables["households"]
    outside = (
        households.filter(~pl.col("village_code").str.starts_with(scope))
        .group_by("village_code")
        .agg(pl.col("_row").min().alias("first_row"), pl.col("household_id").sort().alias("numbers"))
        .sort("first_row")
    )
    source = result.sources.get("households", "households")
    for code, first_row, numbers in outside.iter_rows():
        shown = "、".join(numbers[:_SHOWN]) + (f" 等 {len(numbers)} 户" if len(numbers) > _SHOWN else "")
        problems.append(Problem(source, first_row, "村代码", code,
                                f"该村不在本账号的管辖范围({where})内: 户 {shown}"))
    villages = result.tables.get("villages")
    if villages is not None and villages.height:
        source = result.sources.get("villages", "villages")
        for code, row in villages.filter(~pl.col("village_code").str.starts_with(scope)).select("village_code", "_row").iter_rows():
            problems.append(Problem(source, row, "村代码", code, f"该村不在本账号的管辖范围({where})内"))
    if existing is not None and existing.height:
        rows = dict(zip(households["household_id"], households["_row"]))
        moved = existing.filter(~pl.col("village_code").str.starts_with(scope)).sort("household_number")
        for number, code in moved.select("household_number", "village_code").iter_rows():
            problems.append(Problem(result.sources.get("households", "households"), rows.get(number), "户编号", number,
                                    f"该户已登记在村 {code}, 不在本账号的管辖范围({where})内"))
    return problems


@contextmanager
def _import_transaction(*, actor, path: Path, summary: ImportSummary, scope: str = ""):
    """The import's transaction (none for --check): yields write(result, bar, check_only=False),
    which compares one set of tables with the database and writes it; the ImportBatch row and
    the batch's audit row close it."""
    digests: dict = {}  # table → sha256 over its snapshot blobs, in order, across writes
    villages: set[str] = set()

    def write(result: ReadResult, bar: Progress, check_only: bool = False) -> None:
        problems = _scope_problems(result, scope, actor)
        if problems:
            raise ImportRejected(problems)
        plans, region_rows = _compare(result, summary, bar, scope=scope, actor=actor)
        villages.update(result.tables["households"]["village_code"].to_list())
        if summary.check_only or check_only:
            known = set(Region.objects.filter(code__in=[r.code for r in region_rows]).values_list("code", flat=True))
            summary.regions_created += sum(1 for r in region_rows if r.code not in known)
            return
        _seal_inserts(plans)
        # The snapshot blobs are encoded in a thread while the database stores the rows.
        snapshots = _SNAPSHOT_POOL.submit(_snapshot_blobs, _snapshot_frames(plans))
        with bar.step("写入行政区划"):
            summary.regions_created += _ensure_regions(region_rows, actor, summary.batch)
        _apply(plans, actor=actor, batch=summary.batch, bar=bar)
        with bar.step("保存新建户的建档快照"):
            _store_snapshots(import_batch, snapshots.result(), digests)

    if summary.check_only:
        yield write
        return
    with transaction.atomic():
        # No `synchronous_commit off` here: it saved nothing measurable (50,000 households on
        # PostgreSQL: 8.6-11.2 s either way; one commit is one WAL flush) and would let a server
        # crash just after "导入完成" lose the import.
        import_batch = ImportBatch.objects.create(
            batch=summary.batch, actor_name=getattr(actor, "username", "system"), source=str(path)
        )
        yield write
        import_batch.summary = summary.as_dict()
        import_batch.save(update_fields=["summary"])
        if summary.changed:  # an import that changes nothing leaves only its ImportBatch row
            audit_record(
                actor=actor, action="registry.import", object_type="import_batch", object_key=summary.batch,
                region_code=_common_county(villages),
                after={"source": str(path), "created": summary.created, "updated": summary.updated,
                       "regions_created": summary.regions_created,
                       "snapshot_sha256": {table: digest.hexdigest() for table, digest in digests.items()}},
                batch=summary.batch,
            )


def _compare(
    result: ReadResult, summary: ImportSummary, bar: Progress, *, scope: str = "", actor=None
) -> tuple[dict[str, TablePlan], list[Region]]:
    """The plans (inserts, updates) of one set of tables against the database, counted into the
    summary; database-level problems reject it."""
    for name, frame in result.tables.items():
        summary.rows_read[name] = summary.rows_read.get(name, 0) + frame.height
    household_numbers = result.tables["households"]["household_id"].to_list()
    with bar.step("与库中数据比对"):
        new_frames = {t.name: _new_frame(t, result) for t in (HOUSEHOLDS, MEMBERS, INCOMES, MEASURES) if t.name in result.tables}
        old_members = _existing(MEMBERS, household_numbers, new_frames["members"]["id_index"].to_list())
        old_households = _existing(HOUSEHOLDS, household_numbers, [])
        problems = _scope_problems(result, scope, actor, old_households) if scope else []
        problems += _database_problems(result, new_frames["members"], old_members)
        if problems:
            raise ImportRejected(problems)
        plans = {
            "households": _plan(HOUSEHOLDS, new_frames["households"], old_households, ["household_number"]),
            "members": _plan(MEMBERS, new_frames["members"], old_members, ["id_index"]),
        }
        if "incomes" in new_frames:
            plans["incomes"] = _plan(INCOMES, new_frames["incomes"], _existing(INCOMES, household_numbers, []), _db_key(INCOMES))
        if "measures" in new_frames:
            plans["measures"] = _plan(
                MEASURES, new_frames["measures"], _existing(MEASURES, household_numbers, []), _db_key(MEASURES)
            )
    for name, plan in plans.items():
        summary.created[name] = summary.created.get(name, 0) + plan.inserts.height
        summary.updated[name] = summary.updated.get(name, 0) + plan.updates.height
        summary.unchanged[name] = summary.unchanged.get(name, 0) + plan.unchanged
    village_codes = set(result.tables["households"]["village_code"].to_list())
    return plans, _region_rows(village_codes, result.tables.get("villages"))


def _db_key(table: Table) -> list[str]:
    """The table's key (fangfan.common.tables: what identifies a row) as database columns, the
    household by its number."""
    return ["household_number" if k == "household_id" else k for k in table.key]


def measure_history_expr() -> pl.Expr:
    """models.measure_history_key for a whole frame of measures (database columns)."""
    key = pl.concat_str(
        [pl.col("household_number"), pl.col("measure_code"), pl.col("started_on").cast(pl.String)], separator=":"
    )
    content = pl.col("content").fill_null("")
    return (
        pl.when(content == "").then(key).otherwise(pl.concat_str([key, content], separator=":"))
        .str.slice(0, MEASURE_KEY_LENGTH)
    )


# object type and key of each table's history rows
_HISTORY = {
    "households": ("household", pl.col("household_number")),
    "members": ("member", pl.col("id_index")),
    "incomes": ("income", pl.concat_str([pl.col("household_number"), pl.col("year")], separator=":")),
    "measures": ("measure", measure_history_expr()),
}
_LABEL = {"households": "户", "members": "成员", "incomes": "收支", "measures": "帮扶措施"}


def _apply(plans: dict[str, TablePlan], *, actor, batch: str, bar: Progress) -> None:
    now = now_utc()
    hp = plans["households"]
    created = hp.inserts.drop("_row")
    with bar.step(f"写入户 {hp.inserts.height} 新增 / {hp.updates.height} 修改"):
        # created_at / updated_at come from the database's default (the transaction's time).
        bulk_insert(
            "registry_household",
            created.with_columns(pl.lit(1, dtype=pl.Int64).alias("version"), pl.lit(batch).alias("created_batch")),
        )
        _update_households(hp, now)
    numbers = sorted(
        set().union(*(set(p.inserts["household_number"]) | set(p.updates["household_number"]) for p in plans.values()))
    )
    pks = _household_pks(numbers)
    regions = pks.select("household_number", pl.col("village_code").alias("region"))
    object_type, key = _HISTORY["households"]
    events = [_update_events(hp, object_type, key, regions)]
    new_households = hp.inserts["household_number"].implode()
    for name in ("members", "incomes", "measures"):
        plan = plans.get(name)
        if plan is None:
            continue
        with bar.step(f"写入{_LABEL[name]} {plan.inserts.height} 新增 / {plan.updates.height} 修改"):
            links = pks.select("household_number", "household_pk")
            plan.inserts = plan.inserts.join(links, on="household_number", how="left")
            plan.updates = plan.updates.join(links, on="household_number", how="left")
            stamped = name != "incomes"  # income years carry no timestamps
            bulk_insert(dbframes.DB_TABLE[name], plan.inserts.drop("_row", "household_number").rename({"household_pk": "household_id"}))
            if stamped:
                plan.updates = plan.updates.with_columns(pl.lit(now).alias("_stamp"))
            _update_plan_rows(plan, dbframes.DB_TABLE[name], stamped=stamped)
            object_type, key = _HISTORY[name]
            of_new = pl.col("household_number").is_in(new_households)
            # Rows added to households that existed before: one creation event each.
            fresh = plan.inserts.filter(~of_new).drop("household_pk", "_row")
            events.append(_insert_events(fresh, object_type, key, "household_number", regions))
            events.append(_update_events(plan, object_type, key, regions))
    with bar.step(f"写入变更记录 {sum(e.height for e in events)} 条"):
        _write_audit(events, actor, batch)


SNAPSHOT_HOUSEHOLDS = 10_000  # households per snapshot blob (about 0.1-0.4 MB per table)


def _snapshot_frames(plans: dict[str, TablePlan]) -> dict[str, pl.DataFrame]:
    """The rows of the new households, by table, as they will be written."""
    new_households = plans["households"].inserts["household_number"].implode()
    return {
        name: plan.inserts.filter(pl.col("household_number").is_in(new_households)).drop("_row")
        for name, plan in plans.items()
    }


@dataclass
class _Blob:
    table: str
    first: str
    last: str
    rows: int
    data: bytes


def _snapshot_blobs(frames: dict[str, pl.DataFrame]) -> list[_Blob]:
    """Parquet blobs by table and run of SNAPSHOT_HOUSEHOLDS consecutive household numbers."""
    created = frames["households"].get_column("household_number").sort()
    if created.is_empty():
        return []
    firsts = created.gather_every(SNAPSHOT_HOUSEHOLDS).to_list()
    lasts = created.gather_every(SNAPSHOT_HOUSEHOLDS, offset=SNAPSHOT_HOUSEHOLDS - 1).to_list()
    if len(lasts) < len(firsts):
        lasts.append(created[-1])
    bounds = pl.Series(firsts)
    blobs = []
    for name, frame in frames.items():
        if frame.height == 0:
            continue
        run = bounds.search_sorted(frame.get_column("household_number"), side="right") - 1
        keyed = frame.with_columns(run.alias("_run")).sort("_run", "household_number", maintain_order=True)
        for (index,), part in keyed.partition_by("_run", as_dict=True, maintain_order=True).items():
            buffer = io.BytesIO()
            part.drop("_run").write_parquet(buffer, compression="zstd")
            blobs.append(_Blob(name, firsts[index], lasts[index], part.height, buffer.getvalue()))
    return blobs


def _store_snapshots(import_batch: ImportBatch, blobs: list[_Blob], digests: dict) -> None:
    """Save the blobs; feed each table's running sha256 (for the batch's audit row)."""
    rows = []
    for blob in blobs:
        digests.setdefault(blob.table, hashlib.sha256()).update(blob.data)
        rows.append(ImportSnapshot(
            import_batch=import_batch, table=blob.table, first_household=blob.first, last_household=blob.last,
            rows=blob.rows, sha256=hashlib.sha256(blob.data).hexdigest(), data=blob.data,
        ))
    ImportSnapshot.objects.bulk_create(rows, batch_size=50)


_SNAPSHOT_POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="import-snapshot")


def _common_county(village_codes: set[str]) -> str:
    counties = {code[:6] for code in village_codes}
    return region_codes.full_code(counties.pop()) if len(counties) == 1 else ""


def _update_plan_rows(plan: TablePlan, db_table: str, stamped: bool) -> None:
    cols = [c for c in plan.compare if c != "household_number"]
    if "name_initials" in plan.updates.columns:
        cols.append("name_initials")  # follows the name (not compared: derived from it)
    stamp = [pl.col("_stamp").alias("updated_at")] if stamped else []
    update_rows(db_table, plan.updates.select([*cols, pl.col("household_pk").alias("household_id"), *stamp, "id"]))
