"""Runs inside the real QGIS desktop (``qgis --code``): checks the plugin, opens the stack from
its dock, clicks an edge of the baseline graph, drops that pair with the keyboard, exports a
LiCSBAS list, saves screenshots, writes a JSON result and quits.
Driven by tests/gui/test_desktop.py."""

import os
import sys
import traceback

from qgis.PyQt.QtCore import QPoint, Qt, QTimer
from qgis.PyQt.QtTest import QTest
from qgis.utils import iface, plugins

sys.path.insert(0, os.environ["SBAS_GUI_DIR"])
from driver_common import OUT, finish, give_up_after, once, settle

STACK = os.environ["SBAS_GUI_STACK"]
PAIR = "20180307_20180611"
result = {"started": True}


def review(stack):
    try:
        dock = plugins["sbas_selector"].dock
        window = iface.mainWindow()
        window.resize(1600, 1000)
        dock.setMinimumWidth(620)
        settle()
        result["n_pairs"] = stack.n_pairs
        result["status"] = dock.status_label.text()
        window.grab().save(os.path.join(OUT, "qgis_plugin_loaded.png"))
        # Classify with the shipped model (background task), then review.
        dock.device_combo.setCurrentIndex(dock.device_combo.findData("auto"))
        task = dock.classify()
        for _ in range(600):
            settle(100)
            if dock._task is None:
                break
        result["provider"] = dock.provider_label.text()
        result["status_after_classify"] = dock.status_label.text()
        result["classified"] = task is not None and all(
            dock.store.labels[p].probability_high is not None for p in stack.pair_ids)
        result["model_kept"] = sum(dock.store.final(p).value == "high" for p in stack.pair_ids)
        window.grab().save(os.path.join(OUT, "classified.png"))
        # Click the edge of PAIR on the baseline graph.
        graph = dock.graph
        index = stack.index_of(PAIR)
        point = graph.edge_midpoint(index)
        QTest.mouseClick(graph, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         QPoint(int(point.x()), int(point.y())))
        settle()
        result["clicked"] = stack.pairs[dock.current].pair_id
        dock.zoom_to_stack()
        settle(800)
        window.grab().save(os.path.join(OUT, "review_graph_click.png"))
        # Drop it with the keyboard (a bridge-free pair: no question asked), after keeping it.
        dock.table.setFocus()
        QTest.keyClick(dock.table, Qt.Key.Key_K)
        QTest.keyClick(dock.table, Qt.Key.Key_D)
        settle()
        result["label_after_d"] = dock.store.final(result["clicked"]).value
        result["dropped"] = sorted(p for p in stack.pair_ids
                                   if dock.store.final(p).value == "low")
        result["health"] = dock.health_label.text()
        written = dock.export("licsbas", os.path.join(OUT, "rm_ifg_list.txt"))
        result["export"] = open(written[0]).read() if written else ""
        settle(800)
        window.grab().save(os.path.join(OUT, "review_marked.png"))
        dock.grab().save(os.path.join(OUT, "dock_review.png"))
    except Exception:
        result["error"] = traceback.format_exc()
    finish(result)


@once
def run():
    try:
        plugin = plugins.get("sbas_selector")
        result["loaded"] = plugin is not None
        if plugin is None:
            finish(result)
            return
        dock = plugin.dock
        dock.show()
        result["dock_visible"] = dock.isVisible()
        dock.stack_opened.connect(review)
        dock.open_stack(STACK)
        give_up_after(90000, result)  # give up if the stack never opens
    except Exception:
        result["error"] = traceback.format_exc()
        finish(result)


iface.initializationCompleted.connect(run)
QTimer.singleShot(3000, run)
