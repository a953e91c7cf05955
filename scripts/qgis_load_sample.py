"""Run by ``make qgis`` inside the QGIS desktop (``qgis --code``): once QGIS is up, show the
plugin's dock and load the bundled sample stack."""

from qgis.PyQt.QtCore import QTimer
from qgis.utils import iface, plugins

state = {"done": False}


def load_sample():
    if state["done"]:
        return
    state["done"] = True
    plugin = plugins.get("sbas_selector")
    if plugin is None:
        iface.messageBar().pushCritical("SBAS Selector", "the plugin is not loaded")
        return
    plugin.dock.show()
    plugin.dock.load_sample()


iface.initializationCompleted.connect(load_sample)
QTimer.singleShot(5000, load_sample)
