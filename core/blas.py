"""Limit the BLAS library's own threads while the caller runs its own workers.

Several solve workers that each start a multi-threaded BLAS oversubscribe the cores (measured
here: 2 workers x 2 OpenBLAS threads ran twice as slow as one worker). :func:`blas_threads`
sets OpenBLAS's thread count for a ``with`` block, through ``threadpoolctl`` where it is
installed, else through OpenBLAS's own C API found among the loaded libraries (Linux); where
neither is available it reports that it could not, and callers keep to one worker.
"""

from __future__ import annotations

import ctypes
import functools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_lock = threading.RLock()  # re-entrant: a solve inside a caller's limit nests it


def _loaded_libraries() -> list[str]:
    """Paths of the shared libraries this process has loaded, numpy's BLAS among them (Linux;
    empty elsewhere)."""
    import numpy  # noqa: F401  (loads the BLAS numpy links to)

    maps = Path("/proc/self/maps")
    if not maps.exists():
        return []
    return sorted({line.split()[-1] for line in maps.read_text().splitlines()
                   if line.split()[-1].startswith("/")})


#: Parts of the names of BLAS libraries that run threads of their own (OpenBLAS, MKL, BLIS,
#: threaded ATLAS; FlexiBLAS may hand on to any of them).
_THREADED_BLAS = ("openblas", "mkl", "blis", "tatlas", "flexiblas")


@functools.lru_cache(maxsize=1)
def serial_blas() -> bool:
    """Whether numpy's BLAS runs in the calling thread only: the reference BLAS, which Debian's
    numpy uses where OpenBLAS is not installed (the CI's Debian 13 root, QGIS installed).
    It has no threads to limit, so several solve workers do not oversubscribe the cores.
    False where unknown."""
    libraries = [path.lower() for path in _loaded_libraries()]
    blas = [path for path in libraries if "blas" in path.rsplit("/", 1)[-1] or "mkl" in path]
    return bool(blas) and not any(name in path for path in blas for name in _THREADED_BLAS)


@functools.lru_cache(maxsize=1)
def _openblas() -> ctypes.CDLL | None:
    """The loaded OpenBLAS library with a thread-count API, or None (looked up once: every
    block of an inversion asks)."""
    paths = [path for path in _loaded_libraries() if "openblas" in path.lower()]
    for path in paths:
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        if hasattr(library, "openblas_set_num_threads") and \
                hasattr(library, "openblas_get_num_threads"):
            return library
    return None


def can_limit_blas() -> bool:
    """Whether :func:`blas_threads` can change the BLAS thread count in this process."""
    try:
        import threadpoolctl  # noqa: F401

        return True
    except ImportError:
        return _openblas() is not None


@contextmanager
def blas_threads(n: int) -> Iterator[bool]:
    """Run the block with at most ``n`` BLAS threads; yields whether the limit applies."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        threadpool_limits = None
    if threadpool_limits is not None:
        with threadpool_limits(limits=n, user_api="blas"):
            yield True
        return
    library = _openblas()
    if library is None:
        yield False
        return
    with _lock:
        previous = int(library.openblas_get_num_threads())
        library.openblas_set_num_threads(int(n))
        try:
            yield True
        finally:
            library.openblas_set_num_threads(previous)


def blas_thread_count() -> int | None:
    """Threads the BLAS library uses now (the largest, where several are loaded); None where
    unknown. A product's last bits can depend on it: a block solved elsewhere uses this
    process's count to get this process's numbers (:mod:`.inversion.distributed`)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = None
    if threadpool_info is not None:
        counts = [int(i["num_threads"]) for i in threadpool_info() if i["user_api"] == "blas"]
        return max(counts) if counts else None
    library = _openblas()
    return None if library is None else int(library.openblas_get_num_threads())
