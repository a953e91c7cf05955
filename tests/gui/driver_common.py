"""Helpers shared by the scripts that run inside the QGIS desktop (``qgis --code``); the
drivers find this module through ``SBAS_GUI_DIR``."""

import json
import os

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QTimer
from qgis.PyQt.QtTest import QTest

OUT = os.environ["SBAS_GUI_OUT"]


def finish(result):
    """Write the result, clear the project and quit QGIS (hard exit if it hangs)."""
    with open(os.path.join(OUT, "result.json"), "w") as handle:
        json.dump(result, handle)
    QgsProject.instance().clear()
    QTimer.singleShot(500, lambda: QCoreApplication.exit(0))
    QTimer.singleShot(5000, lambda: os._exit(0))


def settle(ms=300):
    """Let Qt run for ``ms`` milliseconds."""
    QTest.qWait(ms)
    QCoreApplication.processEvents()
