"""The SBAS least-squares solve on arrays (Berardino et al. 2002): no file I/O here.

Unknowns are the mean phase velocities between consecutive dates; the minimum-norm solution
(SVD pseudo-inverse) keeps a network split into pieces invertible. Pixels are grouped by their
pattern of valid pairs, and one pseudo-inverse serves each pattern.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from ..dates import decimal_year


def design_matrix(dates: list[date], pairs: list[tuple[date, date]]) -> np.ndarray:
    """Velocity-form SBAS design matrix.

    Row p has the time span (years) of interval k between consecutive dates wherever pair p
    covers that interval, so that ``A @ v`` is each pair's phase for interval velocities v.

    Returns
    -------
    numpy.ndarray
        Shape (n_pairs, n_dates - 1), years.
    """
    years = np.array([decimal_year(d) for d in dates])
    intervals = np.diff(years)
    index = {d: i for i, d in enumerate(dates)}
    matrix = np.zeros((len(pairs), len(dates) - 1))
    for row, (d1, d2) in enumerate(pairs):
        i, j = index[d1], index[d2]
        matrix[row, i:j] = intervals[i:j]
    return matrix


def interval_years(dates: list[date]) -> np.ndarray:
    """Years between consecutive dates, shape (n_dates - 1,)."""
    return np.diff([decimal_year(d) for d in dates])


def _pinv(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(matrix, rcond=1e-10)


def invert_pixels(
    design: np.ndarray,
    phase: np.ndarray,
    weights: np.ndarray | None = None,
    min_pairs: int = 1,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm (weighted) least squares for every pixel.

    Parameters
    ----------
    design
        Shape (n_pairs, n_intervals), from :func:`design_matrix`.
    phase
        Unwrapped, referenced phase, radians, shape (n_pairs, n_pixels); NaN where missing.
    weights
        Optional weights per pair and pixel, shape (n_pairs, n_pixels) (inverse variance).
    min_pairs
        Pixels with fewer valid pairs get NaN.

    Returns
    -------
    (velocity, n_used)
        Interval phase velocities, radians/year, shape (n_intervals, n_pixels), NaN where not
        solved; and the number of pairs used per pixel, shape (n_pixels,).
    """
    n_pixels = phase.shape[1]
    n_intervals = design.shape[1]
    valid = np.isfinite(phase)
    if weights is not None:
        valid &= np.isfinite(weights) & (weights > 0)
    n_used = valid.sum(axis=0)
    solution = np.full((n_intervals, n_pixels), np.nan)
    solvable = n_used >= min_pairs
    if not solvable.any():
        return solution, n_used
    filled = np.where(valid, phase, 0.0)
    if weights is None:
        # Group pixels by their pattern of valid pairs: one pseudo-inverse per pattern.
        columns = np.flatnonzero(solvable)
        if valid[:, columns].all():  # the common case: a single pattern
            solution[:, columns] = _pinv(design) @ filled[:, columns]
            return solution, n_used
        packed = np.packbits(valid[:, columns], axis=0)
        _, inverse, counts = np.unique(packed, axis=1, return_inverse=True, return_counts=True)
        order = np.argsort(inverse.ravel(), kind="stable")
        for members in np.split(columns[order], np.cumsum(counts)[:-1]):
            rows = np.flatnonzero(valid[:, members[0]])
            solution[:, members] = _pinv(design[rows]) @ filled[np.ix_(rows, members)]
        return solution, n_used
    columns = np.flatnonzero(solvable)
    w = np.where(valid[:, columns], weights[:, columns], 0.0)
    # Normal equations per pixel, (n_pix, n_int, n_int); the pseudo-inverse of the normal
    # matrix gives the minimum-norm weighted solution.
    normal = np.einsum("pi,pn,pj->nij", design, w, design, optimize=True)
    rhs = np.einsum("pi,pn->ni", design, w * filled[:, columns], optimize=True)
    solution[:, columns] = np.einsum("nij,nj->in", np.linalg.pinv(normal, rcond=1e-10,
                                                                  hermitian=True), rhs)
    return solution, n_used


def timeseries_from_velocity(velocity: np.ndarray, intervals: np.ndarray) -> np.ndarray:
    """Phase time series (first date at 0) from interval velocities.

    Parameters
    ----------
    velocity
        Shape (n_intervals, n_pixels), radians/year.
    intervals
        Shape (n_intervals,), years.

    Returns
    -------
    numpy.ndarray
        Shape (n_intervals + 1, n_pixels), radians.
    """
    steps = velocity * intervals[:, None]
    return np.vstack([np.zeros((1, velocity.shape[1])), np.cumsum(steps, axis=0)])


def linear_velocity(series: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares linear rate of a time series and its standard deviation.

    Parameters
    ----------
    series
        Shape (n_dates, n_pixels), any unit (NaN columns stay NaN).
    years
        Shape (n_dates,), decimal years.

    Returns
    -------
    (rate, rate_std)
        Unit per year, shape (n_pixels,) each.
    """
    t = years - years.mean()
    sxx = float(np.sum(t**2))
    rate = (t @ series) / sxx
    intercept = series.mean(axis=0)
    residual = series - intercept[None] - np.outer(t, rate)
    dof = max(len(years) - 2, 1)
    rate_std = np.sqrt(np.sum(residual**2, axis=0) / dof / sxx)
    return rate, rate_std


def temporal_coherence(design: np.ndarray, velocity: np.ndarray,
                       phase: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Temporal coherence (Pepe & Lanari 2006) and RMS of the phase residual, per pixel.

    Returns
    -------
    (coherence, residual_rms)
        Shape (n_pixels,) each; residual RMS in radians. NaN where nothing was solved.
    """
    predicted = design @ np.nan_to_num(velocity)
    residual = phase - predicted
    valid = np.isfinite(residual)
    count = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        complex_sum = np.where(valid, np.exp(1j * np.nan_to_num(residual)), 0).sum(axis=0)
        coherence = np.abs(complex_sum) / count
        rms = np.sqrt(np.where(valid, residual**2, 0).sum(axis=0) / count)
    unsolved = ~np.isfinite(velocity).all(axis=0)
    coherence[unsolved] = np.nan
    rms[unsolved] = np.nan
    return coherence, rms


def coherence_weights(coherence: np.ndarray, looks: float) -> np.ndarray:
    """Inverse phase variance from coherence (Cramér-Rao bound), as MintPy's "var" weights."""
    gamma = np.clip(coherence, 0.05, 0.995)
    variance = (1.0 - gamma**2) / (2.0 * looks * gamma**2)
    return 1.0 / variance
