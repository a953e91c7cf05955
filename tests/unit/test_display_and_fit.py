"""What the dock shows: phase re-referenced and re-wrapped, the fitted line of a pixel."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from sbas_selector.core.inversion.series_fit import fit_line
from sbas_selector.core.inversion.styles import symmetric_limit
from sbas_selector.core.phase_display import (
    display_bands,
    reference_value,
    rewrap,
    symmetric_phase_limit,
)


def test_rewrap_keeps_fringes_and_drops_whole_cycles():
    phase = np.array([[0.5, 0.5 + 2 * math.pi, 0.5 - 6 * math.pi, np.nan]], np.float32)
    wrapped = rewrap(phase)
    assert wrapped[0, :3] == pytest.approx([0.5] * 3, abs=1e-5)
    assert np.isnan(wrapped[0, 3])
    assert (wrapped[0, :3] >= -math.pi).all() and (wrapped[0, :3] < math.pi).all()


def test_display_bands_are_zero_at_the_reference():
    rng = np.random.default_rng(1)
    phase = (rng.normal(size=(20, 30)) + 37.7).astype(np.float32)  # a HyP3-like offset
    phase[0, 0] = np.nan
    assert reference_value(phase) == pytest.approx(np.nanmedian(phase))
    assert reference_value(phase, (5, 6), half=0) == pytest.approx(phase[5, 6])
    assert reference_value(phase, (0, 0), half=0) == pytest.approx(np.nanmedian(phase))
    bands = display_bands(phase, reference_value(phase, (5, 6), half=0))
    assert bands.shape == (2, 20, 30) and bands.dtype == np.float32
    assert bands[0, 5, 6] == pytest.approx(0.0, abs=1e-5)
    assert np.nanmax(np.abs(bands[1])) <= math.pi
    assert symmetric_phase_limit(bands[0]) >= math.pi


def test_fitted_line_recovers_slope_and_its_uncertainty():
    rng = np.random.default_rng(3)
    dates = [date(2018, 1, 6) + timedelta(days=12 * k) for k in range(30)]
    years = np.array([(d - dates[0]).days / 365.25 for d in dates])
    values = 4.0 - 50.0 * years + rng.normal(scale=2.0, size=30)
    values[7] = np.nan
    fit = fit_line(dates, values)
    assert fit.velocity_mm_yr == pytest.approx(-50.0, abs=3 * fit.velocity_std_mm_yr)
    assert 0.5 < fit.velocity_std_mm_yr < 5 and fit.n_points == 29
    assert 1.0 < fit.residual_rms_mm < 3.0
    # The line's uncertainty is smallest in the middle of the dates.
    assert fit.std(dates[15]) < fit.std(dates[0])
    assert fit_line(dates[:1], values[:1]) is None


def test_velocity_ramp_holds_a_small_fast_bowl():
    velocity = np.zeros((100, 100))
    velocity[:12, :12] = -84.0  # 1.4% of the scene
    assert symmetric_limit(velocity) == pytest.approx(84.0)
