"""Runs inside the real QGIS desktop (``qgis --code``): checks the plugin, drives its dock,
saves a screenshot, writes a JSON result and quits. Driven by tests/gui/test_desktop.py."""

import json
import os
import traceback

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QTimer
from qgis.utils import iface, plugins

OUT = os.environ["SBAS_GUI_OUT"]
STACK = os.environ["SBAS_GUI_STACK"]
result = {"started": True}
state = {"ran": False}


def finish():
    with open(os.path.join(OUT, "result.json"), "w") as handle:
        json.dump(result, handle)
    QgsProject.instance().clear()
    QTimer.singleShot(500, lambda: QCoreApplication.exit(0))
    QTimer.singleShot(5000, lambda: os._exit(0))


def screenshot_and_finish(stack):
    try:
        result["n_pairs"] = stack.n_pairs
        result["status"] = plugins["sbas_selector"].dock.status_label.text()
        window = iface.mainWindow()
        window.resize(1500, 900)
        QCoreApplication.processEvents()
        result["screenshot"] = window.grab().save(os.path.join(OUT, "qgis_plugin_loaded.png"))
    except Exception:
        result["error"] = traceback.format_exc()
    finish()


def run():
    if state["ran"]:
        return
    state["ran"] = True
    try:
        plugin = plugins.get("sbas_selector")
        result["loaded"] = plugin is not None
        if plugin is None:
            finish()
            return
        dock = plugin.dock
        dock.show()
        result["dock_visible"] = dock.isVisible()
        dock.stack_opened.connect(screenshot_and_finish)
        dock.open_stack(STACK)
        QTimer.singleShot(60000, finish)  # give up if the stack never opens
    except Exception:
        result["error"] = traceback.format_exc()
        finish()


iface.initializationCompleted.connect(run)
QTimer.singleShot(3000, run)
