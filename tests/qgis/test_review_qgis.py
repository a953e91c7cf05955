"""Review in QGIS: layers, graph clicks, keyboard marking with warnings, undo, exports, and the
review Processing algorithms."""

from __future__ import annotations

import json

import pytest


@pytest.fixture()
def dock(iface, stack_copy, wait_for, monkeypatch, tmp_path):
    import sbas_selector

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()
    opened = []
    plugin.dock.stack_opened.connect(opened.append)
    plugin.dock.open_stack(str(stack_copy))
    wait_for(lambda: opened)
    yield plugin.dock
    plugin.unload()
    from qgis.core import QgsProject

    QgsProject.instance().clear()


def test_open_shows_graph_table_layers_and_health(dock):
    assert len(dock.graph_model.edges) == 30 and len(dock.graph_model.dates) == 13
    assert dock.table_model.rowCount() == 30
    assert dock.health_label.text().startswith("Network connected")
    # Every pair's loop closure was measured when the stack opened: no misclosure.
    assert dock.statistics.closure.triplets.sum() == 72
    assert dock.statistics.closure.misclosed.sum() == 0
    assert 0.52 < dock.statistics.mean_coherence.min() < dock.statistics.mean_coherence.max() < 0.68
    # The current pair is shown on the map, alone, with a cyclic (re-wrapped) ramp.
    layer = dock.layers.phase_layers[0]
    node = dock.layers.group.findLayer(layer.id())
    assert node.isVisible()
    assert layer.renderer().type() == "singlebandpseudocolor"
    items = layer.renderer().shader().rasterShaderFunction().colorRampItemList()
    assert items[0].color == items[-1].color  # cyclic


def test_click_edge_selects_pair_row_and_layer(dock):
    from qgis.PyQt.QtCore import QPoint, Qt
    from qgis.PyQt.QtTest import QTest

    dock.graph.resize(600, 300)
    index = dock.stack.index_of("20180307_20180611")
    point = dock.graph.edge_midpoint(index)
    target = dock.graph.edge_at(point)
    QTest.mouseClick(dock.graph, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(int(point.x()), int(point.y())))
    assert dock.current == target
    row = dock.table_proxy.mapToSource(dock.table.currentIndex()).row()
    assert row == target
    layer = dock.layers.phase_layers[target]
    assert dock.layers.group.findLayer(layer.id()).isVisible()
    assert not dock.layers.group.findLayer(dock.layers.phase_layers[0].id()).isVisible()


