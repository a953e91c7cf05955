"""Axis ticks shared by the dock's plots: first days of months, and round values."""

from __future__ import annotations

import math
from datetime import date

MONTH_STEPS = (1, 2, 3, 6, 12, 24, 60)


def month_ticks(first: date, last: date, max_ticks: int = 8) -> list[date]:
    """First days of months between ``first`` and ``last``, every 1, 2, 3, 6, 12… months so
    that at most ``max_ticks`` show."""
    months = (last.year - first.year) * 12 + last.month - first.month + 1
    step = next((s for s in MONTH_STEPS if months / s <= max_ticks), MONTH_STEPS[-1])
    ticks = []
    year, month = first.year, first.month
    while True:
        month += 1
        if month > 12:
            year, month = year + 1, 1
        day = date(year, month, 1)
        if day > last:
            return ticks
        if (month - 1) % step == 0 or step == 1:
            ticks.append(day)


def value_ticks(low: float, high: float, max_ticks: int = 6) -> list[float]:
    """Round values (1, 2, 5 × 10^k apart) between ``low`` and ``high``."""
    span = max(high - low, 1e-9)
    raw = span / max_ticks
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    start = math.ceil(low / step) * step
    return [start + k * step for k in range(int((high - start) / step) + 1)]
