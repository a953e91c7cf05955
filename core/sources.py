"""Lazy, windowed raster sources: each reads one 2-D raster on demand, nodata as NaN.

Values beyond :data:`~.plausible.PHASE_LIMIT_RAD` in magnitude (fill values, corrupt or
byte-swapped bytes) and infinities are read as missing too; a failed read raises
:class:`~.errors.StackError` naming the file.

A source holds a path and how to decode it, never an open file handle, so sources can be
passed to background threads and worker processes.
"""

from __future__ import annotations

import threading
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


#: Most blocks of a window read one by one (:func:`_read_blocks`); GDAL reads more at once.
MAX_DIRECT_BLOCKS = 8

_scratch = threading.local()


def _block_scratch(rows: int, cols: int) -> np.ndarray:
    """This thread's float32 buffer for one block, kept from one read to the next."""
    block = getattr(_scratch, "block", None)
    if block is None or block.shape != (rows, cols):
        block = _scratch.block = np.empty((rows, cols), np.float32)
    return block


def _read_blocks(band, col: int, row: int, out: np.ndarray) -> bool:
    """Read a window of whole float32 blocks (tiles or strips) at (``row``, ``col``) into
    ``out`` (shape (rows, cols)) block by block, each decoded straight into ``out`` where its
    rows are contiguous there (else into a small buffer of this thread's and copied);
    False, having read nothing, where the window is not made of at most
    :data:`MAX_DIRECT_BLOCKS` whole blocks (ending at a block's edge or the raster's).

    GDAL's windowed read decodes each block into its block cache, then copies it: a second
    copy of the window in memory fresh from the system (on a virtual machine that returns
    freed memory to its host, about as costly to touch first as decoding it) that is never
    read again (windows are made of whole blocks so that no block is decoded twice).
    """
    from osgeo import gdal

    rows, cols = out.shape
    block_cols, block_rows = band.GetBlockSize()
    if (band.DataType != gdal.GDT_Float32 or not hasattr(band, "ReadBlock")
            or block_cols <= 0 or block_rows <= 0 or col % block_cols or row % block_rows
            or col + cols > band.XSize or row + rows > band.YSize
            or ((col + cols) % block_cols and col + cols != band.XSize)
            or ((row + rows) % block_rows and row + rows != band.YSize)
            or -(-rows // block_rows) * -(-cols // block_cols) > MAX_DIRECT_BLOCKS):
        return False
    for top in range(0, rows, block_rows):
        height = min(block_rows, rows - top)
        for left in range(0, cols, block_cols):
            width = min(block_cols, cols - left)
            where = ((col + left) // block_cols, (row + top) // block_rows)
            direct = width == cols == block_cols and height == block_rows
            block = (out[top:top + block_rows] if direct
                     else _block_scratch(block_rows, block_cols))
            try:
                band.ReadBlock(*where, buf_obj=block)
            except TypeError:  # bindings without ``buf_obj`` (met at the first block)
                return False
            if not direct:  # part of the window's rows, or a block cut by the raster's edge
                out[top:top + height, left:left + width] = block[:height, :width]
    return True


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
            col, row = self.col_offset + window.col, self.row_offset + window.row
            values = (out if _read_blocks(band, col, row, out)
                      else band.ReadAsArray(col, row, window.cols, window.rows, buf_obj=out))
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
