"""Resident identity numbers (GB 11643): check digit, birth date, sex, masking."""
from __future__ import annotations

import datetime as dt

from stdnum.cn import ric
from stdnum.exceptions import ValidationError

_WEIGHTS = [2 ** (17 - i) % 11 for i in range(17)]


class IdNumberError(ValueError):
    pass


def check_digit(first17: str) -> str:
    return "10X98765432"[sum(int(d) * w for d, w in zip(first17, _WEIGHTS)) % 11]


def convert_15_to_18(number: str) -> str:
    """Old 15-digit IDs (department feeds): insert '19' before the birth year, add the check digit."""
    first17 = number[:6] + "19" + number[6:]
    return first17 + check_digit(first17)


def validate_id(number: str) -> str:
    """Return the normalised 18-digit number or raise IdNumberError with a Chinese reason."""
    value = number.strip().upper()
    if len(value) != 18 or not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise IdNumberError("证件号码应为18位(末位可为X)")
    if check_digit(value[:17]) != value[17]:
        raise IdNumberError("证件号码校验位错误")
    try:
        ric.get_birth_date(value)
    except ValidationError as exc:
        raise IdNumberError("证件号码中的出生日期无效") from exc
    return value


def birth_date(number: str) -> dt.date:
    return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))


def sex(number: str) -> str:
    """'M' or 'F' from the 17th digit (odd = male)."""
    return "M" if int(number[16]) % 2 else "F"


def mask(number: str | None) -> str:
    """First 6 and last 4 digits shown (data.md)."""
    if not number:
        return ""
    value = str(number)
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


def age_on(number_or_birth: str | dt.date, on: dt.date) -> int:
    born = birth_date(number_or_birth) if isinstance(number_or_birth, str) else number_or_birth
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))
