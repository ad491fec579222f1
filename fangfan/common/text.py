"""What counts as a space in typed or imported text: one set, the same for Python and Polars.

Python's str.strip() and `\\s` also take the ASCII separators \\x1c-\\x1f for spaces, Polars
(Rust) does not: the scalar parsers and their Polars twins must agree, so both use this set,
which is exactly Unicode's White_Space (what Rust's char::is_whitespace and Polars'
strip_chars() use)."""
from __future__ import annotations

import re

SPACE_CHARS = "".join(
    map(chr, [*range(0x09, 0x0E), 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B), 0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
)
# The same set as a character-class body, written with escapes that both Python's re and
# Rust's regex read.
SPACE_CLASS = r"\t\n\v\f\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000"


def strip(text: str) -> str:
    """`text` without leading and trailing spaces (Polars: `.str.strip_chars(SPACE_CHARS)`)."""
    return text.strip(SPACE_CHARS)


def python_pattern(pattern: str) -> re.Pattern[str]:
    """A Polars (Rust) pattern for Python's re: there `$` also matches before a final newline,
    so it becomes `\\Z` (patterns given here use `$` only as the end anchor)."""
    return re.compile(pattern.replace("$", r"\Z"))


def mask_phone(phone: str) -> str:
    """'13812345678' → '138****5678': enough to recognise a number, not to call it (lists and
    supervisors' views; the village and township who call the household see it whole)."""
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(phone)
    hidden = set(digits[3:-4])
    return "".join("*" if i in hidden else ch for i, ch in enumerate(phone))
