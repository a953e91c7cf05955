"""A straight line through one pixel's displacement history, with its uncertainty: what the
time-series plot draws over the points."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import numpy as np

DAYS_PER_YEAR = 365.25


@dataclass(frozen=True)
class LineFit:
    """Least-squares line ``d(t) = intercept_mm + velocity_mm_yr * t``, t in years since
    ``origin``.

    Attributes
    ----------
    velocity_mm_yr, velocity_std_mm_yr
        Slope and its standard error, mm/yr (the error is NaN with fewer than 3 points).
    residual_rms_mm
        Root mean square of the points about the line, mm.
    """

    origin: date
    intercept_mm: float
    velocity_mm_yr: float
    velocity_std_mm_yr: float
    residual_rms_mm: float
    n_points: int
    mean_t_years: float
    sxx: float

    def years(self, day: date) -> float:
        return (day.toordinal() - self.origin.toordinal()) / DAYS_PER_YEAR

    def value(self, day: date) -> float:
        """The line at ``day``, mm."""
        return self.intercept_mm + self.velocity_mm_yr * self.years(day)

    def std(self, day: date) -> float:
        """Standard error of the line at ``day``, mm (1 sigma; NaN with fewer than 3
        points)."""
        if self.n_points < 3 or self.sxx <= 0:
            return float("nan")
        sigma = self.residual_rms_mm * math.sqrt(self.n_points / (self.n_points - 2))
        t = self.years(day)
        return sigma * math.sqrt(1.0 / self.n_points + (t - self.mean_t_years) ** 2 / self.sxx)


def fit_line(dates: tuple[date, ...] | list[date], displacement_mm: np.ndarray) -> LineFit | None:
    """Fit a line through the finite points of a displacement history.

    Parameters
    ----------
    dates
        Acquisition dates, length n_dates.
    displacement_mm
        LOS displacement, mm, shape (n_dates,), NaN where unsolved.

    Returns
    -------
    LineFit or None
        None with fewer than 2 finite points.
    """
    values = np.asarray(displacement_mm, float)
    finite = np.isfinite(values)
    if finite.sum() < 2:
        return None
    origin = dates[0]
    t = np.array([(d.toordinal() - origin.toordinal()) / DAYS_PER_YEAR for d in dates])[finite]
    y = values[finite]
    mean_t = float(t.mean())
    sxx = float(((t - mean_t) ** 2).sum())
    if sxx <= 0:
        return None
    slope = float(((t - mean_t) * (y - y.mean())).sum() / sxx)
    intercept = float(y.mean() - slope * mean_t)
    residuals = y - (intercept + slope * t)
    rms = float(np.sqrt(np.mean(residuals ** 2)))
    n = int(finite.sum())
    slope_std = (float(np.sqrt((residuals ** 2).sum() / (n - 2) / sxx)) if n > 2
                 else float("nan"))
    return LineFit(origin=origin, intercept_mm=intercept, velocity_mm_yr=slope,
                   velocity_std_mm_yr=slope_std, residual_rms_mm=rms, n_points=n,
                   mean_t_years=mean_t, sxx=sxx)
