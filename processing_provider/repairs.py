"""Repair algorithms: ``check_closure`` (find and store small local unwrapping errors, with
the per-pixel closure raster and the patch outlines) and ``export_corrected_stack``."""

from __future__ import annotations

import json
from typing import Any

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterVectorDestination,
)

from .base import StackAlgorithm


class _RepairAlgorithm(StackAlgorithm):
    def group(self) -> str:
        return self.tr("Repair")

    def groupId(self) -> str:
        return "repair"


class CheckClosureAlgorithm(_RepairAlgorithm):
    """Per-pixel triplet closure: patches found, attributed and stored in the labels."""

    CLOSURE_RASTER = "CLOSURE_RASTER"
    PATCHES = "PATCHES"

    def name(self) -> str:
        return "check_closure"

    def displayName(self) -> str:
        return self.tr("Find and repair small unwrapping errors")

    def shortHelpString(self) -> str:
        return self.tr("Closes every triplet of pairs pixel by pixel, credits each whole-cycle "
                       "misclosure to the pair that carries it, and stores per pair its "
                       "patches (corrected where the evidence is unambiguous, masked where "
                       "not; a pair with errors over more than 2% of its pixels is dropped) "
                       "in the stack's labels, keeping the analyst's decisions. Writes the "
                       "per-pixel count of misclosed triplets (band 1) and of triplets with "
                       "data (band 2), the patch outlines, and a JSON report. The stack's "
                       "files are never changed: the inversion applies the repairs on the "
                       "fly.")

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterRasterDestination(
            self.CLOSURE_RASTER, self.tr("Misclosed triplets per pixel"), optional=True))
        self.addParameter(QgsProcessingParameterVectorDestination(
            self.PATCHES, self.tr("Patch outlines"), optional=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Report (JSON)"), fileFilter="JSON (*.json)",
            optional=True))
        self.addOutput(QgsProcessingOutputNumber("N_REPAIRED", self.tr("Pairs repaired")))
        self.addOutput(QgsProcessingOutputNumber("N_DROPPED", self.tr("Pairs dropped")))
        self.addOutput(QgsProcessingOutputNumber("N_CHECKED", self.tr("Pairs checked")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core.closure import check_closure
        from ..core.closure_layers import write_closure_raster, write_patch_outlines

        stack, store = self._open(parameters, context, feedback)
        check = check_closure(stack, progress=lambda f: feedback.setProgress(100.0 * f))
        if feedback.isCanceled():
            raise QgsProcessingException(self.tr("cancelled; labels unchanged"))
        store.set_closure(check)
        feedback.pushInfo(check.summary())
        verdicts = {pid: store.labels[pid].closure for pid in stack.pair_ids}
        for pair_id in stack.pair_ids:
            if verdicts[pair_id] in ("repaired", "dropped"):
                feedback.pushInfo(f"{pair_id}: {store.labels[pair_id].repair_text}")
        out: dict[str, Any] = {
            "N_REPAIRED": sum(v == "repaired" for v in verdicts.values()),
            "N_DROPPED": sum(v == "dropped" for v in verdicts.values()),
            "N_CHECKED": check.n_checked}
        raster = self.parameterAsOutputLayer(parameters, self.CLOSURE_RASTER, context)
        if raster:
            out[self.CLOSURE_RASTER] = str(write_closure_raster(check, stack.grid, raster))
        patches = self.parameterAsOutputLayer(parameters, self.PATCHES, context)
        if patches:
            if not patches.lower().endswith(".gpkg"):
                patches = patches.rsplit(".", 1)[0] + ".gpkg"
            out[self.PATCHES] = str(write_patch_outlines(
                {pid: store.labels[pid].repairs for pid in stack.pair_ids},
                stack.grid, patches))
        report = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if report:
            with open(report, "w", encoding="utf-8") as handle:
                json.dump({"summary": check.summary(), "pairs": {
                    pid: {"verdict": verdicts[pid],
                          "description": store.labels[pid].repair_text}
                    for pid in stack.pair_ids}}, handle, indent=2)
            out[self.OUTPUT] = report
        return out


class ExportCorrectedStackAlgorithm(_RepairAlgorithm):
    """The kept pairs with their repairs applied, as a GeoTIFF folder for MintPy or LiCSBAS."""

    def name(self) -> str:
        return "export_corrected_stack"

    def displayName(self) -> str:
        return self.tr("Export corrected stack")

    def shortHelpString(self) -> str:
        return self.tr("Writes the kept pairs with their stored repairs applied (corrected "
                       "patches shifted by whole cycles, masked ones NaN) into a new folder: "
                       "unw/*.tif, cc/*.tif, baselines.csv and repairs.csv. The stack's own "
                       "files are not touched; an existing non-empty folder is refused.")

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT, self.tr("Corrected stack folder")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core.exports import export_corrected_stack

        stack, store = self._open(parameters, context, feedback)
        folder = self.parameterAsString(parameters, self.OUTPUT, context)
        try:
            written = export_corrected_stack(stack, store, folder)
        except (FileExistsError, ValueError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        return {self.OUTPUT: str(written)}
