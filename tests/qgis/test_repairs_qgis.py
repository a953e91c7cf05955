"""The repair algorithms through Processing, and repairs applied by the dock's tasks."""

from __future__ import annotations

import numpy as np

from tests.conftest import SMALL_ERROR


def test_processing_check_closure_then_export_and_invert(iface, small_error_stack, tmp_path,
                                                         qgis_app):
    import processing
    from osgeo import gdal, ogr

    import sbas_selector
    from sbas_selector.core.formats import open_stack
    from sbas_selector.core.labels import LabelsStore

    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()
    try:
        result = processing.run("sbas_selector:check_closure", {
            "STACK": str(small_error_stack),
            "CLOSURE_RASTER": str(tmp_path / "closure.tif"),
            "PATCHES": str(tmp_path / "patches.gpkg"),
            "OUTPUT": str(tmp_path / "closure.json")})
        assert (result["N_REPAIRED"], result["N_DROPPED"], result["N_CHECKED"]) == (1, 0, 12)
        count = gdal.Open(result["CLOSURE_RASTER"]).ReadAsArray()
        row, col, rows, cols = SMALL_ERROR
        inside = np.zeros(count.shape[1:], bool)
        inside[row:row + rows, col:col + cols] = True
        assert count[0][inside].min() >= 2 and count[0][~inside].max() == 0
        assert count[1].max() >= 3  # triplets with data
        source = ogr.Open(result["PATCHES"])
        features = list(source.GetLayer(0))
        assert len(features) == 1
        feature = features[0]
        assert (feature["n_pixels"], feature["cycles"], feature["action"]) == (16, 1, "correct")
        x0, x1, y0, y1 = feature.GetGeometryRef().GetEnvelope()
        assert (x0, x1) == (480_000 + col * 80, 480_000 + (col + cols) * 80)
        assert (y1, y0) == (2_160_000 - row * 80, 2_160_000 - (row + rows) * 80)
        features = feature = source = None
        stack = open_stack(small_error_stack)
        store = LabelsStore.open(stack)
        assert store.labels[stack.pair_ids[4]].closure == "repaired"
        exported = processing.run("sbas_selector:export_corrected_stack", {
            "STACK": str(small_error_stack), "OUTPUT": str(tmp_path / "corrected")})
        assert open_stack(exported["OUTPUT"]).n_pairs == 12
        velocities = {}
        for apply in (True, False):
            out = processing.run("sbas_selector:invert", {
                "STACK": str(small_error_stack), "APPLY_REPAIRS": apply,
                "OUTPUT": str(tmp_path / f"inv_{apply}")})
            velocities[apply] = gdal.Open(out["VELOCITY"]).ReadAsArray()
        difference = np.abs(velocities[True] - velocities[False])
        assert difference[inside].min() > 1.0 and np.nanmedian(difference[~inside]) < 0.5
    finally:
        plugin.unload()


def test_invert_task_applies_the_repairs_it_is_given(small_error_stack, tmp_path, wait_for):
    from qgis.core import QgsApplication

    from sbas_selector.core.closure import check_closure
    from sbas_selector.core.formats import open_stack
    from sbas_selector.core.inversion import InversionOptions
    from sbas_selector.tasks import InvertTask

    stack = open_stack(small_error_stack)
    repairs = check_closure(stack).repairs()
    done = []
    task = InvertTask(str(small_error_stack), str(tmp_path / "out"), None,
                      InversionOptions(reference_pixel=(40, 5)), done.append, done.append,
                      repairs=repairs)
    QgsApplication.taskManager().addTask(task)
    wait_for(lambda: done)
    from osgeo import gdal

    from sbas_selector.core.inversion import run_inversion

    plain = run_inversion(stack, tmp_path / "plain", options=InversionOptions(
        reference_pixel=(40, 5)))
    repaired = gdal.Open(str(done[0].files["velocity"])).ReadAsArray()
    unrepaired = gdal.Open(str(plain.files["velocity"])).ReadAsArray()
    row, col, rows, cols = SMALL_ERROR
    assert np.abs(repaired - unrepaired)[row:row + rows, col:col + cols].min() > 1.0


def test_dock_shows_patches_outlines_closure_layer_and_takes_decisions(
        iface, small_error_stack, wait_for, monkeypatch, tmp_path):
    from qgis.core import QgsProject

    import sbas_selector
    from sbas_selector.core.repairs import Patch
    from sbas_selector.ui.repair_layers import CLOSURE_LAYER, PATCH_LAYER

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()
    try:
        dock = plugin.dock
        opened = []
        dock.stack_opened.connect(opened.append)
        dock.open_stack(str(small_error_stack))
        wait_for(lambda: opened)
        target = dock.stack.pair_ids[4]
        # Opening checked closure: one verdict in the labels, the table and the graph.
        assert dock.store.labels[target].closure == "repaired"
        assert "1 repaired" in dock.status_label.text()
        assert [e.repaired for e in dock.graph_model.edges] == [i == 4 for i in range(12)]
        evidence = dock.table_model.index(4, 9).data()
        assert evidence.startswith("unwrapping error: 16 px at rows 10-13, cols 20-23")
        project = QgsProject.instance()
        closure = project.mapLayersByName(CLOSURE_LAYER)[0]
        outlines = project.mapLayersByName(PATCH_LAYER)[0]
        group = dock.layers.group
        assert not group.findLayer(closure.id()).itemVisibilityChecked()
        assert group.findLayer(outlines.id()).itemVisibilityChecked()
        # Another pair: no outline, a clean line in the panel.
        dock.select_pair(0)
        assert outlines.featureCount() == 0 and "closes in every triplet" in \
            dock.repairs_panel.summary_label.text()
        # The pair with the error: its patch in the panel and outlined on the map.
        dock.select_pair(4)
        assert outlines.featureCount() == 1
        feature = next(outlines.getFeatures())
        assert (feature["n_pixels"], feature["cycles"], feature["action"]) == (16, 1, "correct")
        assert dock.repairs_panel.table.rowCount() == 1
        assert dock.repairs_panel.table.item(0, 6).text() == "corrected"
        # Mask it (saved at once), undo, and a correction that would not help is refused.
        assert dock.decide_patch(1, "mask")
        assert dock.store.labels[target].repairs[0].action == "mask"
        assert next(outlines.getFeatures())["action"] == "mask"
        assert dock.repairs_panel.table.item(0, 7).text() == "analyst"
        dock.undo()
        assert dock.store.labels[target].repairs[0].action == "correct"
        other = dock.stack.pair_ids[0]
        dock.store.labels[other].repairs = [Patch(1, 30, 30, np.ones((4, 4), bool), 1, 0.5,
                                                  1, 3, "mask", "mask")]
        dock.select_pair(0)
        messages = []
        dock._message = lambda title, text, level: messages.append(text)
        assert not dock.decide_patch(1, "correct")
        assert messages and "would not improve closure" in messages[0]
        assert dock.store.labels[other].repairs[0].action == "mask"
        # Another stack takes the dock: this one's closure layers go.
        dock.repairs.release()
        assert not project.mapLayersByName(CLOSURE_LAYER)
    finally:
        plugin.unload()
        QgsProject.instance().clear()
