"""The SBAS least-squares solve on arrays (Berardino et al. 2002): no file I/O here.

Unknowns are the mean phase velocities between consecutive dates; the minimum-norm solution
(SVD pseudo-inverse) keeps a network split into pieces invertible. Pixels are grouped by their
pattern of valid pairs, and one pseudo-inverse serves each pattern.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np

from ..dates import decimal_year
from .banded import (
    BATCH_PATTERNS,
    BandedLaplacians,
    bandwidth,
    factor_nanoseconds,
    solve_nanoseconds,
)


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


def bridge_rows(dates: list[date], weight: float, seasonal: bool) -> np.ndarray:
    """Regularisation rows that tie the interval velocities to a temporal model.

    Unknowns become (v_1..v_K, V[, A, B]): each row says ``weight * (dt_k v_k - dt_k V
    [- A dsin_k - B dcos_k]) = 0``. With them every pixel's system has full rank, so a split
    network is bridged by the model instead of assuming no motion across its gaps.

    Returns
    -------
    numpy.ndarray
        Shape (n_intervals, n_intervals + 1 [+ 2]).
    """
    years = np.array([decimal_year(d) for d in dates])
    dt = np.diff(years)
    n = len(dt)
    extra = 3 if seasonal else 1
    rows = np.zeros((n, n + extra))
    rows[np.arange(n), np.arange(n)] = weight * dt
    rows[:, n] = -weight * dt
    if seasonal:
        rows[:, n + 1] = -weight * np.diff(np.sin(2 * np.pi * years))
        rows[:, n + 2] = -weight * np.diff(np.cos(2 * np.pi * years))
    return rows


def interval_years(dates: list[date]) -> np.ndarray:
    """Years between consecutive dates, shape (n_dates - 1,)."""
    return np.diff([decimal_year(d) for d in dates])


def _pinv(matrix: np.ndarray) -> np.ndarray:
    return np.linalg.pinv(matrix, rcond=1e-10)


def _pair_dates(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row's first date and last date (indices of the dates ``0 .. n_intervals``): the
    run of intervals it covers, shape (n_pairs,) each."""
    covered = design > 0
    first = covered.argmax(axis=1)
    return first, first + covered.sum(axis=1)


