"""Normal systems of SBAS networks over their dates, solved as banded matrices.

Over the time series ``s_1 .. s_n`` of a network's dates (``s_0 = 0``), a pattern of valid
pairs has the graph Laplacian of those pairs as its normal matrix (each pair's weight at its
two dates, :class:`.solver.IntervalRows`). A pair joins dates at most ``b`` acquisitions
apart (small baselines: ``b`` is a handful), so the matrix is banded: its Cholesky factor
keeps the band and costs ``n b^2`` operations instead of the ``n^3 / 3`` of a dense one, and
a zero pivot shows a pattern whose pairs do not join every date to the first (the matrix is
then singular), with no separate check.

numpy has no batched banded solver: the factorisation runs date by date over many patterns
at once (the patterns along the last, contiguous axis), so that every step is a handful of
vectorised operations.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

#: Relative size of a pivot (to the largest diagonal entry of its matrix) at or below which a
#: pattern is taken as split: a singular Laplacian leaves rounding of about 1e-16 times its
#: entries there, while a connected network of unit weights keeps every pivot above one over
#: the number of its dates. Such a pattern is solved by its pseudo-inverse, which takes a
#: numerically singular matrix the same way.
PIVOT_TOLERANCE = 1e-10

#: Patterns factorised at once: their bands (``(n + b + 1) (2 b + 1)`` float64 each: 9 KB at
#: 80 dates and b = 6), a few MB, and each step's window of them in a core's cache.
BATCH_PATTERNS = 256


def bandwidth(first: np.ndarray, last: np.ndarray) -> int:
    """Largest number of acquisitions a pair spans (``last - first``)."""
    return int(np.max(last - first)) if first.size else 0


def factor_nanoseconds(n: int, b: int) -> float:
    """About how long factorising one pattern takes here, nanoseconds (vectorised steps over
    a batch of patterns: 6.6 us at n = 79, b = 6; 19 us at b = 13; 56 us at b = 25)."""
    return n * (b * b + 3.0 * b + 20.0)


def solve_nanoseconds(n: int, b: int) -> float:
    """About how long one right-hand side's two triangular solves take here, nanoseconds
    (4.4 us at n = 79, b = 6)."""
    return n * (2.0 * b + 45.0)


class BandedLaplacians:
    """The Cholesky factors of patterns' normal matrices over the dates.

    Parameters
    ----------
    first, last
        Each pair's dates (indices into ``0 .. n``, ``first < last``), shape (n_pairs,).
    scale
        Each pair's scale (its row of the design over its intervals); its weight is the square.
    patterns
        Valid pairs of each pattern, bool (or per-pair weights, float), shape
        (n_pairs, n_patterns).
    """

    def __init__(self, first: np.ndarray, last: np.ndarray, scale: np.ndarray,
                 patterns: np.ndarray) -> None:
        n = int(max(last.max(), 1))
        b = max(1, bandwidth(first, last))
        width = 2 * b + 1
        self.n, self.b, self.width = n, b, width
        n_patterns = patterns.shape[1]
        # Dates 0 .. n, each a row of 2b + 1 entries (M[i, i - b] .. M[i, i + b]), and b rows
        # of padding so that every step's window is a plain strided view.
        band = np.zeros(((n + 1 + b) * width, n_patterns))
        span = last - first
        up = first * width + b + span
        down = last * width + b - span
        weight = -(scale * scale)
        if np.unique(up).size == up.size:
            band[up] = patterns * weight[:, None]
        else:  # the same two dates in several pairs: their weights add
            np.add.at(band, up, patterns * weight[:, None])
        band[down] = band[up]
        rows = band.reshape(n + 1 + b, width, n_patterns)
        rows[:, b] = -rows.sum(axis=1)  # each date's degree: its pairs' weights
        self.band, self.rows = band, rows
        self.ok = self._factorise()

    def _factorise(self) -> np.ndarray:
        n, b, width, band, rows = self.n, self.b, self.width, self.band, self.rows
        n_patterns = band.shape[1]
        step = band.strides[0]
        # window[i]: the b x b block from M[i, i] on (rows a row apart are width - 1 apart).
        window = as_strided(band[b:], shape=(n + 1, b, b, n_patterns),
                            strides=(width * step, (width - 1) * step, step, band.strides[1]))
        diagonal = rows[:, b]
        tolerance = PIVOT_TOLERANCE * diagonal[1:n + 1].max(axis=0)
        product = np.empty((b, b, n_patterns))
        with np.errstate(divide="ignore", invalid="ignore"):
            smallest = np.full(n_patterns, np.inf)
            for i in range(1, n + 1):
                pivot = diagonal[i]
                np.minimum(smallest, pivot - tolerance, out=smallest)
                np.sqrt(pivot, out=pivot)
                m = min(b, n - i)
                if m == 0:
                    break
                row = rows[i, b + 1:b + 1 + m]
                row /= pivot
                np.multiply(row[:, None], row[None], out=product[:m, :m])
                window[i + 1, :m, :m] -= product[:m, :m]
        # A pivot at or below the tolerance, or NaN after one: split (or numerically so).
        return smallest > 0

    def solve(self, rhs: np.ndarray, which: np.ndarray | None = None) -> np.ndarray:
        """Solve ``M s = r`` for right-hand sides over the dates 1 .. n, shape (n, n_rhs),
        each with the pattern ``which`` (shape (n_rhs,); default: one each, in order); in
        place, returned. Answers of split patterns are meaningless (see :attr:`ok`)."""
        diagonal = self.rows[:, self.b]
        if which is not None:
            diagonal = diagonal[:, which]
        with np.errstate(divide="ignore", invalid="ignore"):  # (split patterns' answers)
            return self._substitute(rhs, diagonal, which)

    def _substitute(self, rhs: np.ndarray, diagonal: np.ndarray,
                    which: np.ndarray | None) -> np.ndarray:
        n, b, width, band, rows = self.n, self.b, self.width, self.band, self.rows
        y = rhs
        for i in range(1, n + 1):  # U^T y = r
            y[i - 1] /= diagonal[i]
            m = min(b, n - i)
            if m:
                row = rows[i, b + 1:b + 1 + m]
                y[i:i + m] -= (row if which is None else row[:, which]) * y[i - 1]
        for i in range(n, 0, -1):  # U s = y, a column at a time: U[j, i] for j = i - m ..
            y[i - 1] /= diagonal[i]
            m = min(b, i - 1)
            if m:
                column = band[(i - m) * (width - 1) + b + i:(i - 1) * (width - 1) + b + i + 1:
                              width - 1]
                y[i - 1 - m:i - 1] -= (column if which is None else column[:, which]) * y[i - 1]
        return y
