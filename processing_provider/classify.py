"""``sbas_selector:classify``: score every pair with the CNN and save the labels."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFileDestination,
    QgsProcessingParameterNumber,
)

from ..qgis_compat import NumberType
from .base import StackAlgorithm

DEVICES = ("auto", "cpu", "cuda")


class ClassifyAlgorithm(StackAlgorithm):
    """ResNet50 (ONNX) probability of high quality for every pair."""

    MODEL = "MODEL"
    DEVICE = "DEVICE"
    THRESHOLD = "THRESHOLD"
    REPAIR = "REPAIR"

    def name(self) -> str:
        return "classify"

    def displayName(self) -> str:
        return self.tr("Classify interferograms")

    def group(self) -> str:
        return self.tr("Classification")

    def groupId(self) -> str:
        return "classification"

    def shortHelpString(self) -> str:
        return self.tr("Scores every pair of the stack with the shipped ResNet50 (or MODEL), "
                       "on CUDA when available (DEVICE auto), saves the probabilities and "
                       "labels in the stack's labels, and optionally writes them as CSV. With "
                       "REPAIR (default) small local unwrapping errors are found by per-pixel "
                       "triplet closure first, stored as repairs, and the repaired pairs are "
                       "classified.")

    def initAlgorithm(self, config: dict | None = None) -> None:
        self._stack_parameter()
        self.addParameter(QgsProcessingParameterFile(
            self.MODEL, self.tr("ONNX model (default: shipped)"), extension="onnx",
            optional=True))
        self.addParameter(QgsProcessingParameterEnum(
            self.DEVICE, self.tr("Device"), options=list(DEVICES), defaultValue=0))
        self.addParameter(QgsProcessingParameterNumber(
            self.THRESHOLD, self.tr("Threshold (default: the model's)"),
            type=NumberType.Double, optional=True, minValue=0, maxValue=1))
        self.addParameter(QgsProcessingParameterBoolean(
            self.REPAIR, self.tr("Find and repair small unwrapping errors first"),
            defaultValue=True))
        self.addParameter(QgsProcessingParameterFileDestination(
            self.OUTPUT, self.tr("Labels (CSV)"), fileFilter="CSV (*.csv)", optional=True))
        self.addOutput(QgsProcessingOutputNumber("N_HIGH", self.tr("Pairs kept")))
        self.addOutput(QgsProcessingOutputString("PROVIDER", self.tr("Where inference ran")))

    def processAlgorithm(self, parameters, context, feedback) -> dict[str, Any]:
        from ..core.classify import ClassificationCancelledError, Classifier, ClassifierError
        from ..core.exports import export_pairs
        from ..core.labels import apply_classification
        from ..core.repair_flow import check_and_classify

        stack, store = self._open(parameters, context, feedback)
        model = self.parameterAsFile(parameters, self.MODEL, context) or None
        try:
            classifier = Classifier(model, device=DEVICES[self.parameterAsEnum(
                parameters, self.DEVICE, context)])
            feedback.pushInfo(f"running on {classifier.provider}")
            threshold = (self.parameterAsDouble(parameters, self.THRESHOLD, context)
                         if parameters.get(self.THRESHOLD) not in (None, "")
                         else classifier.card.threshold)
            check, result = check_and_classify(
                classifier, stack, {pid: e.repairs for pid, e in store.labels.items()},
                progress=lambda d, t: feedback.setProgress(100.0 * d / t),
                cancelled=feedback.isCanceled,
                repair=self.parameterAsBool(parameters, self.REPAIR, context))
        except ClassifierError as exc:
            raise QgsProcessingException(str(exc)) from exc
        except ClassificationCancelledError:
            raise QgsProcessingException(self.tr("cancelled; labels unchanged")) from None
        if check is not None:
            store.set_closure(check)
            feedback.pushInfo(check.summary())
        apply_classification(store, result, threshold)
        out: dict[str, Any] = {
            "N_HIGH": sum(store.final(p).value == "high" for p in stack.pair_ids),
            "PROVIDER": result.provider}
        output = self.parameterAsFileOutput(parameters, self.OUTPUT, context)
        if output:
            export_pairs(stack, store, "csv", output)
            out[self.OUTPUT] = output
        return out
