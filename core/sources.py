"""Lazy, windowed raster sources: each reads one 2-D raster on demand, nodata as NaN.

Values beyond :data:`~.plausible.PHASE_LIMIT_RAD` in magnitude (fill values, corrupt or
byte-swapped bytes) and infinities are read as missing too; a failed read raises
:class:`~.errors.StackError` naming the file.

A source holds a path and how to decode it, never an open file handle, so sources can be
passed to background threads and worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from .errors import StackError
from .plausible import PHASE_LIMIT_RAD
from .stack_types import Window


class RasterSource(Protocol):
    """Something that reads a float32 window of one raster, nodata as NaN."""

    def read(self, window: Window) -> np.ndarray:
        """Return the window, float32, shape (window.rows, window.cols)."""
        ...


def read_into(source: RasterSource, window: Window, out: np.ndarray) -> None:
    """Read a window of ``source`` into ``out`` (float32, shape (window.rows, window.cols)):
    in place where the source can (no temporary copy of the window), else copied."""
    into = getattr(source, "read_into", None)
    if into is not None:
        into(window, out)
    else:
        out[...] = source.read(window)


def _as_float32_nan(values: np.ndarray, nodata: float | None, scale: float = 1.0) -> np.ndarray:
    out = values.astype(np.float32, copy=True)
    if nodata is not None and not np.isnan(nodata):  # NaN is missing anyway
        out[values == nodata] = np.nan
    return _mask_missing(out, None, scale)


#: :data:`~.plausible.PHASE_LIMIT_RAD` as the bits of a float32.
_LIMIT_BITS = np.float32(PHASE_LIMIT_RAD).view(np.uint32)


def _mask_missing(out: np.ndarray, nodata: float | None, scale: float = 1.0) -> np.ndarray:
    """``out`` (float32, C-contiguous; changed in place and returned) with NaN where it equals
    ``nodata``, is not a number, or lies beyond the phase limit (infinities, fill values,
    corrupt values); then scaled.

    Non-negative float32 values order as their bits, NaN and infinities above every finite
    one: with the sign bit cleared, "beyond the limit or not a number" is one unsigned
    comparison, and a nodata of zero (HyP3, LiCSBAS) folds into it (zero, less one, wraps to
    the top); a missing value's bits are then or-ed with a NaN's. A few passes of integer
    arithmetic instead of a float comparison per test and boolean indexing: less than half the
    time on rasters with water (missing values a large share of them).
    """
    bits = out.view(np.uint32)
    magnitude = np.bitwise_and(bits, np.uint32(0x7FFFFFFF))
    if nodata == 0:
        magnitude -= np.uint32(1)
        bad = magnitude >= _LIMIT_BITS
    else:
        bad = magnitude > _LIMIT_BITS
        if nodata is not None and not np.isnan(nodata):
            bad |= out == np.float32(nodata)
    # NaN where bad: all exponent bits and the quiet bit set (a masked copy costs more).
    np.multiply(bad, np.uint32(0x7FC00000), out=magnitude)
    np.bitwise_or(bits, magnitude, out=bits)
    if scale != 1.0:
        out *= np.float32(scale)
    return out


@dataclass(frozen=True)
class GdalSource:
    """One band of a GDAL raster.

    Parameters
    ----------
    path
        Raster file.
    nodata
        Value that marks missing data (NaN is always missing).
    row_offset, col_offset
        Position of the stack's common grid inside this file, pixels (files of one stack may
        cover slightly different extents on the same pixel lattice).
    band
        1-based band number.
    scale
        Multiplier applied after reading (e.g. 1/255 for byte coherence).
    """

    path: Path
    nodata: float | None = None
    row_offset: int = 0
    col_offset: int = 0
    band: int = 1
    scale: float = 1.0

    def read(self, window: Window) -> np.ndarray:
        from osgeo import gdal

        gdal.UseExceptions()
        try:
            dataset = gdal.Open(str(self.path), gdal.GA_ReadOnly)
            values = dataset.GetRasterBand(self.band).ReadAsArray(
                self.col_offset + window.col, self.row_offset + window.row, window.cols, window.rows
            )
        except RuntimeError as exc:
            raise StackError(self.path, f"cannot read raster window ({_first_line(exc)})") \
                from exc
        except MemoryError:
            raise StackError(self.path, _too_large(window)) from None
        finally:
            dataset = None
        if values is None:
            raise StackError(self.path, "cannot read raster window (file truncated?)")
        return _as_float32_nan(values, self.nodata, self.scale)

    def read_into(self, window: Window, out: np.ndarray) -> None:
        """As :meth:`read`, into ``out`` (float32, C-contiguous, shape (rows, cols)): GDAL
        converts the band's values straight into it."""
        from osgeo import gdal

        gdal.UseExceptions()
        try:
            dataset = gdal.Open(str(self.path), gdal.GA_ReadOnly)
            band = dataset.GetRasterBand(self.band)
            exact = gdal.GetDataTypeName(band.DataType) in ("Float32", "Int16", "UInt16",
                                                             "Byte", "Int8")
            if not exact:  # values that float32 would round: compare nodata before
                out[...] = self.read(window)
                return
            values = band.ReadAsArray(self.col_offset + window.col,
                                      self.row_offset + window.row, window.cols, window.rows,
                                      buf_obj=out)
        except RuntimeError as exc:
            raise StackError(self.path, f"cannot read raster window ({_first_line(exc)})") \
                from exc
        finally:
            dataset = None
        if values is None:
            raise StackError(self.path, "cannot read raster window (file truncated?)")
        _mask_missing(out, self.nodata, self.scale)


