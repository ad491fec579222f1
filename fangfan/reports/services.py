"""Writes of the supervision features: spot checks (reports.md Q4) and the problem ledger (W8).
Each in one transaction with its audit row; the actor's region bounds what it may touch.

Spot-check draw: the frame is every 脱贫户 and every household monitored at the as-of date in the
county, sorted by (township, household number); per township k = max(1, ⌈ratio × n⌉) households are
drawn with random.Random(f"{seed}:{township}") (one stream per township, so a township's sample does
not depend on the others), which is ≥ ratio of the county and ≥ 1 per township that has any."""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import random
import secrets
from decimal import Decimal

import polars as pl
from django.db import transaction

from fangfan.audit.services import audit_record
from fangfan.regions.scope import code_range_q, prefix_for
from fangfan.registry.models import Household
from fangfan.reports.data import Snapshot, monitored_expr
from fangfan.reports.models import Problem, SpotCheck, SpotCheckItem
from fangfan.workflows.errors import ConcurrentEditError, NotAllowed, WorkflowError

SUPERVISORS = frozenset({"county_rr", "city", "province"})  # who draws and records spot checks
LEDGER_ROLES = frozenset({"village", "township", "county_rr", "county_ca", "city", "province"})


def _require_region(actor, code: str, roles=LEDGER_ROLES) -> None:
    if actor is None:
        return
    if getattr(actor, "role", None) not in roles:
        raise NotAllowed("本账号的角色不能执行此操作")
    prefix = prefix_for(actor)
    if prefix is None or not code.startswith(prefix):
        raise NotAllowed("不在本账号的管辖范围内")


def spot_check_frame(*, county: str, as_of: dt.date) -> pl.DataFrame:
    """(household_number, township, hid) of the county's 脱贫户 and monitored households, sorted."""
    households = Snapshot(prefix=county, as_of=as_of).households
    frame = households.filter((pl.col("household_type") == "lifted") | monitored_expr(as_of)).select(
        "household_number", pl.col("village_code").str.slice(0, 9).alias("township"), "hid")
    return frame.sort("township", "household_number")


def draw(frame: pl.DataFrame, *, seed: int, ratio: Decimal) -> pl.DataFrame:
    """The sample of a sorted frame: per township max(1, ⌈ratio × n⌉) rows, reproducible by seed."""
    picked = []
    for (township,), part in frame.group_by("township", maintain_order=True):
        numbers = part.get_column("household_number").to_list()
        k = min(len(numbers), max(1, math.ceil(ratio * len(numbers))))
        picked += random.Random(f"{seed}:{township}").sample(numbers, k)
    return frame.filter(pl.col("household_number").is_in(picked))


