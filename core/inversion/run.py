"""Block-wise SBAS inversion of a stack into GeoTIFFs, under a memory budget.

:func:`invert_block` is a pure function of (stack, setup, window): an engine such as Dask can
schedule it per window; :func:`run_inversion` runs the blocks in turn and writes the outputs
into a staging folder, committed as a set once everything is written (:mod:`.commit`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np

from .. import strict_json
from ..blas import blas_threads, can_limit_blas, serial_blas
from ..cores import usable_cores
from ..dates import decimal_year, format_yyyymmdd
from ..errors import StackError
from ..memory import heap_policy
from ..plausible import VELOCITY_LIMIT_MM_YR
from ..stack import Stack
from ..stack_types import Window
from . import commit as output_set
from .network import date_components
from .options import InversionOptions, Weighting
from .scratch import TileRowScratch
from .solver import (
    PatternCache,
    bridge_rows,
    chunk_pixels,
    coherence_weights,
    design_matrix,
    interval_years,
    invert_pixels,
    linear_velocity,
    robust_refit,
    temporal_coherence,
    timeseries_from_velocity,
)
from .styles import write_velocity_style

logger = logging.getLogger(__name__)

OUTPUT_NAMES = ("velocity", "velocity_std", "timeseries", "temporal_coherence",
                "residual_rms", "n_pairs")


class InversionCancelledError(Exception):
    """The user cancelled; no output was left behind."""


@dataclass(frozen=True)
class InversionSetup:
    """Everything a block needs besides its window (small, picklable)."""

    pair_indices: tuple[int, ...]
    dates: tuple[date, ...]
    design: np.ndarray
    reference_values: np.ndarray | None  # None: not read yet (see with_reference)
    mm_per_radian: float
    options: InversionOptions
    pair_weights: np.ndarray | None = None  # soft selection: per kept pair


@dataclass
class InversionResult:
    """What an inversion wrote and what it noticed."""

    out_dir: Path
    files: dict[str, Path]
    n_pairs: int
    dates: list[date]
    reference_pixel: tuple[int, int]
    pixels_solved: int
    pixels_too_few_pairs: int
    pieces: list[list[date]]
    warnings: list[str] = field(default_factory=list)


def prepare(stack: Stack, keep: np.ndarray | None, options: InversionOptions,
            pair_weights: np.ndarray | None = None,
            read_reference: bool = True) -> InversionSetup:
    """Design matrix, dates and reference values for the kept pairs.

    With ``read_reference`` False, a user reference pixel's values are left for
    :func:`with_reference` to take from the block that holds the pixel (saving a pass over
    the files).

    Raises
    ------
    StackError
        With no kept pair, or a user reference pixel outside the grid or without data.
    """
    keep = stack.keep if keep is None else np.asarray(keep, dtype=bool)
    indices = tuple(int(i) for i in np.flatnonzero(keep))
    if not indices:
        raise StackError(stack.path, "no pair is kept: nothing to invert")
    pairs = [(stack.pairs[i].date1, stack.pairs[i].date2) for i in indices]
    dates = sorted({d for pair in pairs for d in pair})
    if options.reference_pixel is not None:
        row, col = options.reference_pixel
        if not (0 <= row < stack.grid.height and 0 <= col < stack.grid.width):
            raise StackError(stack.path, f"reference pixel ({row}, {col}) is outside the "
                                         f"{stack.grid.height} x {stack.grid.width} grid")
        values = _read_reference(stack, indices, (row, col)) if read_reference else None
    else:
        values = stack.reference_values[list(indices)]
    weights = None
    if pair_weights is not None:
        weights = np.clip(np.asarray(pair_weights, float)[list(indices)], 1e-6, None)
    design = design_matrix(dates, pairs)
    design.flags.writeable = False  # its signature is then hashed once per run, not per chunk
    return InversionSetup(
        pair_indices=indices,
        dates=tuple(dates),
        design=design,
        reference_values=values,
        mm_per_radian=-stack.wavelength_m / (4 * np.pi) * 1000.0,
        options=options,
        pair_weights=weights,
    )


def _read_reference(stack: Stack, indices: tuple[int, ...],
                    pixel: tuple[int, int]) -> np.ndarray:
    window = Window(pixel[0], pixel[1], 1, 1)
    with ThreadPoolExecutor(max_workers=min(4, usable_cores())) as pool:
        values = np.array(list(pool.map(
            lambda i: stack.read_phase(i, window, referenced=False)[0, 0], indices)),
            dtype=float)
    return _checked_reference(stack, indices, pixel, values)


def _checked_reference(stack: Stack, indices: tuple[int, ...], pixel: tuple[int, int],
                       values: np.ndarray) -> np.ndarray:
    """The values, or StackError naming the pairs without data at the reference pixel."""
    if not np.isfinite(values).all():
        missing = [stack.pairs[i].pair_id for i, v in zip(indices, values)
                   if not np.isfinite(v)]
        raise StackError(stack.path, f"reference pixel ({pixel[0]}, {pixel[1]}) has no data "
                                     f"in {len(missing)} kept pair(s), e.g. "
                                     f"{', '.join(missing[:3])}; choose another")
    return values


def with_reference(stack: Stack, setup: InversionSetup, window: Window | None = None,
                   phase: np.ndarray | None = None) -> InversionSetup:
    """The setup with its reference values: unchanged where known, else taken from a block's
    unreferenced phase (:func:`read_block`) where ``window`` holds the reference pixel, else
    read from the files.

    Raises
    ------
    StackError
        If the reference pixel has no data in some kept pair.
    """
    if setup.reference_values is not None:
        return setup
    row, col = setup.options.reference_pixel  # type: ignore[misc]
    if window is not None and phase is not None and \
            window.row <= row < window.row + window.rows and \
            window.col <= col < window.col + window.cols:
        index = (row - window.row) * window.cols + (col - window.col)
        values = _checked_reference(stack, setup.pair_indices, (row, col),
                                    phase[:, index].astype(float))
    else:
        values = _read_reference(stack, setup.pair_indices, (row, col))
    return replace(setup, reference_values=values)


#: Share of the memory budget for the arrays of a block.
BLOCK_SHARE = 0.5
#: Share for what the solve keeps for the whole run (:class:`~.solver.PatternCache`: pattern
#: inverses, and a quarter more for whether patterns connect every date); the rest is for the
#: solve's chunks.
PATTERN_CACHE_SHARE = 0.05


#: Blocks a stack is at least cut into where its tiles allow: the first block's read and the
#: last block's solve are the only ones not overlapped with the other.
MIN_BLOCKS = 4


def block_windows(stack: Stack, setup: InversionSetup) -> list[Window]:
    """The windows the stack is inverted in, row by row, so that two blocks' arrays (one
    solved while the next is read) take at most ``BLOCK_SHARE`` of the budget.

    Per pixel: the phase (float32) [and weights] per pair, the time series (float32) per
    date and the single-band outputs, these twice (a block's outputs are written while the
    next is solved). Windows are made of whole tiles (or strips) of the rasters, so that no
    compressed tile is decoded twice: whole tile rows where the budget allows, else one tile
    row high and as many whole tiles across as fit; at least :data:`MIN_BLOCKS` of them where
    the tiles allow, so that reading and solving overlap. Rasters of unknown layout:
    full-width bands of rows. Below one tile of every pair, bands of rows within each tile
    row, read through :class:`.scratch.TileRowScratch`.
    """
    n_pairs, n_dates = len(setup.pair_indices), len(setup.dates)
    per_pixel = 4 * n_pairs + 2 * (4 * n_dates + 48)
    if setup.options.weighting is Weighting.COHERENCE:
        per_pixel += 4 * n_pairs
    budget = setup.options.memory_gb * 1024**3 * BLOCK_SHARE / 2
    height, width = stack.grid.height, stack.grid.width
    pixels = max(1, int(budget // per_pixel))
    tile_rows, tile_cols = stack.tile_shape()
    tile_rows, tile_cols = min(tile_rows, height), min(tile_cols, width)
    down, across = -(-height // tile_rows), -(-width // tile_cols)
    tiles = max(1, min(pixels // (tile_rows * tile_cols), -(-down * across // MIN_BLOCKS)))
    if tile_rows * tile_cols > pixels and tile_rows > 1:
        # Not one tile in the budget: bands of rows within each tile row, read through a
        # scratch file where each tile is decoded once (:mod:`.scratch`).
        rows = max(1, pixels // width)
        return [Window(r, 0, min(rows, top + tile_rows - r, height - r), width)
                for top in range(0, height, tile_rows)
                for r in range(top, min(top + tile_rows, height), rows)]
    if tiles >= across:
        rows, cols = tiles // across * tile_rows, width
    else:
        rows, cols = tile_rows, tiles * tile_cols
    return [Window(r, c, min(rows, height - r), min(cols, width - c))
            for r in range(0, height, rows) for c in range(0, width, cols)]


#: Budget that each solve worker beyond the first needs: a second worker (its own allocator
#: arena and BLAS buffers) added about 180 MiB of resident memory here (80 dates, 416 pairs,
#: a 208 MiB budget: 499 MiB peak instead of 320).
MIB_PER_EXTRA_WORKER = 512


def solve_workers(memory_gb: float) -> int:
    """Threads that solve a block's chunks: one per core (at most 8) as far as the memory
    budget allows (:data:`MIB_PER_EXTRA_WORKER`), or 1 where the BLAS thread count cannot be
    limited (unless the BLAS runs no threads of its own: :func:`.blas.serial_blas`).
    ``SBAS_SOLVE_WORKERS`` overrides it."""
    override = os.environ.get("SBAS_SOLVE_WORKERS")
    if override:
        return max(1, int(override))
    affordable = 1 + int(memory_gb * 1024 // MIB_PER_EXTRA_WORKER)
    parallel = can_limit_blas() or serial_blas()
    return max(1, min(8, usable_cores(), affordable)) if parallel else 1


def solve_chunks(setup: InversionSetup) -> tuple[int, int]:
    """Pixels solved at once within a block, and pixels whose per-pattern matrices are held at
    once (:func:`chunk_pixels`), each from half the rest of the budget; the first allows about
    32 bytes of temporaries per pair and pixel."""
    budget = setup.options.memory_gb * 1024**3 * (1 - BLOCK_SHARE - PATTERN_CACHE_SHARE) / 2
    n_pairs, n_intervals = len(setup.pair_indices), len(setup.dates) - 1
    per_pixel = 32 * n_pairs + (24 * n_pairs if setup.options.bridge_gaps else 0)
    return int(max(256, budget // per_pixel)), chunk_pixels(n_intervals, budget)


def invert_block(stack: Stack, setup: InversionSetup, window: Window) -> dict[str, np.ndarray]:
    """Invert one window; every output has shape (window.rows, window.cols) (time series:
    (n_dates, rows, cols)), NaN where not solved.

    The window's rasters are read once (:func:`read_block`); the solve runs over chunks of its
    pixels so that its temporaries stay within the budget (:func:`solve_block`).
    """
    phase, weights = read_block(stack, setup, window)
    return solve_block(with_reference(stack, setup, window, phase), window, phase, weights)


def splits_tiles(stack: Stack, windows: list[Window]) -> int:
    """The rows of a tile row where some window holds only part of a tile row (read those
    through :class:`.scratch.TileRowScratch`), else 0."""
    tile_rows = min(stack.tile_shape()[0], stack.grid.height)
    if tile_rows <= 1:
        return 0
    split = any(w.row % tile_rows or ((w.row + w.rows) % tile_rows
                                      and w.row + w.rows != stack.grid.height)
                for w in windows)
    return tile_rows if split else 0


def read_block(stack: Stack, setup: InversionSetup, window: Window,
               buffer: np.ndarray | None = None,
               scratch: TileRowScratch | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Unreferenced phase of the kept pairs in a window, radians, float32, shape
    (n_kept_pairs, rows x cols), and the coherence weights (same shape) when weighting asks
    for them.

    ``buffer`` (float32, flat, at least :func:`block_floats` long) is used for both instead of
    new arrays: a run reuses two, and saves the page faults of fresh memory every block.
    ``scratch`` reads the window from tile rows decoded once (blocks smaller than a tile row).
    """
    n_pixels = window.rows * window.cols
    shape = (len(setup.pair_indices), n_pixels)
    weighted = setup.options.weighting is Weighting.COHERENCE
    if weighted and not stack.has_coherence:
        raise StackError(stack.path, "coherence weighting needs coherence, which this "
                                     "stack does not have")
    if buffer is None:
        buffer = np.empty(block_floats(setup, window), dtype=np.float32)
    size = shape[0] * shape[1]
    phase = buffer[:size].reshape(shape)
    weights = buffer[size:2 * size].reshape(shape) if weighted else None
    if scratch is not None:
        scratch.read(window, phase, weights)
        return phase, weights

    def read(k: int) -> None:
        index = setup.pair_indices[k]
        stack.read_phase(index, window, referenced=False,
                         out=phase[k].reshape(window.rows, window.cols))
        if weights is not None:
            weights[k] = coherence_weights(stack.read_coherence(index, window).ravel(),
                                           setup.options.looks)

    # GDAL decodes with the GIL released: a few threads overlap decompression and I/O.
    with ThreadPoolExecutor(max_workers=min(4, usable_cores())) as pool:
        list(pool.map(read, range(len(setup.pair_indices))))
    return phase, weights


