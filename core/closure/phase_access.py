"""How the closure check reaches the pairs' phase: a cube in memory, or the stack's files
streamed within a memory budget (a Sentinel-1 frame's 400+ pairs are 12 GiB of phase).

The check needs, per closed triplet, the three pairs' phase over the whole grid (its median,
trend and block means are the triplet's own, so a triplet is closed whole); afterwards, only
windows of some pairs (edge steps), each pair's validity, and each checked pair once more
(islands no triplet tests). :class:`StreamedPhase` reads pairs as the triplets need them, in
their order (triplets of one first date share pairs), keeping the most recently used ones up to
its budget, and keeps every pair's validity packed to bits (1/32 of its phase): the results
are those of :class:`InMemoryPhase` on the same pairs.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from ..errors import StackError
from ..stack import Stack
from ..stack_types import Window

logger = logging.getLogger(__name__)

#: Pairs whose validity is kept unpacked (bool) by :class:`StreamedPhase`, most recent first.
UNPACKED_VALID = 16


class PhaseAccess(Protocol):
    """Every pair's unreferenced phase (radians, NaN missing) as the closure check reads it."""

    n_pairs: int
    shape: tuple[int, int]

    def closures(self, triplets: Sequence[tuple[int, int, int]]) -> np.ndarray:
        """``phi_a + phi_b - phi_c`` per triplet, shape (n_triplets, rows, cols), float32."""
        ...

    def pair(self, index: int) -> np.ndarray:
        """One pair's phase, shape (rows, cols)."""
        ...

    def window(self, index: int, rows: slice, cols: slice) -> np.ndarray:
        """One pair's phase in a window of the grid."""
        ...

    def valid(self, index: int) -> np.ndarray:
        """Where one pair has phase, bool, shape (rows, cols)."""
        ...

    def valid_at(self, pixels: np.ndarray) -> np.ndarray:
        """Where each pair has phase at flat ``pixels``, bool, shape (n_pairs, n_pixels)."""
        ...

    def valid_pixels(self) -> np.ndarray:
        """Pixels with phase per pair, shape (n_pairs,)."""
        ...


class InMemoryPhase:
    """The phase of every pair held in memory, shape (n_pairs, rows, cols)."""

    def __init__(self, phase: np.ndarray) -> None:
        self.phase = phase
        self.n_pairs = len(phase)
        self.shape = (int(phase.shape[1]), int(phase.shape[2]))
        self._valid: dict[int, np.ndarray] = {}  # each pair's, once: asked per triplet

    def closures(self, triplets: Sequence[tuple[int, int, int]]) -> np.ndarray:
        a, b, c = (np.array(x) for x in zip(*triplets))
        return self.phase[a] + self.phase[b] - self.phase[c]

    def pair(self, index: int) -> np.ndarray:
        return self.phase[index]

    def window(self, index: int, rows: slice, cols: slice) -> np.ndarray:
        return self.phase[index, rows, cols]

    def valid(self, index: int) -> np.ndarray:
        found = self._valid.get(index)
        if found is None:
            found = self._valid[index] = np.isfinite(self.phase[index])
        return found

    def valid_at(self, pixels: np.ndarray) -> np.ndarray:
        return np.isfinite(self.phase.reshape(self.n_pairs, -1)[:, pixels])

    def valid_pixels(self) -> np.ndarray:
        return np.isfinite(self.phase).reshape(self.n_pairs, -1).sum(axis=1)


def read_or_missing(stack: Stack, index: int, window: Window | None = None) -> np.ndarray:
    """A pair's unreferenced phase in a window; a block that cannot be read (a file damaged
    past its header, which opening the stack does not read) counts as missing data, named in
    a warning, as opening the stack skips a file whose header is damaged."""
    window = window or stack.grid.full_window
    try:
        return stack.read_phase(index, window, referenced=False)
    except StackError as exc:
        logger.warning("%s; counted as missing in the loop closure", exc)
        return np.full((window.rows, window.cols), np.nan, dtype=np.float32)