def _parquet(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.select("household_number", "township").write_parquet(buffer, compression="zstd")
    return buffer.getvalue()


def spot_check_draw(*, actor, county: str, as_of: dt.date, seed: int | None = None) -> SpotCheck:
    if len(county) != 6 or not county.isascii() or not county.isdigit():
        raise WorkflowError(f"抽查须按县进行: 县级区划代码应为6位数字, 收到 {county!r}")
    _require_region(actor, county, SUPERVISORS)
    from fangfan.screening.parameters import current_parameters

    ratio = Decimal(str(current_parameters().value("spot_check.ratio", county, as_of)))
    seed = secrets.randbits(48) if seed is None else seed
    frame = spot_check_frame(county=county, as_of=as_of)
    if frame.height == 0:
        raise WorkflowError(f"{county} 没有脱贫户或监测户, 无法抽查")
    sample = draw(frame, seed=seed, ratio=ratio)
    blob = _parquet(frame)
    with transaction.atomic():
        check = SpotCheck.objects.create(county=county, as_of=as_of, seed=seed, ratio=str(ratio),
                                         frame_households=frame.height, frame_sha256=hashlib.sha256(blob).hexdigest(),
                                         frame=blob, drawn_by=actor if getattr(actor, "pk", None) else None)
        villages = dict(Household.objects.filter(pk__in=sample["hid"].to_list()).values_list("pk", "village_id"))
        SpotCheckItem.objects.bulk_create([
            SpotCheckItem(spot_check=check, household_id=hid, village_code=villages[hid], township_code=township)
            for hid, township in zip(sample["hid"].to_list(), sample["township"].to_list())])
        audit_record(actor=actor, action="spot_check.draw", object_type="spot_check", object_key=str(check.pk),
                     after={"county": county, "as_of": as_of.isoformat(), "seed": seed, "ratio": str(ratio),
                            "frame": frame.height, "sample": sample.height, "frame_sha256": check.frame_sha256},
                     region_code=county.ljust(12, "0"))
    return check


def spot_check_record(*, actor, item: SpotCheckItem, result: str, note: str, on: dt.date, owner: str = "",
                      deadline: dt.date | None = None) -> SpotCheckItem:
    """Record one household's result; a problem found goes to the ledger (owner and deadline needed)."""
    _require_region(actor, item.village_code, SUPERVISORS)
    if result not in SpotCheckItem.Result.values:
        raise WorkflowError("抽查结果应为 核实无误 或 发现问题")
    if result == SpotCheckItem.Result.PROBLEM and (not note.strip() or not owner.strip() or deadline is None):
        raise WorkflowError("发现问题时须填写问题情况、整改责任人和整改期限")
    with transaction.atomic():
        item = SpotCheckItem.objects.select_for_update().get(pk=item.pk)
        if item.result:
            raise ConcurrentEditError("该户的抽查结果已录入")
        item.result, item.note, item.checked_on = result, note.strip(), on
        item.checked_by = actor if getattr(actor, "pk", None) else None
        if result == SpotCheckItem.Result.PROBLEM:
            item.problem = _raise(actor=actor, source=Problem.Source.SPOT_CHECK, household=item.household,
                                  village_code=item.village_code, rule="", description=note.strip(),
                                  owner=owner.strip(), deadline=deadline, on=on)
        item.save()
        audit_record(actor=actor, action="spot_check.record", object_type="spot_check_item", object_key=str(item.pk),
                     after={"result": result, "note": item.note}, household_key=item.household.household_number,
                     region_code=item.village_code)
    return item


def _raise(*, actor, source, household, village_code, rule, description, owner, deadline, on) -> Problem:
    problem = Problem.objects.create(source=source, household=household, village_code=village_code, rule=rule,
                                     description=description[:500], owner=owner, deadline=deadline, raised_on=on,
                                     raised_by=actor if getattr(actor, "pk", None) else None)
    audit_record(actor=actor, action="problem.raise", object_type="problem", object_key=str(problem.pk),
                 after={"source": source, "description": problem.description, "owner": owner,
                        "deadline": deadline.isoformat()},
                 household_key=household.household_number if household else "", region_code=village_code)
    return problem


def problem_raise(*, actor, source: str, village_code: str, description: str, owner: str, deadline: dt.date,
                  on: dt.date, household: Household | None = None, rule: str = "") -> Problem:
    if source not in Problem.Source.values:
        raise WorkflowError(f"问题来源应为: {'、'.join(Problem.Source.labels)}")
    if len(village_code) != 12 or not village_code.isascii() or not village_code.isdigit():
        raise WorkflowError(f"问题所在村代码应为12位数字, 收到 {village_code!r}")
    if not description.strip() or not owner.strip():
        raise WorkflowError("须填写问题内容和整改责任人/单位")
    if deadline < on:
        raise WorkflowError(f"整改期限 {deadline} 早于发现日期 {on}")
    _require_region(actor, village_code)
    with transaction.atomic():
        return _raise(actor=actor, source=source, household=household, village_code=village_code, rule=rule,
                      description=description.strip(), owner=owner.strip(), deadline=deadline, on=on)


def problem_close(*, actor, problem: Problem, evidence: str, on: dt.date, seen_version: int) -> Problem:
    """销号: only with evidence of the fix."""
    _require_region(actor, problem.village_code)
    if not evidence.strip():
        raise WorkflowError("销号须提供整改佐证(整改情况说明、材料或照片)")
    with transaction.atomic():
        current = Problem.objects.select_for_update().get(pk=problem.pk)
        if current.version != seen_version:
            raise ConcurrentEditError("该问题已被他人修改, 请刷新后重试")
        if current.status == Problem.Status.CLOSED:
            raise ConcurrentEditError("该问题已销号")
        current.status, current.evidence, current.closed_on = Problem.Status.CLOSED, evidence.strip(), on
        current.closed_by = actor if getattr(actor, "pk", None) else None
        current.version += 1
        current.save()
        audit_record(actor=actor, action="problem.close", object_type="problem", object_key=str(current.pk),
                     before={"status": "open"}, after={"status": "closed", "evidence": current.evidence},
                     household_key=current.household.household_number if current.household_id else "",
                     region_code=current.village_code)
    return current


def problems_from_quality(*, actor, region: str, as_of: dt.date, rules: list[str], owner: str,
                          deadline: dt.date) -> int:
    """Send the data-quality problems of the given rules in the actor's region to the ledger, one
    entry per household and rule not already open."""
    from fangfan.reports import quality
    from fangfan.reports.selectors import place

    prefix, _ = place(actor=actor, region=region)
    if actor is not None and getattr(actor, "role", None) not in LEDGER_ROLES:
        raise NotAllowed("本账号的角色不能执行此操作")
    unknown = [r for r in rules if r not in quality.CHECKS]
    if unknown or not rules:
        raise WorkflowError(f"未知的数据质量规则: {'、'.join(unknown) or '(未选择)'}")
    snap = Snapshot(prefix=prefix, as_of=as_of)
    found = (quality.problems(snap).filter(pl.col("rule").is_in(rules))
             .join(snap.households.select("hid", "village_code"), on="hid").unique(["hid", "rule"]))
    with transaction.atomic():
        existing = set(Problem.objects.filter(code_range_q("village_code", prefix), status=Problem.Status.OPEN,
                                              source=Problem.Source.DATA_QUALITY)
                       .values_list("household_id", "rule"))
        new = [Problem(source=Problem.Source.DATA_QUALITY, household_id=hid, village_code=village, rule=rule,
                       description=f"{quality.CHECKS[rule].text}({'; '.join(filter(None, [member]))})"
                       if member else quality.CHECKS[rule].text,
                       owner=owner, deadline=deadline, raised_on=as_of,
                       raised_by=actor if getattr(actor, "pk", None) else None)
               for hid, member, rule, village in found.select("hid", "member", "rule", "village_code").iter_rows()
               if (hid, rule) not in existing]
        Problem.objects.bulk_create(new, batch_size=2000)
        audit_record(actor=actor, action="problem.from_quality", object_type="problem", object_key=prefix or "all",
                     after={"rules": rules, "raised": len(new), "as_of": as_of.isoformat()},
                     region_code=(prefix or "").ljust(12, "0") if prefix else "")
    return len(new)
