"""The real Mexico City GAMMA stack, read as a folder of GeoTIFFs."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest

from sbas_selector.core import Window, detect_format, open_stack


@pytest.fixture(scope="module")
def stack(real_stack_path):
    return open_stack(real_stack_path)


def test_detected_as_geotiff_folder(real_stack_path):
    assert detect_format(real_stack_path) == "geotiff"


def test_dates_pairs_and_baselines_match_pairs_csv(stack, real_stack_path):
    with open(real_stack_path / "pairs.csv") as handle:
        rows = list(csv.DictReader(handle))
    assert stack.n_pairs == 30 and stack.n_dates == 13
    assert stack.pair_ids == [f"{r['date1']}_{r['date2']}" for r in rows]
    np.testing.assert_allclose(stack.bperp_m, [float(r["bperp_m"]) for r in rows], atol=0.006)
    np.testing.assert_array_equal(stack.days, [int(r["btemp_days"]) for r in rows])
    assert (stack.dates[0].isoformat(), stack.dates[-1].isoformat()) == ("2018-01-06",
                                                                          "2018-07-17")
    assert stack.skipped == [] and stack.warnings == []


def test_grid_crs_wavelength(stack):
    assert (stack.grid.width, stack.grid.height) == (100, 60)
    assert stack.grid.epsg == 4326
    assert stack.grid.geotransform[0] == pytest.approx(-99.19106978, abs=1e-7)
    assert stack.grid.geotransform[3] == pytest.approx(19.45129262, abs=1e-7)
    assert stack.wavelength_m == pytest.approx(0.0555041577, abs=1e-9)


def test_per_date_baselines_reproduce_pair_baselines(stack):
    per_date = dict(zip(stack.dates, stack.date_bperp_m))
    predicted = [per_date[p.date2] - per_date[p.date1] for p in stack.pairs]
    # GAMMA's scene means are not exactly additive; they close to a few centimetres.
    np.testing.assert_allclose(predicted, stack.bperp_m, atol=1.0)


def test_mean_coherence_matches_pairs_csv(stack, real_stack_path):
    with open(real_stack_path / "pairs.csv") as handle:
        expected = [float(r["mean_coherence"]) for r in csv.DictReader(handle)]
    measured = [float(np.nanmean(stack.read_coherence(i))) for i in range(stack.n_pairs)]
    np.testing.assert_allclose(measured, expected, atol=0.002)


def test_nodata_is_nan_and_windowed_read_matches_full(stack):
    full = stack.read_phase(5)
    assert full.dtype == np.float32 and full.shape == (60, 100)
    assert 90 <= int(np.isnan(full).sum()) <= 120  # the GeoTIFF's zero fill
    part = stack.read_phase(5, Window(10, 20, 30, 40))
    np.testing.assert_array_equal(part, full[10:40, 20:60])


def test_every_closed_triplet_closes_after_referencing(stack):
    """README: each interferogram has its own 2 pi k offset, and every closed triplet agrees.

    "Agrees" means no unwrapping error: no area offset by 2 pi k. Some triplets (those with
    2018-03-19 or 2018-05-30) keep a smooth misclosure of up to ~3 rad across the scene, a
    per-pair ramp, which is not an integer-cycle jump.
    """
    index = {(p.date1, p.date2): i for i, p in enumerate(stack.pairs)}
    phases = [stack.read_phase(i) for i in range(stack.n_pairs)]
    row, col = stack.reference_pixel
    assert all(p[row, col] == 0 for p in phases)
    triplets = 0
    for d1, d2, d3 in itertools.combinations(stack.dates, 3):
        if (d1, d2) in index and (d2, d3) in index and (d1, d3) in index:
            closure = phases[index[(d1, d2)]] + phases[index[(d2, d3)]] - phases[index[(d1, d3)]]
            jump = np.abs(closure - np.nanmedian(closure)) > np.pi
            assert np.nanmean(jump) < 0.02, (d1, d2, d3)
            near_cycle = np.abs(np.abs(closure) - 2 * np.pi) < 1.0
            assert np.nanmean(near_cycle) < 0.005, (d1, d2, d3)
            triplets += 1
    assert triplets >= 10
