"""Review algorithms: ``select_by_baseline``, ``export_pairs``, ``network_report``."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from ..core import strict_json
from ..qgis_compat import NumberType
from .base import StackAlgorithm

EXPORT_FORMATS = ("csv", "mintpy", "licsbas")


class _ReviewAlgorithm(StackAlgorithm):
    def group(self) -> str:
        return self.tr("Review")

    def groupId(self) -> str:
        return "review"


class SelectByBaselineAlgorithm(_ReviewAlgorithm):
    """The paper's pre-selection by temporal and perpendicular baseline."""

    MAX_DAYS = "MAX_DAYS"
    MAX_BPERP = "MAX_BPERP"

    def name(self) -> str:
        return "select_by_baseline"

    def displayName(self) -> str:
        return self.tr("Select pairs by baseline")

    def shortHelpString(self) -> str:
        return self.tr("Marks pairs longer than MAX_DAYS or with a perpendicular baseline "
                       "larger than MAX_BPERP as low (pre-selection), in the stack's labels; "
                       "optionally writes the labels as CSV.")

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_DAYS, self.tr("Longest temporal baseline (days)"),
            type=NumberType.Double, optional=True, minValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.MAX_BPERP, self.tr("Longest perpendicular baseline (m)"),
            type=NumberType.Double, optional=True, minValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Labels (CSV)"), fileFilter="CSV (*.csv)", optional=True))
        self.addOutput(QgsProcessingOutputNumber("N_KEPT", self.tr("Pairs kept")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core.exports import export_pairs
        from ..core.network import select_by_baseline

        stack, store = self._open(parameters, context, feedback)
        days = (self.parameterAsDouble(parameters, self.MAX_DAYS, context)
                if parameters.get(self.MAX_DAYS) not in (None, "") else None)
        bperp = (self.parameterAsDouble(parameters, self.MAX_BPERP, context)
                 if parameters.get(self.MAX_BPERP) not in (None, "") else None)
        keep = select_by_baseline(stack, days, bperp)
        store.set_preselection(dict(zip(stack.pair_ids, (bool(k) for k in keep))))
        result: dict[str, Any] = {"N_KEPT": int(keep.sum())}
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if output:
            export_pairs(stack, store, "csv", output)
            result[self.OUTPUT] = output
        feedback.pushInfo(f"kept {int(keep.sum())} of {stack.n_pairs} pairs")
        return result


class ExportPairsAlgorithm(_ReviewAlgorithm):
    """Write the selection as CSV, a MintPy list or a LiCSBAS list."""

    FORMAT = "FORMAT"

    def name(self) -> str:
        return "export_pairs"

    def displayName(self) -> str:
        return self.tr("Export pair list")

    def shortHelpString(self) -> str:
        return self.tr("csv: every pair with its labels. mintpy: dropped pairs, one "
                       "YYYYMMDD_YYYYMMDD per line (mintpy.network.excludeDate12), plus "
                       "<name>_keep.txt and <name>_template.cfg. licsbas: dropped pairs for "
                       "--rm_ifg_list.")

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterEnum(
            self.FORMAT, self.tr("Format"), options=list(EXPORT_FORMATS), defaultValue=0))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Output file")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core.exports import export_pairs

        stack, store = self._open(parameters, context, feedback)
        fmt = EXPORT_FORMATS[self.parameterAsEnum(parameters, self.FORMAT, context)]
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        written = export_pairs(stack, store, fmt, output)
        return {self.OUTPUT: str(written[0])}


class NetworkReportAlgorithm(_ReviewAlgorithm):
    """Network health of the kept pairs and loop-closure evidence, as JSON."""

    CLOSURE = "CLOSURE"

    def name(self) -> str:
        return "network_report"

    def displayName(self) -> str:
        return self.tr("Network report")

    def shortHelpString(self) -> str:
        return self.tr("Connected pieces, dates without a kept pair, bridge pairs and the "
                       "dates their drop cuts off, gaps in time, pairs per date and (optional) "
                       "triplet loop-closure evidence per pair.")

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterBoolean(
            self.CLOSURE, self.tr("Loop-closure evidence (reads every pair)"),
            defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Report (JSON)"), fileFilter="JSON (*.json)"))
        self.addOutput(QgsProcessingOutputNumber("N_PIECES", self.tr("Connected pieces")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core.review import health_report

        stack, store = self._open(parameters, context, feedback)
        report = health_report(stack, store,
                                self.parameterAsBool(parameters, self.CLOSURE, context))
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(strict_json.dumps(report, indent=2))
        return {self.OUTPUT: output, "N_PIECES": len(report["pieces"])}
