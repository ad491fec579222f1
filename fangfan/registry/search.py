"""Household search (issue 8 item 9): by 户编号, member name, pinyin initials of a name, ID number
and village, always within the actor's household scope. Every branch is an indexed lookup:

- 户编号: a range on the unique index (plus startswith, so a collation that orders the range
  differently can only drop rows, never add foreign ones);
- 证件号码: exact match on its unique index, after validation (never a LIKE over ID numbers);
- 姓名 / 拼音首字母: prefix on Member(name) / Member(name_initials), varchar_pattern_ops on PostgreSQL;
- 村: region code range or the villages whose name starts with the text.

Name and initials hits are capped (MAX_HITS households): "王" matches a twentieth of a nation; the
page then asks for a narrower query instead of sorting hundreds of thousands of rows."""
from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl
from django.db.models import Q, QuerySet

from fangfan.common.ids import IdNumberError, validate_id
from fangfan.regions.codes import is_digits
from fangfan.regions.models import Region
from fangfan.regions.scope import code_range_q, prefix_for, scope_queryset
from fangfan.registry.models import Household, Member

MAX_HITS = 500
MAX_VILLAGES = 200
_ID_SHAPE = re.compile(r"^\d{17}[\dXx]$")
_INITIALS = re.compile(r"^[A-Za-z]{1,20}$")
_NUMBER = re.compile(r"^[0-9A-Za-z_-]{1,64}$")


# --------------------------------------------------------------------------- pinyin initials


def _char_initial(ch: str) -> str:
    from pypinyin import Style, lazy_pinyin

    if ch.isascii():
        return ch.lower() if ch.isalpha() else ""
    first = lazy_pinyin(ch, style=Style.FIRST_LETTER, errors="ignore")
    letter = first[0] if first else ""
    return letter.lower() if letter.isascii() and letter.isalpha() else ""


def name_initials(name: str) -> str:
    """'张三' → 'zs' (one letter per character; other characters dropped)."""
    return "".join(_char_initial(ch) for ch in name or "")


def initials_expr(names: pl.Series) -> pl.Series:
    """name_initials over a column, vectorised: pypinyin is asked once per distinct character
    (a few thousand for a nation's names), then one replace_many (Aho-Corasick) maps every name.
    Every distinct character has a mapping (possibly ""), so nothing unmapped is left behind."""
    names = names.cast(pl.String).fill_null("")
    chars = names.unique().str.split("").explode().unique().drop_nulls().to_list()
    mapping = {ch: _char_initial(ch) for ch in chars if ch}
    if not mapping:
        return names.alias("name_initials")
    return names.str.replace_many(list(mapping), list(mapping.values())).alias("name_initials")


# --------------------------------------------------------------------------- search


@dataclass
class SearchResult:
    households: list[Household] | QuerySet
    kind: str = ""  # which branch answered: number | id | name | initials | village | all
    error: str = ""  # a Chinese message for a query that cannot be right (bad ID check digit)
    truncated: bool = False  # more than MAX_HITS households matched


def _village_filter(actor, village: str) -> Q | None:
    """The households of the villages meant by `village` (a code or code prefix, or the start of a
    village name) as a filter; None for no village filter."""
    village = village.strip()
    if not village:
        return None
    if is_digits(village):
        return code_range_q("village_id", village[:12])
    prefix = prefix_for(actor) or ""
    villages = Region.objects.filter(code_range_q("code", prefix), level=Region.Level.VILLAGE, name__startswith=village)
    return Q(village_id__in=list(villages.values_list("code", flat=True)[:MAX_VILLAGES]))


def _number_q(q: str) -> Q:
    # Range on the unique index: 'H0012' → ['H0012', 'H0013'); the last character bumped.
    upper = q[:-1] + chr(ord(q[-1]) + 1)
    return Q(household_number__gte=q, household_number__lt=upper, household_number__startswith=q)


def household_search(*, actor, q: str = "", village: str = "") -> SearchResult:
    """Households matching `q` (and within `village` when given), scoped by prefix_for(actor),
    ordered by 户编号; at most MAX_HITS + 1 are read for name and initials queries."""
    base = scope_queryset(Household.objects.all(), actor, "village_id").select_related("village")
    q = (q or "").strip()
    where = _village_filter(actor, village)
    if where is not None:
        base = base.filter(where)
    if not q:
        # The whole list: a queryset, so the page's paginator counts and slices in the database.
        return SearchResult(base.order_by("household_number"), kind="village" if where is not None else "all")
    if _ID_SHAPE.match(q):
        try:
            number = validate_id(q)
        except IdNumberError as exc:
            return SearchResult([], kind="id", error=str(exc))
        ids = Member.objects.with_id_number(number).values("household_id")
        return SearchResult(list(base.filter(pk__in=ids)), kind="id")
    if _INITIALS.match(q) and not q.isdigit():
        # Letters only: pinyin initials of a name, or a 户编号 made of letters.
        members = Member.objects.filter(name_initials__startswith=q.lower())
        hits = _member_households(base, members)
        by_number = list(base.filter(_number_q(q))[: MAX_HITS + 1])
        return _merge("initials", hits, by_number)
    if _NUMBER.match(q):
        return _result("number", list(base.filter(_number_q(q)).order_by("household_number")[: MAX_HITS + 1]))
    members = Member.objects.filter(name__startswith=q)
    return _merge("name", _member_households(base, members), [])


def _member_households(base: QuerySet, members: QuerySet) -> list[Household]:
    # The scope filter joins in from `base`; the LIMIT bounds the work for common names.
    return list(base.filter(pk__in=members.values("household_id")).order_by("household_number")[: MAX_HITS + 1])


def _merge(kind: str, first: list[Household], second: list[Household]) -> SearchResult:
    seen = {h.pk: h for h in first}
    for h in second:
        seen.setdefault(h.pk, h)
    return _result(kind, sorted(seen.values(), key=lambda h: h.household_number))


def _result(kind: str, households: list[Household]) -> SearchResult:
    truncated = len(households) > MAX_HITS
    return SearchResult(households[:MAX_HITS], kind=kind, truncated=truncated)
