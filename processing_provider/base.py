"""What every algorithm of the provider shares: a STACK folder parameter, opening the stack (and
its labels) with errors as Processing exceptions, ``tr()`` under the algorithm's class name,
and a fresh instance of the same class."""

from __future__ import annotations

from typing import Any

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException, QgsProcessingParameterFile
from qgis.PyQt.QtCore import QCoreApplication


class StackAlgorithm(QgsProcessingAlgorithm):
    STACK = "STACK"
    OUTPUT = "OUTPUT"

    def tr(self, text: str) -> str:
        return QCoreApplication.translate(type(self).__name__, text)

    def createInstance(self) -> QgsProcessingAlgorithm:
        return type(self)()

    def _stack_parameter(self) -> None:
        self.addParameter(QgsProcessingParameterFile(
            self.STACK, self.tr("Stack folder"), behavior=QgsProcessingParameterFile.Folder))

    def _open_stack(self, parameters: dict, context: Any) -> Any:
        """The stack of the STACK parameter; an input error becomes a Processing exception
        with the same one line as the command line's (:func:`~..core.errors.user_message`)."""
        from ..core import open_stack

        try:
            return open_stack(self.parameterAsFile(parameters, self.STACK, context))
        except Exception as exc:
            raise _processing_error(exc) from exc

    def _open(self, parameters: dict, context: Any, feedback: Any) -> tuple[Any, Any]:
        """The stack and its labels (a labels notice goes to the feedback as a warning)."""
        from ..core.labels import LabelsStore

        stack = self._open_stack(parameters, context)
        try:
            store = LabelsStore.open(stack)
        except Exception as exc:
            raise _processing_error(exc) from exc
        if store.notice:
            feedback.pushWarning(store.notice)
        return stack, store


def _processing_error(exc: Exception) -> Exception:
    """The Processing exception of an input error (its one line), or the error itself (a
    defect, whose traceback QGIS shows)."""
    from ..core.errors import user_message

    message = user_message(exc)
    return exc if message is None else QgsProcessingException(message)
