"""Administrative codes: levels, prefixes and county-level names from GB/T 2260 (python-stdnum)."""
from __future__ import annotations

import re
from functools import lru_cache

from stdnum import numdb

_VALID = re.compile(r"^\d{12}$")


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
    if not re.fullmatch(r"\d{6}", code6):
        return False
    province, county = gbt2260_info(code6)
    return province is not None and county is not None


def county_name(code6: str) -> str | None:
    return gbt2260_info(code6)[1]


def is_village_code(code: str) -> bool:
    return bool(_VALID.match(code)) and level_of(code) == "village"
