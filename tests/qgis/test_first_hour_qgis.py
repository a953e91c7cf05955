"""The analyst's first hour (issue 13), headless: the map through the project's CRS, one
current pair for keys and views, one layer group per stack, Keep connected one proposal at a
time, texts that follow the labels, phase re-referenced, the reference point."""

from __future__ import annotations

import math

import numpy as np
import pytest


@pytest.fixture()
def open_dock(iface, wait_for, monkeypatch, tmp_path):
    """``open_dock(path)``: the plugin's dock with the stack at ``path`` open (the same dock
    for every call of one test)."""
    from qgis.core import QgsProject

    import sbas_selector

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    plugin = sbas_selector.classFactory(iface)
    plugin.initGui()

    def open_stack(path):
        opened = []
        plugin.dock.stack_opened.connect(opened.append)
        plugin.dock.open_stack(str(path))
        wait_for(lambda: opened)
        plugin.dock.stack_opened.disconnect(opened.append)
        return plugin.dock

    yield open_stack
    plugin.unload()
    QgsProject.instance().clear()


@pytest.fixture()
def utm_stack(tmp_path, small_simulation):
    from sbas_selector.core.formats.hyp3 import write_hyp3

    write_hyp3(small_simulation.to_stack(), tmp_path / "utm_hyp3")
    return tmp_path / "utm_hyp3"


def test_utm_stack_in_a_web_mercator_project_is_in_view(open_dock, utm_stack, iface):
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsPointXY,
        QgsProject,
    )

    project = QgsProject.instance()
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    project.setCrs(mercator)
    canvas = iface.mapCanvas()
    canvas.resize(800, 600)
    canvas.setDestinationCrs(mercator)
    dock = open_dock(utm_stack)
    layer = dock.layers.phase_layers[dock.current]
    assert layer.crs().authid().startswith("EPSG:326")  # UTM
    extent = canvas.extent()
    centre = QgsCoordinateTransform(layer.crs(), mercator, project).transform(
        layer.extent().center())
    assert extent.contains(QgsPointXY(centre))
    # The stack fills the view: the canvas is at most a few times wider than the stack.
    stack_width = QgsCoordinateTransform(layer.crs(), mercator, project).transformBoundingBox(
        layer.extent()).width()
    assert stack_width <= extent.width() < 3 * stack_width
    # Reviewing never moves the map again.
    canvas.setExtent(extent.buffered(extent.width()))
    before = canvas.extent()
    dock.select_pair(3)
    dock.refresh()
    assert canvas.extent() == before