def block_floats(setup: InversionSetup, window: Window) -> int:
    """float32 values :func:`read_block` holds for a window (phase [and weights])."""
    weighted = setup.options.weighting is Weighting.COHERENCE
    return len(setup.pair_indices) * window.rows * window.cols * (2 if weighted else 1)


def new_cache(setup: InversionSetup) -> PatternCache:
    """Where the solve keeps what it reuses across chunks and blocks, within its share of the
    budget (:data:`PATTERN_CACHE_SHARE`)."""
    return PatternCache(setup.options.memory_gb * 1024**3 * PATTERN_CACHE_SHARE)


def solve_block(setup: InversionSetup, window: Window, phase: np.ndarray,
                weights: np.ndarray | None,
                cache: PatternCache | None = None, *,
                workers: int | None = None) -> dict[str, np.ndarray]:
    """Invert a block read by :func:`read_block` (its phase is referenced in place), chunk by
    chunk of its pixels (:func:`solve_chunks`); outputs as :func:`invert_block`.

    ``cache`` (:func:`new_cache`) carries matrices from one block to the next; the outputs
    are the same without it. ``workers``: threads that solve the chunks (default
    :func:`solve_workers`); it also sets the chunks, so a block solved elsewhere
    (:mod:`.distributed`) passes the count this machine would use, and its pixels are solved
    in the same chunks."""
    phase -= setup.reference_values[:, None].astype(np.float32)  # type: ignore[index]
    n_pixels = window.rows * window.cols
    n_dates = len(setup.dates)
    out: dict[str, np.ndarray] = {
        name: np.empty((n_dates, n_pixels) if name == "timeseries" else n_pixels,
                       dtype=np.uint16 if name == "n_pairs" else np.float32)
        for name in OUTPUT_NAMES + (("bridge_shift",) if setup.options.bridge_gaps else ())}
    step, chunk = solve_chunks(setup)
    # Chunks are solved by one worker per core, each with a single-threaded BLAS (numpy's
    # batched linear algebra and gathers run in one thread and release the GIL); each worker
    # gets its share of the budget.
    workers = workers or solve_workers(setup.options.memory_gb)
    step, chunk = max(256, step // workers), max(256, chunk // workers)
    # As many chunks as a multiple of the workers, of equal size: no worker left alone with a
    # remainder at the end.
    rounds = -(-n_pixels // (step * workers))
    step = max(1, -(-n_pixels // (rounds * workers)))
    cache = cache if cache is not None else new_cache(setup)

    def solve(start: int) -> None:
        part = slice(start, min(start + step, n_pixels))
        series = out["timeseries"][:, part]
        solved = _invert_columns(setup, phase[:, part],
                                 None if weights is None else weights[:, part], chunk, cache,
                                 series)
        for name, values in solved.items():
            if values is not series:
                out[name][..., part] = values

    starts = range(0, n_pixels, step)
    # One BLAS thread, with one worker too: BLAS's own threads, idle between the many small
    # products, spin (one worker on the 80-date stack: 2.5-3.2 s of system time per solve).
    with blas_threads(1):
        if workers == 1 or len(starts) == 1:
            for start in starts:
                solve(start)
        else:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(solve, starts))
    shape = (window.rows, window.cols)
    return {name: values.reshape((n_dates, *shape) if name == "timeseries" else shape)
            for name, values in out.items()}


def _invert_columns(setup: InversionSetup, phase: np.ndarray, weights: np.ndarray | None,
                    chunk: int, cache: PatternCache | None = None,
                    series: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Invert referenced phase of shape (n_kept_pairs, n_pixels); outputs flat per pixel.

    ``series``: where the time series (mm, float32, shape (n_dates, n_pixels)) is written
    (the block's output itself: no chunk-sized copy of it, in memory fresh from the system,
    to copy again), else a new array."""
    design, observed = setup.design, phase
    if setup.pair_weights is not None:  # soft selection: rows scaled by sqrt(weight)
        root = np.sqrt(setup.pair_weights)
        design = design * root[:, None]
        observed = phase * root[:, None].astype(np.float32)
    options = setup.options
    n_intervals = len(setup.dates) - 1
    years = np.array([decimal_year(d) for d in setup.dates])
    intervals = interval_years(list(setup.dates))
    regularisation = (bridge_rows(list(setup.dates), options.bridge_weight,
                                  options.bridge_seasonal) if options.bridge_gaps else None)
    solution, n_used = invert_pixels(design, observed, weights, options.min_pairs,
                                     chunk=chunk, regularisation=regularisation, cache=cache)
    if options.robust:
        solution = robust_refit(design, observed, weights, solution, options.min_pairs, chunk,
                                regularisation)
    velocity = solution[:n_intervals]
    series_mm = timeseries_from_velocity(velocity, intervals, setup.mm_per_radian, np.float32,
                                         out=series)
    rate, rate_std = linear_velocity(series_mm, years)
    coherence_t, rms = temporal_coherence(
        setup.design, velocity, phase, series=series_mm, spans=intervals,
        per_radian=setup.mm_per_radian, n_valid=n_used if weights is None else None)
    extra = {}
    if options.bridge_gaps:  # how far the bridge moved the result
        plain, _ = invert_pixels(design, observed, weights, options.min_pairs, chunk=chunk,
                                 cache=cache)
        plain_rate, _ = linear_velocity(
            timeseries_from_velocity(plain, intervals, setup.mm_per_radian, np.float32), years)
        extra["bridge_shift"] = rate - plain_rate
    return {
        **extra,
        "velocity": rate,
        "velocity_std": rate_std,
        "timeseries": series_mm,
        "temporal_coherence": coherence_t,
        "residual_rms": rms * abs(setup.mm_per_radian),
        "n_pairs": n_used,
    }


def _drop_implausible(block: dict[str, np.ndarray]) -> int:
    """Set to NaN, in every output of a block, the pixels whose velocity is beyond
    :data:`~..plausible.VELOCITY_LIMIT_MM_YR` (driven by corrupt phase); returns how many."""
    with np.errstate(invalid="ignore"):
        bad = np.abs(block["velocity"]) > VELOCITY_LIMIT_MM_YR
    count = int(bad.sum())
    if count:
        for name, values in block.items():
            if name == "n_pairs":  # (the pairs were there: the count stays)
                continue
            if values.ndim == 3:
                values[:, bad] = np.nan
            else:
                values[bad] = np.nan
    return count


def _compression(driver) -> list[str]:
    """GTiff creation options of the fastest compression this GDAL build offers."""
    if "ZSTD" in (driver.GetMetadataItem("DMD_CREATIONOPTIONLIST") or ""):
        return ["COMPRESS=ZSTD", "ZSTD_LEVEL=1"]
    return ["COMPRESS=DEFLATE", "ZLEVEL=1"]


class _Outputs:
    """The output GeoTIFFs, written into a staging folder (:mod:`.commit`) until the set is
    committed."""

    UNITS: ClassVar[dict[str, str]] = {
        "velocity": "mm/yr", "velocity_std": "mm/yr", "timeseries": "mm",
        "temporal_coherence": "1", "residual_rms": "mm", "n_pairs": "count",
        "bridge_shift": "mm/yr"}
    DESCRIPTIONS: ClassVar[dict[str, str]] = {
        "velocity": "LOS velocity, positive toward the satellite",
        "velocity_std": "standard deviation of the LOS velocity",
        "timeseries": "LOS displacement since the first date, positive toward the satellite",
        "temporal_coherence": "temporal coherence of the inversion",
        "residual_rms": "RMS of the phase residual, as LOS displacement",
        "n_pairs": "number of pairs used",
        "bridge_shift": "velocity change made by the gap bridge (bridged - minimum norm)",
    }

    def __init__(self, out_dir: Path, staging: Path, stack: Stack, dates: tuple[date, ...],
                 names: tuple[str, ...] = OUTPUT_NAMES) -> None:
        from osgeo import gdal

        gdal.UseExceptions()
        self.out_dir = out_dir
        self.staging = staging
        self.names = names
        self.final = {name: out_dir / f"{name}.tif" for name in names}
        self.temporary = {name: staging / f"{name}.tif" for name in names}
        self.datasets = {}
        driver = gdal.GetDriverByName("GTiff")
        grid = stack.grid
        # Fast compression: writing must not cost more than reading. ZSTD level 1 where GDAL
        # has it (3x faster than DEFLATE level 1 here, same size: float phase compresses by
        # ~18% either way), else DEFLATE level 1. Bands stored apart (INTERLEAVE=BAND): each
        # band is written window by window, and a pixel-interleaved compressed tile would have
        # to be read back and rewritten.
        options = ["TILED=YES", *_compression(driver), "INTERLEAVE=BAND", "BIGTIFF=IF_SAFER",
                   f"NUM_THREADS={min(4, usable_cores())}"]
        for name in names:
            bands = len(dates) if name == "timeseries" else 1
            data_type = gdal.GDT_UInt16 if name == "n_pairs" else gdal.GDT_Float32
            dataset = driver.Create(str(self.temporary[name]), grid.width, grid.height, bands,
                                    data_type, options)
            dataset.SetGeoTransform(list(grid.geotransform))
            if grid.crs_wkt:
                dataset.SetProjection(grid.crs_wkt)
            dataset.SetMetadata({"UNITS": self.UNITS[name], "QUANTITY": self.DESCRIPTIONS[name],
                                 "REFERENCE_DATE": format_yyyymmdd(dates[0])})
            for b in range(bands):
                band = dataset.GetRasterBand(b + 1)
                if name != "n_pairs":
                    band.SetNoDataValue(float("nan"))
                band.SetDescription(format_yyyymmdd(dates[b]) if name == "timeseries" else name)
                band.SetUnitType(self.UNITS[name])
            self.datasets[name] = dataset

    #: Tile size of the outputs (GTiff's default for TILED=YES).
    TILE = 256

    #: Time-series values of a block from which its single-band rasters are written in a
    #: thread of their own (below, a thread costs about what it saves).
    SPLIT_VALUES = 2**20

    def write(self, window: Window, block: dict[str, np.ndarray], flush: bool = False) -> None:
        """Write a block's outputs at its window; with ``flush``, compress and write its
        tiles now (only for windows of whole output tiles: see :meth:`whole_tiles`).

        The time series in one thread, the single-band rasters in another (GDAL writes and
        compresses with the GIL released): the last block's writing is what a run waits for
        after its last solve."""
        def write_one(name: str) -> None:
            dataset = self.datasets[name]
            values = block[name]
            if values.ndim == 2:
                values = values[None]
            for b in range(values.shape[0]):
                dataset.GetRasterBand(b + 1).WriteArray(
                    values[b].astype(np.uint16 if name == "n_pairs" else np.float32, copy=False),
                    window.col, window.row)
            if flush:
                dataset.FlushCache()

        def write_all(names: list[str]) -> None:
            for name in names:
                write_one(name)

        series = [name for name in self.datasets if block[name].ndim == 3]
        single = [name for name in self.datasets if block[name].ndim != 3]
        if not series or not single or block[series[0]].size < self.SPLIT_VALUES:
            write_all(series + single)
            return
        with ThreadPoolExecutor(max_workers=1) as other:
            done = other.submit(write_all, single)
            write_all(series)
            done.result()

    @classmethod
    def whole_tiles(cls, windows: list[Window], height: int, width: int) -> bool:
        """Whether every window is made of whole output tiles (a flushed tile is never
        written again: a compressed tile rewritten would leave its old bytes in the file)."""
        return all(w.row % cls.TILE == 0 and w.col % cls.TILE == 0
                   and (w.rows % cls.TILE == 0 or w.row + w.rows == height)
                   and (w.cols % cls.TILE == 0 or w.col + w.cols == width) for w in windows)

    def _close(self) -> None:
        for dataset in self.datasets.values():
            dataset.FlushCache()
        self.datasets = {}

    def close(self) -> dict[str, Path]:
        """Flush and close the rasters; their final paths (valid once committed)."""
        self._close()
        return dict(self.final)

    def abort(self) -> None:
        self.datasets = {}
        output_set.discard(self.staging)


class BlockEngine(Protocol):
    """Something that solves an inversion's blocks elsewhere, e.g. on a Dask cluster
    (:class:`.distributed.DaskBlocks`)."""

    def blocks(self, stack: Stack, setup: InversionSetup, windows: list[Window],
               cancelled: Callable[[], bool] | None
               ) -> Generator[tuple[Window, dict[str, np.ndarray]], None, None]:
        """Every window with its outputs as :func:`invert_block` gives them, in any order;
        raises :class:`InversionCancelledError` when ``cancelled`` says so between blocks."""
        ...


def memory_settings(stack: Stack, setup: InversionSetup) -> tuple[int, bool]:
    """GDAL's block cache (5% of RAM by default, counted against the budget too) at most,
    bytes; and whether freed arrays must go back to the system (:func:`heap_policy`):
    where the kept phase is larger than the budget (not otherwise: fresh pages for every large
    array cost time). The same here and on a Dask worker (:mod:`.distributed`)."""
    budget = setup.options.memory_gb * 1024**3
    stack_bytes = 4.0 * len(setup.pair_indices) * stack.grid.height * stack.grid.width
    return int(max(8 * 2**20, 0.1 * budget)), stack_bytes > budget


def run_inversion(
    stack: Stack,
    out_dir: str | Path,
    *,
    keep: np.ndarray | None = None,
    options: InversionOptions | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    pair_weights: np.ndarray | None = None,
    cluster: BlockEngine | None = None,
) -> InversionResult:
    """Invert the kept pairs of a stack block by block and write the outputs to ``out_dir``.

    Parameters
    ----------
    keep
        Which pairs to use, shape (n_pairs,); default ``stack.keep`` (e.g. MintPy's
        ``dropIfgram``).
    progress
        Called with (blocks done, blocks in all).
    cancelled
        Polled between blocks; when it returns True, the partial outputs are removed and
        :class:`InversionCancelledError` raised.
    pair_weights
        Soft selection: a weight per pair, shape (n_pairs,) (e.g. the model's probability of
        high quality), multiplying each kept pair's weight.
    cluster
        Solve the blocks there instead of here in turn (:mod:`.distributed`: a Dask
        cluster); ``options.memory_gb`` is then the budget of one block's task on a worker.
        The outputs are the same as this machine's with that budget.

    Returns
    -------
    InversionResult
        Files written: ``velocity.tif`` (mm/yr), ``velocity_std.tif``, ``timeseries.tif`` (mm,
        one band per date), ``temporal_coherence.tif``, ``residual_rms.tif`` (mm),
        ``n_pairs.tif``, ``velocity.qml`` and ``inversion.json``.
    """
    options = options or InversionOptions()
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / ".write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StackError(out_dir, f"output folder is not writable ({exc.strerror or exc})") \
            from exc
    for done_before in output_set.recover(out_dir):
        logger.warning("%s", done_before)
    setup = prepare(stack, keep, options, pair_weights, read_reference=False)
    pairs = [(stack.pairs[i].date1, stack.pairs[i].date2) for i in setup.pair_indices]
    pieces = date_components(list(setup.dates), pairs)
    warnings: list[str] = []
    if len(pieces) > 1:
        cut = [d for piece in pieces[1:] for d in piece]
        how = ("bridged by a linear temporal model" if options.bridge_gaps
               else "minimum-norm inversion: no motion is assumed across the gaps")
        warnings.append(
            f"the kept pairs split the network into {len(pieces)} pieces; dates cut off from "
            f"the main piece: {', '.join(d.isoformat() for d in cut[:10])}"
            + (" …" if len(cut) > 10 else "") + f" ({how})")
    missing_dates = sorted(set(stack.dates) - set(setup.dates))
    if missing_dates:
        warnings.append(f"{len(missing_dates)} date(s) have no kept pair and are left out: "
                        + ", ".join(d.isoformat() for d in missing_dates[:10]))
    from osgeo import gdal

    cache_bytes, return_freed = memory_settings(stack, setup)
    previous_cache = gdal.GetCacheMax()
    gdal.SetCacheMax(max(8 * 2**20, min(previous_cache, cache_bytes)))
    windows = block_windows(stack, setup)
    sample_step = max(1, stack.grid.height * stack.grid.width // 200_000)
    if options.reference_pixel is not None:  # its block first: it gives the reference values
        row, col = options.reference_pixel
        first = next(k for k, w in enumerate(windows)
                     if w.row <= row < w.row + w.rows and w.col <= col < w.col + w.cols)
        windows.insert(0, windows.pop(first))
    names = OUTPUT_NAMES + (("bridge_shift",) if options.bridge_gaps else ())
    solved = too_few = implausible = 0
    velocity_sample: list[np.ndarray] = []
    # One block is read (GDAL decodes with the GIL released) while the previous one is solved
    # and the one before is written (compressed).
    prefetch = ThreadPoolExecutor(max_workers=1)
    writer = ThreadPoolExecutor(max_workers=1)
    written: Future | None = None
    cache = new_cache(setup)
    outputs: _Outputs | None = None
    scratch: TileRowScratch | None = None
    blocks: Generator[tuple[Window, dict[str, np.ndarray]], None, None] | None = None
    held = ExitStack()  # what is given back when the run ends, however it ends
    held.enter_context(heap_policy(return_freed))
    try:
        # Two buffers in turn: one read into while the other's block is solved.
        floats = max(block_floats(setup, w) for w in windows)
        buffers = ([np.empty(floats, dtype=np.float32) for _ in range(min(2, len(windows)))]
                   if cluster is None else [])
        tile_rows = splits_tiles(stack, windows) if cluster is None else 0
        # The first block is read while the output rasters are created (unless it is read
        # through a scratch file, which lives beside them).
        first_read = (prefetch.submit(read_block, stack, setup, windows[0], buffers[0])
                      if cluster is None and not tile_rows else None)
        outputs = _Outputs(out_dir, output_set.staging_folder(out_dir), stack, setup.dates,
                           names)
        if tile_rows:
            scratch = TileRowScratch(
                stack, setup.pair_indices, tile_rows, outputs.staging,
                (lambda index, band: coherence_weights(stack.read_coherence(index, band),
                                                       options.looks))
                if options.weighting is Weighting.COHERENCE else None)

        def blocks_here() -> Generator[tuple[Window, dict[str, np.ndarray]], None, None]:
            nonlocal setup
            pending = first_read or prefetch.submit(read_block, stack, setup, windows[0],
                                                    buffers[0], scratch)
            for done, window in enumerate(windows):
                if cancelled is not None and cancelled():
                    raise InversionCancelledError
                data = pending.result()
                setup = with_reference(stack, setup, window, data[0])
                if done + 1 < len(windows):
                    pending = prefetch.submit(read_block, stack, setup, windows[done + 1],
                                              buffers[(done + 1) % 2], scratch)
                block = solve_block(setup, window, *data, cache=cache)
                del data
                yield window, block

        blocks = (blocks_here() if cluster is None
                  else cluster.blocks(stack, setup, windows, cancelled))
        # Blocks of whole output tiles are compressed as they are written, while the next
        # block is solved, rather than all at the end.
        flush = _Outputs.whole_tiles(windows, stack.grid.height, stack.grid.width)
        for done, (window, block) in enumerate(blocks):
            implausible += _drop_implausible(block)
            if written is not None:
                written.result()
            written = writer.submit(outputs.write, window, block, flush)
            finite = np.isfinite(block["velocity"])
            solved += int(finite.sum())
            too_few += int(((block["n_pairs"] < options.min_pairs)).sum())
            # Every pixel up to ~200k in all: the colour ramp must see small fast bowls.
            velocity_sample.append(block["velocity"][finite][::sample_step])
            if progress is not None:
                progress(done + 1, len(windows))
        if written is not None:
            written.result()
        if scratch is not None:  # its disk space back before the outputs are committed
            scratch.close()
            scratch = None
        files = outputs.close()
        if too_few and options.min_pairs <= 1:
            warnings.append(f"{too_few} pixel(s) have no data in any kept pair and are left "
                            "NaN")
        elif too_few:
            warnings.append(f"{too_few} pixel(s) have fewer than {options.min_pairs} valid "
                            "pairs and are left NaN")
        if implausible:
            warnings.append(f"{implausible} pixel(s) had a velocity beyond "
                            f"{VELOCITY_LIMIT_MM_YR:g} mm/yr, driven by corrupt phase in some "
                            "pair, and are left NaN: check the pairs' rasters")
        sample = np.concatenate(velocity_sample) if velocity_sample else np.zeros(0)
        write_velocity_style(outputs.staging / "velocity.qml", sample)
        files["style"] = out_dir / "velocity.qml"
        result = InversionResult(
            out_dir=out_dir, files=files, n_pairs=len(setup.pair_indices),
            dates=list(setup.dates),
            reference_pixel=options.reference_pixel or stack.reference_pixel,
            pixels_solved=solved, pixels_too_few_pairs=too_few, pieces=pieces,
            warnings=warnings)
        summary = {
            "stack": str(stack.path), "n_pairs": result.n_pairs,
            "pairs": [stack.pairs[i].pair_id for i in setup.pair_indices],
            "dates": [format_yyyymmdd(d) for d in result.dates],
            "reference_pixel": list(result.reference_pixel),
            "weighting": options.weighting.value, "min_pairs": options.min_pairs,
            "bridge_gaps": options.bridge_gaps, "robust": options.robust,
            "soft_weights": pair_weights is not None,
            "pixels_solved": solved, "pixels_too_few_pairs": too_few,
            "pieces": [[format_yyyymmdd(d) for d in piece] for piece in pieces],
            "warnings": warnings,
        }
        (outputs.staging / "inversion.json").write_text(strict_json.dumps(summary, indent=2),
                                                        encoding="utf-8")
        files["summary"] = out_dir / "inversion.json"
        output_set.commit(outputs.staging, out_dir)
    except BaseException as exc:
        if outputs is not None:
            outputs.abort()
        if isinstance(exc, (OSError, RuntimeError)):  # GDAL and the file system: disk full...
            text = (exc.strerror if isinstance(exc, OSError) and exc.strerror
                    else str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc))
            raise StackError(out_dir, f"cannot write the outputs ({text}); the previous "
                                      "outputs, if any, are unchanged") from exc
        raise
    finally:
        if blocks is not None:
            blocks.close()
        prefetch.shutdown(wait=True, cancel_futures=True)
        writer.shutdown(wait=True, cancel_futures=True)
        if scratch is not None:
            scratch.close()
        gdal.SetCacheMax(previous_cache)
        held.close()
    for warning in warnings:
        logger.warning("%s", warning)
    return result
