"""The BLAS thread limit used by the parallel solve."""

from __future__ import annotations

import numpy as np
import pytest

from sbas_selector.core.blas import _openblas, blas_threads, can_limit_blas


def test_blas_threads_limits_and_restores():
    library = _openblas()
    before = int(library.openblas_get_num_threads()) if library is not None else None
    with blas_threads(1) as applied:
        assert applied == can_limit_blas()
        if library is not None:
            assert int(library.openblas_get_num_threads()) == 1
        a = np.random.default_rng(0).normal(size=(64, 64))
        np.testing.assert_allclose(a @ np.linalg.inv(a), np.eye(64), atol=1e-8)
    if library is not None:
        assert int(library.openblas_get_num_threads()) == before


def test_nested_limits_do_not_hang_and_restore_in_order(monkeypatch):
    """A solve's own limit inside a caller's (a Dask task running a block with several
    solve threads) must not wait on itself: OpenBLAS's own API, the path without
    threadpoolctl that takes the module's lock."""
    import sys
    import threading

    library = _openblas()
    if library is None:
        pytest.skip("no OpenBLAS thread API in this process")
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)  # (import fails: the lock path)
    before = int(library.openblas_get_num_threads())
    seen = []

    def nested():
        with blas_threads(2):
            with blas_threads(1):
                seen.append(int(library.openblas_get_num_threads()))
            seen.append(int(library.openblas_get_num_threads()))

    worker = threading.Thread(target=nested, daemon=True)
    worker.start()
    worker.join(timeout=10)
    assert not worker.is_alive(), "nested blas_threads hung"
    assert len(seen) == 2
    assert seen[0] == 1  # the inner limit applied
    assert int(library.openblas_get_num_threads()) == before  # and all restored


@pytest.mark.parametrize(("libraries", "serial"), [
    (["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3",
      "/usr/lib/x86_64-linux-gnu/lapack/liblapack.so.3"], True),  # Debian's reference BLAS
    (["/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3",
      "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"], False),
    (["/venv/lib/python3.13/site-packages/numpy.libs/libscipy_openblas64_-ff651d7f.so"], False),
    (["/opt/intel/oneapi/mkl/lib/libmkl_rt.so.2"], False),
    (["/usr/lib/x86_64-linux-gnu/libflexiblas.so.3"], False),
    (["/usr/lib/x86_64-linux-gnu/libgdal.so.36"], False),  # no BLAS seen: unknown
])
def test_serial_blas_from_the_loaded_libraries(libraries, serial, monkeypatch):
    """Only a BLAS that runs no threads of its own counts as serial; unknown is not."""
    from sbas_selector.core import blas

    monkeypatch.setattr(blas, "_loaded_libraries", lambda: libraries)
    blas.serial_blas.cache_clear()
    try:
        assert blas.serial_blas() is serial
    finally:
        blas.serial_blas.cache_clear()


@pytest.mark.parametrize("serial", [True, False])
def test_solve_workers_where_the_blas_cannot_be_limited(serial, monkeypatch):
    """One worker per core where the BLAS has no threads to limit (Debian's reference BLAS:
    nothing to oversubscribe), one alone where it has threads that cannot be limited."""
    import os

    from sbas_selector.core.inversion import run as run_module

    monkeypatch.delenv("SBAS_SOLVE_WORKERS", raising=False)
    monkeypatch.setattr(run_module, "can_limit_blas", lambda: False)
    monkeypatch.setattr(run_module, "serial_blas", lambda: serial)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2}, raising=False)
    assert run_module.solve_workers(4.0) == (3 if serial else 1)


def test_the_reference_blas_loaded_here_is_serial_and_solves_on_every_core(monkeypatch):
    """Where this process runs Debian's reference BLAS (the CI's Debian 13 root), it is
    found serial and the solve gets a worker per core; elsewhere there is nothing to see."""
    import os

    from sbas_selector.core import blas
    from sbas_selector.core.inversion import run as run_module

    libraries = [path.lower() for path in blas._loaded_libraries()]
    if not any("/blas/libblas.so" in path for path in libraries) or any(
            name in path for path in libraries for name in blas._THREADED_BLAS):
        pytest.skip("numpy does not run Debian's reference BLAS here")
    assert blas.serial_blas()
    monkeypatch.delenv("SBAS_SOLVE_WORKERS", raising=False)
    cores = len(os.sched_getaffinity(0))
    assert run_module.solve_workers(64.0) == min(8, cores)
