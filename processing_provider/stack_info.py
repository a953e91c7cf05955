"""``sbas_selector:stack_info``: describe a stack and write its summary as JSON."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
)

from ..core import strict_json
from .base import StackAlgorithm


class StackInfoAlgorithm(StackAlgorithm):
    """Open a stack (any supported format) and report its dates, pairs, grid and baselines."""

    def name(self) -> str:
        return "stack_info"

    def displayName(self) -> str:
        return self.tr("Stack information")

    def group(self) -> str:
        return self.tr("Stack")

    def groupId(self) -> str:
        return "stack"

    def shortHelpString(self) -> str:
        return self.tr("Opens an interferogram stack (HyP3 folder, MintPy folder with "
                       "inputs/ifgramStack.h5, LiCSBAS GEOCml folder or folder of dated "
                       "GeoTIFFs) and writes its dates, pairs, baselines and grid as JSON.")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Summary (JSON)"), fileFilter="JSON (*.json)"))
        self.addOutput(QgsProcessingOutputNumber("N_DATES", self.tr("Number of dates")))
        self.addOutput(QgsProcessingOutputNumber("N_PAIRS", self.tr("Number of pairs")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        stack = self._open_stack(parameters, context)
        summary = stack.summary()
        for skipped in summary["skipped"]:
            feedback.reportError(f"skipped {skipped}", fatalError=False)
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(strict_json.dumps(summary, indent=2))
        feedback.pushInfo(f"{stack.n_dates} dates, {stack.n_pairs} pairs")
        return {self.OUTPUT: output, "N_DATES": stack.n_dates, "N_PAIRS": stack.n_pairs}