def test_keys_change_only_the_highlighted_pair_when_a_filter_hides_it(open_dock,
                                                                     real_stack_path):
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtTest import QTest

    dock = open_dock(real_stack_path)
    dock.confirm = lambda title, text: True
    low = [p.pair_id for p in dock.stack.pairs if p.days > 60]
    dock.store.set_preselection({p: p not in low for p in dock.stack.pair_ids})
    dock.refresh()
    dock.filter_edit.setText("low")
    assert dock.table_proxy.rowCount() == len(low) >= 3

    def highlighted():
        return dock.stack.pairs[dock.table_proxy.mapToSource(dock.table.currentIndex())
                                .row()].pair_id

    dock.table.setFocus()
    dock.table.setCurrentIndex(dock.table_proxy.index(0, 0))
    first = highlighted()
    assert dock.stack.pairs[dock.current].pair_id == first
    QTest.keyClick(dock.table, Qt.Key.Key_K)  # the row leaves the filter
    assert dock.store.final(first).value == "high"
    second = highlighted()
    assert second != first and dock.stack.pairs[dock.current].pair_id == second
    assert dock.graph.current == dock.current
    QTest.keyClick(dock.table, Qt.Key.Key_D)
    assert dock.store.final(first).value == "high"  # not the hidden pair
    assert dock.store.labels[second].override is not None
    assert dock.stack.pairs[dock.current].pair_id == second  # D keeps it in the filter
    changed = [p for p in dock.stack.pair_ids if dock.store.labels[p].override is not None]
    assert sorted(changed) == sorted([first, second])
    # Undo brings back a pair the filter hides: the table highlights nothing else.
    QTest.keyClick(dock.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClick(dock.table, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert dock.stack.pairs[dock.current].pair_id == first
    assert not dock.table.selectionModel().hasSelection() or highlighted() == first
    assert "hidden by the table's filter" in dock.pair_label.text() or highlighted() == first


def test_keys_work_from_any_widget_of_the_dock(open_dock, real_stack_path):
    from qgis.PyQt.QtCore import Qt
    from qgis.PyQt.QtTest import QTest

    dock = open_dock(real_stack_path)
    dock.confirm = lambda title, text: True
    dock.select_pair(dock.stack.index_of("20180106_20180412"))
    QTest.keyClick(dock.export_buttons["csv"], Qt.Key.Key_D)
    assert dock.store.final("20180106_20180412").value == "low"
    QTest.keyClick(dock.filter_edit, Qt.Key.Key_K)  # typing in the filter is typing
    assert dock.filter_edit.text() == "k"
    assert dock.store.final("20180106_20180412").value == "low"


def test_two_stacks_inverted_each_velocity_on_top_of_its_own_group(open_dock, real_stack_path,
                                                                  utm_stack, tmp_path,
                                                                  wait_for):
    from qgis.core import QgsLayerTreeGroup, QgsLayerTreeLayer, QgsProject

    root = QgsProject.instance().layerTreeRoot()

    def invert(dock, out):
        done = []
        dock.inversion_done.connect(done.append)
        dock.invert_tab.output_edit.setText(str(out))
        dock.invert()
        wait_for(lambda: done, timeout_s=120)
        dock.inversion_done.disconnect(done.append)
        return done[0]

    dock = open_dock(real_stack_path)
    first_result = invert(dock, tmp_path / "first")
    first_group = dock.layers.group
    dock.invert_tab.plot_pixel(8, 95)
    assert dock.invert_tab.plot.series is not None
    dock = open_dock(utm_stack)
    assert dock.inversion is None and dock.invert_tab.plot.series is None  # nothing stale
    assert not dock.invert_tab.pick_button.isEnabled()
    second_result = invert(dock, tmp_path / "second")
    groups = [n for n in root.children() if isinstance(n, QgsLayerTreeGroup)]
    assert groups[0] is dock.layers.group  # the newest stack on top
    assert groups[1].name() == first_group.name() and len(groups) == 2
    for group, result in ((groups[0], second_result), (groups[1], first_result)):
        inversion = group.children()[0]
        assert isinstance(inversion, QgsLayerTreeGroup) and inversion.name() == "SBAS inversion"
        top = inversion.children()[0]
        assert isinstance(top, QgsLayerTreeLayer)
        assert top.layer().source() == str(result.files["velocity"])
        assert top.isVisible()
    # The first stack's interferograms went with it; its inversion stayed.
    assert groups[1].findGroup("interferograms") is None
    # The plot reads the open stack's inversion, with its dates.
    dock.invert_tab.plot_pixel(5, 5)
    assert list(dock.invert_tab.plot.series.dates) == list(second_result.dates)


def test_keep_connected_lists_proposals_and_accepts_one(open_dock, real_stack_path):
    dock = open_dock(real_stack_path)
    keep = {p.pair_id: p.days <= 30 for p in dock.stack.pairs}  # the network splits
    dock.store.set_preselection(keep)
    dock.refresh()
    plan = dock.keep_connected()
    panel = dock.connect_panel
    assert panel.isVisibleTo(dock) and len(plan.proposals) >= 3
    assert panel.proposals_list.count() == len(plan.proposals)
    assert dock.graph.proposed == {p.index for p in plan.proposals}
    chosen = plan.proposals[1]
    panel.proposals_list.setCurrentRow(1)
    assert dock.current == chosen.index  # shown on the graph and the map
    assert dock.layers.group.findLayer(dock.layers.phase_layers[chosen.index].id()).isVisible()
    panel.accept_row(1)
    readmitted = [p for p in dock.stack.pair_ids
                  if dock.store.labels[p].source.value == "connectivity"]
    assert readmitted == [chosen.pair_id]
    assert dock.graph.proposed == {p.index for p in plan.proposals} - {chosen.index}
    assert len(dock.graph_model.health.pieces) == plan.pieces_before - 1
    assert "1 re-admitted" in dock.counts_label.text()
    assert chosen.pair_id in dock.pair_label.text() and "high (connectivity)" in \
        dock.pair_label.text()
    panel.accept_row(0)
    assert sorted(p for p in dock.stack.pair_ids
                  if dock.store.labels[p].source.value == "connectivity") == sorted(
        [chosen.pair_id, plan.proposals[0].pair_id])


def test_keep_connected_says_what_it_cannot_reconnect(open_dock, real_stack_path, iface):
    dock = open_dock(real_stack_path)
    dock.confirm = lambda title, text: True
    dock.mark("low", dock.stack.index_of("20180506_20180705"))  # cuts 2018-07-05 off
    iface.messageBar().pushMessage.reset_mock()
    plan = dock.keep_connected()
    assert plan.unreachable and not plan.proposals
    assert dock.connect_panel.isVisibleTo(dock)
    assert dock.connect_panel.unreachable_label.isVisibleTo(dock)
    assert "cannot reconnect 2018-07-05" in dock.connect_panel.unreachable_label.text()
    pushed = " ".join(str(call.args) for call in iface.messageBar().pushMessage.call_args_list)
    assert "cannot reconnect 2018-07-05" in pushed


def test_texts_follow_the_labels(open_dock, real_stack_path, utm_stack):
    dock = open_dock(real_stack_path)
    dock.confirm = lambda title, text: True
    assert dock.counts_label.text().startswith("30 pairs: 30 kept, 0 dropped")
    dock.select_pair(dock.stack.index_of("20180106_20180412"))
    dock.mark("low")
    assert dock.counts_label.text().startswith("30 pairs: 29 kept, 1 dropped")
    assert "low (user)" in dock.pair_label.text()
    dock.undo()
    assert dock.counts_label.text().startswith("30 pairs: 30 kept")
    assert "high" in dock.pair_label.text()
    dock.threshold_spin.setValue(0.8)
    dock = open_dock(utm_stack)
    assert dock.threshold_spin.value() == 0.0  # "model's": not the other stack's 0.8


def test_phase_shown_re_referenced_wrapped_and_zero_centred(open_dock, real_stack_path):
    from osgeo import gdal

    dock = open_dock(real_stack_path)
    layer = dock.layers.phase_layers[dock.current]
    shader = layer.renderer().shader().rasterShaderFunction()
    assert layer.renderer().band() == 2
    assert shader.minimumValue() == pytest.approx(-math.pi)
    assert shader.maximumValue() == pytest.approx(math.pi)
    items = shader.colorRampItemList()
    assert items[0].color == items[-1].color and items[0].label == "-π rad"
    bands = gdal.Open(layer.source()).ReadAsArray()
    assert np.nanmedian(bands[0]) == pytest.approx(0.0, abs=1e-4)  # re-referenced
    assert np.nanmin(bands[1]) >= -math.pi and np.nanmax(bands[1]) < math.pi
    dock.wrapped_check.setChecked(False)
    renderer = layer.renderer()
    shader = renderer.shader().rasterShaderFunction()
    assert renderer.band() == 1
    assert shader.minimumValue() == pytest.approx(-shader.maximumValue())
    assert "rad" in shader.colorRampItemList()[0].label
    assert "mm" in shader.colorRampItemList()[0].label


def test_reference_point_chosen_on_the_map_is_shown_and_used(open_dock, real_stack_path,
                                                             iface, tmp_path, wait_for):
    import json

    from osgeo import gdal
    from qgis.core import QgsPointXY

    dock = open_dock(real_stack_path)
    canvas = iface.mapCanvas()
    tab = dock.invert_tab
    tab.reference_button.setChecked(True)
    assert canvas.mapTool() is tab._map_tool
    x, y = dock.stack.grid.pixel_to_xy(20, 30)
    tab.map_clicked(QgsPointXY(x, y))
    assert tab.reference_pixel == (20, 30)
    assert not tab.reference_button.isChecked()
    assert "row 20, col 30" in tab.reference_label.text()
    assert tab._marker is not None and tab._marker.isVisible()
    # The map's interferogram is referenced to it.
    layer = dock.layers.phase_layers[dock.current]
    bands = gdal.Open(layer.source()).ReadAsArray()
    assert abs(bands[0][20, 30]) < 0.5
    done = []
    dock.inversion_done.connect(done.append)
    tab.output_edit.setText(str(tmp_path / "out"))
    dock.invert()
    assert dock.progress.maximum() == 0  # busy until the blocks report
    wait_for(lambda: done, timeout_s=120)
    summary = json.loads((tmp_path / "out" / "inversion.json").read_text())
    assert summary["reference_pixel"] == [20, 30]
    velocity = gdal.Open(str(tmp_path / "out" / "velocity.tif")).ReadAsArray()
    assert velocity[20, 30] == pytest.approx(0.0, abs=1e-3)
    # The velocity ramp is symmetric and holds the fast bowl (not a coarse sample).
    shader = dock.velocity_layer.renderer().shader().rasterShaderFunction()
    limit = shader.maximumValue()
    assert shader.minimumValue() == pytest.approx(-limit)
    finite = np.abs(velocity[np.isfinite(velocity)])
    assert limit == pytest.approx(np.percentile(finite, 99.9), rel=0.02)


def test_time_series_plot_has_fit_uncertainty_coordinates_and_a_second_pixel(
        open_dock, real_stack_path, tmp_path, wait_for):
    dock = open_dock(real_stack_path)
    done = []
    dock.inversion_done.connect(done.append)
    dock.invert_tab.output_edit.setText(str(tmp_path / "out"))
    dock.invert()
    wait_for(lambda: done, timeout_s=120)
    tab = dock.invert_tab
    tab.plot_pixel(8, 95)
    first = tab.plot.plotted[0]
    assert first.fit is not None and first.fit.velocity_mm_yr < -100
    assert math.isfinite(first.fit.velocity_std_mm_yr) and first.fit.velocity_std_mm_yr > 0
    assert "row 8, col 95" in first.where and "°" in first.where
    tab.compare_check.setChecked(True)
    tab.plot_pixel(50, 10)
    assert len(tab.plot.plotted) == 2 and tab.plot.plotted[0] is first
    lines = tab.plot.legend_lines()
    assert "row 50, col 10" in lines[1] and "±" in lines[0]
    # Both pixels are drawn, each in its colour.
    from qgis.PyQt.QtGui import QColor

    from sbas_selector.ui.timeseries_plot import COLOURS, TimeSeriesPlot

    standalone = TimeSeriesPlot()
    standalone.plotted = tab.plot.plotted
    standalone.resize(600, 260)
    image = standalone.grab().toImage()
    colours = {image.pixelColor(x, y).name() for x in range(0, 600, 2) for y in range(0, 260, 2)}
    assert {QColor(c).name() for c in COLOURS} <= colours


def test_table_columns_tooltips_and_chooser(open_dock, real_stack_path):
    from qgis.PyQt.QtCore import Qt

    from sbas_selector import settings
    from sbas_selector.ui.pair_table import COLUMNS

    settings.set_hidden_pair_columns([])
    dock = open_dock(real_stack_path)
    header = dock.table.horizontalHeader()
    # The deciding columns come right after the pair id.
    assert [COLUMNS[header.logicalIndex(k)] for k in range(4)] == ["Pair", "Label", "Score",
                                                                    "Source"]
    row = dock.table_proxy.index(0, COLUMNS.index("Bperp (m)"))
    value = dock.table_proxy.data(row, Qt.ItemDataRole.UserRole)
    assert dock.table_proxy.data(row) == f"{value:.1f}"  # as rounded
    tooltip = dock.table_proxy.data(row, Qt.ItemDataRole.ToolTipRole)
    assert "Bperp" in tooltip and "coherence" in tooltip and "label high" in tooltip
    menu = dock.table.column_menu()
    coverage = next(a for a in menu.actions() if a.text() == "Coverage")
    coverage.setChecked(False)
    assert dock.table.isColumnHidden(COLUMNS.index("Coverage"))
    assert settings.hidden_pair_columns() == ["Coverage"]
    coverage.setChecked(True)
    assert not dock.table.isColumnHidden(COLUMNS.index("Coverage"))


def test_graph_dropped_on_top_zoom_pan_and_ticks(open_dock, real_stack_path):
    from qgis.PyQt.QtCore import QEvent, QPoint, QPointF, Qt
    from qgis.PyQt.QtGui import QMouseEvent
    from qgis.PyQt.QtTest import QTest

    dock = open_dock(real_stack_path)
    dock.confirm = lambda title, text: True
    graph = dock.graph
    graph.resize(600, 300)
    index = dock.stack.index_of("20180106_20180412")
    dock.mark("low", index)
    drawn = []
    original = graph._draw_edge
    graph._draw_edge = lambda painter, edge, many=False: (drawn.append(edge.index),
                                                          original(painter, edge, many))
    graph.grab()
    dropped = [i for i in drawn if dock.graph_model.edges[i].label.value == "low"]
    assert dropped == [index] and drawn.index(index) > max(
        drawn.index(i) for i in drawn if i not in (index, dock.current))
    # Zoom about a point keeps that point; a drag pans; a double click shows all again.
    full = graph.full_view()
    centre = QPointF(300, 150)
    before = graph.from_screen(centre)
    graph.zoom(2.0, centre)
    t0, t1, _, _ = graph.current_view()
    assert (t1 - t0) == pytest.approx((full[1] - full[0]) / 2)
    assert graph.from_screen(centre)[0] == pytest.approx(before[0])
    QTest.mousePress(graph, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(300, 20))
    move = QMouseEvent(QEvent.Type.MouseMove, QPointF(200, 20), Qt.MouseButton.LeftButton,
                       Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    graph.mouseMoveEvent(move)
    assert graph.current_view()[0] > t0  # dragged left: later dates come into view
    graph.reset_view()
    assert graph.current_view() == full


def test_help_back_and_export_folder(open_dock, stack_copy, tmp_path):
    from sbas_selector import settings

    dock = open_dock(stack_copy)
    dialog = dock.show_help("review")
    assert not dialog.back_button.isEnabled()
    dialog.show_page("invert")
    assert dialog.back_button.isEnabled()
    dialog.back_button.click()
    assert dialog.browser.source().toLocalFile().endswith("docs/review.md")
    assert dialog.forward_button.isEnabled()
    dialog.close()
    # The export dialog starts in the stack's (writable) folder, then where the last went.
    settings.set_last_export_folder("")
    assert dock.export_folder() == str(stack_copy)
    settings.set_last_export_folder(str(tmp_path))
    assert dock.export_folder() == str(tmp_path)
    settings.set_last_export_folder("")


def test_opening_after_the_project_was_cleared(open_dock, real_stack_path, utm_stack):
    from qgis.core import QgsProject

    open_dock(real_stack_path)
    QgsProject.instance().clear()  # File > New, or the analyst removed the group
    dock = open_dock(utm_stack)
    assert dock.layers.group.findLayer(dock.layers.phase_layers[dock.current].id()).isVisible()
    # The analyst removes the stack's group by hand, then steps to another pair.
    root = QgsProject.instance().layerTreeRoot()
    root.removeChildNode(dock.layers.group)
    dock.select_pair(2)
    layer = dock.layers.phase_layers[2]
    assert root.findLayer(layer.id()).isVisible()
    assert dock.layers.group.parent() is not None
