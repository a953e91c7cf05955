"""The interferogram stack: dates, pairs, baselines, grid, and lazy windowed reads."""

from __future__ import annotations

import copy as _copy
import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from . import reference_cache
from .baselines import solve_date_baselines
from .cores import usable_cores
from .dates import format_yyyymmdd
from .errors import StackError
from .plausible import check_bperp, check_grid_size, check_wavelength
from .sources import RasterSource, read_into
from .stack_types import Grid, Pair, SkippedFile, Window

logger = logging.getLogger(__name__)

#: Sentinel-1 C-band radar wavelength, metres (speed of light / 5.405 GHz).
SENTINEL1_WAVELENGTH_M = 299_792_458.0 / 5.405e9

__all__ = ["SENTINEL1_WAVELENGTH_M", "Grid", "Pair", "SkippedFile", "Stack", "Window"]


class Stack:
    """An SBAS interferogram stack, read lazily window by window.

    Phase is returned in radians (float32, NaN where missing); coherence in 0..1. By default
    every pair's phase is referenced to one common pixel (``reference_pixel``), since products
    such as HyP3's each carry their own reference or a constant 2 pi k offset.

    Parameters
    ----------
    path
        What was opened (folder or file).
    format_name
        Reader that opened it: "hyp3", "mintpy", "licsbas" or "geotiff" (or "memory").
    pairs
        Interferograms, sorted by (date1, date2), ids unique.
    phase_sources, coherence_sources
        One source per pair; coherence may be None for a stack without it.
    grid
        Common raster grid.
    wavelength_m
        Radar wavelength, metres.
    reference_pixel
        (row, col) of the common reference pixel if the files define one; otherwise chosen on
        first use (valid in every pair, highest mean coherence).
    keep
        Initial keep (True) / drop (False) state per pair, e.g. MintPy's ``dropIfgram``.
    skipped
        Files the reader skipped, with reasons.
    warnings
        Non-fatal problems worth telling the user (missing baselines, assumed nodata...).
    metadata
        Format-specific facts (processor, baseline source, ...), JSON-serialisable.
    """

    def __init__(
        self,
        *,
        path: str | Path,
        format_name: str,
        pairs: Sequence[Pair],
        phase_sources: Sequence[RasterSource],
        coherence_sources: Sequence[RasterSource] | None,
        grid: Grid,
        wavelength_m: float,
        reference_pixel: tuple[int, int] | None = None,
        keep: Sequence[bool] | None = None,
        skipped: Sequence[SkippedFile] = (),
        warnings: Sequence[str] = (),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        order = sorted(range(len(pairs)), key=lambda i: (pairs[i].date1, pairs[i].date2))
        self.pairs: list[Pair] = [pairs[i] for i in order]
        ids = [p.pair_id for p in self.pairs]
        if len(set(ids)) != len(ids):
            raise ValueError("duplicate pairs in stack")
        if len(phase_sources) != len(pairs):
            raise ValueError("one phase source per pair is required")
        self._phase = [phase_sources[i] for i in order]
        self._coherence = (
            None if coherence_sources is None else [coherence_sources[i] for i in order]
        )
        self.path = Path(path)
        try:  # whatever the reader: no implausible number reaches the rest of the plugin
            self.wavelength_m = check_wavelength(wavelength_m)
            for pair in self.pairs:
                check_bperp(pair.bperp_m)
            check_grid_size(grid.width, grid.height)
        except ValueError as exc:
            raise StackError(self.path, str(exc)) from None
        self.format_name = format_name
        self.grid = grid
        self.keep = (
            np.ones(len(pairs), dtype=bool) if keep is None
            else np.asarray([keep[i] for i in order], dtype=bool)
        )
        self.skipped = list(skipped)
        self.warnings = list(warnings)
        self.metadata = dict(metadata or {})
        self._reference_pixel = reference_pixel
        self._reference_values: np.ndarray | None = None
        self.dates: list[date] = sorted({d for p in self.pairs for d in (p.date1, p.date2)})

    # ---- network -------------------------------------------------------------------------
    @property
    def n_pairs(self) -> int:
        return len(self.pairs)

    @property
    def n_dates(self) -> int:
        return len(self.dates)

    @property
    def pair_ids(self) -> list[str]:
        return [p.pair_id for p in self.pairs]

    @property
    def bperp_m(self) -> np.ndarray:
        """Perpendicular baseline of each pair, metres, shape (n_pairs,)."""
        return np.array([p.bperp_m for p in self.pairs], dtype=float)

    @property
    def days(self) -> np.ndarray:
        """Temporal baseline of each pair, days, shape (n_pairs,)."""
        return np.array([p.days for p in self.pairs], dtype=int)

    @property
    def date_bperp_m(self) -> np.ndarray:
        """Per-date perpendicular baseline solved from the pairs, metres, shape (n_dates,)."""
        return solve_date_baselines(
            self.dates, [(p.date1, p.date2, p.bperp_m) for p in self.pairs]
        )

    @property
    def has_coherence(self) -> bool:
        return self._coherence is not None

    def index_of(self, pair_id: str) -> int:
        """Position of a pair by its id ``YYYYMMDD_YYYYMMDD``."""
        try:
            return self.pair_ids.index(pair_id)
        except ValueError:
            raise KeyError(f"no pair {pair_id} in {self.path}") from None

    # ---- rasters -------------------------------------------------------------------------
    def read_phase(
        self, index: int, window: Window | None = None, *, referenced: bool = True,
        out: np.ndarray | None = None,
    ) -> np.ndarray:
        """Unwrapped phase of one pair, radians, float32, shape (rows, cols), NaN missing.

        With ``referenced`` the phase at the common reference pixel is subtracted, so pairs
        can be combined (loop closure, inversion). With ``out`` (float32, C-contiguous, shape
        (rows, cols)) the window is read into it, without a temporary copy, and returned.
        """
        window = window or self.grid.full_window
        if out is None:
            phase = self._phase[index].read(window)
        else:
            read_into(self._phase[index], window, out)
            phase = out
        if referenced:
            phase -= np.float32(self.reference_values[index])
        return phase

    def with_phase_sources(self, sources: Sequence[RasterSource]) -> Stack:
        """A copy of the stack that reads each pair's phase from ``sources`` (same order as
        :attr:`pairs`): e.g. the same files with repairs applied on the fly. The reference
        pixel is kept; its values are read again."""
        if len(sources) != self.n_pairs:
            raise ValueError("one phase source per pair is required")
        copy = _copy.copy(self)
        copy._phase = list(sources)
        copy._reference_values = None
        return copy

    def source(self, index: int, kind: str = "phase") -> RasterSource | None:
        """The raster source of a pair's "phase" or "coherence" (None without coherence)."""
        if kind == "phase":
            return self._phase[index]
        return None if self._coherence is None else self._coherence[index]

    def tile_shape(self) -> tuple[int, int]:
        """(rows, cols) of one internal block (tile or strip) of the first phase raster, on
        the stack's grid; (1, width) where unknown or where the grid is offset inside the
        file. Windows made of whole tiles decode every tile once."""
        from .sources import GdalSource

        unknown = (1, self.grid.width)
        source = self._phase[0] if self._phase else None
        if not isinstance(source, GdalSource) or source.row_offset or source.col_offset:
            return unknown
        from osgeo import gdal

        gdal.UseExceptions()
        try:
            dataset = gdal.Open(str(source.path), gdal.GA_ReadOnly)
            cols, rows = dataset.GetRasterBand(source.band).GetBlockSize()
        except RuntimeError:
            return unknown
        return int(rows), int(min(cols, self.grid.width))

    def read_coherence(self, index: int, window: Window | None = None) -> np.ndarray | None:
        """Coherence of one pair, 0..1, float32, shape (rows, cols); None without coherence."""
        if self._coherence is None:
            return None
        return self._coherence[index].read(window or self.grid.full_window)

    # ---- reference -----------------------------------------------------------------------
    @property
    def reference_pixel(self) -> tuple[int, int]:
        """(row, col) of the common reference pixel, chosen on first use if not given."""
        if self._reference_pixel is None:
            key = self._raster_signature()
            shape = (self.grid.height, self.grid.width)
            self._reference_pixel = reference_cache.load(self.path, key, shape)
            if self._reference_pixel is None:
                self._reference_pixel = self._choose_reference_pixel()
                reference_cache.store(self.path, key, self._reference_pixel)
        return self._reference_pixel

    def _raster_signature(self) -> str | None:
        """A key of every raster the automatic reference is chosen from (None where some
        source is not a file: simulated, filled or repaired)."""
        from .sources import FillSource

        paths = []
        for source in list(self._phase) + list(self._coherence or []):
            if isinstance(source, FillSource):  # a missing coherence raster: nothing to read
                continue
            path = getattr(source, "path", None)
            if path is None:
                return None
            paths.append(Path(path))
        return reference_cache.signature(paths) if paths else None

    @reference_pixel.setter
    def reference_pixel(self, pixel: tuple[int, int]) -> None:
        row, col = pixel
        if not (0 <= row < self.grid.height and 0 <= col < self.grid.width):
            raise ValueError(f"reference pixel {pixel} is outside the {self.grid.height}x"
                             f"{self.grid.width} grid")
        self._reference_pixel = (int(row), int(col))
        self._reference_values = None

    @property
    def reference_values(self) -> np.ndarray:
        """Phase of each pair at the reference pixel, radians, shape (n_pairs,).

        Where a pair has no data at the reference pixel, the median of its valid pixels in the
        smallest surrounding box that has some is used instead (and a warning recorded).
        """
        if self._reference_values is None:
            row, col = self.reference_pixel
            values = np.zeros(self.n_pairs)
            for i in range(self.n_pairs):
                values[i] = self._phase_near(i, row, col)
            self._reference_values = values
        return self._reference_values

    def _phase_near(self, index: int, row: int, col: int) -> float:
        for half in (0, 4, 16, 64):
            r0, c0 = max(row - half, 0), max(col - half, 0)
            r1 = min(row + half + 1, self.grid.height)
            c1 = min(col + half + 1, self.grid.width)
            block = self._phase[index].read(Window(r0, c0, r1 - r0, c1 - c0))
            if np.isfinite(block).any():
                if half:
                    self.warnings.append(
                        f"{self.pairs[index].pair_id}: no data at the reference pixel; "
                        f"referenced to the median within {half} pixels"
                    )
                return float(np.nanmedian(block))
        self.warnings.append(f"{self.pairs[index].pair_id}: no data near the reference pixel")
        return float(np.nanmedian(self._phase[index].read(self.grid.full_window)))

    def _choose_reference_pixel(self) -> tuple[int, int]:
        """Pixel valid in the most pairs, then of highest mean coherence (reads the stack once,
        a band of whole tile rows per thread)."""
        from concurrent.futures import ThreadPoolExecutor

        grid = self.grid
        valid_count = np.zeros((grid.height, grid.width), dtype=np.int32)
        coherence_sum = np.zeros((grid.height, grid.width), dtype=np.float64)
        tile = self.tile_shape()[0]
        rows_per_band = max(tile, 256 // tile * tile)

        def band(row: int) -> None:
            window = Window(row, 0, min(rows_per_band, grid.height - row), grid.width)
            rows = slice(row, row + window.rows)
            phase = np.empty((window.rows, window.cols), dtype=np.float32)
            for i in range(self.n_pairs):  # pairs in order: the same sums every run
                read_into(self._phase[i], window, phase)
                valid = np.isfinite(phase)
                valid_count[rows] += valid
                coherence = self.read_coherence(i, window)
                if coherence is not None:
                    coherence_sum[rows] += np.where(valid, np.nan_to_num(coherence), 0.0)

        # GDAL decodes with the GIL released: bands of rows read side by side.
        with ThreadPoolExecutor(max_workers=min(4, usable_cores())) as pool:
            list(pool.map(band, range(0, grid.height, rows_per_band)))
        score = valid_count.astype(np.float64) * (self.n_pairs + 1.0) + coherence_sum / max(
            self.n_pairs, 1
        )
        if self._coherence is None:
            # Without coherence, prefer the pixel nearest the centre among the most valid.
            rr, cc = np.mgrid[0:grid.height, 0:grid.width]
            distance = np.hypot(rr - grid.height / 2, cc - grid.width / 2)
            score = score - distance / (distance.max() + 1.0)
        flat = int(np.argmax(score))
        pixel = (flat // grid.width, flat % grid.width)
        logger.info("reference pixel for %s: row %d col %d", self.path, *pixel)
        return pixel

    # ---- summary -------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        """A JSON-serialisable description of the stack (what ``sbas-selector info`` prints)."""
        date_bperp = self.date_bperp_m
        return {
            "path": str(self.path),
            "format": self.format_name,
            "n_dates": self.n_dates,
            "n_pairs": self.n_pairs,
            "first_date": self.dates[0].isoformat() if self.dates else None,
            "last_date": self.dates[-1].isoformat() if self.dates else None,
            "dates": [format_yyyymmdd(d) for d in self.dates],
            "date_bperp_m": [round(float(b), 3) for b in date_bperp],
            "pairs": [
                {
                    "pair_id": p.pair_id,
                    "date1": format_yyyymmdd(p.date1),
                    "date2": format_yyyymmdd(p.date2),
                    "days": p.days,
                    "bperp_m": round(p.bperp_m, 3),
                    "keep": bool(k),
                }
                for p, k in zip(self.pairs, self.keep)
            ],
            "width": self.grid.width,
            "height": self.grid.height,
            "geotransform": list(self.grid.geotransform),
            "crs": self._crs_name(),
            "epsg": self.grid.epsg,
            "wavelength_m": self.wavelength_m,
            "has_coherence": self.has_coherence,
            "skipped": [str(s) for s in self.skipped],
            "warnings": list(self.warnings),
            "metadata": self.metadata,
        }

    def _crs_name(self) -> str:
        epsg = self.grid.epsg
        if epsg:
            return f"EPSG:{epsg}"
        return "radar coordinates" if not self.grid.crs_wkt else "custom (WKT)"

    def __repr__(self) -> str:
        return (f"Stack({self.format_name}, {self.path}, {self.n_dates} dates, "
                f"{self.n_pairs} pairs, {self.grid.width}x{self.grid.height})")