class StreamedPhase:
    """The stack's pairs read as needed, the most recently used kept within ``cache_bytes``.

    Parameters
    ----------
    stack
        The stack (its files are read, never written).
    cache_bytes
        Pairs' phase kept in memory, bytes (at least three pairs are kept: one triplet).
    """

    def __init__(self, stack: Stack, cache_bytes: float) -> None:
        self.stack = stack
        self.n_pairs = stack.n_pairs
        self.shape = (stack.grid.height, stack.grid.width)
        pixels = self.shape[0] * self.shape[1]
        self.capacity = max(3, int(cache_bytes // (4 * pixels)))
        self._cache: OrderedDict[int, np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        self._packed: dict[int, np.ndarray] = {}   # validity, packed to bits
        self._count: dict[int, int] = {}
        self._missing: set[int] = set()            # pairs without any phase (unreadable)
        self._unpacked: OrderedDict[int, np.ndarray] = OrderedDict()

    def pair(self, index: int) -> np.ndarray:
        with self._lock:
            if index in self._cache:
                self._cache.move_to_end(index)
                return self._cache[index]
        phase = self._read(index)
        with self._lock:
            self._cache[index] = phase
            self._cache.move_to_end(index)
            while len(self._cache) > self.capacity:
                self._cache.popitem(last=False)
        return phase

    def _read(self, index: int) -> np.ndarray:
        phase = read_or_missing(self.stack, index)
        valid = np.isfinite(phase)
        with self._lock:
            if not valid.any():  # unreadable, or no phase at all: windows need no reading
                self._missing.add(index)
            if index not in self._packed:
                self._packed[index] = np.packbits(valid.ravel())
                self._count[index] = int(valid.sum())
        return phase

    def closures(self, triplets: Sequence[tuple[int, int, int]]) -> np.ndarray:
        out = np.empty((len(triplets), *self.shape), dtype=np.float32)
        for k, (a, b, c) in enumerate(triplets):
            np.add(self.pair(a), self.pair(b), out=out[k])
            out[k] -= self.pair(c)
        return out

    def window(self, index: int, rows: slice, cols: slice) -> np.ndarray:
        with self._lock:
            cached = self._cache.get(index)
            missing = index in self._missing
        if cached is not None:
            return cached[rows, cols]
        r0, r1, _ = rows.indices(self.shape[0])
        c0, c1, _ = cols.indices(self.shape[1])
        if missing or r1 <= r0 or c1 <= c0:
            return np.full((max(r1 - r0, 0), max(c1 - c0, 0)), np.nan, dtype=np.float32)
        return read_or_missing(self.stack, index, Window(r0, c0, r1 - r0, c1 - c0))

    def _ensure_valid(self, index: int) -> None:
        if index not in self._packed:
            self._read(index)

    def valid(self, index: int) -> np.ndarray:
        with self._lock:
            if index in self._unpacked:
                self._unpacked.move_to_end(index)
                return self._unpacked[index]
        self._ensure_valid(index)
        pixels = self.shape[0] * self.shape[1]
        valid = np.unpackbits(self._packed[index], count=pixels).astype(bool).reshape(self.shape)
        with self._lock:  # a pair's islands need its triplets' pairs: neighbours in time
            self._unpacked[index] = valid
            while len(self._unpacked) > UNPACKED_VALID:
                self._unpacked.popitem(last=False)
        return valid

    def valid_at(self, pixels: np.ndarray) -> np.ndarray:
        out = np.zeros((self.n_pairs, len(pixels)), dtype=bool)
        if not len(pixels):
            return out
        byte, bit = np.divmod(pixels, 8)
        mask = (np.uint8(0x80) >> bit.astype(np.uint8)).astype(np.uint8)
        for i in range(self.n_pairs):
            self._ensure_valid(i)
            out[i] = (self._packed[i][byte] & mask) != 0
        return out

    def valid_pixels(self) -> np.ndarray:
        for i in range(self.n_pairs):
            self._ensure_valid(i)
        return np.array([self._count[i] for i in range(self.n_pairs)], dtype=np.int64)
