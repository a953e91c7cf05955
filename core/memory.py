"""How glibc's allocator treats the large arrays an inversion frees, for the run's duration.

An inversion allocates and frees arrays of megabytes for every chunk of every block. Two
policies, chosen per run (:func:`heap_policy`):

- **Within a bounded budget** (the kept phase larger than the budget): large arrays on mmap,
  returned to the system when freed. Otherwise glibc raises its mmap threshold each time a
  large block is freed (up to 32 MiB), after which arrays of up to that size stay in the heap
  once freed: a block-wise inversion then held tens of MiB more than its arrays (measured
  here: 31 MiB above an open-only process for a 23 MiB budget, with the arrays peaking at
  17 MiB; 18.6 MiB with the threshold fixed).
- **Otherwise**: freed arrays kept in the heap and reused. Memory fresh from the system is
  zeroed on first touch, in 2 MiB pages where numpy asks for huge pages: with glibc's defaults
  (heap tops trimmed, arrays past the moving threshold on mmap) that zeroing took 8-11% of the
  CPU of the 80-date, 416-pair bench stack's run (``perf``), 5% with freed memory kept (the
  first touch of the read buffers and the heap), and the run's CPU about 8% less (medians of
  alternating runs; peak memory the same).

On leaving, the heap is trimmed (what the run freed goes back to the system: QGIS and Dask
workers outlive the run) and glibc is left where its own adaptive threshold settles once
large arrays have been freed. Elsewhere than glibc (macOS, Windows) nothing is changed.
"""

from __future__ import annotations

import ctypes
import functools
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
#: glibc's initial mmap threshold, and the most its adaptive threshold reaches (64-bit).
_DEFAULT_THRESHOLD = 128 * 1024
_MAX_THRESHOLD = 32 * 2**20
#: Free memory at the heap's top kept rather than returned, while freed arrays are reused.
_KEEP_FREED = 2**30

_lock = threading.Lock()
_active = {True: 0, False: 0}  # runs in progress, by whether they return freed memory


@functools.lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    """glibc with ``mallopt`` and ``malloc_trim``, or None (not Linux, or another libc)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(None)
        mallopt, trim = libc.mallopt, libc.malloc_trim
    except (OSError, AttributeError):
        return None
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return libc


def _apply(libc: ctypes.CDLL) -> bool:
    """Set the thresholds for the runs in progress (a run that must return freed memory wins
    over one that keeps it); whether glibc took them."""
    if _active[True]:
        mmap, trim = _DEFAULT_THRESHOLD, 2 * _DEFAULT_THRESHOLD
    elif _active[False]:
        mmap, trim = _MAX_THRESHOLD, _KEEP_FREED
    else:  # where glibc's adaptive thresholds settle after large frees
        mmap, trim = _MAX_THRESHOLD, 2 * _MAX_THRESHOLD
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, mmap)) and bool(
        libc.mallopt(_M_TRIM_THRESHOLD, trim))


@contextmanager
def heap_policy(return_freed: bool) -> Iterator[bool]:
    """Run the block with large freed arrays returned to the system (``return_freed``: a
    bounded budget) or kept for reuse; yields whether the allocator could be told (glibc).

    Process-wide; runs may overlap (two QGIS tasks): while any run returns freed memory,
    every run does. On leaving, the heap is trimmed.
    """
    libc = _libc()
    if libc is None:
        yield False
        return
    with _lock:
        _active[return_freed] += 1
        applied = _apply(libc)
    try:
        yield applied
    finally:
        with _lock:
            _active[return_freed] -= 1
            _apply(libc)
            libc.malloc_trim(0)
