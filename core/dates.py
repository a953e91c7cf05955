"""Acquisition dates and pair identifiers.

Pair ids are ``YYYYMMDD_YYYYMMDD`` (earlier date first), as MintPy and LiCSBAS write them.
"""

from __future__ import annotations

import re
from datetime import date, datetime

# Eight digits not glued to other digits, optionally followed by a HHMMSS time (HyP3 names).
_DATE_TOKEN = re.compile(r"(?<!\d)(\d{8})(?:T\d{6})?(?!\d)")


def parse_yyyymmdd(text: str) -> date:
    """Parse ``YYYYMMDD`` (or ``YYYY-MM-DD``) into a date; raise ValueError otherwise."""
    text = text.strip()
    if len(text) == 8 and text.isascii() and text.isdigit():  # the common case, without
        # strptime's cost (a stack's names hold thousands of dates)
        try:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        except ValueError:
            raise ValueError(f"not a date: {text!r}") from None
    for fmt in ("%Y%m%d", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"not a date: {text!r}")


def format_yyyymmdd(day: date) -> str:
    """Format a date as ``YYYYMMDD``."""
    return day.strftime("%Y%m%d")


def pair_id(date1: date, date2: date) -> str:
    """The pair id ``YYYYMMDD_YYYYMMDD``."""
    return f"{format_yyyymmdd(date1)}_{format_yyyymmdd(date2)}"


def parse_pair_id(text: str) -> tuple[date, date]:
    """Parse ``YYYYMMDD_YYYYMMDD`` (``-`` also accepted) into two dates."""
    parts = re.split(r"[_-]", text.strip())
    if len(parts) != 2:
        raise ValueError(f"not a pair id YYYYMMDD_YYYYMMDD: {text!r}")
    return parse_yyyymmdd(parts[0]), parse_yyyymmdd(parts[1])


def dates_in_name(name: str) -> list[date]:
    """All plausible acquisition dates (1990-2100) found in a file or folder name, in order."""
    found = []
    for token in _DATE_TOKEN.findall(name):
        try:
            day = parse_yyyymmdd(token)
        except ValueError:
            continue
        if 1990 <= day.year <= 2100:
            found.append(day)
    return found


def decimal_year(day: date) -> float:
    """Date as a decimal year (365.25-day years), as MintPy and LiCSBAS use."""
    return day.year + (day.timetuple().tm_yday - 1) / 365.25
