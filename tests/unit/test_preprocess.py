from __future__ import annotations

import numpy as np
import pytest

from sbas_selector.core.preprocess import discontinuity, preprocess_pair


def test_shape_range_and_nodata_explicit():
    rng = np.random.default_rng(0)
    phase = rng.normal(0, 1, (300, 200)).astype(np.float32)
    phase[:50] = np.nan
    coherence = np.full(phase.shape, 0.7, np.float32)
    x = preprocess_pair(phase, coherence, size=64)
    assert x.shape == (3, 64, 64) and x.dtype == np.float32
    assert np.abs(x[0]).max() <= 1 and x[1].min() >= 0 and x[1].max() <= 1
    assert (x[:, :10] == 0).all()  # the missing top rows
    assert x[2, 40:].mean() == pytest.approx(0.7, abs=1e-6)


def test_unwrapping_error_shows_in_discontinuity_but_not_in_rewrapped_phase():
    yy, xx = np.mgrid[0:128, 0:128]
    smooth = 0.02 * xx + 0.01 * yy
    patch = (yy - 64) ** 2 + (xx - 64) ** 2 < 20**2
    broken = smooth + 2 * np.pi * patch
    # Re-wrapped, the two are identical: the paper's colour image cannot see the error.
    np.testing.assert_allclose(np.angle(np.exp(1j * broken)), np.angle(np.exp(1j * smooth)),
                               atol=1e-9)
    assert discontinuity(smooth).max() == 0
    jumps = discontinuity(broken)
    assert jumps.max() == 1 and 80 < (jumps > 0).sum() < 400  # the ring around the patch
    x_clean, x_broken = preprocess_pair(smooth, None), preprocess_pair(broken, None)
    assert x_clean[1].max() == 0 and x_broken[1].max() == 1


def test_upsamples_small_rasters_and_handles_all_nodata():
    x = preprocess_pair(np.ones((60, 100), np.float32), None, size=128)
    assert x.shape == (3, 128, 128)
    empty = preprocess_pair(np.full((40, 40), np.nan, np.float32), None, size=32)
    assert (empty == 0).all()


def test_absolute_scale_is_kept():
    xx = np.mgrid[0:128, 0:128][1]
    small = preprocess_pair(0.5 * np.sin(xx / 20.0), None)
    large = preprocess_pair(5.0 * np.sin(xx / 20.0), None)
    assert np.abs(large[0]).max() > 2 * np.abs(small[0]).max()
