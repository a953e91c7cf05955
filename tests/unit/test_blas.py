"""The BLAS thread limit used by the parallel solve."""

from __future__ import annotations

import numpy as np

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
