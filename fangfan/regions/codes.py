"""Administrative codes: levels, prefixes and county-level names from GB/T 2260 (python-stdnum).

A region code is 12 ASCII digits: province 2, city 2, county 2, township 3, village 3, each
level's digits zero when the code names a higher level (340000000000 is 安徽省). A region
PREFIX is the shortest start that names the region: 34, 3412, 341225, 341225103,
341225103201. This module is the one place that reads prefixes (parameters, scopes, the
import, the forms):

- `normalise_prefix` takes a code as users type it (430000, 210800000000, 2108, 341225103:
  2, 4, 6, 9 or 12 digits) and gives its prefix (43, 2108, …);
- `check_prefix` takes a prefix as written in a parameter file, which must already be the
  shortest (no zero last segment: 430000 must be written 43);
- `prefix_of` is normalise_prefix for a valid 12-digit code, without the checks.
"""
from __future__ import annotations

import re
from functools import lru_cache

from stdnum import numdb

_VALID = re.compile(r"[0-9]{12}")
PREFIX_LENGTHS = (2, 4, 6, 9, 12)
_CUT = {2: 0, 4: 2, 6: 4, 9: 6, 12: 9}  # where the last segment of a prefix starts


class PrefixError(ValueError):
    pass


def is_digits(text: object) -> bool:
    """True for a non-empty string of ASCII digits (str.isdigit() also takes ² and full-width ３)."""
    return isinstance(text, str) and text.isascii() and text.isdigit()


def normalise_prefix(code: str) -> str:
    """A region code as users type it (430000, 210800000000, 2108, 341225103) → its prefix (43, 2108, …)."""
    text = str(code).strip()
    if not is_digits(text) or len(text) not in PREFIX_LENGTHS:
        raise PrefixError(f"区划代码必须是 2、4、6、9 或 12 位数字,得到 {code!r}")
    return prefix_of(text.ljust(12, "0"))


def check_prefix(raw: object) -> str:
    """A prefix as written in a file: 2/4/6/9/12 digits without a zero last segment."""
    if not isinstance(raw, str):
        raise PrefixError(f"必须是加引号的数字字符串(如 \"2108\"),得到 {raw!r}")
    if not is_digits(raw):
        raise PrefixError(f"只能由数字组成,得到 {raw!r}")
    if len(raw) not in PREFIX_LENGTHS:
        raise PrefixError(f"长度必须是 2、4、6、9 或 12 位,得到 {raw!r}({len(raw)} 位)")
    if set(raw[_CUT[len(raw)]:]) == {"0"}:
        raise PrefixError(
            f"{raw!r} 以零段结尾,应去掉末尾的零段(如 430000 写作 \"43\", 210800 写作 \"2108\")"
        )
    return raw


def level_of(code: str) -> str:
    if code[2:] == "0" * 10:
        return "province"
    if code[4:] == "0" * 8:
        return "city"
    if code[6:] == "0" * 6:
        return "county"
    if code[9:] == "000":
        return "township"
    return "village"


def prefix_of(code: str) -> str:
    """The shortest prefix that names the region: 340000000000 → 34, 341225103000 → 341225103."""
    return code[: {"province": 2, "city": 4, "county": 6, "township": 9, "village": 12}[level_of(code)]]


def full_code(prefix: str) -> str:
    return prefix.ljust(12, "0")


def ancestors(village_code: str) -> list[str]:
    """Province, city, county, township codes (12 digits) of a village code, top-down."""
    return [full_code(village_code[:n]) for n in (2, 4, 6, 9)]


@lru_cache(maxsize=4096)
def gbt2260_info(code6: str) -> tuple[str | None, str | None]:
    """(province name, county-level name) from python-stdnum's GB/T 2260 table, or (None, None).

    Names carry validity marks such as "[1996-]阜南县"; they are stripped here."""
    parts = numdb.get("cn/loc").info(code6)
    province = county = None
    for _, info in parts:
        province = info.get("province", province)
        county = info.get("county", county)
    strip = lambda n: re.sub(r"^\[[^\]]*\]", "", n) if n else n  # noqa: E731
    return strip(province), strip(county)


def is_known_county(code6: str) -> bool:
    """True when the six digits are a province-prefixed GB/T 2260 county-level code."""
    if not re.fullmatch(r"[0-9]{6}", code6):
        return False
    province, county = gbt2260_info(code6)
    return province is not None and county is not None


def county_name(code6: str) -> str | None:
    return gbt2260_info(code6)[1]


def is_village_code(code: str) -> bool:
    return bool(_VALID.fullmatch(code)) and level_of(code) == "village"
