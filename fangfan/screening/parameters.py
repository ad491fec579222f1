"""The parameters in force: the shipped YAML plus the counties' own values kept in the database.

`current_parameters()` is what every Django-side reader uses (workflows, screening, commands, pages,
API). The policy engine stays free of Django: it receives the database rows as plain data
(ParameterSet.with_layer). The set is cached per process and keyed by a version read from the
table (latest id and latest withdrawal), so a value set in another process is seen at the next call.
Read-side selectors for the parameters page and API live here too; writes are in services.py."""
from __future__ import annotations

import datetime as dt
import logging
import threading
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models import Count, Max
from django.http import Http404

from fangfan.policy.params import NATIONAL, ParameterError, ParameterSet, normalise_prefix
from fangfan.regions.scope import code_range_q, region_prefix_for

log = logging.getLogger(__name__)
LAYER_LABEL = "县级参数"
# Who reads the parameters page and API (roles.md): the county offices that set them, and the
# city and province supervisors (read only).
READER_ROLES = frozenset({"county_rr", "county_ca", "city", "province"})
DIBAO_LINE = "dibao.line_rural_year"

_lock = threading.Lock()
_cache: dict[str, object] = {"version": None, "params": None}


def _version() -> tuple:
    from fangfan.screening.models import CountyParameter

    # The latest id alone is not enough where ids are reused (SQLite after a rolled-back
    # transaction): the count and the latest times make a reused id a different version.
    found = CountyParameter.objects.aggregate(
        last=Max("id"), rows=Count("id"), set_at=Max("set_at"), withdrawn=Max("withdrawn_at")
    )
    return (found["last"], found["rows"], found["set_at"], found["withdrawn"])


def layer_rows(queryset=None) -> list[tuple]:
    """The active database values as (name, prefix, start, value_text, source) rows, oldest first
    (a later row of the same key wins)."""
    from fangfan.screening.models import CountyParameter

    qs = CountyParameter.objects.all() if queryset is None else queryset
    qs = qs.filter(superseded_by__isnull=True, withdrawn_at__isnull=True).order_by("id")
    return [(r.name, r.region_prefix, r.start, r.value_text, source_text(r.document)) for r in qs]


def source_text(document: str) -> str:
    """What a rule result cites for a database value: the document, marked as a county value."""
    return f"{LAYER_LABEL}: {document}"


def current_parameters(base: ParameterSet | None = None) -> ParameterSet:
    """The shipped parameters (or `base`) with the database layer on top."""
    if base is not None:
        return base.with_layer(layer_rows(), LAYER_LABEL, on_error=_skipped)
    version = _version()
    with _lock:
        if _cache["version"] == version and _cache["params"] is not None:
            return _cache["params"]  # type: ignore[return-value]
    params = ParameterSet.load().with_layer(layer_rows(), LAYER_LABEL, on_error=_skipped)
    with _lock:
        _cache["version"], _cache["params"] = version, params
    return params


def parameters_for_command(warn) -> ParameterSet:
    """current_parameters() for the shell commands, which also run where there is no database
    (a laptop evaluating files): then the shipped parameters, with a note through `warn`."""
    try:
        return current_parameters()
    except (DatabaseError, RuntimeError):  # RuntimeError: database access blocked (no database set up)
        warn("注意: 无法读取数据库中的县级参数,只使用随程序发布的参数")
        return ParameterSet.load()


def dibao_line_warning(params: ParameterSet, code: str, on: dt.date) -> str | None:
    """The warning every page and command shows while a region has no 农村低保标准."""
    if params.value(DIBAO_LINE, code, on) is not None:
        return None
    return (
        f"警告: 区划 {code} 在 {on.isoformat()} 尚未设置农村低保标准 {DIBAO_LINE},"
        "低收入类别、三色预警和应保未保均无法判定(由县民政局在“县级参数”页面设置)"
    )


def _skipped(error, row) -> None:
    log.error("县级参数 %s 不再有效, 已忽略: %s", row[:3], error)


def forget() -> None:
    """Drop the cached set (tests that roll back the table)."""
    with _lock:
        _cache["version"], _cache["params"] = None, None


# ---------------------------------------------------------------------------------- selectors
def readable_region(actor, region: str | None) -> str:
    """The region prefix whose parameters the actor asks to see: its own region by default, or a
    code within it. Outside the actor's region looks like not found."""
    own = region_prefix_for(actor)
    if own is None or getattr(actor, "role", None) not in READER_ROLES:
        raise PermissionDenied("县级参数仅供县乡村振兴局、县民政局和市、省督查查看")
    if not region:
        if own == NATIONAL:
            raise Http404("请选择区划")
        return own
    try:
        prefix = normalise_prefix(region)
    except ParameterError as exc:
        raise Http404(str(exc)) from None
    if not prefix.startswith(own):
        raise Http404("该区划不在本账号的管辖范围内")
    return prefix


@dataclass
class InForce:
    region: str
    on: dt.date
    rows: list[dict]
    dibao_line_missing: bool
    region_name: str = ""


def parameters_in_force(*, actor, region: str | None, on: dt.date) -> InForce:
    """Every parameter in force for a region at a date (params.describe rows), scoped."""
    prefix = readable_region(actor, region)
    params = current_parameters()
    code = prefix or "11"  # a nationwide reader without a region: show a code's values
    rows = params.describe(code, on)
    for row in rows:
        row["from_database"] = f"{LAYER_LABEL}:" in row["source"]
    from fangfan.regions.codes import full_code
    from fangfan.regions.models import Region

    name = Region.objects.filter(code=full_code(prefix)).values_list("name", flat=True).first() if prefix else ""
    return InForce(prefix, on, rows, params.value(DIBAO_LINE, code, on) is None, name or "")


def dibao_line_missing(code: str, on: dt.date) -> bool:
    return current_parameters().value(DIBAO_LINE, code, on) is None


def parameter_history(*, actor, region: str | None):
    """The database values set within the region (every row, newest first), scoped."""
    from fangfan.screening.models import CountyParameter

    prefix = readable_region(actor, region)
    county = prefix[:6] if len(prefix) >= 6 else prefix
    return (
        CountyParameter.objects.filter(code_range_q("region_prefix", county))
        .select_related("set_by", "withdrawn_by")
        .order_by("-id")
    )
