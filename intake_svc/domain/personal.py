"""Personal data at the edge: mainland mobile numbers and resident ID numbers validated, and masked for display.

Pure functions only: no I/O, no framework.
"""

from __future__ import annotations

import re
from datetime import date

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def normalize_mobile(raw: str) -> str:
    """Mainland mobile number → 11 digits; raises ValueError with the reason."""
    digits = re.sub(r"[\s\-()]", "", raw)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not MOBILE_RE.fullmatch(digits):
        raise ValueError("not a mainland mobile number (11 digits starting 13-19)")
    return digits


def validate_id_number(raw: str) -> str:
    """GB 11643-1999 resident ID: 18 chars, valid birth date, valid check digit."""
    value = raw.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", value):
        raise ValueError("must be 18 characters: 17 digits and a digit or X")
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError as exc:
        raise ValueError("the birth date in the ID number is not a real date") from exc
    if born.year < 1900 or born > date.today():
        raise ValueError("the birth date in the ID number is out of range")
    check = _ID_CHECK[sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True)) % 11]
    if value[17] != check:
        raise ValueError("the check digit of the ID number is wrong")
    return value


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1)


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_id_number(value: str) -> str:
    return value[:6] + "********" + value[-4:]


def mask_address(address: str) -> str:
    """Keep the area, hide house, building and room numbers."""
    return re.sub(r"\d", "*", address)
