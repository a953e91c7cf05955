"""Tile rows decoded once into an uncompressed scratch file, for budgets too small to hold a
block of whole tiles of every kept pair.

A compressed tile is decoded whole, whatever part of it a window asks for: with blocks a few
rows high, every tile would be decoded once per block (seven times on the 80-date bench at
0.15 GB). Here each pair's band of tile rows is decoded once, written uncompressed into a
file that the system deletes when it is closed (or the process dies), and the blocks inside
the band are read back from it, from the page cache in practice.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..cores import usable_cores
from ..stack import Stack
from ..stack_types import Window


class TileRowScratch:
    """Reads full-width windows that lie within one band of tile rows, decoding each band of
    every pair once.

    Parameters
    ----------
    stack
        The stack whose pairs are read.
    pairs
        Indices of the pairs to read, in the order of a block's rows.
    tile_rows
        Rows of one tile row of the rasters.
    directory
        Where the scratch file lives (the outputs' disk: a band takes
        ``n_pairs x tile_rows x width x 4`` bytes [twice with weights]).
    weights
        Per pair and window, the weights to store beside the phase (or None).
    """

    def __init__(self, stack: Stack, pairs: tuple[int, ...], tile_rows: int, directory: Path,
                 weights: Callable[[int, Window], np.ndarray] | None = None) -> None:
        self._stack = stack
        self._pairs = pairs
        self._tile_rows = tile_rows
        self._weights = weights
        self._file = tempfile.TemporaryFile(dir=directory, prefix=".sbas-scratch-")
        self._band: Window | None = None

    def close(self) -> None:
        self._file.close()

    def _slab(self, band: Window) -> int:
        """Bytes of one pair's band (phase [and weights])."""
        return band.rows * band.cols * 4 * (2 if self._weights is not None else 1)

    def _fill(self, band: Window) -> None:
        self._band = band
        slab, fd = self._slab(band), self._file.fileno()
        threads = min(4, usable_cores())
        buffers = [np.empty((band.rows, band.cols), dtype=np.float32) for _ in range(threads)]

        def fill(job: tuple[int, int]) -> None:
            k, index = job
            buffer = buffers[k % threads]
            self._stack.read_phase(index, band, referenced=False, out=buffer)
            os.pwrite(fd, buffer, k * slab)
            if self._weights is not None:
                os.pwrite(fd, np.ascontiguousarray(self._weights(index, band), np.float32),
                          k * slab + buffer.nbytes)

        # Each thread writes its own buffer only: jobs k, k + threads, ... go to one thread.
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda t: [fill((k, self._pairs[k]))
                                     for k in range(t, len(self._pairs), threads)],
                          range(threads)))

    def read(self, window: Window, phase: np.ndarray, weights: np.ndarray | None) -> None:
        """Read a window (full width, within one band of tile rows) of every pair into
        ``phase`` [and ``weights``], each of shape (n_pairs, rows x cols)."""
        top = window.row - window.row % self._tile_rows
        band = Window(top, 0, min(self._tile_rows, self._stack.grid.height - top),
                      self._stack.grid.width)
        if window.cols != band.cols or window.row + window.rows > top + band.rows:
            raise ValueError(f"window {window} does not lie within one band of tile rows")
        if band != self._band:
            self._fill(band)
        slab, fd = self._slab(band), self._file.fileno()
        start = (window.row - top) * band.cols * 4
        for k in range(len(self._pairs)):
            _read_exactly(fd, phase[k], k * slab + start)
            if weights is not None:
                _read_exactly(fd, weights[k], k * slab + band.rows * band.cols * 4 + start)


def _read_exactly(fd: int, out: np.ndarray, offset: int) -> None:
    """Fill ``out`` (contiguous) with the file's bytes at ``offset``."""
    view = memoryview(out).cast("B")
    done = 0
    while done < len(view):
        got = os.preadv(fd, [view[done:]], offset + done)
        if got <= 0:
            raise OSError(f"scratch file ended at byte {offset + done}")
        done += got
