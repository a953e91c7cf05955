"""Block-wise inversion of whole stacks: accuracy, outputs, atomicity and bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from osgeo import gdal

from sbas_selector.cli import main
from sbas_selector.core import StackError, open_stack
from sbas_selector.core.inversion import (
    InversionCancelledError,
    InversionOptions,
    run_inversion,
)
from sbas_selector.core.simulation import SimulationConfig, simulate


@pytest.fixture(scope="module")
def clean_sim():
    """Only high-quality pairs, weak atmosphere: the velocity must come out near the truth."""
    return simulate(SimulationConfig(seed=11, n_dates=24, rows=40, cols=48,
                                     low_quality_fraction=0.0, atmosphere_median_mm=1.0,
                                     stratified_mm_per_km=0.5, seasonal_amplitude_mm=0.0,
                                     orbit_ramp_max_fringes=0.05))


def _read(path):
    return gdal.Open(str(path)).ReadAsArray()


def test_noise_free_stack_inverts_exactly(tmp_path):
    sim = simulate(SimulationConfig(seed=12, n_dates=16, rows=32, cols=32,
                                    low_quality_fraction=0.0, atmosphere_median_mm=1e-6,
                                    stratified_mm_per_km=0.0, dem_error_std_m=0.0, looks=1e9,
                                    orbit_ramp_max_fringes=0.0, water_fraction=0.0,
                                    small_error_fraction=0.0))
    result = run_inversion(sim.to_stack(), tmp_path)
    series, n_pairs = _read(result.files["timeseries"]), _read(result.files["n_pairs"])
    row, col = result.reference_pixel
    every_pair = n_pairs == len(sim.pairs)
    truth = sim.timeseries_mm - sim.timeseries_mm[:, row:row + 1, col:col + 1]
    got = series - series[:, row:row + 1, col:col + 1]
    # float32 phase carrying each pair's 2 pi k offset: ~1e-5 relative precision.
    np.testing.assert_allclose(got[:, every_pair], truth[:, every_pair], atol=0.02)


def test_velocity_within_expected_error_of_truth(clean_sim, tmp_path):
    result = run_inversion(clean_sim.to_stack(), tmp_path)
    velocity, n_pairs = _read(result.files["velocity"]), _read(result.files["n_pairs"])
    row, col = result.reference_pixel
    error = (velocity - velocity[row, col]) - (clean_sim.velocity_mm_yr
                                               - clean_sim.velocity_mm_yr[row, col])
    # Pixels an analyst keeps: valid in every pair and coherent on average.
    mean_coherence = np.nan_to_num(clean_sim.coherence).mean(axis=0)
    coherent = (n_pairs == len(clean_sim.pairs)) & (mean_coherence > 0.5)
    assert coherent.mean() > 0.3
    # Per-date delay ~1.4 mm (turbulence, stratification, ramps) over ~1 year, 24 dates:
    # sqrt(2) x 1.4 / (sqrt(24) x 0.3 yr) ~ 1.4 mm/yr (1.5 measured).
    assert np.sqrt(np.nanmean(error[coherent] ** 2)) < 2.5
    assert np.nanmin(clean_sim.velocity_mm_yr) < -15  # there is a real signal to recover


def test_outputs_units_bands_and_grid(clean_sim, tmp_path):
    stack = clean_sim.to_stack()
    result = run_inversion(stack, tmp_path, options=InversionOptions(memory_gb=0.0005))
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["velocity.tif", "velocity_std.tif", "timeseries.tif", "temporal_coherence.tif",
         "residual_rms.tif", "n_pairs.tif", "velocity.qml", "inversion.json"])
    series = gdal.Open(str(result.files["timeseries"]))
    assert series.RasterCount == len(clean_sim.dates)
    assert series.GetRasterBand(1).GetDescription() == clean_sim.dates[0].strftime("%Y%m%d")
    assert series.GetMetadata()["UNITS"] == "mm"
    velocity = gdal.Open(str(result.files["velocity"]))
    assert velocity.GetMetadata()["UNITS"] == "mm/yr"
    assert np.isnan(velocity.GetRasterBand(1).GetNoDataValue())
    assert velocity.GetGeoTransform() == stack.grid.geotransform
    np.testing.assert_array_equal(_read(result.files["timeseries"])[0][
        np.isfinite(_read(result.files["velocity"]))], 0.0)
    assert not list(tmp_path.glob(".*.part")) and not list(tmp_path.glob(".sbas-inversion.*"))
    qml = (tmp_path / "velocity.qml").read_text()
    assert "singlebandpseudocolor" in qml and "#b2182b" in qml and "#2166ac" in qml


def test_small_memory_budget_gives_the_same_result(clean_sim, tmp_path):
    stack = clean_sim.to_stack()
    one = run_inversion(stack, tmp_path / "one")
    many = run_inversion(stack, tmp_path / "many", options=InversionOptions(memory_gb=0.0003))
    np.testing.assert_allclose(_read(one.files["timeseries"]), _read(many.files["timeseries"]),
                               atol=1e-4)  # mm; float32 products, blocks change nothing else


@pytest.mark.parametrize("workers", ["1", "3"])
def test_parallel_chunks_and_reference_in_a_later_block_change_nothing(clean_sim, tmp_path,
                                                                       monkeypatch, workers):
    """Many blocks, the reference pixel in the last one (its block is solved first and gives
    the reference values), chunks solved by several workers: same answer as one block."""
    stack = clean_sim.to_stack()
    finite = np.argwhere(np.isfinite(clean_sim.phase).all(axis=0))
    row, col = (int(v) for v in finite[-1])
    assert row > 30
    whole = run_inversion(stack, tmp_path / "whole",
                          options=InversionOptions(reference_pixel=(row, col)))
    monkeypatch.setenv("SBAS_SOLVE_WORKERS", workers)
    blocks = run_inversion(stack, tmp_path / "blocks",
                           options=InversionOptions(reference_pixel=(row, col),
                                                    memory_gb=0.0003))
    np.testing.assert_allclose(_read(blocks.files["timeseries"]),
                               _read(whole.files["timeseries"]), atol=1e-4)
    assert np.isfinite(_read(blocks.files["velocity"])).mean() > 0.9


def test_tiled_rasters_are_read_in_whole_tiles_and_give_the_same_result(clean_sim, tmp_path,
                                                                      monkeypatch):
    """Where not even one tile row fits the budget, blocks are one tile row high and as many
    whole tiles wide as fit: they cover the grid once, never split a tile, and give the
    answer of one block (the reference pixel's block solved first)."""
    from sbas_selector.core.inversion.run import block_windows, prepare
    from sbas_selector.core.stack import Stack

    stack = clean_sim.to_stack()
    monkeypatch.setattr(Stack, "tile_shape", lambda self: (4, 8))
    finite = np.argwhere(np.isfinite(clean_sim.phase).all(axis=0))
    row, col = (int(v) for v in finite[len(finite) // 2])
    options = InversionOptions(reference_pixel=(row, col), memory_gb=0.0001)
    windows = block_windows(stack, prepare(stack, None, options, read_reference=False))
    assert len(windows) > 3 and all(w.rows == 4 for w in windows)
    covered = np.zeros((stack.grid.height, stack.grid.width), int)
    for w in windows:
        assert w.row % 4 == 0 and w.col % 8 == 0  # whole tiles
        assert w.cols % 8 == 0 or w.col + w.cols == stack.grid.width
        covered[w.row:w.row + w.rows, w.col:w.col + w.cols] += 1
    assert (covered == 1).all()
    assert any(w.cols < stack.grid.width for w in windows)
    whole = run_inversion(stack, tmp_path / "whole",
                          options=InversionOptions(reference_pixel=(row, col)))
    tiles = run_inversion(stack, tmp_path / "tiles", options=options)
    for name in ("timeseries", "velocity", "temporal_coherence", "n_pairs"):
        np.testing.assert_allclose(_read(tiles.files[name]), _read(whole.files[name]),
                                   atol=1e-4, err_msg=name)


def test_user_reference_and_split_network_warning(clean_sim, tmp_path):
    stack = clean_sim.to_stack()
    d = clean_sim.dates[len(clean_sim.dates) // 2]
    keep = np.array([not (p.date1 < d <= p.date2) for p in stack.pairs])  # cut at d
    row, col = (int(v) for v in np.argwhere(np.isfinite(clean_sim.phase).all(axis=0))[0])
    result = run_inversion(stack, tmp_path, keep=keep,
                           options=InversionOptions(reference_pixel=(row, col)))
    assert result.reference_pixel == (row, col)
    assert len(result.pieces) == 2
    assert any("split the network into 2 pieces" in w and d.isoformat() in w
               for w in result.warnings)
    velocity = _read(result.files["velocity"])
    assert np.isfinite(velocity).mean() > 0.5  # minimum norm still inverts


def test_reference_in_nodata_is_refused(clean_sim, tmp_path):
    stack = clean_sim.to_stack()
    holes = np.argwhere(np.isnan(clean_sim.phase[0]))
    assert len(holes)
    row, col = (int(v) for v in holes[0])
    with pytest.raises(StackError, match="has no data"):
        run_inversion(stack, tmp_path, options=InversionOptions(reference_pixel=(row, col)))
    assert not list(tmp_path.iterdir())  # refused before anything was left behind
    with pytest.raises(StackError, match="outside"):
        run_inversion(stack, tmp_path, options=InversionOptions(reference_pixel=(999, 0)))


def test_cancel_leaves_no_partial_output(clean_sim, tmp_path):
    calls = []

    def cancelled():
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(InversionCancelledError):
        run_inversion(clean_sim.to_stack(), tmp_path,
                      options=InversionOptions(memory_gb=0.0003), cancelled=cancelled)
    assert list(tmp_path.iterdir()) == []


def test_unwritable_output_folder(clean_sim, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StackError, match="not writable"):
        run_inversion(clean_sim.to_stack(), blocker / "out")


def test_min_pairs_nan_and_counted(clean_sim, tmp_path):
    result = run_inversion(clean_sim.to_stack(), tmp_path,
                           options=InversionOptions(min_pairs=len(clean_sim.pairs)))
    velocity, n_pairs = _read(result.files["velocity"]), _read(result.files["n_pairs"])
    assert np.isnan(velocity[n_pairs < len(clean_sim.pairs)]).all()
    assert result.pixels_too_few_pairs == int((n_pairs < len(clean_sim.pairs)).sum()) > 0


def test_cli_invert_with_labels_on_real_stack(real_stack_path, tmp_path, capsys):
    import csv

    labels = tmp_path / "labels.csv"
    stack = open_stack(real_stack_path)
    with open(labels, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["date1", "date2", "label"])
        for k, pair in enumerate(stack.pairs):
            writer.writerow([pair.date1.strftime("%Y%m%d"), pair.date2.strftime("%Y%m%d"),
                             "low" if k == 3 else "high"])
    out = tmp_path / "out"
    assert main(["invert", str(real_stack_path), "--labels", str(labels), "--out", str(out),
                 "--ref-lonlat=-99.18,19.44"]) == 0
    printed = capsys.readouterr().out
    assert "inverted 29 pairs over 13 dates" in printed
    velocity = _read(out / "velocity.tif")
    # The subsidence bowl (upper right) deepens by about 11.5 rad per 100 days (README):
    # about -185 mm/yr relative to its surroundings.
    row, col = np.unravel_index(np.nanargmin(velocity), velocity.shape)
    assert row < 30 and col > 60
    bowl = np.nanmin(velocity) - np.nanmedian(velocity)
    expected = -11.5 / 100 * 365.25 * 0.0555 / (4 * np.pi) * 1000
    assert expected * 1.5 < bowl < expected * 0.7


def test_cli_labels_that_do_not_match_are_refused(real_stack_path, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("date1,date2,label\n20180106,20180130,high\n")
    assert main(["invert", str(real_stack_path), "--labels", str(labels),
                 "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "labels do not match the stack" in err
    assert "29 of the stack's pairs without a label" in err
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_read_pixel_series_matches_rasters(clean_sim, tmp_path):
    from sbas_selector.core.inversion.outputs import read_pixel_series

    result = run_inversion(clean_sim.to_stack(), tmp_path)
    series = read_pixel_series(tmp_path, 10, 12)
    assert series.dates == tuple(clean_sim.dates)
    np.testing.assert_array_equal(series.displacement_mm,
                                  _read(result.files["timeseries"])[:, 10, 12])
    assert series.velocity_mm_yr == pytest.approx(float(_read(result.files["velocity"])[10, 12]))
    with pytest.raises(StackError, match="outside"):
        read_pixel_series(tmp_path, 500, 0)


def test_points_for_insar_explorer(clean_sim, tmp_path):
    from osgeo import ogr

    from sbas_selector.core.inversion.points import write_points_gpkg

    result = run_inversion(clean_sim.to_stack(), tmp_path)
    path = write_points_gpkg(tmp_path, min_temporal_coherence=0.5)
    datasource = ogr.Open(str(path))  # keep it referenced while its layer is used
    layer = datasource.GetLayer(0)
    velocity = _read(result.files["velocity"])
    coherence = _read(result.files["temporal_coherence"])
    expected = int((np.isfinite(velocity) & (np.nan_to_num(coherence) >= 0.5)).sum())
    assert layer.GetFeatureCount() == expected > 0
    names = [layer.GetLayerDefn().GetFieldDefn(i).GetName()
             for i in range(layer.GetLayerDefn().GetFieldCount())]
    assert names[:4] == ["VEL", "V_STDEV", "TCOH", "N_PAIRS"]
    assert names[4:] == [f"D{d.strftime('%Y%m%d')}" for d in clean_sim.dates]
    feature = layer.GetNextFeature()
    x, y = feature.GetGeometryRef().GetX(), feature.GetGeometryRef().GetY()
    row, col = clean_sim.grid.xy_to_pixel(x, y)
    assert feature.GetField("VEL") == pytest.approx(float(velocity[row, col]), rel=1e-6)
    assert not list(tmp_path.glob(".*.part")) and not list(tmp_path.glob(".sbas-inversion.*"))


def _velocity_rmse(sim, result):
    velocity = _read(result.files["velocity"])
    row, col = result.reference_pixel
    error = (velocity - velocity[row, col]) - (sim.velocity_mm_yr
                                               - sim.velocity_mm_yr[row, col])
    coherent = np.nan_to_num(sim.coherence).mean(axis=0) > 0.5
    return float(np.sqrt(np.nanmean(error[coherent] ** 2)))


def test_gap_bridging_beats_minimum_norm_on_a_split_network(clean_sim, tmp_path):
    """Every pair touching five consecutive dates dropped (a stormy spell): a 60-day gap
    that minimum norm fills with no motion, and the bridge with the linear velocity."""
    stack = clean_sim.to_stack()
    first, last = clean_sim.dates[10], clean_sim.dates[14]
    keep = np.array([p.date2 < first or p.date1 > last for p in stack.pairs])
    plain = run_inversion(stack, tmp_path / "plain", keep=keep)
    bridged = run_inversion(stack, tmp_path / "bridged", keep=keep,
                            options=InversionOptions(bridge_gaps=True))
    assert _velocity_rmse(clean_sim, bridged) < 0.5 * _velocity_rmse(clean_sim, plain)
    shift = _read(bridged.files["bridge_shift"])
    assert np.nanmedian(np.abs(shift)) > 1.0  # it moved the result, and says by how much
    assert any("bridged by a linear temporal model" in w for w in bridged.warnings)


def test_gap_bridging_barely_changes_a_connected_network(clean_sim, tmp_path):
    bridged = run_inversion(clean_sim.to_stack(), tmp_path,
                            options=InversionOptions(bridge_gaps=True, bridge_seasonal=True))
    assert np.nanmedian(np.abs(_read(bridged.files["bridge_shift"]))) < 0.2


def test_soft_weights(clean_sim, tmp_path):
    stack = clean_sim.to_stack()
    plain = run_inversion(stack, tmp_path / "plain")
    ones = run_inversion(stack, tmp_path / "ones", pair_weights=np.ones(stack.n_pairs))
    np.testing.assert_allclose(_read(ones.files["velocity"]), _read(plain.files["velocity"]),
                               atol=1e-3)
    drop = np.zeros(stack.n_pairs, bool)
    drop[[1, 5, 9]] = True
    weights = np.where(drop, 1e-6, 1.0)
    soft = run_inversion(stack, tmp_path / "soft", pair_weights=weights)
    hard = run_inversion(stack, tmp_path / "hard", keep=~drop)
    np.testing.assert_allclose(_read(soft.files["velocity"]), _read(hard.files["velocity"]),
                               atol=0.05)


def test_robust_inversion_on_clean_pairs_stays_near_the_truth(clean_sim, tmp_path,
                                                               monkeypatch):
    stack = clean_sim.to_stack()
    plain = run_inversion(stack, tmp_path / "plain")
    monkeypatch.setenv("SBAS_SOLVE_WORKERS", "2")
    with warnings.catch_warnings():  # pixels without data in chunks solved in threads
        warnings.simplefilter("error")
        robust = run_inversion(stack, tmp_path / "robust",
                               options=InversionOptions(robust=True, memory_gb=0.0005))
    truth = clean_sim.velocity_mm_yr
    coherent = np.isfinite(_read(plain.files["velocity"]))

    def rmse(result):
        v = _read(result.files["velocity"])
        row, col = result.reference_pixel
        return np.sqrt(np.nanmean(((v - v[row, col]) - (truth - truth[row, col]))[coherent]**2))

    # Clean pairs only: robust weights change the answer by no more than noise.
    assert rmse(robust) < rmse(plain) + 0.5


def test_coherence_weighting_without_coherence_is_refused(stack_copy, tmp_path):
    import shutil

    shutil.rmtree(stack_copy / "cc")
    stack = open_stack(stack_copy)
    assert not stack.has_coherence
    with pytest.raises(StackError, match="coherence weighting needs coherence"):
        run_inversion(stack, tmp_path / "out", options=InversionOptions(weighting="coherence"))
    assert not any((tmp_path / "out").glob("*.tif"))


@pytest.mark.parametrize(("grid", "tile", "expected"), [
    ((512, 512), (256, 256), {(256, 256)}),  # four whole tiles: reading and solving overlap
    ((256, 256), (256, 256), {(256, 256)}),  # one tile: never decoded twice
    ((1000, 300), (1, 300), {(250, 300)}),  # strips: bands of rows
    # A frame, 400 pairs, 4 GB: 6 tiles (of 2.5 KB per pixel) per block, a tile row high.
    ((3000, 2500), (256, 256), {(256, 1536), (184, 1536), (256, 964), (184, 964)}),
])
def test_block_windows_cover_the_grid_in_whole_tiles(grid, tile, expected):
    from types import SimpleNamespace

    from sbas_selector.core.inversion.run import block_windows

    height, width = grid
    stack = SimpleNamespace(grid=SimpleNamespace(height=height, width=width),
                            tile_shape=lambda: tile)
    setup = SimpleNamespace(pair_indices=range(400), dates=range(110),
                            options=InversionOptions(memory_gb=4.0))
    windows = block_windows(stack, setup)
    assert {(w.rows, w.cols) for w in windows} == expected
    covered = np.zeros(grid, int)
    for w in windows:
        covered[w.row:w.row + w.rows, w.col:w.col + w.cols] += 1
    assert (covered == 1).all()
    assert len(windows) >= min(4, -(-height // tile[0]) * -(-width // tile[1]))


def test_outputs_are_flushed_block_by_block_only_in_whole_tiles():
    from sbas_selector.core.inversion.run import _Outputs
    from sbas_selector.core.stack_types import Window

    aligned = [Window(0, 0, 256, 512), Window(256, 0, 44, 512)]  # the last reaches the edge
    assert _Outputs.whole_tiles(aligned, 300, 512)
    assert not _Outputs.whole_tiles([Window(0, 0, 100, 512), Window(100, 0, 200, 512)],
                                    300, 512)  # a tile written by two blocks
    assert not _Outputs.whole_tiles([Window(0, 0, 256, 300), Window(0, 300, 256, 212)],
                                    256, 512)


def test_budget_below_one_tile_per_pair_decodes_each_tile_once(clean_sim, tmp_path,
                                                              monkeypatch):
    """A budget too small for one tile of every pair: blocks are bands of rows read from a
    scratch file that each band of tile rows is decoded into once; the same answer as one
    block, weighted too, and the scratch file leaves nothing behind."""
    from sbas_selector.core.inversion import scratch as scratch_module
    from sbas_selector.core.simulation import write_simulation

    folder = write_simulation(clean_sim, tmp_path / "sim", formats=("hyp3",))["hyp3"]
    stack = open_stack(folder)
    assert stack.tile_shape()[0] > 1
    fills = []
    fill = scratch_module.TileRowScratch._fill
    monkeypatch.setattr(scratch_module.TileRowScratch, "_fill",
                        lambda self, band: (fills.append(band), fill(self, band)))
    for weighting in ("none", "coherence"):
        whole = run_inversion(stack, tmp_path / f"whole_{weighting}",
                              options=InversionOptions(weighting=weighting))
        assert not fills
        bands = run_inversion(stack, tmp_path / f"bands_{weighting}",
                              options=InversionOptions(weighting=weighting, memory_gb=0.00005))
        assert len(fills) == 1 and fills[0].rows == stack.grid.height  # one tile row, once
        fills.clear()
        for name in ("timeseries", "velocity", "temporal_coherence", "n_pairs"):
            np.testing.assert_allclose(_read(bands.files[name]), _read(whole.files[name]),
                                       atol=1e-4, err_msg=f"{weighting} {name}")
        assert sorted(p.name for p in bands.out_dir.iterdir()) == sorted(
            p.name for p in whole.out_dir.iterdir())


def test_a_block_is_solved_in_equal_chunks_a_multiple_of_the_workers(clean_sim, monkeypatch):
    """No worker is left alone with a short remainder at the end of a block."""
    from sbas_selector.core.inversion import run as run_module
    from sbas_selector.core.stack_types import Window

    stack = clean_sim.to_stack()
    setup = run_module.prepare(stack, None, InversionOptions(), read_reference=False)
    window = Window(0, 0, stack.grid.height, stack.grid.width)  # 1,920 pixels
    phase, weights = run_module.read_block(stack, setup, window)
    setup = run_module.with_reference(stack, setup, window, phase)
    sizes = []
    solve = run_module._invert_columns
    monkeypatch.setattr(run_module, "_invert_columns",
                        lambda s, p, *rest: sizes.append(p.shape[1]) or solve(s, p, *rest))
    monkeypatch.setattr(run_module, "solve_chunks", lambda setup: (1100, 256))
    whole = run_module.solve_block(setup, window, phase.copy(), weights, workers=2)
    assert sizes.count(sizes[0]) == len(sizes) == 4  # not 550, 550, 550, 270
    sizes.clear()
    single = run_module.solve_block(setup, window, phase.copy(), weights, workers=1)
    assert sizes == [960, 960]
    np.testing.assert_allclose(whole["velocity"], single["velocity"], atol=1e-4)


@pytest.mark.parametrize("workers", [1, 2])
def test_chunks_are_solved_with_one_blas_thread(clean_sim, workers, monkeypatch):
    """One worker too: BLAS's own threads, idle between the many small products, spun and
    took about a core (a single-worker 80-date solve had 2.5-3.2 s of system time)."""
    from sbas_selector.core.blas import blas_thread_count, blas_threads, can_limit_blas
    from sbas_selector.core.inversion import run as run_module
    from sbas_selector.core.stack_types import Window

    if not can_limit_blas():
        pytest.skip("the BLAS thread count cannot be set here")
    stack = clean_sim.to_stack()
    setup = run_module.prepare(stack, None, InversionOptions(), read_reference=False)
    window = Window(0, 0, stack.grid.height, stack.grid.width)
    phase, weights = run_module.read_block(stack, setup, window)
    setup = run_module.with_reference(stack, setup, window, phase)
    seen = []
    solve = run_module._invert_columns
    monkeypatch.setattr(run_module, "_invert_columns",
                        lambda *args: seen.append(blas_thread_count()) or solve(*args))
    with blas_threads(2):
        run_module.solve_block(setup, window, phase, weights, workers=workers)
        after = blas_thread_count()
    assert seen and set(seen) == {1}
    assert after == 2  # given back


def test_outputs_written_in_two_threads_are_the_same(clean_sim, tmp_path, monkeypatch):
    """A large block's single-band rasters are written beside its time series, in a thread
    of their own: the files hold the same values."""
    import sys
    from concurrent.futures import ThreadPoolExecutor

    from sbas_selector.core.inversion import run as run_module

    stack = clean_sim.to_stack()
    one = run_inversion(stack, tmp_path / "one")
    writers = []

    class Counted(ThreadPoolExecutor):
        def __init__(self, *args, **kwargs):
            writers.append(sys._getframe(1).f_code.co_name)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(run_module, "ThreadPoolExecutor", Counted)
    monkeypatch.setattr(run_module._Outputs, "SPLIT_VALUES", 1)
    two = run_inversion(stack, tmp_path / "two")
    assert "write" in writers
    for name, path in one.files.items():
        if path.suffix == ".tif":
            np.testing.assert_array_equal(_read(two.files[name]), _read(path))
