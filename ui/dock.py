"""The plugin's dock: open a stack and see what it holds."""

from __future__ import annotations

import logging
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
    QgsCoordinateTransform,
    QgsProject,
    QgsRasterLayer,
)
from qgis.gui import QgsMapToolEmitPoint
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .. import settings
from ..tasks import BaseTask, InvertTask, OpenStackTask
from .timeseries_plot import TimeSeriesPlot

logger = logging.getLogger(__name__)


class SbasDock(QDockWidget):
    """Dock panel: open a stack (folder or MintPy file, recent ones remembered), its summary.

    Signals
    -------
    stack_opened(object)
        Emitted with the :class:`~sbas_selector.core.Stack` once it is open.
    """

    stack_opened = pyqtSignal(object)
    inversion_done = pyqtSignal(object)

    def __init__(self, iface: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("SBAS Interferogram Selector"))
        self.setObjectName("SbasSelectorDock")
        self.iface = iface
        self.stack = None
        self.inversion = None
        self._task: BaseTask | None = None
        self._map_tool: QgsMapToolEmitPoint | None = None

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

        inversion_box = QGroupBox(self.tr("SBAS inversion"), body)
        inversion_layout = QVBoxLayout(inversion_box)
        options_row = QHBoxLayout()
        options_row.addWidget(QLabel(self.tr("Weights"), inversion_box))
        self.weights_combo = QComboBox(inversion_box)
        self.weights_combo.addItem(self.tr("none"), "none")
        self.weights_combo.addItem(self.tr("coherence"), "coherence")
        options_row.addWidget(self.weights_combo)
        options_row.addWidget(QLabel(self.tr("Min. pairs"), inversion_box))
        self.min_pairs_spin = QSpinBox(inversion_box)
        self.min_pairs_spin.setRange(1, 10000)
        options_row.addWidget(self.min_pairs_spin)
        inversion_layout.addLayout(options_row)
        output_row = QHBoxLayout()
        self.output_edit = QLineEdit(inversion_box)
        self.output_edit.setPlaceholderText(self.tr("Output folder (default: next to the stack)"))
        self.output_button = QPushButton(self.tr("…"), inversion_box)
        output_row.addWidget(self.output_edit)
        output_row.addWidget(self.output_button)
        inversion_layout.addLayout(output_row)
        self.points_check = QCheckBox(self.tr("Also write points for InSAR Explorer (.gpkg)"),
                                      inversion_box)
        inversion_layout.addWidget(self.points_check)
        buttons_row = QHBoxLayout()
        self.invert_button = QPushButton(self.tr("Invert"), inversion_box)
        self.invert_button.setEnabled(False)
        self.pick_button = QPushButton(self.tr("Plot pixel"), inversion_box)
        self.pick_button.setCheckable(True)
        self.pick_button.setEnabled(False)
        self.pick_button.setToolTip(self.tr("Click the map to plot a pixel's time series"))
        buttons_row.addWidget(self.invert_button)
        buttons_row.addWidget(self.pick_button)
        inversion_layout.addLayout(buttons_row)
        self.plot = TimeSeriesPlot(inversion_box)
        inversion_layout.addWidget(self.plot)
        layout.addWidget(inversion_box)
        self.setWidget(body)

        self.open_folder_button.clicked.connect(self._choose_folder)
        self.open_file_button.clicked.connect(self._choose_file)
        self.recent_combo.activated.connect(self._open_recent)
        self.cancel_button.clicked.connect(self._cancel)
        self.output_button.clicked.connect(self._choose_output)
        self.invert_button.clicked.connect(self.invert)
        self.pick_button.toggled.connect(self._toggle_pick)
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

    def _choose_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Inversion output folder"))
        if path:
            self.output_edit.setText(path)

    def output_folder(self) -> str:
        """Where the inversion writes: the chosen folder, or ``<stack>_sbas`` beside the stack
        (in the user's data folder when the stack's folder is read-only)."""
        if self.output_edit.text().strip():
            return self.output_edit.text().strip()
        from ..core.paths import default_inversion_folder

        return str(default_inversion_folder(self.stack.path))

    def invert(self) -> InvertTask | None:
        """Run the inversion of the kept pairs in a background task."""
        if self.stack is None:
            return None
        from ..core.inversion import InversionOptions

        # The reference is chosen in the task (it reads the whole stack): never on this thread.
        options = InversionOptions(weighting=self.weights_combo.currentData(),
                                   min_pairs=self.min_pairs_spin.value())
        self.status_label.setText(self.tr("Inverting {} kept pairs…").format(
            int(self.stack.keep.sum())))
        self._set_busy(True)
        task = InvertTask(str(self.stack.path), self.output_folder(), self.stack.keep.copy(),
                          options, self._inverted, self._failed,
                          points=self.points_check.isChecked())
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        self._task = task
        QgsApplication.taskManager().addTask(task)
        return task

    def _inverted(self, result: Any) -> None:
        self._set_busy(False)
        self._task = None
        self.inversion = result
        layer = QgsRasterLayer(str(result.files["velocity"]), self.tr("Velocity (mm/yr)"))
        if layer.isValid():
            layer.loadNamedStyle(str(result.files["style"]))
            root = QgsProject.instance().layerTreeRoot()
            group = root.findGroup(self.tr("SBAS inversion")) or root.insertGroup(
                0, self.tr("SBAS inversion"))
            QgsProject.instance().addMapLayer(layer, False)
            group.insertLayer(0, layer)
            self.velocity_layer = layer
        self.pick_button.setEnabled(True)
        self.status_label.setText(self.tr("Inverted {pairs} pairs over {dates} dates into {out}")
                                  .format(pairs=result.n_pairs, dates=len(result.dates),
                                          out=result.out_dir))
        for warning in result.warnings:
            self._message(self.tr("Inversion"), warning, Qgis.MessageLevel.Warning)
        self.inversion_done.emit(result)

    def _toggle_pick(self, active: bool) -> None:
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        if canvas is None:
            return
        if active:
            self._map_tool = QgsMapToolEmitPoint(canvas)
            self._map_tool.canvasClicked.connect(self.plot_at_map_point)
            canvas.setMapTool(self._map_tool)
        elif self._map_tool is not None:
            canvas.unsetMapTool(self._map_tool)
            self._map_tool = None

    def plot_at_map_point(self, point: Any, _button: Any = None) -> None:
        """Plot the time series of the pixel under a map-canvas point."""
        if self.inversion is None or self.stack is None:
            return
        layer = getattr(self, "velocity_layer", None)
        if layer is not None and self.iface is not None:
            transform = QgsCoordinateTransform(
                self.iface.mapCanvas().mapSettings().destinationCrs(), layer.crs(),
                QgsProject.instance())
            point = transform.transform(point)
        row, col = self.stack.grid.xy_to_pixel(point.x(), point.y())
        self.plot_pixel(row, col)

    def plot_pixel(self, row: int, col: int) -> None:
        from ..core import StackError
        from ..core.inversion.outputs import read_pixel_series

        try:
            self.plot.set_series(read_pixel_series(self.inversion.out_dir, row, col))
        except StackError as exc:
            self._message(self.tr("Time series"), str(exc), Qgis.MessageLevel.Info)

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
        self.invert_button.setEnabled(True)
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
            self.status_label.setText(self.tr("Cancelled."))
            return
        self.status_label.setText(self.tr("Failed: {}").format(error))
        self._message(self.tr("SBAS Selector"), str(error), Qgis.MessageLevel.Critical)
        logger.warning("task failed: %s", error)

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
        self.invert_button.setEnabled(not busy and self.stack is not None)

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
