"""The Processing provider: every compute step of the dock, for batch runs and the modeler."""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .classify import ClassifyAlgorithm
from .invert import InvertAlgorithm
from .repairs import CheckClosureAlgorithm, ExportCorrectedStackAlgorithm
from .review import ExportPairsAlgorithm, NetworkReportAlgorithm, SelectByBaselineAlgorithm
from .stack_info import StackInfoAlgorithm


class SbasSelectorProvider(QgsProcessingProvider):
    """Provider id ``sbas_selector``."""

    def id(self) -> str:
        return "sbas_selector"

    def name(self) -> str:
        return self.tr("SBAS Interferogram Selector")

    def icon(self) -> QIcon:
        return QIcon(str(Path(__file__).resolve().parent.parent / "icons" / "icon.svg"))

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(StackInfoAlgorithm())
        self.addAlgorithm(InvertAlgorithm())
        self.addAlgorithm(ClassifyAlgorithm())
        self.addAlgorithm(SelectByBaselineAlgorithm())
        self.addAlgorithm(ExportPairsAlgorithm())
        self.addAlgorithm(NetworkReportAlgorithm())
        self.addAlgorithm(CheckClosureAlgorithm())
        self.addAlgorithm(ExportCorrectedStackAlgorithm())
