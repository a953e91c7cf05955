"""The simulator's physics and statistics."""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest

from sbas_selector.core.simulation import CAUSES, SimulationConfig, simulate
from sbas_selector.core.simulation import config as thresholds
from sbas_selector.core.simulation.simulator import threshold_network


@pytest.fixture(scope="module")
def sims():
    return [simulate(SimulationConfig(seed=seed, n_dates=24, rows=64, cols=64))
            for seed in range(4)]


def test_same_seed_same_stack():
    a = simulate(SimulationConfig(seed=3, n_dates=8, rows=32, cols=32))
    b = simulate(SimulationConfig(seed=3, n_dates=8, rows=32, cols=32))
    c = simulate(SimulationConfig(seed=4, n_dates=8, rows=32, cols=32))
    np.testing.assert_array_equal(a.phase, b.phase)
    assert a.labels == b.labels
    assert not np.array_equal(np.nan_to_num(a.phase), np.nan_to_num(c.phase))


def test_sentinel1_revisit_with_gaps_and_threshold_network(sims):
    for sim in sims:
        gaps = np.diff([d.toordinal() for d in sim.dates])
        assert all(g % 12 == 0 for g in gaps)
        assert len(sim.dates) == 24
        for pair in sim.pairs:
            consecutive = sim.dates.index(pair.date2) == sim.dates.index(pair.date1) + 1
            assert consecutive or (pair.days <= 72 and abs(pair.bperp_m) <= 150)
    assert any(max(np.diff([d.toordinal() for d in s.dates])) > 12 for s in sims)


def test_threshold_network_connects_dates_beyond_thresholds():
    from datetime import date, timedelta

    dates = [date(2020, 1, 1) + timedelta(days=12 * k) for k in (0, 1, 10)]
    pairs = threshold_network(dates, np.array([0.0, 300.0, 0.0]), 48, 100.0)
    assert pairs == [(0, 1), (1, 2)]


def test_low_quality_share_and_every_cause_present(sims):
    shares = [s.low_quality_fraction for s in sims]
    assert all(0.2 <= share <= 0.4 for share in shares), shares
    causes = Counter(c for s in sims for t in s.truth for c in t.causes)
    assert set(causes) == set(CAUSES), causes


def test_labels_follow_the_thresholds_of_design(sims):
    for sim in sims:
        for truth in sim.truth:
            expected = (truth.unwrapping_error_fraction >= thresholds.UNWRAP_AREA_MIN
                        or truth.decorrelated_fraction > thresholds.DECORRELATED_LAND_MIN
                        or truth.atmosphere_std_mm > thresholds.ATMOSPHERE_STD_MAX_MM
                        or truth.ramp_fringes > thresholds.RAMP_FRINGES_MAX)
            assert (truth.label == "low") == expected
            assert (truth.label == "low") == bool(truth.causes)


def test_high_quality_pairs_have_moderate_atmosphere_and_coherent_land(sims):
    high = [t for s in sims for t in s.truth if t.label == "high"]
    assert np.median([t.atmosphere_std_mm for t in high]) < 8.0
    assert np.median([t.decorrelated_fraction for t in high]) < 0.45
    assert max(t.ramp_fringes for t in high) <= 1.5


def _closures(sim):
    """Closure phase of every triplet, on pixels coherent (> 0.4) in its three pairs."""
    stack = sim.to_stack()
    phases = [stack.read_phase(i) for i in range(stack.n_pairs)]
    coherence = [stack.read_coherence(i) for i in range(stack.n_pairs)]
    index = {(p.date1, p.date2): i for i, p in enumerate(sim.pairs)}
    for d1, d2, d3 in itertools.combinations(sim.dates, 3):
        ids = [index.get((d1, d2)), index.get((d2, d3)), index.get((d1, d3))]
        if None not in ids:
            a, b, c = ids
            coherent = np.fmin(np.fmin(coherence[a], coherence[b]), coherence[c]) > 0.4
            closure = phases[a] + phases[b] - phases[c]
            coherent &= np.isfinite(closure)
            if coherent.sum() < 50:
                continue
            # Per-pair residual ramps do not cancel around a loop (nor in the real stack):
            # remove the closure's plane before looking for 2 pi jumps.
            rows, cols = np.nonzero(coherent)
            design = np.column_stack([np.ones_like(rows), rows, cols]).astype(float)
            plane = np.linalg.lstsq(design, closure[coherent], rcond=None)[0]
            yield ids, closure[coherent] - design @ plane


def test_loop_closure_reveals_unwrapping_errors_only(sims):
    """Signals cancel around a triplet; noise leaves small residuals on coherent pixels; a
    2 pi jump does not cancel."""
    clean, with_error = [], []
    for sim in sims:
        for ids, closure in _closures(sim):
            causes = [set(sim.truth[i].causes) for i in ids]
            big = float(np.nanmean(np.abs(closure) > np.pi))
            if all(not c for c in causes):
                clean.append(big)
            elif any("unwrapping_error" in c for c in causes) and not any(
                    "decorrelation" in c for c in causes):
                with_error.append(big)
    assert clean and with_error
    assert np.median(clean) < 0.01
    assert np.median(with_error) > 0.03


def test_ground_truth_velocity_has_subsidence_bowls(sims):
    for sim in sims:
        assert np.nanmin(sim.velocity_mm_yr) < -15.0
        assert sim.timeseries_mm.shape == (len(sim.dates), 64, 64)
        np.testing.assert_array_equal(np.nan_to_num(sim.timeseries_mm[0]), 0.0)


def test_config_validation():
    with pytest.raises(ValueError, match="n_dates"):
        SimulationConfig(n_dates=2)
    with pytest.raises(ValueError, match="unknown causes"):
        SimulationConfig(cause_weights={"aliens": 1.0})


def test_small_local_unwrapping_errors_with_per_pixel_truth():
    from sbas_selector.core.simulation import SimulationConfig, simulate
    from sbas_selector.core.simulation.config import SMALL_ERROR_MAX_SHARE, SMALL_ERROR_MIN_PIXELS

    config = SimulationConfig(seed=21, n_dates=20, rows=96, cols=96, small_error_fraction=0.3)
    with_errors = simulate(config)
    without = simulate(SimulationConfig(**{**config.__dict__, "small_error_fraction": 0.0}))
    assert len(with_errors.small_errors) >= 5 and not without.small_errors
    for p, cycles in with_errors.small_errors.items():
        truth = with_errors.truth[p]
        error = cycles != 0
        assert truth.label == "high" and truth.small_error_pixels == int(error.sum())
        assert set(np.unique(cycles[error])) <= {-1, 1}
        valid = np.isfinite(with_errors.phase[p])
        assert error.sum() >= SMALL_ERROR_MIN_PIXELS
        assert error.sum() <= 2 * max(SMALL_ERROR_MIN_PIXELS, SMALL_ERROR_MAX_SHARE * valid.sum())
        assert valid[error].all()  # where the unwrapper gave phase
        # Exactly the patch differs, by whole cycles; the rest of the stack is unchanged.
        difference = with_errors.phase[p] - without.phase[p]
        np.testing.assert_allclose(difference[error], 2 * np.pi * cycles[error], atol=1e-3)
        np.testing.assert_array_equal(difference[valid & ~error], 0)
        # Next to decorrelated ground: the patch's coherence is below the pair's median.
        coherence = with_errors.coherence[p]
        assert np.nanmedian(coherence[error]) < np.nanmedian(coherence[valid])
    others = [p for p in range(len(with_errors.pairs)) if p not in with_errors.small_errors]
    np.testing.assert_array_equal(with_errors.phase[others], without.phase[others])
