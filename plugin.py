"""QGIS entry point: menu, toolbar button, dock, Processing provider, log forwarding."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from qgis.core import Qgis, QgsApplication, QgsMessageLog
from qgis.PyQt.QtCore import QCoreApplication, Qt, QTimer
from qgis.PyQt.QtGui import QIcon

try:  # Qt6 (QGIS 4) moved QAction to QtGui; Qt5 has it in QtWidgets
    from qgis.PyQt.QtGui import QAction
except ImportError:
    from qgis.PyQt.QtWidgets import QAction

PLUGIN_NAME = "SBAS Selector"
_LEVELS = {
    logging.DEBUG: Qgis.MessageLevel.Info,
    logging.INFO: Qgis.MessageLevel.Info,
    logging.WARNING: Qgis.MessageLevel.Warning,
    logging.ERROR: Qgis.MessageLevel.Critical,
    logging.CRITICAL: Qgis.MessageLevel.Critical,
}


class QgisLogHandler(logging.Handler):
    """Forwards the package's log records to QGIS's message log under the plugin's name."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            QgsMessageLog.logMessage(self.format(record), PLUGIN_NAME,
                                     _LEVELS.get(record.levelno, Qgis.MessageLevel.Info))
        except Exception:  # logging must never break the plugin
            self.handleError(record)


class SbasSelectorPlugin:
    """The plugin object QGIS holds (``classFactory`` returns it)."""

    def __init__(self, iface: Any) -> None:
        self.iface = iface
        self.dock = None
        self.action: QAction | None = None
        self.menu_actions: list[QAction] = []
        self.dependencies_dialog = None
        self.provider = None
        self._log_handler: QgisLogHandler | None = None

    @staticmethod
    def tr(text: str) -> str:
        return QCoreApplication.translate("SbasSelectorPlugin", text)

    def initProcessing(self) -> None:
        from .processing_provider.provider import SbasSelectorProvider

        self.provider = SbasSelectorProvider()
        QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        self._log_handler = QgisLogHandler()
        self._log_handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        package_logger = logging.getLogger(__package__ or "sbas_selector")
        package_logger.addHandler(self._log_handler)
        package_logger.setLevel(logging.INFO)

        self.initProcessing()
        from .ui.dock import SbasDock

        self.dock = SbasDock(self.iface, self.iface.mainWindow())
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # The icon file itself: compiled Qt resources would tie the plugin to PyQt5 or PyQt6.
        icon = QIcon(str(Path(__file__).resolve().parent / "icons" / "icon.svg"))
        self.action = QAction(icon, self.tr("SBAS Interferogram Selector"),
                              self.iface.mainWindow())
        self.action.setCheckable(True)
        self.action.setChecked(True)
        self.action.toggled.connect(self.dock.setVisible)
        self.dock.visibilityChanged.connect(self.action.setChecked)
        self.iface.addRasterToolBarIcon(self.action)
        self.iface.addPluginToRasterMenu(self.tr("&SBAS Selector"), self.action)
        for text, slot in ((self.tr("Load sample stack"), self.dock.load_sample),
                           (self.tr("Check Python dependencies…"),
                            lambda: self.check_dependencies(always=True)),
                           (self.tr("Help"), lambda: self.dock.show_help("README"))):
            action = QAction(text, self.iface.mainWindow())
            action.triggered.connect(slot)
            self.iface.addPluginToRasterMenu(self.tr("&SBAS Selector"), action)
            self.menu_actions.append(action)
        from . import settings

        if settings.check_dependencies_at_start():
            QTimer.singleShot(0, self.check_dependencies)

    def check_dependencies(self, always: bool = False) -> Any:
        """Show the dependency dialog when a package is missing (or ``always``); never lets
        an error escape into QGIS's plugin loading."""
        try:
            from . import settings
            from .core.dependencies import find_missing
            from .ui.dependencies_dialog import DependenciesDialog

            missing = find_missing()
            if not missing and not always:
                return None
            if self.dependencies_dialog is not None:
                self.dependencies_dialog.close()
            dialog = DependenciesDialog(missing, self.iface.mainWindow(),
                                        settings.check_dependencies_at_start())
            dialog.at_start_check.toggled.connect(settings.set_check_dependencies_at_start)
            if self.dock is not None:
                dialog.resolved.connect(self.dock.update_planned_provider)
            self.dependencies_dialog = dialog
            dialog.show()
            return dialog
        except Exception:  # (a check must not break the plugin)
            logging.getLogger(__name__).exception("the dependency check failed")
            return None

    def unload(self) -> None:
        for action in self.menu_actions:
            self.iface.removePluginRasterMenu(self.tr("&SBAS Selector"), action)
            action.deleteLater()
        self.menu_actions = []
        if self.dependencies_dialog is not None:
            self.dependencies_dialog.close()
            self.dependencies_dialog = None
        if self.action is not None:
            self.iface.removePluginRasterMenu(self.tr("&SBAS Selector"), self.action)
            self.iface.removeRasterToolBarIcon(self.action)
            self.action.deleteLater()
            self.action = None
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.deleteLater()
            self.dock = None
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
        if self._log_handler is not None:
            logging.getLogger(__package__ or "sbas_selector").removeHandler(self._log_handler)
            self._log_handler = None
