"""The inversion in QGIS: the dock's Invert task, the styled layer, the pixel plot, Processing."""

from __future__ import annotations

import numpy as np
import pytest


def test_dock_inverts_adds_styled_layer_and_plots_a_pixel(plugin, real_stack_path, tmp_path,
                                                          wait_for):
    from qgis.core import QgsProject

    dock = plugin.dock
    opened = []
    dock.stack_opened.connect(opened.append)
    dock.open_stack(str(real_stack_path))
    wait_for(lambda: opened)
    assert dock.invert_tab.invert_button.isEnabled()
    dock.invert_tab.output_edit.setText(str(tmp_path / "sbas"))
    dock.invert_tab.points_check.setChecked(True)
    done = []
    dock.inversion_done.connect(done.append)
    dock.invert()
    wait_for(lambda: done, timeout_s=120)
    assert (tmp_path / "sbas" / "velocity.tif").is_file()
    assert (tmp_path / "sbas" / "insar_explorer.gpkg").is_file()
    layers = QgsProject.instance().mapLayersByName("Velocity (mm/yr)")
    assert len(layers) == 1
    renderer = layers[0].renderer()
    assert renderer.type() == "singlebandpseudocolor"
    shader = renderer.shader().rasterShaderFunction()
    assert shader.minimumValue() == pytest.approx(-shader.maximumValue())  # symmetric ramp
    assert dock.invert_tab.pick_button.isEnabled()
    # A click on the map at the bowl (upper right) plots that pixel's series.
    point = dock.stack.grid.pixel_to_xy(8, 95)
    from qgis.core import QgsPointXY

    dock.invert_tab.plot_at_map_point(QgsPointXY(*point))
    series = dock.invert_tab.plot.series
    assert series is not None and (series.row, series.col) == (8, 95)
    assert len(series.dates) == 13 and series.velocity_mm_yr < -100
    assert np.isfinite(series.displacement_mm).all()


def test_processing_invert_real_stack(plugin, real_stack_path, tmp_path):
    import processing
    from osgeo import gdal

    result = processing.run("sbas_selector:invert", {
        "STACK": str(real_stack_path), "WEIGHTS": 1, "MIN_PAIRS": 2, "ROBUST": True,
        "REFERENCE": "-99.18,19.44 [EPSG:4326]", "OUTPUT": str(tmp_path / "out")})
    assert result["N_PAIRS"] == 30
    import json
    from pathlib import Path

    velocity = gdal.Open(result["VELOCITY"]).ReadAsArray()
    summary = json.loads((Path(result["FOLDER"]) / "inversion.json").read_text())
    assert summary["reference_pixel"] == [8, 7]  # lon -99.18, lat 19.44 on the 150 m grid
    assert summary["weighting"] == "coherence" and summary["min_pairs"] == 2
    assert summary["robust"] is True and summary["bridge_gaps"] is False
    assert velocity[8, 7] == pytest.approx(0.0, abs=1e-4)
    assert np.nanmin(velocity) < -150


def test_processing_invert_mismatched_labels(plugin, real_stack_path, tmp_path):
    import processing
    from qgis.core import QgsProcessingException

    labels = tmp_path / "labels.csv"
    labels.write_text("date1,date2,label\n20180106,20180130,high\n")
    with pytest.raises(QgsProcessingException, match="labels do not match"):
        processing.run("sbas_selector:invert", {"STACK": str(real_stack_path),
                                                "LABELS": str(labels),
                                                "OUTPUT": str(tmp_path / "out")})


def test_processing_invert_on_a_dask_scheduler(plugin, real_stack_path, tmp_path):
    """DASK_SCHEDULER: the blocks go to that cluster (here one in-process worker with 1 GiB,
    so blocks of a 0.6 GiB budget); same rasters as MEMORY_GB 0.6 here."""
    import processing
    from distributed import LocalCluster
    from osgeo import gdal
    from qgis.core import QgsProcessingException

    def run(out, **extra):
        return processing.run("sbas_selector:invert", {
            "STACK": str(real_stack_path), "WEIGHTS": 1, "OUTPUT": str(tmp_path / out),
            **extra})

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, memory_limit="1GiB",
                      dashboard_address=":0") as cluster:
        there = run("dask", DASK_SCHEDULER=cluster.scheduler_address)
    here = run("here", MEMORY_GB=0.6)
    for name in ("velocity", "timeseries", "temporal_coherence"):
        ours, theirs = (gdal.Open(str(tmp_path / d / f"{name}.tif")).ReadAsArray()
                        for d in ("here", "dask"))
        assert np.array_equal(ours, theirs, equal_nan=True), name
    assert here["N_PAIRS"] == there["N_PAIRS"] == 30
    with pytest.raises(QgsProcessingException, match="scheduler address"):
        run("local", DASK_SCHEDULER="2")
