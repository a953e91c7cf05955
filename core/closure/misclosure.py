"""Whole-cycle misclosure of every closed triplet, per pixel, kept compactly for attribution."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from ..repairs import TWO_PI
from .params import CHUNK_PIXELS, INTEGER_TOLERANCE, SMOOTH_BLOCK, THREADS, TRIPLET_CHUNK
from .phase_access import PhaseAccess


def _block_mean(values: np.ndarray, block: int) -> np.ndarray:
    """NaN-aware mean over ``block`` x ``block`` tiles, broadcast back to the input's shape.

    ``values`` has shape (n, rows, cols)."""
    n, rows, cols = values.shape
    pad_r, pad_c = (-rows) % block, (-cols) % block
    padded = np.pad(values, ((0, 0), (0, pad_r), (0, pad_c)), constant_values=np.nan)
    tiles = padded.reshape(n, (rows + pad_r) // block, block, (cols + pad_c) // block, block)
    finite = np.isfinite(tiles)
    total = np.where(finite, tiles, 0.0).sum(axis=(2, 4))
    count = finite.sum(axis=(2, 4))
    mean = (total / np.maximum(count, 1)).astype(values.dtype)  # 0 where a tile is empty
    tile_rows = np.arange(rows) // block
    tile_cols = np.arange(cols) // block
    return mean[:, tile_rows[:, None], tile_cols[None, :]]


def _smooth_surface(residual: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A robust quadratic surface of each closure (orbital-like trends close badly in real
    stacks), fitted on a decimated grid with pixels far from it left out, radians, same shape
    as ``residual`` (n, rows, cols). Subtracted in place from ``residual``, which is
    returned."""
    n, rows, cols = residual.shape
    step = max(1, int(np.sqrt(rows * cols / 1024)))
    y = (np.arange(rows) / max(rows - 1, 1) - 0.5).astype(np.float32)
    x = (np.arange(cols) / max(cols - 1, 1) - 0.5).astype(np.float32)
    yc, xc = np.meshgrid(y[::step], x[::step], indexing="ij")
    coarse = np.stack([np.ones_like(yc), yc, xc, yc * yc, xc * xc, xc * yc],
                      axis=-1).reshape(-1, 6).astype(np.float64)
    for t in range(n):
        values = residual[t, ::step, ::step].reshape(-1)
        use = valid[t, ::step, ::step].reshape(-1)
        if use.sum() < 24:
            continue
        for _ in range(3):
            design = coarse[use]
            coefficients = np.linalg.lstsq(design.T @ design, design.T @ values[use],
                                           rcond=None)[0]
            misfit = np.abs(values - coarse @ coefficients)
            keep = use & (misfit < np.pi / 2)
            if keep.sum() < 24 or np.array_equal(keep, use):
                break
            use = keep
        c0, cy, cx, cyy, cxx, cxy = coefficients.astype(np.float32)
        # Separable: (c0 + cy y + cyy y^2) + (cx x + cxx x^2) + cxy y x.
        residual[t] -= (c0 + cy * y + cyy * y * y)[:, None]
        residual[t] -= (cx * x + cxx * x * x)[None, :]
        residual[t] -= cxy * np.outer(y, x)
    return residual