@dataclass(frozen=True)
class RawSource:
    """A headerless little-endian binary raster (LiCSBAS ``.unw`` float32, ``.cc`` uint8)."""

    path: Path
    dtype: str
    width: int
    height: int
    nodata: float | None = 0.0
    scale: float = 1.0

    def read(self, window: Window) -> np.ndarray:
        try:
            data = np.memmap(self.path, dtype=np.dtype(self.dtype), mode="r",
                             shape=(self.height, self.width))
        except (OSError, ValueError) as exc:
            raise StackError(self.path, f"cannot read binary raster ({exc})") from exc
        try:
            values = np.array(data[window.row:window.row + window.rows,
                                   window.col:window.col + window.cols])
        except MemoryError:
            raise StackError(self.path, _too_large(window)) from None
        del data
        return _as_float32_nan(values, self.nodata, self.scale)


@dataclass(frozen=True)
class Hdf5Source:
    """One layer ``index`` of a 3-D HDF5 dataset (MintPy ``unwrapPhase``/``coherence``).

    Exact zeros are missing data (MintPy keeps the zero fill of HyP3, ISCE and GAMMA products),
    as are NaNs.
    """

    path: Path
    dataset: str
    index: int

    def read(self, window: Window) -> np.ndarray:
        import h5py

        rows = slice(window.row, window.row + window.rows)
        cols = slice(window.col, window.col + window.cols)
        try:
            with h5py.File(self.path, "r") as h5:
                values = np.asarray(h5[self.dataset][self.index, rows, cols], dtype=np.float32)
        except MemoryError:
            raise StackError(self.path, _too_large(window)) from None
        except (OSError, KeyError, RuntimeError, ValueError, TypeError) as exc:
            raise StackError(self.path, f"cannot read {self.dataset}[{self.index}] "
                                        f"({_first_line(exc)})") from exc
        return _as_float32_nan(values, 0.0)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _too_large(window: Window) -> str:
    return (f"a window of {window.rows} x {window.cols} pixels does not fit in memory "
            "(is the raster's size right?)")


@dataclass(frozen=True)
class ArraySource:
    """An in-memory raster (simulated stacks, tests)."""

    array: np.ndarray

    def read(self, window: Window) -> np.ndarray:
        return np.array(
            self.array[window.row:window.row + window.rows, window.col:window.col + window.cols],
            dtype=np.float32,
        )


@dataclass(frozen=True)
class FillSource:
    """A raster that is missing for this pair: every pixel NaN."""

    def read(self, window: Window) -> np.ndarray:
        return np.full((window.rows, window.cols), np.nan, dtype=np.float32)
