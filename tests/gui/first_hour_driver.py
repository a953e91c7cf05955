"""Runs inside the real QGIS desktop (``qgis --code``): the analyst's first hour (issue 13).

A UTM stack opened into an EPSG:3857 project (the stack must be in view); the table filtered,
then K and D (only the highlighted pair may change); Keep connected with several proposals,
one accepted; a reference point chosen by clicking the map; the UTM stack inverted, then the
real (EPSG:4326) stack opened and inverted (each velocity on top of its own group); two pixels
plotted. Writes a JSON result and screenshots. Driven by tests/gui/test_desktop.py."""

import os
import sys

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsLayerTreeGroup,
    QgsPointXY,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QPoint, Qt
from qgis.PyQt.QtTest import QTest
from qgis.utils import iface, plugins

sys.path.insert(0, os.environ["SBAS_GUI_DIR"])
from driver_common import run_with_dock, settle, shot, wait_until

UTM_STACK = os.environ["SBAS_GUI_UTM_STACK"]
REAL_STACK = os.environ["SBAS_GUI_STACK"]
OUT = os.environ["SBAS_GUI_OUT"]
result = {"started": True}


def open_and_wait(dock, path):
    opened = []
    dock.stack_opened.connect(opened.append)
    dock.open_stack(path)
    ok = wait_until(lambda: opened, 90)
    dock.stack_opened.disconnect(opened.append)
    settle(500)
    return ok


def invert_and_wait(dock, out):
    done = []
    dock.inversion_done.connect(done.append)
    dock.invert_tab.output_edit.setText(out)
    dock.invert()
    wait_until(lambda: done, 120)
    dock.inversion_done.disconnect(done.append)
    return done[0] if done else None


def highlighted(dock):
    index = dock.table.currentIndex()
    if not index.isValid():
        return None
    return dock.stack.pairs[dock.table_proxy.mapToSource(index).row()].pair_id


def click_map(canvas, point):
    pixel = canvas.getCoordinateTransform().transform(point)
    QTest.mouseClick(canvas.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, QPoint(int(pixel.x()), int(pixel.y())))
    settle()


