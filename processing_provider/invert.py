"""``sbas_selector:invert``: SBAS inversion of a stack's kept pairs into velocity GeoTIFFs."""

from __future__ import annotations

from functools import partial
from typing import Any

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsProcessingException,
    QgsProcessingOutputFolder,
    QgsProcessingOutputNumber,
    QgsProcessingOutputRasterLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterNumber,
    QgsProcessingParameterPoint,
    QgsProcessingParameterString,
)

from ..qgis_compat import NumberType
from .base import StackAlgorithm

WEIGHTS = ("none", "coherence")


class InvertAlgorithm(StackAlgorithm):
    """Minimum-norm SBAS inversion (Berardino et al. 2002), block-wise."""

    LABELS = "LABELS"
    WEIGHTS = "WEIGHTS"
    REFERENCE = "REFERENCE"
    MIN_PAIRS = "MIN_PAIRS"
    MEMORY_GB = "MEMORY_GB"
    BRIDGE_GAPS = "BRIDGE_GAPS"
    ROBUST = "ROBUST"
    APPLY_REPAIRS = "APPLY_REPAIRS"
    DASK_SCHEDULER = "DASK_SCHEDULER"

    def name(self) -> str:
        return "invert"

    def displayName(self) -> str:
        return self.tr("SBAS inversion")

    def group(self) -> str:
        return self.tr("Time series")

    def groupId(self) -> str:
        return "timeseries"

    def shortHelpString(self) -> str:
        return self.tr("Inverts the pairs labelled high in LABELS (all pairs without labels) "
                       "into velocity.tif (mm/yr, LOS, positive toward the satellite), "
                       "velocity_std.tif, timeseries.tif (mm, one band per date), "
                       "temporal_coherence.tif, residual_rms.tif and n_pairs.tif, with a "
                       "QGIS style velocity.qml. Minimum-norm least squares, so a split "
                       "network still inverts (a warning names the dates cut off). The "
                       "repairs of small unwrapping errors stored in the stack's labels are "
                       "applied on the fly unless APPLY_REPAIRS is off. With "
                       "DASK_SCHEDULER (e.g. tcp://host:8786, needs dask[distributed]) the "
                       "blocks are solved on that Dask cluster, sized from its workers' "
                       "memory; the outputs are the same as on this machine.")

    def initAlgorithm(self, config: dict[str, Any] | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterFile(
            self.LABELS, self.tr("Labels CSV (date1,date2,label)"), extension="csv",
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.WEIGHTS, self.tr("Weights"), options=list(WEIGHTS), defaultValue=0))
        self.addParameter(QgsProcessingParameterPoint(
            self.REFERENCE, self.tr("Reference point (default: automatic)"), optional=True))
        self.addParameter(QgsProcessingParameterNumber(
            self.MIN_PAIRS, self.tr("Minimum number of pairs per pixel"),
            type=NumberType.Integer, defaultValue=1, minValue=1))
        self.addParameter(QgsProcessingParameterNumber(
            self.MEMORY_GB, self.tr("Memory budget per block (GiB)"),
            type=NumberType.Double, defaultValue=1.0, minValue=0.001))
        self.addParameter(QgsProcessingParameterBoolean(
            self.BRIDGE_GAPS, self.tr("Bridge gaps between pieces of the network with a weak "
                                      "linear model (NSBAS-like)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(
            self.ROBUST, self.tr("Robust: down-weight pairs that disagree with the rest, per "
                                 "pixel (slower)"), defaultValue=False))
        self.addParameter(QgsProcessingParameterBoolean(
            self.APPLY_REPAIRS, self.tr("Apply the repairs of unwrapping errors stored in the "
                                        "stack's labels"), defaultValue=True))
        self.addParameter(QgsProcessingParameterString(
            self.DASK_SCHEDULER, self.tr("Dask scheduler address (optional, e.g. "
                                         "tcp://host:8786)"), optional=True))
        self.addParameter(QgsProcessingParameterFolderDestination(
            self.OUTPUT, self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputRasterLayer("VELOCITY", self.tr("Velocity")))
        self.addOutput(QgsProcessingOutputFolder("FOLDER", self.tr("Output folder")))
        self.addOutput(QgsProcessingOutputNumber("N_PAIRS", self.tr("Pairs inverted")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core import StackError
        from ..core.errors import ClusterError
        from ..core.inversion import InversionCancelledError, InversionOptions, run_inversion
        from ..core.labels import stored_repairs
        from ..core.repairs import repaired_stack
        from ..core.selection import keep_from_labels_csv

        try:
            stack = self._open_stack(parameters, context)
            labels = self.parameterAsFile(parameters, self.LABELS, context)
            keep = keep_from_labels_csv(labels, stack) if labels else None
            if self.parameterAsBoolean(parameters, self.APPLY_REPAIRS, context):
                repairs = stored_repairs(stack)
                if repairs:
                    feedback.pushInfo(f"applying the stored repairs of {len(repairs)} pair(s)")
                stack = repaired_stack(stack, repairs)
            reference = None
            if parameters.get(self.REFERENCE):
                crs = QgsCoordinateReferenceSystem.fromWkt(stack.grid.crs_wkt)
                point = self.parameterAsPoint(parameters, self.REFERENCE, context, crs)
                reference = stack.grid.xy_to_pixel(point.x(), point.y())
            options = InversionOptions(
                weighting=WEIGHTS[self.parameterAsEnum(parameters, self.WEIGHTS, context)],
                min_pairs=self.parameterAsInt(parameters, self.MIN_PAIRS, context),
                memory_gb=self.parameterAsDouble(parameters, self.MEMORY_GB, context),
                reference_pixel=reference,
                bridge_gaps=self.parameterAsBoolean(parameters, self.BRIDGE_GAPS, context),
                robust=self.parameterAsBoolean(parameters, self.ROBUST, context))
            out_dir = self.parameterAsString(parameters, self.OUTPUT, context)
            scheduler = self.parameterAsString(parameters, self.DASK_SCHEDULER, context)
            run = partial(
                run_inversion, stack, out_dir, keep=keep,
                progress=lambda done, total: feedback.setProgress(100.0 * done / total),
                cancelled=feedback.isCanceled)
            if not scheduler.strip():
                result = run(options=options)
            else:
                result = self._run_on_dask(scheduler, options, run, feedback)
        except InversionCancelledError:
            raise QgsProcessingException(self.tr("cancelled; no output written")) from None
        except (StackError, ClusterError, ValueError) as exc:
            raise QgsProcessingException(str(exc)) from exc
        for warning in result.warnings:
            feedback.pushWarning(warning)
        feedback.pushInfo(f"{result.n_pairs} pairs, {len(result.dates)} dates, reference "
                          f"pixel {result.reference_pixel}")
        return {"VELOCITY": str(result.files["velocity"]), "FOLDER": str(result.out_dir),
                "OUTPUT": str(result.out_dir), "N_PAIRS": result.n_pairs}

    @staticmethod
    def _run_on_dask(scheduler: str, options, run, feedback):
        """``run(options=...)`` with its blocks solved on the Dask cluster at ``scheduler``
        (an address only: a local cluster would start QGIS itself as its workers)."""
        from dataclasses import replace

        from ..core.inversion.distributed import dask_cluster, parse_target

        address = parse_target(scheduler)
        if not isinstance(address, str):
            raise ValueError("DASK_SCHEDULER takes a scheduler address such as "
                             "tcp://host:8786 (start a cluster with dask-scheduler and "
                             "dask-worker, or sbas-selector invert --dask N)")
        with dask_cluster(address, memory_gb=options.memory_gb) as cluster:
            feedback.pushInfo(cluster.describe())
            return run(options=replace(options, memory_gb=cluster.task_budget_gb),
                       cluster=cluster)
