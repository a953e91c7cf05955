"""Helpers shared by the scripts that run inside the QGIS desktop (``qgis --code``); the
drivers find this module through ``SBAS_GUI_DIR``."""

import json
import os

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QCoreApplication, QTimer
from qgis.PyQt.QtTest import QTest

OUT = os.environ["SBAS_GUI_OUT"]
_finished = []


def finish(result):
    """Write the result, clear the project and quit QGIS (hard exit if it hangs); only the
    first call counts (a give-up timer may fire after the work finished)."""
    if _finished:
        return
    _finished.append(True)
    with open(os.path.join(OUT, "result.json"), "w") as handle:
        json.dump(result, handle)
    QgsProject.instance().clear()
    QTimer.singleShot(500, lambda: QCoreApplication.exit(0))
    QTimer.singleShot(5000, lambda: os._exit(0))


def give_up_after(ms, result):
    """Finish with what ``result`` holds if the work has not finished within ``ms``."""
    QTimer.singleShot(ms, lambda: finish(result))


def once(function):
    """``function`` runs on its first call only (QGIS may signal start-up and the fallback
    timer may fire too)."""
    ran = []

    def wrapper(*args):
        if not ran:
            ran.append(True)
            function(*args)
    return wrapper


def settle(ms=300):
    """Let Qt run for ``ms`` milliseconds."""
    QTest.qWait(ms)
    QCoreApplication.processEvents()


def wait_until(condition, seconds):
    """Let Qt run until ``condition()`` holds or ``seconds`` pass; whether it held."""
    for _ in range(int(seconds * 10)):
        if condition():
            return True
        settle(100)
    return condition()


def shot(widget, name):
    """Save a picture of ``widget`` as ``name`` in the output folder."""
    widget.grab().save(os.path.join(OUT, name))


def run_with_dock(steps, result, give_up_ms):
    """Once QGIS has started: a 1600 x 1000 window with the plugin's dock shown, then
    ``steps()``; its exception goes into ``result``, which is written as QGIS quits (after
    ``give_up_ms`` at the latest)."""
    import traceback

    from qgis.utils import iface, plugins

    def after_start():
        try:
            iface.mainWindow().resize(1600, 1000)
            dock = plugins["sbas_selector"].dock
            dock.show()
            dock.setMinimumWidth(640)
            settle()
            steps()
        except Exception:
            result["error"] = traceback.format_exc()
        finish(result)

    @once
    def run():
        give_up_after(give_up_ms, result)
        QTimer.singleShot(0, after_start)

    iface.initializationCompleted.connect(run)
    QTimer.singleShot(3000, run)
