"""Headless QGIS: one QgsApplication for the session (QT_QPA_PLATFORM=offscreen comes from the
Makefile: it must be set before Qt starts), Processing initialised, a mock iface."""

from __future__ import annotations

import os
import sys
import time
from unittest import mock

import pytest

if os.environ.get("QT_QPA_PLATFORM") != "offscreen" and not os.environ.get("DISPLAY"):
    pytest.exit("run the qgis tier with QT_QPA_PLATFORM=offscreen (make test does)", returncode=2)


@pytest.fixture(scope="session")
def qgis_app():
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    sys.path.append("/usr/share/qgis/python/plugins")
    from processing.core.Processing import Processing

    Processing.initialize()
    yield app
    # exitQgis() at interpreter shutdown is known to crash headless runs; the process ends anyway.


@pytest.fixture()
def iface(qgis_app):
    from qgis.gui import QgisInterface, QgsMapCanvas
    from qgis.PyQt.QtWidgets import QMainWindow

    fake = mock.Mock(spec=QgisInterface)
    window = QMainWindow()
    fake.mainWindow.return_value = window
    fake.mapCanvas.return_value = QgsMapCanvas(window)
    yield fake
    window.deleteLater()


@pytest.fixture()
def wait_for(qgis_app):
    """Process Qt events until ``condition()`` holds (tasks report in the main loop)."""
    from qgis.PyQt.QtCore import QCoreApplication

    def wait(condition, timeout_s: float = 60.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError("condition not met in time")
            QCoreApplication.processEvents()
            time.sleep(0.01)

    return wait


@pytest.fixture()
def plugin(iface):
    """The plugin, initialised with the mock iface and unloaded after the test."""
    from qgis.core import QgsProject

    import sbas_selector

    instance = sbas_selector.classFactory(iface)
    instance.initGui()
    yield instance
    instance.unload()
    QgsProject.instance().clear()