def steps():
    dock = plugins["sbas_selector"].dock
    window = iface.mainWindow()
    canvas = iface.mapCanvas()
    project = QgsProject.instance()
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    # A project with a Web Mercator basemap (a memory layer here: no network under test).
    project.setCrs(mercator)
    basemap = QgsVectorLayer("Polygon?crs=EPSG:3857", "basemap (EPSG:3857)", "memory")
    project.addMapLayer(basemap)
    settle()
    # 1. A UTM stack into a Web Mercator project: in view.
    result["opened_utm"] = open_and_wait(dock, UTM_STACK)
    stack = dock.stack
    layer = dock.layers.phase_layers[dock.current]
    to_canvas = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(),
                                       project)
    stack_extent = to_canvas.transformBoundingBox(layer.extent())
    result["canvas_crs"] = canvas.mapSettings().destinationCrs().authid()
    result["layer_crs"] = layer.crs().authid()
    result["stack_in_view"] = canvas.extent().contains(QgsPointXY(stack_extent.center()))
    result["view_over_stack_width"] = canvas.extent().width() / stack_extent.width()
    result["scale"] = canvas.scale()
    settle(800)
    shot(window, "utm_in_mercator.png")
    # 2. Filter, then K and D: only the highlighted pair changes.
    dock.confirm = lambda title, text: True
    low = [p.pair_id for p in stack.pairs if p.days > 36]
    dock.store.set_preselection({p: p not in low for p in stack.pair_ids})
    dock.refresh()
    dock.filter_edit.setText("low")
    settle()
    dock.table.setFocus()
    dock.table.setCurrentIndex(dock.table_proxy.index(0, 0))
    first = highlighted(dock)
    QTest.keyClick(dock.table, Qt.Key.Key_K)
    settle()
    second = highlighted(dock)
    result["current_after_k"] = stack.pairs[dock.current].pair_id
    result["highlighted_after_k"] = second
    QTest.keyClick(dock.table, Qt.Key.Key_D)
    settle()
    result["first"], result["second"] = first, second
    result["first_final"] = dock.store.final(first).value
    result["second_override"] = (dock.store.labels[second].override.value
                                 if dock.store.labels[second].override else None)
    result["overridden"] = sorted(p for p in stack.pair_ids
                                  if dock.store.labels[p].override is not None)
    settle(500)
    shot(dock, "dock_filtered.png")
    dock.filter_edit.setText("")
    # 3. Keep connected: several proposals, one accepted.
    for pair_id in result["overridden"]:
        dock.store.set_override(pair_id, None)
    # Keep only pairs within blocks of 5 dates: the network splits into 4 pieces.
    block = {day: k // 5 for k, day in enumerate(sorted({d for p in stack.pairs
                                                         for d in (p.date1, p.date2)}))}
    dock.store.set_preselection({p.pair_id: block[p.date1] == block[p.date2]
                                 for p in stack.pairs})
    dock.refresh()
    plan = dock.keep_connected()
    result["n_proposals"] = len(plan.proposals)
    dock.connect_panel.proposals_list.setCurrentRow(1)
    settle(500)
    result["current_is_proposal"] = dock.current == plan.proposals[1].index
    shot(window, "keep_connected.png")
    dock.connect_panel.accept_row(1)
    settle()
    result["readmitted"] = sorted(p for p in stack.pair_ids
                                  if dock.store.labels[p].source.value == "connectivity")
    result["accepted"] = plan.proposals[1].pair_id
    result["still_proposed"] = len(dock.graph.proposed)
    dock.connect_panel.accept_all()
    settle()
    # 4. A reference point chosen on the map.
    dock.tabs.setCurrentIndex(2)
    tab = dock.invert_tab
    tab.reference_button.click()
    result["reference_tool_active"] = canvas.mapTool() is tab._map_tool
    x, y = stack.grid.pixel_to_xy(10, 20)
    click_map(canvas, to_canvas.transform(QgsPointXY(x, y)))
    result["reference_pixel"] = list(tab.reference_pixel) if tab.reference_pixel else None
    result["reference_label"] = tab.reference_label.text()
    result["marker_shown"] = tab._marker is not None and tab._marker.isVisible()
    # 5. Two stacks inverted one after another.
    first_result = invert_and_wait(dock, os.path.join(OUT, "utm_sbas"))
    result["first_reference"] = list(first_result.reference_pixel) if first_result else None
    result["opened_real"] = open_and_wait(dock, REAL_STACK)
    dock.tabs.setCurrentIndex(2)
    second_result = invert_and_wait(dock, os.path.join(OUT, "real_sbas"))
    root = project.layerTreeRoot()
    groups = [n for n in root.children() if isinstance(n, QgsLayerTreeGroup)]
    result["groups"] = [g.name() for g in groups]
    tops = []
    for group in groups:
        inversion = group.children()[0] if group.children() else None
        child = (inversion.children()[0]
                 if isinstance(inversion, QgsLayerTreeGroup) and inversion.children() else None)
        tops.append([inversion.name() if inversion else None,
                     child.layer().source() if child is not None else None,
                     bool(child is not None and child.isVisible())])
    result["tops"] = tops
    result["velocity_files"] = [str(r.files["velocity"]) if r else None
                                for r in (second_result, first_result)]
    # Two pixels of the real stack's inversion, compared.
    tab.pick_button.click()
    for row, col, compare in ((8, 95, False), (50, 10, True)):
        tab.compare_check.setChecked(compare)
        x, y = dock.stack.grid.pixel_to_xy(row, col)
        to_canvas = QgsCoordinateTransform(dock.layers.phase_layers[dock.current].crs(),
                                           canvas.mapSettings().destinationCrs(), project)
        click_map(canvas, to_canvas.transform(QgsPointXY(x, y)))
    result["plotted"] = [[e.series.row, e.series.col] for e in tab.plot.plotted]
    result["plot_legend"] = tab.plot.legend_lines()
    dock.zoom_to_stack()
    settle(1500)
    shot(window, "inverted_two_pixels.png")


run_with_dock(steps, result, 280000)