def test_keyboard_marks_saves_warns_and_undoes(dock, stack_copy):
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtTest import QTest

    from sbas_selector.core.labels import sidecar_path

    asked = []
    dock.confirm = lambda title, text: asked.append(text) or False  # the user says No
    dock.select_pair(dock.stack.index_of("20180506_20180705"))
    dock.table.setFocus()
    QTest.keyClick(dock.table, Qt.Key.Key_D)
    assert asked and "last kept pair of 2018-07-05" in asked[0]
    assert dock.store.final("20180506_20180705").value == "high"  # not dropped
    dock.confirm = lambda title, text: True
    QTest.keyClick(dock.table, Qt.Key.Key_D)
    saved = json.loads(sidecar_path(stack_copy).read_text())
    entry = next(p for p in saved["pairs"] if p["pair_id"] == "20180506_20180705")
    assert entry["final"] == "low" and entry["source"] == "user"
    assert "split into 2 pieces" in dock.health_label.text()
    edge = dock.graph_model.edges[dock.stack.index_of("20180506_20180705")]
    assert edge.label.value == "low" and edge.by_user
    # Arrow keys step through pairs; Ctrl+Z undoes.
    row = dock.table.currentIndex().row()
    QTest.keyClick(dock.table, Qt.Key.Key_Down)
    assert dock.table.currentIndex().row() == row + 1
    QTest.keyClick(dock.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dock.store.final("20180506_20180705").value == "high"
    assert dock.health_label.text().startswith("Network connected")


def test_wrapped_toggle_and_exports(dock, tmp_path):
    layer = dock.layers.phase_layers[0]
    dock.wrapped_check.setChecked(False)
    items = layer.renderer().shader().rasterShaderFunction().colorRampItemList()
    assert items[0].color != items[-1].color  # diverging, unwrapped
    dock.confirm = lambda title, text: True
    dock.select_pair(dock.stack.index_of("20180106_20180412"))
    dock.mark("low")
    written = dock.export("licsbas", str(tmp_path / "rm_ifg_list.txt"))
    assert (tmp_path / "rm_ifg_list.txt").read_text() == "20180106_20180412\n"
    assert len(written) == 1
    dock.export("mintpy", str(tmp_path / "exclude.txt"))
    assert (tmp_path / "exclude.txt").read_text() == "20180106_20180412\n"
    assert len((tmp_path / "exclude_keep.txt").read_text().splitlines()) == 29


def test_processing_review_algorithms(iface, stack_copy, tmp_path, qgis_app):
    import processing

    import sbas_selector

    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()
    try:
        result = processing.run("sbas_selector:select_by_baseline", {
            "STACK": str(stack_copy), "MAX_DAYS": 60, "MAX_BPERP": 50,
            "OUTPUT": str(tmp_path / "labels.csv")})
        assert 0 < result["N_KEPT"] < 30
        n_kept = result["N_KEPT"]
        processing.run("sbas_selector:export_pairs", {
            "STACK": str(stack_copy), "FORMAT": 2, "OUTPUT": str(tmp_path / "rm.txt")})
        assert len((tmp_path / "rm.txt").read_text().splitlines()) == 30 - n_kept
        result = processing.run("sbas_selector:network_report", {
            "STACK": str(stack_copy), "CLOSURE": True, "OUTPUT": str(tmp_path / "net.json")})
        report = json.loads((tmp_path / "net.json").read_text())
        assert result["N_PIECES"] == len(report["pieces"]) >= 1
        assert report["n_triplets"] >= 1
    finally:
        plugin.unload()


def test_dock_classify_colours_graph_and_reports_provider(dock, tmp_path, wait_for,
                                                          make_tiny_model):
    model = make_tiny_model(tmp_path / "tiny.onnx")
    dock.device_combo.setCurrentIndex(dock.device_combo.findData("cpu"))
    dock.threshold_spin.setValue(0.4)
    done = []
    dock.labels_changed.connect(lambda: done.append(1))
    for entry in dock.store.labels.values():
        entry.closure = None  # what opening stored: the task must check closure again
    task = dock.classify(str(model))
    wait_for(lambda: done, timeout_s=60)
    assert task.done_text == "pair 30 of 30"
    verdicts = [dock.store.labels[p].closure for p in dock.stack.pair_ids]
    assert verdicts.count("clean") == 28 and verdicts.count("unchecked") == 2
    assert dock.provider_label.text() == "Inference: CPU: CPU requested"
    scores = [edge.score for edge in dock.graph_model.edges]
    assert all(s is not None and 0 <= s <= 1 for s in scores)
    for edge in dock.graph_model.edges:
        assert edge.label.value == ("high" if edge.score >= 0.4 else "low")
    column = 6  # Score
    assert dock.table_model.index(0, column).data() != ""
    assert dock.store.model["name"] == "tiny" and dock.store.model["threshold"] == 0.4


def test_processing_classify(iface, stack_copy, tmp_path, qgis_app, make_tiny_model):
    import csv

    import processing

    import sbas_selector

    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()
    try:
        model = make_tiny_model(tmp_path / "tiny.onnx")
        result = processing.run("sbas_selector:classify", {
            "STACK": str(stack_copy), "MODEL": str(model), "DEVICE": 1,
            "OUTPUT": str(tmp_path / "labels.csv")})
        assert result["PROVIDER"].startswith("CPU")
        rows = list(csv.DictReader(open(tmp_path / "labels.csv")))
        assert len(rows) == 30 and result["N_HIGH"] == sum(r["label"] == "high" for r in rows)
    finally:
        plugin.unload()