def integer_misclosure(closure: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Whole-cycle misclosure per pixel of a batch of triplet closures.

    The triplet's median, a robust quadratic trend and, locally, the block means of what is
    left (wrapped) are removed first: misclosures that are smooth or not whole cycles are not
    unwrapping errors.

    Parameters
    ----------
    closure
        ``phi_ij + phi_jk - phi_ik``, radians, shape (n_triplets, rows, cols), NaN missing.

    Returns
    -------
    cycles
        Integer cycles per pixel, int8, shape (n_triplets, rows, cols); 0 where the closure is
        not near a non-zero whole cycle or is missing.
    valid
        Pixels with data in all three pairs, bool, same shape.
    """
    valid = np.isfinite(closure)
    n = len(closure)
    median = np.zeros(n, dtype=np.float32)
    step = max(1, int(np.sqrt(closure.shape[1] * closure.shape[2] / 4096)))
    for t in range(n):
        sample = closure[t, ::step, ::step]  # the triplet's offset: a sample is enough
        sample = sample[np.isfinite(sample)]
        if sample.size == 0 and valid[t].any():
            sample = closure[t][valid[t]]
        if sample.size:
            median[t] = np.median(sample)
    residual = closure - median[:, None, None]
    residual = _smooth_surface(residual.astype(np.float32), valid)
    residual *= np.float32(1 / TWO_PI)  # cycles from here on; NaN stays NaN (never valid)
    wrapped = residual - np.rint(residual)
    residual -= _block_mean(wrapped, SMOOTH_BLOCK)
    cycles = np.rint(residual)
    with np.errstate(invalid="ignore"):
        integer = valid & (cycles != 0) & (np.abs(residual - cycles) < INTEGER_TOLERANCE)
    return np.where(integer, np.clip(cycles, -100, 100), 0).astype(np.int8), valid


def _drop_specks(cycles: np.ndarray, min_pixels: int) -> None:
    """Zero, in place, connected misclosed areas smaller than ``min_pixels`` (per triplet)."""
    flagged = cycles != 0
    rows_any = flagged.any(axis=2)
    cols_any = flagged.any(axis=1)
    for t in np.flatnonzero(rows_any.any(axis=1)):
        r = np.flatnonzero(rows_any[t])
        c = np.flatnonzero(cols_any[t])
        box = (t, slice(r[0], r[-1] + 1), slice(c[0], c[-1] + 1))  # only where it miscloses
        labels, count = ndimage.label(flagged[box])
        sizes = np.bincount(labels.ravel(), minlength=count + 1)
        small = sizes < min_pixels
        small[0] = False
        cycles[box][small[labels]] = 0


@dataclass(frozen=True)
class _Flagged:
    """One triplet's misclosed pixels and their cycles: flat indices (int32), or a packed mask
    where that is smaller (a triplet with a large error misclosing over much of a frame)."""

    size: int
    values: np.ndarray                 # int8 cycles, in flat index order
    where: np.ndarray | None = None    # int32 flat indices
    packed: np.ndarray | None = None   # the misclosed pixels, packed to bits

    @classmethod
    def of(cls, cycles: np.ndarray) -> _Flagged:
        """From one triplet's cycles over the whole grid, flat."""
        misclosed = cycles != 0
        values = cycles[misclosed].astype(np.int8)
        if len(values) * 32 > cycles.size:  # 4 bytes per index against 1 bit per pixel
            return cls(cycles.size, values, packed=np.packbits(misclosed))
        return cls(cycles.size, values, where=np.flatnonzero(misclosed).astype(np.int32))

    def indices(self) -> np.ndarray:
        if self.where is not None:
            return self.where
        return np.flatnonzero(np.unpackbits(self.packed, count=self.size))


@dataclass
class _Closures:
    """Every triplet's whole-cycle misclosure, kept compactly for the attribution passes.

    ``flagged`` holds each triplet's misclosed pixels sparsely; :meth:`gather` then lays out,
    densely, the misclosure at the pixels that the triplets the attribution uses misclose
    (``pixels``, ``cycles``, ``valid``): a pair with a large error misclosing over much of
    the grid is left out of the attribution, and its pixels need no column."""

    triplets: list[tuple[int, int, int]]
    shape: tuple[int, int]
    n_pairs: int
    flagged: dict[int, _Flagged]  # triplet -> its misclosed pixels
    misclosed: np.ndarray       # (n_triplets,) misclosed pixels
    valid_pixels: np.ndarray    # (n_triplets,) pixels with data
    misclosed_count: np.ndarray  # (rows, cols)
    triplet_count: np.ndarray    # (rows, cols)
    pixels: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    cycles: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int16))
    valid: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=bool))

    def gather(self, use: np.ndarray, phase: PhaseAccess) -> None:
        """Lay out the misclosure of every triplet (int16, shape (n_triplets, n_pixels)) and
        where it has data (bool, same shape) at the pixels misclosed in some triplet of
        ``use`` (flat indices, sorted): the columns of every attribution pass that uses
        triplets among those. A triplet has data at a pixel where its three pairs have."""
        used = [t for t in np.flatnonzero(use) if t in self.flagged]
        pixels = (np.unique(np.concatenate([self.flagged[t].indices() for t in used]))
                  if used else np.zeros(0, dtype=np.int64))
        cycles = np.zeros((len(self.triplets), len(pixels)), dtype=np.int16)
        valid = np.zeros((len(self.triplets), len(pixels)), dtype=bool)
        if len(pixels):
            column = np.full(self.shape[0] * self.shape[1], -1, dtype=np.int64)
            column[pixels] = np.arange(len(pixels))
            for t, flagged in self.flagged.items():
                where = column[flagged.indices()]
                inside = where >= 0
                cycles[t, where[inside]] = flagged.values[inside]
            pair_valid = phase.valid_at(pixels)
            a, b, c = (np.array(x) for x in zip(*self.triplets))
            valid = pair_valid[a] & pair_valid[b] & pair_valid[c]
        self.pixels, self.cycles, self.valid = pixels, cycles, valid


def _close_triplets(phase: PhaseAccess, triplets: list[tuple[int, int, int]],
                    min_patch_pixels: int, progress: Callable[[float], None] | None
                    ) -> _Closures:
    """Close every triplet (chunks of them at once, on :data:`THREADS` threads) and keep its
    whole-cycle misclosure compactly: only the pixels misclosed (:meth:`_Closures.gather`
    lays them out for the attribution)."""
    n = phase.n_pairs
    rows, cols = phase.shape
    misclosed_count = np.zeros((rows, cols), dtype=np.int16)
    triplet_count = np.zeros((rows, cols), dtype=np.int16)
    tri_misclosed = np.zeros(len(triplets), dtype=np.int64)
    tri_valid = np.zeros(len(triplets), dtype=np.int64)
    flagged: dict[int, _Flagged] = {}
    chunk_size = max(1, min(TRIPLET_CHUNK, int(CHUNK_PIXELS // max(rows * cols, 1))))
    starts = range(0, len(triplets), chunk_size)

    def close(start: int) -> tuple[np.ndarray, np.ndarray]:
        cycles, valid = integer_misclosure(phase.closures(triplets[start:start + chunk_size]))
        _drop_specks(cycles, min(3, min_patch_pixels))
        return cycles, valid

    # numpy and ndimage release the GIL: two chunks at a time (the classifier uses two threads
    # too); what waits to be tallied is small (int8 cycles and a bool mask per triplet).
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for start, (cycles, valid) in zip(starts, pool.map(close, starts)):
            count = len(cycles)
            misclosed_count += (cycles != 0).sum(axis=0, dtype=np.int16)
            triplet_count += valid.sum(axis=0, dtype=np.int16)
            flat = cycles.reshape(count, -1)
            tri_misclosed[start:start + count] = (flat != 0).sum(1)
            tri_valid[start:start + count] = valid.reshape(count, -1).sum(1)
            for k in np.flatnonzero(tri_misclosed[start:start + count]):
                flagged[start + int(k)] = _Flagged.of(flat[k])
            if progress:
                progress(0.8 * min(1.0, (start + count) / max(len(triplets), 1)))
    return _Closures(list(triplets), (rows, cols), n, flagged, tri_misclosed, tri_valid,
                     misclosed_count, triplet_count)
