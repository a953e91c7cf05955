"""The plugin's dock: open a stack and see what it holds."""

from __future__ import annotations

import logging
from typing import Any

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from .. import settings
from ..tasks import OpenStackTask

logger = logging.getLogger(__name__)


class SbasDock(QDockWidget):
    """Dock panel: open a stack (folder or MintPy file, recent ones remembered), its summary.

    Signals
    -------
    stack_opened(object)
        Emitted with the :class:`~sbas_selector.core.Stack` once it is open.
    """

    stack_opened = pyqtSignal(object)

    def __init__(self, iface: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("SBAS Interferogram Selector"))
        self.setObjectName("SbasSelectorDock")
        self.iface = iface
        self.stack = None
        self._task: OpenStackTask | None = None

        body = QWidget(self)
        layout = QVBoxLayout(body)
        buttons = QHBoxLayout()
        self.open_folder_button = QPushButton(self.tr("Open stack folder…"), body)
        self.open_file_button = QPushButton(self.tr("Open MintPy file…"), body)
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.open_file_button)
        layout.addLayout(buttons)
        self.recent_combo = QComboBox(body)
        self.recent_combo.setToolTip(self.tr("Recently opened stacks"))
        layout.addWidget(self.recent_combo)
        self.progress = QProgressBar(body)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"), body)
        self.cancel_button.setVisible(False)
        progress_row = QHBoxLayout()
        progress_row.addWidget(self.progress)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)
        self.status_label = QLabel(self.tr("No stack open."), body)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.summary_text = QPlainTextEdit(body)
        self.summary_text.setReadOnly(True)
        layout.addWidget(self.summary_text)
        self.setWidget(body)

        self.open_folder_button.clicked.connect(self._choose_folder)
        self.open_file_button.clicked.connect(self._choose_file)
        self.recent_combo.activated.connect(self._open_recent)
        self.cancel_button.clicked.connect(self._cancel)
        self._refresh_recent()

    # ---- actions ---------------------------------------------------------------------------
    def _choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Open interferogram stack folder"))
        if path:
            self.open_stack(path)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Open MintPy ifgramStack.h5"), "",
                                              self.tr("HDF5 (*.h5 *.he5 *.hdf5)"))
        if path:
            self.open_stack(path)

    def _open_recent(self, index: int) -> None:
        path = self.recent_combo.itemData(index)
        if path:
            self.open_stack(path)

    def _cancel(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def open_stack(self, path: str) -> OpenStackTask:
        """Open a stack in a background task; the dock stays usable whatever happens."""
        self.status_label.setText(self.tr("Opening {}…").format(path))
        self._set_busy(True)
        task = OpenStackTask(str(path), self._opened, self._failed)
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        self._task = task
        QgsApplication.taskManager().addTask(task)
        return task

    # ---- results (main thread) ------------------------------------------------------------------
    def _opened(self, stack: Any) -> None:
        self._set_busy(False)
        self._task = None
        self.stack = stack
        settings.remember_stack(str(stack.path))
        self._refresh_recent()
        self.status_label.setText(self.tr("{fmt} stack: {dates} dates, {pairs} pairs").format(
            fmt=stack.format_name, dates=stack.n_dates, pairs=stack.n_pairs))
        self.summary_text.setPlainText(format_summary(stack.summary()))
        if stack.skipped:
            self._message(self.tr("Some files were skipped"),
                          "; ".join(str(s) for s in stack.skipped[:3])
                          + (" …" if len(stack.skipped) > 3 else ""),
                          Qgis.MessageLevel.Warning)
        self.stack_opened.emit(stack)

    def _failed(self, error: BaseException | None) -> None:
        self._set_busy(False)
        self._task = None
        if error is None:
            self.status_label.setText(self.tr("Opening cancelled."))
            return
        self.status_label.setText(self.tr("Could not open the stack."))
        self._message(self.tr("Could not open the stack"), str(error), Qgis.MessageLevel.Critical)
        logger.warning("could not open stack: %s", error)

    # ---- helpers ---------------------------------------------------------------------------
    def _message(self, title: str, text: str, level: Qgis.MessageLevel) -> None:
        bar = self.iface.messageBar() if self.iface is not None else None
        if bar is not None:
            bar.pushMessage(title, text, level=level, duration=10)

    def _set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel_button.setVisible(busy)
        self.progress.setValue(0)
        for button in (self.open_folder_button, self.open_file_button, self.recent_combo):
            button.setEnabled(not busy)

    def _refresh_recent(self) -> None:
        self.recent_combo.clear()
        self.recent_combo.addItem(self.tr("Recent stacks…"), None)
        for path in settings.recent_stacks():
            self.recent_combo.addItem(path, path)


def format_summary(summary: dict[str, Any]) -> str:
    """The text shown in the dock for a stack summary."""
    lines = [
        f"{summary['path']}",
        f"Format: {summary['format']}",
        f"Dates: {summary['n_dates']} ({summary['first_date']} to {summary['last_date']})",
        f"Pairs: {summary['n_pairs']}",
        f"Grid: {summary['width']} x {summary['height']} px, {summary['crs']}",
        f"Wavelength: {summary['wavelength_m']:.6f} m",
        f"Coherence: {'yes' if summary['has_coherence'] else 'no'}",
        "",
        "pair                 days  bperp (m)",
    ]
    lines += [f"{p['pair_id']}  {p['days']:5d}  {p['bperp_m']:8.2f}" for p in summary["pairs"]]
    lines += [f"skipped: {s}" for s in summary["skipped"]]
    lines += [f"warning: {w}" for w in summary["warnings"]]
    return "\n".join(lines)


__all__ = ["SbasDock", "format_summary"]