def _every_date_an_end(ends: np.ndarray, n_dates: int, patterns: np.ndarray) -> np.ndarray:
    """Whether, in each pattern, every date but one is the end ``ends`` (each pair's first or
    last date) of some valid pair; shape (n_patterns,). An OR over the pairs grouped by that
    date, then an AND over the dates, on the patterns packed 64 to a word (numpy's OR of
    bools along the pairs took 40 times as long)."""
    order = np.argsort(ends, kind="stable")
    grouped = ends[order]
    starts = np.flatnonzero(np.concatenate([[True], grouped[1:] != grouped[:-1]]))
    n_patterns = patterns.shape[1]
    if starts.size < n_dates - 1:
        return np.zeros(n_patterns, bool)
    n_bytes = -(-n_patterns // 64) * 8
    packed = np.zeros((patterns.shape[0], n_bytes), np.uint8)
    packed[:, :-(-n_patterns // 8)] = np.packbits(patterns, axis=1, bitorder="little")
    words = packed.view(np.uint64)[order]
    every = np.bitwise_and.reduce(np.bitwise_or.reduceat(words, starts, axis=0), axis=0)
    return np.unpackbits(every.view(np.uint8), bitorder="little")[:n_patterns].view(bool)


def _surely_connected(design: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Where each pattern's valid pairs surely connect all its dates, shape (n_patterns,):
    every date but the first reached by a pair from an earlier date (each then joins the
    first date, date by date), or every date but the last left by a pair to a later one.
    Most patterns have that; False leaves the answer open (:func:`_connected`)."""
    first, last = _pair_dates(design)
    n_dates = design.shape[1] + 1
    enough = _every_date_an_end(last, n_dates, patterns)
    others = np.flatnonzero(~enough)
    if others.size:
        enough[others] = _every_date_an_end(first, n_dates, patterns[:, others])
    return enough


def _connected(design: np.ndarray, patterns: np.ndarray) -> np.ndarray:
    """Whether each pattern's valid pairs connect all its dates (full column rank):
    :func:`_surely_connected`, and the rest followed by min-label propagation, vectorised
    across patterns and across the pairs that share a first date (one step per date rather
    than per pair).

    Parameters
    ----------
    design
        Shape (n_pairs, n_intervals).
    patterns
        Valid pairs per pattern, bool, shape (n_pairs, n_patterns).

    Returns
    -------
    numpy.ndarray
        Shape (n_patterns,), True where the pattern's network is connected.
    """
    enough = _surely_connected(design, patterns)
    followed = np.flatnonzero(~enough)
    if followed.size:
        first, last = _pair_dates(design)
        enough[followed] = _connected_by_labels(first, last, design.shape[1] + 1,
                                                patterns[:, followed])
    return enough


def _connected_by_labels(first: np.ndarray, last: np.ndarray, n_dates: int,
                         patterns: np.ndarray) -> np.ndarray:
    """:func:`_connected` by min-label propagation over the dates (``first`` and ``last``:
    each pair's dates, shape (n_pairs,)); shape (n_patterns,)."""
    # Pairs of the same two dates as one, valid where any of them is (each date's label is
    # written once per step: a missing twin must not undo its valid twin's label).
    joined, twin = np.unique(first * n_dates + last, return_inverse=True)
    if joined.size < first.size:
        order = np.argsort(twin, kind="stable")
        starts = np.flatnonzero(np.concatenate([[True], np.diff(twin[order]) != 0]))
        patterns = np.logical_or.reduceat(patterns[order], starts, axis=0)
        first, last = joined // n_dates, joined % n_dates
    labels = np.repeat(np.arange(n_dates)[:, None], patterns.shape[1], axis=1)
    groups = [(start, np.flatnonzero(first == start)) for start in np.unique(first)]
    for _ in range(n_dates):
        changed = False
        for start, rows in groups:
            valid, ends = patterns[rows], last[rows]
            reached = labels[ends]  # (pairs from this date, patterns)
            low = np.minimum(labels[start], np.where(valid, reached, n_dates).min(axis=0))
            lower = valid & (reached > low)
            if lower.any() or (low < labels[start]).any():
                labels[start] = low
                labels[ends] = np.where(lower, low, reached)
                changed = True
        if not changed:
            break
    return (labels == 0).all(axis=0)


def group_patterns(valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group the columns of a boolean matrix by identical content.

    Parameters
    ----------
    valid
        Shape (n_pairs, n_pixels).

    Returns
    -------
    (patterns, inverse)
        The distinct columns, bool, shape (n_pairs, n_patterns), and the pattern of each
        pixel, shape (n_pixels,).
    """
    n_pixels = valid.shape[1]
    packed = np.packbits(valid, axis=0)  # (n_bytes, n_pixels)
    n_words = -(-packed.shape[0] // 8)
    padded = np.zeros((n_pixels, n_words * 8), dtype=np.uint8)
    padded[:, :packed.shape[0]] = packed.T
    words = padded.view(np.uint64)  # (n_pixels, n_words): cheap keys to sort on
    order = np.lexsort(words.T[::-1])
    ordered = words[order]
    starts = np.ones(n_pixels, dtype=bool)
    starts[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    group = np.cumsum(starts) - 1
    inverse = np.empty(n_pixels, dtype=np.intp)
    inverse[order] = group
    patterns = valid[:, order[starts]]
    return patterns, inverse


#: Largest table of every pair's outer product a_p a_p^T (its upper triangle) that
#: :func:`_normal_matrices` builds and keeps (400 pairs of 110 dates: 19 MB); beyond it,
#: normal matrices are built one by one.
OUTER_PRODUCTS_BYTES = 32 * 2**20


def _normal_matrices(design: np.ndarray, patterns: np.ndarray,
                     cache: PatternCache | None = None) -> np.ndarray:
    """The normal matrix ``A_k^T A_k`` of each pattern of valid pairs, shape (n_patterns,
    n_intervals, n_intervals): one dense BLAS product of the patterns with the upper triangle
    of every pair's outer product ``a_p a_p^T`` (:func:`outer_products`, from ``cache`` where
    made before: faster than a sparse sum over the missing pairs, and than sums along the
    intervals), or one product per pattern where that table would not fit."""
    n_pairs, n_intervals = design.shape
    if n_pairs * n_intervals**2 * 4 <= OUTER_PRODUCTS_BYTES:
        outer, full = (cache.outer_products(design) if cache is not None
                       else outer_products(design))
        triangles = patterns.T.astype(np.float64) @ outer
        return np.take(triangles, full, axis=1).reshape(-1, n_intervals, n_intervals)
    return np.stack([design[k].T @ design[k] for k in patterns.T])


def outer_products(design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The upper triangle of every pair's outer product ``a_p a_p^T``, shape (n_pairs,
    n (n + 1) / 2) for n intervals, and for each of the n x n entries (flat) its place in
    the triangle: half the product of :func:`_normal_matrices`, then each matrix read out of
    its triangle."""
    n = design.shape[1]
    upper = np.triu_indices(n)
    place = np.empty((n, n), dtype=np.intp)
    place[upper] = np.arange(upper[0].size)
    place[upper[1], upper[0]] = place[upper]
    return design[:, upper[0]] * design[:, upper[1]], place.ravel()


def _normal_inverses(design: np.ndarray, patterns: np.ndarray, connected: np.ndarray,
                     cache: PatternCache | None = None,
                     rows: IntervalRows | None = None) -> np.ndarray:
    """Pseudo-inverse of the normal matrix of each pattern of valid pairs
    (:func:`_normal_matrices`): connected patterns inverted directly, split ones (rank
    deficient) by the minimum-norm pseudo-inverse. Where the design's rows are pairs over
    their intervals (``rows``, every row structured), a connected pattern's inverse is made
    from its normal matrix over the dates (:func:`_date_normals`: no product with the pairs'
    outer products) as ``T^-1 M^-1 T^-T``.

    Returns
    -------
    numpy.ndarray
        Shape (n_patterns, n_intervals, n_intervals).
    """
    n_intervals = design.shape[1]
    inverses = np.empty((patterns.shape[1], n_intervals, n_intervals))
    over_dates = connected if rows is not None else np.zeros_like(connected)
    if over_dates.any():
        dated = np.linalg.inv(_date_normals(rows, patterns[:, over_dates]))  # type: ignore[arg-type]
        dated = _intervals_of(rows, dated, axis=1)  # type: ignore[arg-type]
        inverses[over_dates] = _intervals_of(rows, dated, axis=2)  # type: ignore[arg-type]
    rest = ~over_dates
    if rest.any():
        normals = _normal_matrices(design, patterns[:, rest], cache)
        whole = connected[rest]
        if whole.any():
            inverses[rest & connected] = np.linalg.inv(normals[whole])
        if not whole.all():
            inverses[~connected] = np.linalg.pinv(normals[~whole], rcond=1e-10, hermitian=True)
    return inverses


def _date_normals(rows: IntervalRows, patterns: np.ndarray) -> np.ndarray:
    """Each pattern's normal matrix over the time series ``s_1 .. s_n`` of
    :class:`IntervalRows` (``s_0 = 0``), shape (n_patterns, n, n) for n intervals: the graph
    Laplacian of its valid pairs, weighted by ``scale**2``, with the first date's row and
    column dropped. A pair adds to four entries, so building it costs a scatter of the
    patterns (not a product with every pair's outer product); with ``T`` the running sum
    ``s = T x``, the intervals' normal matrix is ``T^T M T``.

    Parameters
    ----------
    rows
        Of a design whose rows are all structured, each pair's dates distinct.
    patterns
        Valid pairs, bool, shape (n_pairs, n_patterns).
    """
    n = rows.weights.size
    size = n + 1
    weights = patterns.T * np.square(rows.scale)  # (n_patterns, n_pairs)
    laplacian = np.zeros((patterns.shape[1], size * size))
    above = rows.first * size + rows.last
    below = rows.last * size + rows.first
    ends = np.zeros((rows.first.size, size))
    ends[np.arange(rows.first.size), rows.first] = 1.0
    ends[np.arange(rows.first.size), rows.last] = 1.0
    laplacian[:, ::size + 1] = weights @ ends  # each date's weighted degree
    np.negative(weights, out=weights)
    if np.unique(above).size == above.size:
        laplacian[:, above] = weights
        laplacian[:, below] = weights
    else:  # the same two dates in several rows: their weights add
        for place in (above, below):
            np.add.at(laplacian, (slice(None), place), weights)
    return laplacian.reshape(-1, size, size)[:, 1:, 1:]


def _dates_rhs(rows: IntervalRows, rhs: np.ndarray) -> np.ndarray:
    """``T^-T b``: the right-hand side over the dates after the first (:func:`_date_normals`)
    from the intervals' ``b = A^T d``, shape (n, ...) -> (n, ...): ``b_c = w_c * sum_{j > c}
    r_j``, so ``r_j = b_(j-1) / w_(j-1) - b_j / w_j``."""
    sums = rhs / rows.weights.reshape((-1,) + (1,) * (rhs.ndim - 1))
    dated = sums.copy()
    dated[:-1] -= sums[1:]
    return dated


def _intervals_of(rows: IntervalRows, series: np.ndarray, axis: int = 0) -> np.ndarray:
    """``T^-1 s``: interval unknowns from the time series at the dates after the first
    (``x_c = (s_(c+1) - s_c) / w_c``, ``s_0 = 0``), along ``axis``."""
    moved = np.moveaxis(series, axis, 0)
    out = moved.copy()
    out[1:] -= moved[:-1]
    out /= rows.weights.reshape((-1,) + (1,) * (moved.ndim - 1))
    return np.moveaxis(out, 0, axis)


def chunk_pixels(n_intervals: int, memory_bytes: float) -> int:
    """Pixels per chunk of :func:`invert_pixels` whose per-pattern matrices (normal matrix,
    inverse and the inverses gathered per pixel, float64) fit in ``memory_bytes``."""
    return int(np.clip(memory_bytes / (20.0 * n_intervals**2), 256, 65536))


#: A pattern's key in :class:`PatternCache`: the design's signature and the packed pattern.
Key = tuple[bytes, bytes]

#: Signatures of the last few read-only designs, by identity (the array is held, so that its
#: identity is not reused): :meth:`PatternCache.signature`.
_SIGNED: dict[int, tuple[np.ndarray, bytes]] = {}
_SIGNED_LOCK = threading.Lock()


class PatternCache:
    """What the solve of one design computes once and reuses across the chunks of a block:
    the complete network's (pseudo-)inverse, the table of the pairs' outer products
    (:func:`outer_products`, within ``max_bytes``), and the normal-matrix
    (pseudo-)inverses of patterns of valid pairs shared by many pixels (masks and water repeat
    the same patterns in every chunk).

    Patterns seen again in a later chunk (rarer ones too) and whether they connect every
    date are kept as well. Keyed by the design (and the pattern); a matrix is the same
    whether computed afresh or taken from here, so results do not depend on what was kept.
    The table and pattern inverses take at most ``max_bytes``, connectivities a quarter of it
    more; safe to share between threads.
    """

    #: What one remembered connectivity costs: its key (the packed pattern) and the dict.
    CONNECTED_BYTES = 200

    def __init__(self, max_bytes: float) -> None:
        self._entries: dict[Key, np.ndarray] = {}
        self._connected: dict[Key, bool] = {}
        self._networks: dict[bytes, CompleteNetwork] = {}
        self._outer: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}
        self._room = int(max_bytes)
        self._connected_room = int(max_bytes) // 4
        self._lock = threading.Lock()

    @staticmethod
    def signature(design: np.ndarray) -> bytes:
        """A key of the design's values, shape and type. Hashing them takes 0.4 ms for 416
        pairs of 80 dates, and every chunk asks several times: the key of a read-only array
        that owns its values (as an inversion's design is made), which nothing can change,
        is remembered for as long as that array is."""
        fixed = not design.flags.writeable and design.base is None
        if fixed:
            found = _SIGNED.get(id(design))
            if found is not None and found[0] is design:
                return found[1]
        digest = hashlib.blake2b(np.ascontiguousarray(design).tobytes(), digest_size=16)
        digest.update(repr((design.shape, design.dtype.str)).encode())
        signature = digest.digest()
        if fixed:
            with _SIGNED_LOCK:
                if len(_SIGNED) >= 8:
                    _SIGNED.clear()
                _SIGNED[id(design)] = (design, signature)
        return signature

    @classmethod
    def keys(cls, design: np.ndarray, patterns: np.ndarray) -> list[Key]:
        """One key per pattern (column of ``patterns``, shape (n_pairs, n_patterns))."""
        signature = cls.signature(design)
        # Each pattern's packed bits as one bytes object: a contiguous row per pattern viewed
        # as a single void value (numpy's tolist makes the bytes; a slice's tobytes per
        # pattern cost several times as much).
        packed = np.ascontiguousarray(np.packbits(patterns, axis=0).T)
        rows = packed.view(np.dtype((np.void, packed.shape[1]))).ravel().tolist()
        return list(zip([signature] * len(rows), rows))

    def get(self, key: Key) -> np.ndarray | None:
        return self._entries.get(key)

    def put(self, key: Key, inverse: np.ndarray) -> None:
        with self._lock:
            if key not in self._entries and inverse.nbytes <= self._room:
                self._entries[key] = inverse
                self._room -= inverse.nbytes

    def connected_many(self, keys: list[Key]) -> list[bool | None]:
        """Whether each pattern's pairs connect every date, where known (else None)."""
        known = self._connected.get
        return [known(key) for key in keys]

    def set_connected_many(self, keys: list[Key], connected: list[bool]) -> None:
        """Remember whether each pattern connects every date, as far as the room allows."""
        with self._lock:  # (bounded: a frame has millions of rare patterns)
            new = [(key, value) for key, value in zip(keys, connected)
                   if key not in self._connected]
            new = new[:max(0, self._connected_room // self.CONNECTED_BYTES)]
            self._connected.update(new)
            self._connected_room -= len(new) * self.CONNECTED_BYTES

    def network(self, design: np.ndarray, full_rank: bool) -> CompleteNetwork:
        """The complete network of ``design``, made once."""
        signature = self.signature(design) + bytes([full_rank])
        found = self._networks.get(signature)
        if found is None:
            found = self._networks[signature] = CompleteNetwork.of(design, full_rank)
        return found

    def outer_products(self, design: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:func:`outer_products` of ``design``, made once where it fits in the cache's room
        (counted with the pattern inverses; building it cost more than a chunk's product
        with it: 8 ms against 5 ms for 90 patterns of 416 pairs and 79 intervals)."""
        signature = self.signature(design)
        found = self._outer.get(signature)
        if found is None:
            found = outer_products(design)
            with self._lock:  # kept where it fits in what is left of the cache's room
                if signature not in self._outer and found[0].nbytes <= self._room:
                    self._outer[signature] = found
                    self._room -= found[0].nbytes
        return found


@dataclass(frozen=True)
class IntervalRows:
    """Rows of a design that each cover a run of consecutive unknowns with the same weights,
    scaled per row: ``design[p, c] = scale[p] * weights[c]`` for ``first[p] <= c < last[p]``,
    0 elsewhere (an SBAS pair over its intervals, times the square root of its weight).

    Then ``design[p] @ x = scale[p] * (s[last[p]] - s[first[p]])`` with ``s`` the cumulative
    sum of ``weights * x`` (the time series): two gathers per pair instead of a row product.
    """

    first: np.ndarray  # (n_rows,) int
    last: np.ndarray  # (n_rows,) int, exclusive
    scale: np.ndarray  # (n_rows,)
    weights: np.ndarray  # (n_columns,)
    structured: np.ndarray  # (n_rows,) bool: rows of that form (bridge rows are not)

    @classmethod
    def of(cls, design: np.ndarray) -> IntervalRows:
        n_rows, n_columns = design.shape
        nonzero = design != 0
        first = nonzero.argmax(axis=1)
        last = first + nonzero.sum(axis=1)
        column = np.arange(n_columns)
        inside = (column >= first[:, None]) & (column < last[:, None])
        structured = (nonzero == inside).all(axis=1) & nonzero.any(axis=1)
        # Column weights up to one factor per run of columns that some row links: chained
        # through rows covering two neighbouring columns.
        weights = np.ones(n_columns)
        for c in range(1, n_columns):
            linking = np.flatnonzero(structured & inside[:, c - 1] & inside[:, c])
            if linking.size:
                p = linking[0]
                weights[c] = weights[c - 1] * design[p, c] / design[p, c - 1]
        scale = np.where(structured, design[np.arange(n_rows), first] / weights[first], 0.0)
        rebuilt = scale[:, None] * inside * weights[None, :]
        structured &= np.isclose(design, rebuilt, rtol=1e-9, atol=0).all(axis=1)
        return cls(first, last, scale, weights, structured)


@dataclass(frozen=True)
class CompleteNetwork:
    """The network with every pair: whether it connects all dates, ``N^-1`` (connected) and
    the matrix that maps a pixel's phase to its minimum-norm solution; where connected, also
    the hat matrix ``A N^-1 A^T`` and the design's :class:`IntervalRows` for downdates."""

    connected: bool
    normal_inverse: np.ndarray | None  # (n_intervals, n_intervals), None where split
    projector: np.ndarray  # (n_intervals, n_pairs)
    hat: np.ndarray | None = None  # (n_pairs, n_pairs), None where split
    rows: IntervalRows | None = None  # None where split

    @classmethod
    def of(cls, design: np.ndarray, full_rank: bool) -> CompleteNetwork:
        n_pairs = design.shape[0]
        connected = full_rank or bool(_connected(design, np.ones((n_pairs, 1), bool))[0])
        if not connected:
            return cls(False, None, _pinv(design))
        normal_inverse = np.linalg.inv(design.T @ design)
        projector = normal_inverse @ design.T
        return cls(True, normal_inverse, projector, design @ projector,
                   IntervalRows.of(design))


def invert_pixels(
    design: np.ndarray,
    phase: np.ndarray,
    weights: np.ndarray | None = None,
    min_pairs: int = 1,
    chunk: int = 16384,
    regularisation: np.ndarray | None = None,
    full_rank: bool = False,
    cache: PatternCache | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minimum-norm (weighted) least squares for every pixel.

    Unweighted: pixels valid in every pair share the complete network's solution (one matrix
    product in the phase's precision); pixels missing pairs are grouped by their pattern of
    valid pairs: a pattern shared by many pixels is solved with one product, and the pixels of
    rare patterns either as low-rank downdates of the complete network or with their pattern's
    normal-matrix inverse (minimum-norm pseudo-inverse where the pattern's network is split);
    see :func:`_solve_unweighted`. Weighted: one normal matrix per pixel.

    Parameters
    ----------
    design
        Shape (n_pairs, n_intervals), from :func:`design_matrix`.
    phase
        Unwrapped, referenced phase, radians, shape (n_pairs, n_pixels); NaN where missing.
        float32 phase is solved in float32 where every pair is valid (about 1e-7 relative);
        everything else in float64.
    weights
        Optional weights per pair and pixel, shape (n_pairs, n_pixels) (inverse variance).
    min_pairs
        Pixels with fewer valid pairs get NaN.
    chunk
        Pixels with missing pairs solved at once; their per-pattern matrices take up to
        ``chunk x n_intervals**2 x 20`` bytes (see :func:`chunk_pixels`).
    regularisation
        Extra rows with zero observations that every pixel has (:func:`bridge_rows`); the
        design's columns then follow these rows' width (extra unknowns are returned too).
    cache
        Where the inverses of shared patterns are kept across calls (the chunks of a block).

    Returns
    -------
    (velocity, n_used)
        Interval phase velocities, radians/year, shape (n_intervals, n_pixels), NaN where not
        solved; and the number of pairs used per pixel, shape (n_pixels,).
    """
    if regularisation is not None:
        n_real = design.shape[0]
        extra = regularisation.shape[1] - design.shape[1]
        design = np.vstack([np.hstack([design, np.zeros((n_real, extra))]), regularisation])
        phase = np.vstack([phase, np.zeros((regularisation.shape[0], phase.shape[1]),
                                           dtype=phase.dtype)])
        if weights is not None:
            weights = np.vstack([weights, np.ones((regularisation.shape[0], phase.shape[1]))])
        solution, n_used = invert_pixels(design, phase, weights, min_pairs + len(regularisation),
                                         chunk, None, full_rank=True, cache=cache)
        return solution, n_used - len(regularisation)
    n_pixels = phase.shape[1]
    n_intervals = design.shape[1]
    if weights is None:
        # Every solvable pixel is written by the solve; the others are set to NaN after it.
        solution = np.empty((n_intervals, n_pixels))
        n_used = _solve_unweighted(design, phase, min_pairs, solution, chunk, full_rank, cache)
        solution[:, n_used < min_pairs] = np.nan
        return solution, n_used
    valid = np.isfinite(phase)
    valid &= np.isfinite(weights) & (weights > 0)
    n_used = np.count_nonzero(valid, axis=0)
    solvable = n_used >= min_pairs
    solution = np.full((n_intervals, n_pixels), np.nan)
    # float64 before any product: numpy multiplies mixed float32/float64 without BLAS.
    filled = np.where(valid, phase, 0).astype(np.float64)
    columns = np.flatnonzero(solvable)
    for start in range(0, columns.size, chunk):
        cols = columns[start:start + chunk]
        w = np.where(valid[:, cols], weights[:, cols], 0.0)
        # Normal equations per pixel: solved directly where the pixel's valid pairs connect
        # every date (positive definite), else by the pseudo-inverse of the normal matrix,
        # the minimum-norm weighted solution.
        normal = np.einsum("pi,pn,pj->nij", design, w, design, optimize=True)
        rhs = design.T @ (w * filled[:, cols])
        patterns, inverse = group_patterns(valid[:, cols])
        keys = PatternCache.keys(design, patterns)
        connected = _pattern_connected(design, patterns, keys, full_rank, cache)[inverse]
        if connected.any():
            solution[:, cols[connected]] = np.linalg.solve(
                normal[connected], rhs[:, connected].T[:, :, None])[:, :, 0].T
        if not connected.all():
            split = ~connected
            solution[:, cols[split]] = np.einsum(
                "nij,jn->in", np.linalg.pinv(normal[split], rcond=1e-10, hermitian=True),
                rhs[:, split])
    return solution, n_used


#: Bytes of phase whose validity, zeroed copy and start ``x0`` are made together
#: (:func:`_solve_unweighted`): a part small enough to stay in a core's caches between those
#: passes (1,260 pixels of 416 pairs). Two workers' solve CPU on the 80-date stack with every
#: pair, 4 alternating rounds: 3.62-4.08 s against 3.84-4.19 s in parts of 4,096 pixels.
X0_BYTES = 2 * 2**20

#: Most pixels in such a part (fewest: 256).
X0_COLUMNS = 4096

#: Bytes added to the rows of the part buffers, so that their columns do not map to the same
#: cache sets (rows a power of two apart).
_ROW_PAD = 64


def _part_columns(part_bytes: int, column_bytes: int, most: int) -> int:
    """Pixels of a part of ``part_bytes`` at ``column_bytes`` a pixel, between 256 and
    ``most`` (``most`` where it is fewer: a test's small parts)."""
    return int(np.clip(part_bytes // column_bytes, 256, most))


def _solve_unweighted(design: np.ndarray, phase: np.ndarray, min_pairs: int,
                      solution: np.ndarray, chunk: int, full_rank: bool,
                      cache: PatternCache | None = None) -> np.ndarray:
    """Minimum-norm least squares of the pixels with at least ``min_pairs`` valid pairs,
    written into ``solution`` (other pixels' columns may be written too: the caller sets
    them); returns the valid pairs of each pixel, shape (n_pixels,).

    Where the complete network connects every date, one product of its projector
    ``N^-1 A^T`` with the phase (missing pairs at zero) in the phase's precision (float32
    phase: a float32 product, as fast as reading allows) gives ``x0``: the solution of the
    pixels valid in every pair, and the start of a low-rank downdate for a pixel missing a
    few pairs (:func:`_downdate_solve`). Otherwise, or where the downdate costs more than its
    pattern of valid pairs (:func:`_downdate_cheaper`), pixels missing pairs are solved in
    float64 grouped by that pattern (:func:`_solve_by_pattern`: its normal matrix over the
    dates factorised as a banded matrix where the pairs span a few acquisitions
    (:mod:`.banded`: a zero pivot then also tells a split pattern, with no separate check),
    else solved dense with its pixels as right-hand sides; or its (pseudo-)inverse made once
    where many pixels share it, as masks and water do over whole areas).

    Parameters
    ----------
    phase
        Shape (n_pairs, n_pixels), NaN where missing.
    """
    n_pairs, n_intervals = design.shape
    network = (cache.network(design, full_rank) if cache is not None
               else CompleteNetwork.of(design, full_rank))
    dtype = phase.dtype if phase.dtype in (np.float32, np.float64) else np.float64
    n_pixels = phase.shape[1]
    n_used = np.empty(n_pixels, np.intp)
    start = None
    # Which pairs each pixel missing some has, pixel-major (n_partial, n_pairs): each pixel's
    # pairs contiguous for the pattern grouping and the downdate's gathers.
    rows_of = None
    if network.connected:
        # (n_pixels, n_intervals): each pixel's unknowns contiguous for the downdate's gathers
        projector = network.projector.T.astype(dtype)
        start = np.empty((phase.shape[1], n_intervals), dtype)
        # A thousand pixels or so at a time (:data:`X0_BYTES`): which pairs are valid, then
        # the phase with missing pairs at zero (a small buffer, reused) while that part of
        # the phase is still in the core's cache (a second pass from memory had cost a third
        # of x0's time).
        step = _part_columns(X0_BYTES, phase.itemsize * n_pairs, X0_COLUMNS)
        width = min(step, phase.shape[1])
        # Rows of these buffers a cache line more than the part apart: at 4,096 pixels (a
        # power of two) the columns' values all fell in the same cache sets, and the
        # transpose below took six times as long.
        filled = np.empty((n_pairs, width + _ROW_PAD // np.dtype(dtype).itemsize),
                          dtype)[:, :width]
        valid = np.empty((n_pairs, width + _ROW_PAD), bool)[:, :width]
        transposed = np.empty((width, n_pairs), bool)
        rows_parts = []
        for first in range(0, n_pixels, step):
            part = slice(first, first + step)
            columns = min(step, n_pixels - first)
            present = np.isfinite(phase[:, part], out=valid[:, :columns])
            part_used = np.count_nonzero(present, axis=0)
            n_used[part] = part_used
            # Pixel-major validity of the pixels missing some pairs, from the part's transpose
            # while it is in cache (a third of a take and reorder later); none for the pixels
            # valid in every pair or in too few (most of a selection's, water's).
            needed = np.flatnonzero((part_used >= min_pairs) & (part_used < n_pairs))
            if needed.size > columns // 2:  # the whole part's transpose, then its rows
                np.copyto(transposed[:columns], present.T)
                rows_parts.append(transposed[needed])
            elif needed.size:  # their columns, then their transpose
                rows_parts.append(present[:, needed].T.copy())
            if phase.dtype != dtype:
                np.copyto(filled[:, :columns], phase[:, part], casting="same_kind")
            _masked_copy(phase[:, part] if phase.dtype == dtype else filled[:, :columns],
                         present, filled[:, :columns])
            np.matmul(filled[:, :columns].T, projector, out=start[part])
            # Every column (a pixel missing pairs is overwritten below): cheaper than
            # gathering the complete pixels' columns; part by part, while it is in cache.
            np.copyto(solution[:, part], start[part].T)
        rows_of = (np.concatenate(rows_parts) if rows_parts
                   else np.empty((0, n_pairs), bool))
        del rows_parts
    else:
        present = np.isfinite(phase)
        n_used[:] = np.count_nonzero(present, axis=0)
    solvable = n_used >= min_pairs
    complete = solvable & (n_used == n_pairs)
    if not network.connected and complete.any():
        # One product over every column (NaN where a pair is missing, overwritten below)
        # costs less than gathering the complete columns first.
        whole = network.projector.astype(dtype) @ phase.astype(dtype, copy=False)
        solution[:, complete] = whole[:, complete]
        del whole
    partial = np.flatnonzero(solvable & ~complete)
    if partial.size == 0:
        return n_used
    if rows_of is None:
        rows_of = np.ascontiguousarray(present.T[partial])
        del present
    mask = rows_of.T
    patterns, inverse = group_patterns(mask)
    keys = PatternCache.keys(design, patterns)
    # Normal matrices over the dates where every row is a pair over its intervals, banded
    # where that pays (:mod:`.banded`).
    rows = network.rows if network.rows is not None and network.rows.structured.all() else None
    band = _band(rows, n_intervals)
    counts = np.bincount(inverse, minlength=patterns.shape[1])
    connected, known = _pattern_connectivity(design, patterns, keys, counts, full_rank, cache,
                                             rows, band)
    if start is not None and network.rows is not None:
        low_rank = (connected[inverse]
                    & _downdate_cheaper(n_pairs - n_used[partial], counts[inverse], n_pairs,
                                        n_intervals, rows is not None, band))
        unstructured = ~network.rows.structured
        if unstructured.any():  # (bridge rows: never missing)
            low_rank &= mask[unstructured].all(axis=0)
        if low_rank.any():
            pixels = np.flatnonzero(low_rank)
            solution[:, partial[pixels]] = _downdate_solve(
                network, start[partial[pixels]], np.logical_not(rows_of[pixels]).T,
                inverse[pixels], chunk).T
            if low_rank.all():
                return n_used
            pixels = np.flatnonzero(~low_rank)
            used, inverse = _compact(inverse[pixels], patterns.shape[1])
            patterns, connected, known, mask, partial = (
                patterns[:, used], connected[used], known[used], rows_of[pixels].T,
                partial[pixels])
            keys = [keys[k] for k in used]
    del start
    taken = phase.take(partial, axis=1)
    if taken.dtype.kind == "f":
        _masked_copy(taken, mask, taken)
    else:
        taken = np.where(mask, taken, 0)
    rhs = design.T @ taken.astype(np.float64)
    del taken
    _solve_by_pattern(design, patterns, keys, connected, inverse, rhs, partial, solution,
                      chunk, cache, rows, known, band)
    return n_used


def _band(rows: IntervalRows | None, n_intervals: int) -> int:
    """The bandwidth of the normal matrices over the dates (:mod:`.banded`) where their
    banded factorisation costs less than a dense solve (small baselines: a pair spans a few
    acquisitions), else 0."""
    if rows is None:
        return 0
    b = bandwidth(rows.first, rows.last)
    dense = _lu_nanoseconds(n_intervals) + (rows.first.size + (n_intervals + 1)**2) * _SCATTER_NS
    return b if b and factor_nanoseconds(n_intervals, b) < dense else 0


def _pattern_connectivity(design: np.ndarray, patterns: np.ndarray, keys: list[Key],
                          counts: np.ndarray, full_rank: bool, cache: PatternCache | None,
                          rows: IntervalRows | None, band: int
                          ) -> tuple[np.ndarray, np.ndarray]:
    """Whether each pattern's valid pairs connect every date, and whether that is known,
    shape (n_patterns,) each. Without banded factors (``band`` 0), known everywhere
    (:func:`_pattern_connected`). With them, :func:`_surely_connected`, and where that leaves
    it open, known only for a pattern whose (pseudo-)inverse is made (:data:`INVERT_MEMBERS`
    pixels or more), from its banded factor's pivots (as for every pattern solved with one:
    :func:`_solve_banded`)."""
    if full_rank or not band or rows is None:
        return (_pattern_connected(design, patterns, keys, full_rank, cache),
                np.ones(patterns.shape[1], bool))
    connected = _surely_connected(design, patterns)
    shared = counts >= INVERT_MEMBERS
    for batch, factors in _banded_batches(rows, patterns, np.flatnonzero(shared & ~connected)):
        connected[batch] = factors.ok
    return connected, connected | shared


def _banded_batches(rows: IntervalRows, patterns: np.ndarray, chosen: np.ndarray
                    ) -> Iterator[tuple[np.ndarray, BandedLaplacians]]:
    """The banded factors of the ``chosen`` patterns (numbers into ``patterns``' columns),
    :data:`BATCH_PATTERNS` at a time: each batch's numbers and factors."""
    for start in range(0, chosen.size, BATCH_PATTERNS):
        batch = chosen[start:start + BATCH_PATTERNS]
        yield batch, BandedLaplacians(rows.first, rows.last, rows.scale, patterns[:, batch])


def _masked_copy(values: np.ndarray, keep: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``values`` where ``keep``, +0 elsewhere, into ``out`` (``values`` itself allowed): the
    float values' bits times the mask, one pass (numpy's masked copy, ``copyto`` with
    ``where``, took six times as long, and ``where`` longer again).

    Parameters
    ----------
    values, out
        The same float type and shape (any layout).
    keep
        Bool, the same shape.
    """
    unsigned = np.dtype(f"u{values.dtype.itemsize}")
    np.multiply(values.view(unsigned), keep, out=out.view(unsigned))
    return out


def _stable_order(values: np.ndarray, bound: int | None = None) -> np.ndarray:
    """``np.argsort(values, kind="stable")`` of non-negative integers below ``bound`` (found
    where not given), as a radix sort where they fit in 16 bits (numpy sorts 16-bit integers
    by radix: ten times as fast as its merge sort of 64-bit ones on 40,000 pattern
    numbers)."""
    if bound is None:
        bound = int(values.max()) + 1 if values.size else 0
    return np.argsort(values.astype(np.uint16) if bound <= 2**16 else values, kind="stable")


def _compact(labels: np.ndarray, n_labels: int) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(labels, return_inverse=True)`` for integers in ``0 .. n_labels - 1``: the
    labels present, and each label's rank among them, by a table rather than a sort."""
    present = np.zeros(n_labels, np.intp)
    present[labels] = 1
    return np.flatnonzero(present), (np.cumsum(present) - 1)[labels]


def _lu_nanoseconds(k: np.ndarray | float) -> np.ndarray | float:
    """About how long numpy's batched solve of one k x k system takes: 2/3 k^3 operations at
    a rate that grows with k (LAPACK on small matrices; about k/10 Gflop/s up to 16)."""
    return 2 / 3 * np.power(k, 3) / np.minimum(np.divide(k, 10), 16.0) + 200.0


#: Rate of a float64 matrix product (BLAS, one thread), operations per nanosecond.
_GEMM_RATE = 40.0

#: Time per pair and per entry of a normal matrix over the dates (:func:`_date_normals`),
#: nanoseconds: 6.5 us for 385 pairs of 80 dates here.
_SCATTER_NS = 1.0


#: Pixels of a chunk sharing a pattern of missing pairs from which its downdate's k x k
#: system is made and inverted (or solved) once for them (:func:`_downdate_solve`); fewer
#: solve it each: an inverse costs about four solves, and two or three solves less.
SHARED_SYSTEM_MEMBERS = 4


def _downdate_cheaper(missing: np.ndarray, members: np.ndarray, n_pairs: int,
                      n_intervals: int, over_dates: bool = False, band: int = 0) -> np.ndarray:
    """Whether a pixel missing ``missing`` pairs costs less time as a low-rank downdate of
    the complete network's solution (its pattern's k x k system solved, or inverted once
    for the ``members`` pixels of the chunk that share it, and its gathers) than as its
    share of its pattern's normal matrix (half a product: its upper triangle; or, over the
    dates, a scatter: :func:`_date_normals`) and its factorisation (an inverse, four of
    them, where the pattern is shared by enough pixels to be inverted:
    :func:`_solve_by_pattern`), its right-hand side and a product; or, with the normal
    matrices' bandwidth ``band``, its share of its pattern's banded factor and two
    triangular solves (:mod:`.banded`).

    Times from operation counts at rates measured for numpy's LAPACK and BLAS (small
    batched solves are far slower per operation than matrix products). The choice depends
    on the chunk alone, never on what earlier chunks left in a cache, so that every run
    solves every pixel the same way.
    """
    k = missing.astype(np.float64)
    members = members.astype(np.float64)
    system = _lu_nanoseconds(k) * np.where(members >= SHARED_SYSTEM_MEMBERS, 4.0 / members,
                                           1.0)
    downdate = system + 0.02 * k**2 + 2 * n_intervals**2 / _GEMM_RATE
    inverted = members >= INVERT_MEMBERS
    normal = ((n_pairs + (n_intervals + 1)**2) * _SCATTER_NS if over_dates
              else n_pairs * n_intervals**2 / _GEMM_RATE)
    pattern = normal + np.where(inverted, 4.0, 1.0) * _lu_nanoseconds(n_intervals)
    by_pattern = pattern / members + (2 * n_pairs * n_intervals
                                      + 2 * n_intervals**2) / _GEMM_RATE
    if band:  # a pattern of a few pixels: its banded factor, and two triangular solves each
        by_pattern = np.where(inverted, by_pattern,
                              factor_nanoseconds(n_intervals, band) / members
                              + 2 * n_pairs * n_intervals / _GEMM_RATE
                              + solve_nanoseconds(n_intervals, band))
    return downdate <= by_pattern


#: Values of a shared pattern's k x k inverse gathered for its pixels (members x k^2) beyond
#: which one solve with every member as a right-hand side costs less (a LAPACK call's
#: overhead, about 30 us here, against about 1 ns per value copied).
GATHER_VALUES = 32768

#: Pixels of a chunk from which a pattern of valid pairs is inverted once (kept in the cache
#: for later chunks) and applied with one product, rather than its normal system solved with
#: them as right-hand sides (:func:`_solve_by_pattern`): the inverse costs three solves more,
#: about what the right-hand sides of 30 pixels cost more in triangular solves than in a
#: product, whether 40 or 80 dates.
INVERT_MEMBERS = 32


def _downdate_solve(network: CompleteNetwork, start: np.ndarray, missing: np.ndarray,
                    pattern: np.ndarray, chunk: int) -> np.ndarray:
    """Least squares of pixels whose valid pairs still connect the network, as a low-rank
    downdate of the complete network's solution (Woodbury identity).

    With ``N = A^T A`` and ``U`` the k missing rows of a pixel,
    ``(N - U^T U)^-1 b = x0 + N^-1 U^T (I - U N^-1 U^T)^-1 U x0`` where ``x0 = N^-1 b`` and
    ``b = A^T d`` with the missing pairs at zero: one k x k solve per pattern of missing
    pairs (batched by k) instead of an n x n inversion. ``U x0`` is read off the time series
    of ``x0`` and ``U^T z`` summed along it (:class:`IntervalRows`), so a pixel costs about k
    gathers more than a pixel valid in every pair.

    Parameters
    ----------
    network
        The complete network, connected, with its hat matrix and interval rows; the rows of
        every missing pair are structured.
    start
        ``x0``, shape (n_pixels, n_intervals), float32 or float64 (the result's precision
        follows; the k x k systems are solved in float64).
    missing
        Shape (n_pairs, n_pixels), True where a pair is missing.
    pattern
        Each pixel's pattern of missing pairs (:func:`group_patterns`), shape (n_pixels,):
        the k x k system of a pattern shared by :data:`SHARED_SYSTEM_MEMBERS` or more pixels
        is made once for them.
    chunk
        Pixels whose k x k systems are held at once where k is at most n_intervals (fewer
        for larger k, in the same memory).

    Returns
    -------
    numpy.ndarray
        Shape (n_pixels, n_intervals), in ``start``'s type.
    """
    rows, hat = network.rows, network.hat
    if rows is None or hat is None or network.normal_inverse is None:
        raise ValueError("a downdate needs the complete network connected")
    n_pixels, n_columns = start.shape
    # Running sums along the unknowns as products with triangular matrices (BLAS: three
    # times faster than cumsum along rows this short): the time series of x0, and N^-1 times
    # the weighted running sum of U^T z's differences.
    below = np.triu(np.ones((n_columns, n_columns)))  # [j, i] = 1 where j <= i
    series = np.zeros((n_pixels, n_columns + 1), dtype=start.dtype)
    np.matmul(start, (rows.weights[:, None] * below).astype(start.dtype), out=series[:, 1:])
    # Pixel-major: each pixel's pairs in a run (numpy's two-dimensional nonzero is several
    # times slower than a flat one on a contiguous copy).
    pixel_of, pair_of = np.divmod(np.flatnonzero(np.ascontiguousarray(missing.T)),
                                  missing.shape[0])
    counts = np.bincount(pixel_of, minlength=n_pixels)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    order = _stable_order(counts, missing.shape[0] + 1)
    n_patterns = int(pattern.max()) + 1 if pattern.size else 0
    ends = np.cumsum(np.bincount(counts))
    z = np.empty(pair_of.size)  # each missing pair's Woodbury coefficient, times its scale
    members = np.bincount(pattern)[pattern]
    for k in np.unique(counts[counts > 0]):
        group = order[ends[k - 1]:ends[k]]
        batch = max(1, chunk * n_columns**2 // max(k, n_columns)**2)
        # A pixel alone with its pattern, or sharing it with a few: its own k x k solve.
        alone = group[members[group] < SHARED_SYSTEM_MEMBERS]
        for first in range(0, alone.size, batch):
            pixels = alone[first:first + batch, None]
            at = offsets[pixels] + np.arange(k)  # (pixels, k)
            pairs = pair_of[at]
            z[at] = np.linalg.solve(_woodbury_system(hat, pairs),
                                    _predicted(rows, series, pixels, pairs)[:, :, None]
                                    )[:, :, 0] * rows.scale[pairs]
        # Pixels sharing a pattern: its system solved once for all of them (their predicted
        # phases as the right-hand sides) where gathering its inverse for each would copy
        # more than a solve costs (:data:`GATHER_VALUES`), else inverted once and applied to
        # each.
        shared = group[members[group] >= SHARED_SYSTEM_MEMBERS]
        if shared.size == 0:
            continue
        local = _compact(pattern[shared], n_patterns)[1]
        order_shared = _stable_order(local, n_patterns)
        shared, local = shared[order_shared], local[order_shared]
        sizes = np.bincount(local)
        first_pixel = shared[np.cumsum(sizes) - sizes]
        systems = _woodbury_system(hat, pair_of[offsets[first_pixel, None] + np.arange(k)])
        many = sizes * k * k >= GATHER_VALUES
        ends_shared = np.cumsum(sizes)
        for u in np.flatnonzero(many):
            pixels = shared[ends_shared[u] - sizes[u]:ends_shared[u], None]
            at = offsets[pixels] + np.arange(k)
            pairs = pair_of[at]
            z[at] = np.linalg.solve(systems[u], _predicted(rows, series, pixels, pairs).T
                                    ).T * rows.scale[pairs]
        few = ~many[local]
        if not few.any():
            continue
        inverses = np.linalg.inv(systems[~many])
        slot = np.cumsum(~many) - 1  # each pattern's place among the inverted ones
        shared, local = shared[few], slot[local[few]]
        for first in range(0, shared.size, batch):
            pixels = shared[first:first + batch, None]
            at = offsets[pixels] + np.arange(k)
            pairs = pair_of[at]
            z[at] = np.einsum("nij,nj->ni", inverses[local[first:first + batch]],
                              _predicted(rows, series, pixels, pairs)) * rows.scale[pairs]
    # In x0's precision (float32: half a float64 product's time; x0 is no more precise).
    correction = ((below * rows.weights) @ network.normal_inverse.T).astype(start.dtype)
    solution = np.empty_like(start)
    bounds = np.append(offsets, pair_of.size)  # each pixel's run of missing pairs, and the end
    # Memory this thread has written, freed for the first part's sums (a block that calloc
    # clears) rather than fresh pages, first read as zeros and then written by bincount: each
    # such page made the kernel flush the other solve threads' TLBs (perf: 3.4% of a run).
    written = np.ones(4 * SCATTER_PIXELS * (n_columns + 1))
    del written
    for first in range(0, n_pixels, SCATTER_PIXELS):
        last = min(first + SCATTER_PIXELS, n_pixels)
        at = slice(bounds[first], bounds[last])
        _add_downdate(rows, pixel_of[at] - first, pair_of[at], z[at], last - first,
                      correction, start[first:last], solution[first:last])
    return solution


#: Pixels whose ``U^T z`` is scattered at once (:func:`_add_downdate`): a few hundred kB of
#: sums, reused from one part to the next. At once over a chunk, its tens of MB of zeros,
#: fresh from the system, were first read (zero pages), then written, and every page
#: written made the kernel flush the other solve thread's TLB: on the 40-date stack with
#: every pair, a tenth of the solve's time.
SCATTER_PIXELS = 2048


def _add_downdate(rows: IntervalRows, pixel_of: np.ndarray, pair_of: np.ndarray,
                  z: np.ndarray, n_pixels: int, correction: np.ndarray, start: np.ndarray,
                  out: np.ndarray) -> None:
    """``out = start + (U^T z) N^-1`` for ``n_pixels`` pixels: each missing pair's ``z``
    (``pair_of``, of pixel ``pixel_of``, shape (n_missing,)) added over its run of unknowns
    as a difference, whose running sum along the unknowns (times the column weights, then
    ``N^-1``: ``correction``, shape (n_columns, n_columns)) is one product."""
    width = correction.shape[0] + 1
    base = pixel_of * width
    runs = np.bincount(np.concatenate([base + rows.first[pair_of], base + rows.last[pair_of]]),
                       weights=np.concatenate([z, -z]),
                       minlength=n_pixels * width).reshape(n_pixels, width)
    np.matmul(runs[:, :-1].astype(out.dtype), correction, out=out)
    out += start


def _woodbury_system(hat: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """``I - U N^-1 U^T`` for the missing pairs of each pixel, shape (n, k) -> (n, k, k)."""
    k = pairs.shape[1]
    system = -hat[pairs[:, :, None], pairs[:, None, :]]
    system[:, np.arange(k), np.arange(k)] += 1.0
    return system


def _predicted(rows: IntervalRows, series: np.ndarray, pixels: np.ndarray,
               pairs: np.ndarray) -> np.ndarray:
    """``U x0``: each missing pair's phase as predicted by the start's time series,
    shape (n, k) (float64)."""
    return rows.scale[pairs] * (series[pixels, rows.last[pairs]]
                                - series[pixels, rows.first[pairs]])


def _pattern_connected(design: np.ndarray, patterns: np.ndarray, keys: list[Key],
                       full_rank: bool, cache: PatternCache | None) -> np.ndarray:
    """Whether each pattern's valid pairs connect every date (:func:`_connected`), from
    ``cache`` where known; shape (n_patterns,)."""
    if full_rank:
        return np.ones(patterns.shape[1], bool)
    known = [None] * len(keys) if cache is None else cache.connected_many(keys)
    todo = [k for k, found in enumerate(known) if found is None]
    if todo:
        found = _connected(design, patterns[:, todo]).tolist()
        for k, value in zip(todo, found):
            known[k] = value
        if cache is not None:
            cache.set_connected_many([keys[k] for k in todo], found)
    return np.array(known, dtype=bool)


def _pattern_inverses(design: np.ndarray, patterns: np.ndarray, keys: list[Key],
                      connected: np.ndarray, cache: PatternCache | None,
                      rows: IntervalRows | None = None) -> list[np.ndarray]:
    """Each pattern's normal-matrix (pseudo-)inverse (:func:`_normal_inverses`), from
    ``cache`` where an earlier chunk made it; each shape (n_intervals, n_intervals)."""
    known = [None if cache is None else cache.get(key) for key in keys]
    todo = np.array([k for k, found in enumerate(known) if found is None], dtype=np.intp)
    if todo.size:
        for k, matrix in zip(todo, _normal_inverses(design, patterns[:, todo],
                                                    connected[todo], cache, rows)):
            known[k] = matrix
            if cache is not None:
                cache.put(keys[k], matrix)
    return known  # type: ignore[return-value]


def _solve_by_pattern(design: np.ndarray, patterns: np.ndarray, keys: list[Key],
                      connected: np.ndarray, inverse: np.ndarray, rhs: np.ndarray,
                      columns: np.ndarray, solution: np.ndarray, chunk: int,
                      cache: PatternCache | None, rows: IntervalRows | None = None,
                      known: np.ndarray | None = None, band: int = 0) -> None:
    """Solve pixels grouped by pattern of valid pairs, written into ``solution[:, columns]``:
    a pattern of many pixels (:data:`INVERT_MEMBERS`) with its normal-matrix (pseudo-)inverse
    (from ``cache`` where an earlier chunk made it) and one product; a connected pattern of a
    few pixels by its normal system solved with them as right-hand sides (batched with the
    patterns of as many pixels); a split pattern of a few pixels with its minimum-norm
    pseudo-inverse gathered per pixel.

    Parameters
    ----------
    patterns
        Shape (n_pairs, n_patterns).
    inverse
        Pattern of each pixel, shape (n_pixels,).
    rhs
        ``A^T d`` with missing pairs at zero, shape (n_intervals, n_pixels).
    rows
        The design's :class:`IntervalRows` where every row is a pair over its intervals:
        connected patterns' normal matrices are then made over the dates
        (:func:`_date_normals`).
    known
        Where ``connected`` is known (default: everywhere); elsewhere (only with ``band``)
        the banded factor tells.
    band
        The bandwidth of the normal matrices over the dates where a pattern of a few pixels
        is solved with its banded factor (:func:`_solve_banded`), else 0.
    """
    connected = connected.copy()
    known = np.ones_like(connected) if known is None else known
    order = _stable_order(inverse, patterns.shape[1])
    counts = np.bincount(inverse, minlength=patterns.shape[1])
    ends = np.cumsum(counts)
    # Chunks of patterns bound the memory of their matrices (float64 normal matrix and
    # inverse: 16 x n_intervals**2 bytes each).
    per_chunk = max(1, chunk // 2)
    for first in range(0, patterns.shape[1], per_chunk):
        last = min(first + per_chunk, patterns.shape[1])
        shared = counts[first:last] >= INVERT_MEMBERS
        # A connected pattern of a few pixels: its normal system solved once with its pixels
        # as right-hand sides, batched with the patterns of as many pixels (an inverse costs
        # about four such solves, and gathering it for each pixel more again).
        direct = first + np.flatnonzero(~shared & (connected | ~known)[first:last])
        if direct.size and band:
            split = _solve_banded(
                rows, patterns, direct, counts, order, ends, rhs,  # type: ignore[arg-type]
                columns, solution)
            connected[direct] = True
            connected[split] = False
        elif direct.size:
            # Over the dates where the rows allow (a scatter instead of a product per
            # pattern); the right-hand sides and the answers are mapped to and from them.
            normals = (_normal_matrices(design, patterns[:, direct], cache) if rows is None
                       else _date_normals(rows, patterns[:, direct]))
            sizes = counts[direct]
            for size in np.unique(sizes):
                group = sizes == size
                pixels = order[ends[direct[group]][:, None] - size + np.arange(size)]
                given = rhs[:, pixels] if rows is None else _dates_rhs(rows, rhs[:, pixels])
                solved = np.moveaxis(np.linalg.solve(normals[group], np.moveaxis(given, 0, 1)),
                                     1, 0)
                solution[:, columns[pixels]] = (solved if rows is None
                                                else _intervals_of(rows, solved))
            del normals
        inverted = first + np.flatnonzero(shared | ~connected[first:last])
        if inverted.size == 0:
            continue
        inverses = np.stack(_pattern_inverses(design, patterns[:, inverted],
                                              [keys[k] for k in inverted], connected[inverted],
                                              cache, rows))
        slot = np.full(last - first, -1)
        slot[inverted - first] = np.arange(inverted.size)
        for k in first + np.flatnonzero(shared):
            pixels = order[ends[k] - counts[k]:ends[k]]
            solution[:, columns[pixels]] = inverses[slot[k - first]] @ rhs[:, pixels]
        members = order[(ends[first - 1] if first else 0):ends[last - 1]]
        local = inverse[members] - first
        rare = ~shared[local] & ~connected[first:last][local]
        members, local = members[rare], slot[local[rare]]
        for offset in range(0, members.size, chunk):
            part = slice(offset, offset + chunk)
            solution[:, columns[members[part]]] = np.einsum(
                "nij,jn->in", inverses[local[part]], rhs[:, members[part]])


def _solve_banded(rows: IntervalRows, patterns: np.ndarray, direct: np.ndarray,
                  counts: np.ndarray, order: np.ndarray, ends: np.ndarray, rhs: np.ndarray,
                  columns: np.ndarray, solution: np.ndarray) -> np.ndarray:
    """Solve the pixels of the patterns ``direct`` with their normal matrices' banded
    Cholesky factors over the dates (:class:`.banded.BandedLaplacians`), a batch of patterns
    at a time, into ``solution[:, columns[pixels]]``; returns the patterns found split (a
    zero pivot), whose pixels are left to their pseudo-inverse.

    ``order``, ``ends`` and ``counts``: the pixels sorted by pattern, where each pattern's
    run of them ends, and its length (:func:`_solve_by_pattern`); ``rhs`` over the
    intervals, shape (n_intervals, n_pixels).
    """
    split = []
    for batch, factors in _banded_batches(rows, patterns, direct):
        sizes = counts[batch]
        which = np.repeat(np.arange(batch.size), sizes)  # each pixel's pattern in the batch
        runs = np.repeat(ends[batch] - sizes - (np.cumsum(sizes) - sizes), sizes)
        pixels = order[runs + np.arange(which.size)]
        series = factors.solve(_dates_rhs(rows, rhs[:, pixels]), which)
        good = factors.ok[which]
        solution[:, columns[pixels[good]]] = _intervals_of(rows, series[:, good])
        split.append(batch[~factors.ok])
    return np.concatenate(split)


def robust_refit(design: np.ndarray, phase: np.ndarray, weights: np.ndarray | None,
                 solution: np.ndarray, min_pairs: int, chunk: int,
                 regularisation: np.ndarray | None = None, iterations: int = 4,
                 tuning: float = 1.345) -> np.ndarray:
    """Iteratively reweighted least squares from a first solution (Huber weights).

    Per pixel, residuals larger than ``tuning`` times the pixel's robust residual scale
    (1.4826 x the median absolute residual, at least 0.1 rad) get weight ``scale / |r|``.

    Parameters
    ----------
    design, phase, weights, min_pairs, chunk, regularisation
        As for :func:`invert_pixels`.
    solution
        The first solution, shape (n_unknowns, n_pixels).

    Returns
    -------
    numpy.ndarray
        The refitted solution, same shape.
    """
    n_intervals = design.shape[1]
    base = np.ones(phase.shape) if weights is None else weights
    for _ in range(iterations):
        residual = np.abs(phase - design @ np.nan_to_num(solution[:n_intervals]))
        # Pixels without data are left out of the median (numpy warns on an all-NaN one,
        # and silencing it is not thread-safe: chunks are solved in threads); theirs is NaN.
        median = np.full(residual.shape[1], np.nan)
        some = np.isfinite(residual).any(axis=0)
        median[some] = np.nanmedian(residual[:, some], axis=0)
        scale = np.maximum(1.4826 * median, 0.1)
        cut = tuning * scale[None, :]
        huber = np.where(residual <= cut, 1.0, cut / np.maximum(residual, 1e-12))
        refit, _ = invert_pixels(design, phase, base * np.nan_to_num(huber, nan=1.0),
                                 min_pairs, chunk, regularisation)
        solution = np.where(np.isfinite(refit), refit, solution)
    return solution


def timeseries_from_velocity(velocity: np.ndarray, intervals: np.ndarray, scale: float = 1.0,
                             dtype: type = np.float64,
                             out: np.ndarray | None = None) -> np.ndarray:
    """Phase time series (first date at 0) from interval velocities.

    Parameters
    ----------
    velocity
        Shape (n_intervals, n_pixels), radians/year.
    intervals
        Shape (n_intervals,), years.
    scale
        Unit of the result per radian (e.g. mm per radian of LOS phase).
    dtype
        Of the result (float32: the outputs' precision, half the memory; sums of at most a
        few hundred terms, about 1e-6 relative).
    out
        Where to write it instead of a new array (shape and type as the result's).

    Returns
    -------
    numpy.ndarray
        Shape (n_intervals + 1, n_pixels), radians times ``scale``.
    """
    series = (np.empty((velocity.shape[0] + 1, velocity.shape[1]), dtype) if out is None
              else out)
    series[0] = 0.0
    for row, span in enumerate(intervals):  # (row by row: numpy's cumsum along rows is slow)
        np.multiply(velocity[row], span * scale, out=series[row + 1], casting="same_kind")
        series[row + 1] += series[row]
    return series


def linear_velocity(series: np.ndarray, years: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares linear rate of a time series and its standard deviation.

    Parameters
    ----------
    series
        Shape (n_dates, n_pixels), any unit (NaN columns stay NaN); float32 or float64, the
        result's precision.
    years
        Shape (n_dates,), decimal years.

    Returns
    -------
    (rate, rate_std)
        Unit per year, shape (n_pixels,) each.
    """
    t = years - years.mean()
    sxx = float(np.sum(t**2))
    t = t.astype(series.dtype)  # (products in the series' precision: BLAS)
    rate = (t @ series) / sxx
    residual = series - series.mean(axis=0)
    for row, offset in enumerate(t):  # (one row at a time: no second date x pixel array)
        residual[row] -= offset * rate
    dof = max(len(years) - 2, 1)
    rate_std = np.sqrt(np.einsum("ij,ij->j", residual, residual) / dof / sxx)
    return rate, rate_std


#: Bytes of one pass of :func:`temporal_coherence` over its residuals (float32, pairs x
#: pixels): about a core's L2 cache, where the seven passes over them stay (80 dates, 416
#: pairs: 10.3 against 11.2 ms per 8,192 pixels at twice this, 13.2 at four times).
COHERENCE_BYTES = 2**20

#: Most pixels :func:`temporal_coherence` handles at once (fewest: 256).
COHERENCE_COLUMNS = 4096


def temporal_coherence(design: np.ndarray, velocity: np.ndarray, phase: np.ndarray, *,
                       series: np.ndarray | None = None, spans: np.ndarray | None = None,
                       per_radian: float = 1.0, n_valid: np.ndarray | None = None,
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Temporal coherence (Pepe & Lanari 2006) and RMS of the phase residual, per pixel.

    In float32 (sums of at most a few thousand terms: about 1e-6 relative), a few thousand
    pixels at a time (:data:`COHERENCE_BYTES`). Where every row of the design is a pair over
    its intervals (:class:`IntervalRows`), a pair's modelled phase is the difference of two
    dates of the time series (two gathers, three times faster than the product with the
    design); the caller's time series is used where it has one and the design's rows are
    its interval spans (as :func:`design_matrix` makes them), else it is summed here.

    Parameters
    ----------
    design
        Shape (n_pairs, n_intervals).
    velocity
        Interval velocities, radians/year, shape (n_intervals, n_pixels), NaN where unsolved.
    phase
        Referenced phase, radians, shape (n_pairs, n_pixels), NaN where missing.
    series, spans, per_radian
        Optional: the time series of ``velocity`` over interval ``spans`` (years, shape
        (n_intervals,)), shape (n_intervals + 1, n_pixels), in ``per_radian`` units per
        radian (:func:`timeseries_from_velocity` with ``scale=per_radian``).
    n_valid
        Optional: pairs with finite phase per pixel, shape (n_pixels,) (counted otherwise).

    Returns
    -------
    (coherence, residual_rms)
        Shape (n_pixels,) each; residual RMS in radians. NaN where nothing was solved.
    """
    n_pairs, n_pixels = phase.shape
    rows = _interval_rows(design)
    pairs_over_intervals = bool(rows.structured.all())
    given = (series is not None and spans is not None and pairs_over_intervals
             and np.array_equal(design, (design != 0) * spans[None, :]))
    design32 = None if pairs_over_intervals else design.astype(np.float32)
    coherence = np.empty(n_pixels)
    rms = np.empty(n_pixels)
    step = _part_columns(COHERENCE_BYTES, 4 * n_pairs, COHERENCE_COLUMNS)
    width = min(step, n_pixels)
    whole = np.empty((design.shape[1] + 1, width), np.float32)
    other = np.empty((n_pairs, width), np.float32) if pairs_over_intervals else None
    known = np.empty((n_pairs, width), bool)
    for start in range(0, n_pixels, step):
        part = slice(start, min(start + step, n_pixels))
        columns = part.stop - start
        # An unsolved pixel's NaN velocity makes every residual NaN: no pair counts.
        if pairs_over_intervals:  # each pair's modelled phase: a difference of two dates
            if given:  # the caller's series, in radians
                dates = np.multiply(series[:, part], np.float32(1.0 / per_radian),  # type: ignore[index]
                                    out=whole[:, :columns], dtype=np.float32)
            else:  # summed here, over the column weights
                dates = timeseries_from_velocity(velocity[:, part], rows.weights,
                                                 dtype=np.float32, out=whole[:, :columns])
            residual = np.take(dates, rows.last, axis=0)
            residual -= np.take(dates, rows.first, axis=0, out=other[:, :columns],  # type: ignore[index]
                                mode="clip")  # (indices in range; "raise" buffers ``out``)
            if not given:
                residual *= rows.scale.astype(np.float32)[:, None]
        else:
            residual = design32 @ velocity[:, part].astype(np.float32)  # type: ignore[operator]
        np.subtract(phase[:, part], residual, out=residual, dtype=np.float32)
        present = np.equal(residual, residual, out=known[:, :columns])  # False where NaN
        count = (n_valid[part] if n_valid is not None
                 else np.count_nonzero(present, axis=0))
        _masked_copy(residual, present, residual)  # cos and sin run 4 times slower on NaN
        scratch = np.cos(residual)
        # Missing entries are 0 here: cos(0) = 1 is taken back out, sin(0) = 0 adds nothing.
        cos_sum = scratch.sum(axis=0) - (n_pairs - count)
        sin_sum = np.sin(residual, out=scratch).sum(axis=0)
        squares = np.square(residual, out=scratch).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            coherence[part] = np.hypot(cos_sum, sin_sum, dtype=np.float64) / count
            rms[part] = np.sqrt(squares / count, dtype=np.float64)
    unsolved = ~np.isfinite(velocity).all(axis=0)
    coherence[unsolved] = np.nan
    rms[unsolved] = np.nan
    return coherence, rms


_ROWS: dict[bytes, IntervalRows] = {}


def _interval_rows(design: np.ndarray) -> IntervalRows:
    """:meth:`IntervalRows.of`, kept for the last few designs (every chunk of a run asks)."""
    key = PatternCache.signature(design)
    found = _ROWS.get(key)
    if found is None:
        if len(_ROWS) >= 8:
            _ROWS.clear()
        found = _ROWS[key] = IntervalRows.of(design)
    return found


def coherence_weights(coherence: np.ndarray, looks: float) -> np.ndarray:
    """Inverse phase variance from coherence (Cramér-Rao bound), as MintPy's "var" weights."""
    gamma = np.clip(coherence, 0.05, 0.995)
    variance = (1.0 - gamma**2) / (2.0 * looks * gamma**2)
    return 1.0 / variance
