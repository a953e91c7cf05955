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
