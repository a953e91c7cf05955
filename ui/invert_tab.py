"""The dock's Inversion tab: options, the reference point (chosen on the map and shown), the
inversion task with a moving progress bar, the velocity layer in its stack's group, and the
time-series plot of one pixel or two."""

from __future__ import annotations

from typing import Any

from qgis.core import Qgis, QgsApplication, QgsRasterLayer
from qgis.gui import QgsMapToolEmitPoint, QgsVertexMarker
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..tasks import InvertTask
from .map_view import describe_pixel, map_point_to_pixel, pixel_to_map_point
from .timeseries_plot import TimeSeriesPlot


class InvertTab(QWidget):
    """Inversion of the dock's kept pairs.

    Signals
    -------
    inversion_done(object)
        The :class:`~sbas_selector.core.inversion.InversionResult`.
    reference_changed(object)
        (row, col) of the reference point chosen on the map, or None for automatic.
    """

    inversion_done = pyqtSignal(object)
    reference_changed = pyqtSignal(object)

    def __init__(self, dock: Any) -> None:
        super().__init__(dock)
        self.dock = dock
        self.inversion: Any = None
        self.velocity_layer: QgsRasterLayer | None = None
        #: (row, col) chosen on the map; None: the inversion chooses (most coherent pixel).
        self.reference_pixel: tuple[int, int] | None = None
        self._map_tool: QgsMapToolEmitPoint | None = None
        self._tool_mode: str | None = None
        self._marker: QgsVertexMarker | None = None
        self._build()

    # ---- building --------------------------------------------------------------------------
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        options_row = QHBoxLayout()
        options_row.addWidget(QLabel(self.tr("Weights"), self))
        self.weights_combo = QComboBox(self)
        self.weights_combo.addItem(self.tr("none"), "none")
        self.weights_combo.addItem(self.tr("coherence"), "coherence")
        options_row.addWidget(self.weights_combo)
        options_row.addWidget(QLabel(self.tr("Min. pairs"), self))
        self.min_pairs_spin = QSpinBox(self)
        self.min_pairs_spin.setRange(1, 10000)
        options_row.addWidget(self.min_pairs_spin)
        layout.addLayout(options_row)
        reference_row = QHBoxLayout()
        self.reference_label = QLabel(self.tr("Reference: automatic (a stable, coherent pixel)"),
                                      self)
        self.reference_label.setWordWrap(True)
        self.reference_button = QPushButton(self.tr("Choose on map"), self)
        self.reference_button.setCheckable(True)
        self.reference_button.setToolTip(self.tr(
            "Click the map at a point you trust not to move: every pair's phase, the map and "
            "the inversion are referenced to it"))
        self.reference_auto_button = QPushButton(self.tr("Automatic"), self)
        reference_row.addWidget(self.reference_label, 1)
        reference_row.addWidget(self.reference_button)
        reference_row.addWidget(self.reference_auto_button)
        layout.addLayout(reference_row)
        output_row = QHBoxLayout()
        self.output_edit = QLineEdit(self)
        self.output_edit.setPlaceholderText(self.tr("Output folder (default: next to the stack)"))
        self.output_button = QPushButton(self.tr("…"), self)
        output_row.addWidget(self.output_edit)
        output_row.addWidget(self.output_button)
        layout.addLayout(output_row)
        self.points_check = QCheckBox(self.tr("Also write points for InSAR Explorer (.gpkg)"),
                                      self)
        layout.addWidget(self.points_check)
        self.bridge_check = QCheckBox(self.tr("Bridge gaps between pieces of the network "
                                              "(weak linear model)"), self)
        self.robust_check = QCheckBox(self.tr("Robust: down-weight pairs that disagree with "
                                              "the rest (slower)"), self)
        layout.addWidget(self.bridge_check)
        layout.addWidget(self.robust_check)
        buttons_row = QHBoxLayout()
        self.invert_button = QPushButton(self.tr("Invert kept pairs"), self)
        self.invert_button.setEnabled(False)
        self.pick_button = QPushButton(self.tr("Plot pixel"), self)
        self.pick_button.setCheckable(True)
        self.pick_button.setEnabled(False)
        self.pick_button.setToolTip(self.tr("Click the map to plot a pixel's time series"))
        self.compare_check = QCheckBox(self.tr("Compare a second pixel"), self)
        self.compare_check.setToolTip(self.tr("The next click plots a second pixel beside the "
                                              "first"))
        buttons_row.addWidget(self.invert_button)
        buttons_row.addWidget(self.pick_button)
        buttons_row.addWidget(self.compare_check)
        buttons_row.addWidget(self.dock._help_button("invert"))
        layout.addLayout(buttons_row)
        self.plot = TimeSeriesPlot(self)
        layout.addWidget(self.plot)
        self.output_button.clicked.connect(self._choose_output)
        self.invert_button.clicked.connect(self.invert)
        self.pick_button.toggled.connect(lambda on: self._set_tool("plot" if on else None))
        self.reference_button.toggled.connect(
            lambda on: self._set_tool("reference" if on else None))
        self.reference_auto_button.clicked.connect(lambda: self.set_reference(None))

    # ---- state -----------------------------------------------------------------------------
    def forget(self) -> None:
        """Another stack was opened: nothing of the previous one stays (plot, reference,
        layer handle, marker)."""
        self.inversion = None
        self.velocity_layer = None
        self.plot.clear()
        self.pick_button.setChecked(False)
        self.pick_button.setEnabled(False)
        self.reference_button.setChecked(False)
        self.reference_pixel = None
        self.reference_label.setText(self.tr("Reference: automatic (a stable, coherent pixel)"))
        self._remove_marker()

    def _canvas(self) -> Any:
        iface = self.dock.iface
        return iface.mapCanvas() if iface is not None else None

    # ---- reference point -------------------------------------------------------------------
    def set_reference(self, pixel: tuple[int, int] | None) -> None:
        """Use ``pixel`` (row, col) as the reference point (None: automatic), show it on the
        map, and reference the interferograms on the map to it."""
        stack = self.dock.stack
        if stack is None:
            return
        if pixel is not None:
            row, col = pixel
            if not (0 <= row < stack.grid.height and 0 <= col < stack.grid.width):
                self.dock._message(self.tr("Reference point"),
                                   self.tr("That point is outside the stack."),
                                   Qgis.MessageLevel.Warning)
                return
            pixel = (int(row), int(col))
        self.reference_pixel = pixel
        if pixel is None:
            self.reference_label.setText(self.tr("Reference: automatic (a stable, coherent "
                                                 "pixel)"))
            self._remove_marker()
        else:
            self.reference_label.setText(self.tr("Reference: {}").format(
                describe_pixel(stack, *pixel)))
            self._show_marker(pixel)
        self.reference_changed.emit(pixel)

    def _show_marker(self, pixel: tuple[int, int]) -> None:
        canvas = self._canvas()
        if canvas is None or self.dock.stack is None:
            return
        if self._marker is None:
            self._marker = QgsVertexMarker(canvas)
            self._marker.setIconType(QgsVertexMarker.IconType.ICON_X)
            self._marker.setColor(QColor("#000000"))
            self._marker.setIconSize(14)
            self._marker.setPenWidth(3)
        self._marker.setCenter(pixel_to_map_point(canvas, self.dock.stack, *pixel))
        self._marker.setToolTip(self.tr("Reference point"))
        self._marker.show()
        canvas.refresh()

    def _remove_marker(self) -> None:
        if self._marker is not None:
            canvas = self._canvas()
            if canvas is not None:
                canvas.scene().removeItem(self._marker)
            self._marker = None

    # ---- map tool --------------------------------------------------------------------------
    def _set_tool(self, mode: str | None) -> None:
        canvas = self._canvas()
        if canvas is None:
            return
        if mode is None:
            if self._map_tool is not None and self._tool_mode is not None:
                canvas.unsetMapTool(self._map_tool)
            self._map_tool, self._tool_mode = None, None
            return
        # One tool at a time: the other button pops up.
        other = self.reference_button if mode == "plot" else self.pick_button
        other.blockSignals(True)
        other.setChecked(False)
        other.blockSignals(False)
        if self._map_tool is not None:
            canvas.unsetMapTool(self._map_tool)
        self._map_tool, self._tool_mode = QgsMapToolEmitPoint(canvas), mode
        self._map_tool.canvasClicked.connect(self.map_clicked)
        canvas.setMapTool(self._map_tool)

    def map_clicked(self, point: Any, _button: Any = None) -> None:
        """A click on the map with one of the tab's tools: choose the reference, or plot."""
        if self._tool_mode == "reference":
            self.reference_at_map_point(point)
            self.reference_button.setChecked(False)
        else:
            self.plot_at_map_point(point)

    def reference_at_map_point(self, point: Any) -> None:
        canvas, stack = self._canvas(), self.dock.stack
        if canvas is None or stack is None:
            return
        self.set_reference(map_point_to_pixel(canvas, point, stack))

    # ---- inversion -------------------------------------------------------------------------
    def _choose_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, self.tr("Inversion output folder"),
                                                self.output_folder() or "")
        if path:
            self.output_edit.setText(path)

    def output_folder(self) -> str:
        """Where the inversion writes: the chosen folder, or ``<stack>_sbas`` beside the stack
        (in the user's data folder when the stack's folder is read-only)."""
        if self.output_edit.text().strip():
            return self.output_edit.text().strip()
        if self.dock.stack is None:
            return ""
        from ..core.paths import default_inversion_folder

        return str(default_inversion_folder(self.dock.stack.path))

    def invert(self) -> InvertTask | None:
        """Run the inversion of the kept pairs in a background task."""
        dock = self.dock
        if dock.stack is None:
            return None
        from ..core.inversion import InversionOptions

        # An automatic reference is chosen in the task (it reads the whole stack).
        options = InversionOptions(weighting=self.weights_combo.currentData(),
                                   min_pairs=self.min_pairs_spin.value(),
                                   bridge_gaps=self.bridge_check.isChecked(),
                                   robust=self.robust_check.isChecked(),
                                   reference_pixel=self.reference_pixel)
        keep = dock.keep_mask()
        dock.status_label.setText(self.tr("Inverting {} kept pairs…").format(int(keep.sum())))
        dock._set_busy(True)
        # Reading the stack and choosing the reference come before the first block: the bar
        # shows work going on (a busy bar) until the blocks report progress.
        dock.progress.setRange(0, 0)
        task = InvertTask(str(dock.stack.path), self.output_folder(), keep, options,
                          self._inverted, self._failed, points=self.points_check.isChecked(),
                          repairs=dock.store.active_repairs() if dock.store else None)
        task.progressChanged.connect(self._progress)
        dock._task = task
        QgsApplication.taskManager().addTask(task)
        return task

    def _progress(self, value: float) -> None:
        bar = self.dock.progress
        if value > 0 and bar.maximum() == 0:
            bar.setRange(0, 100)
        bar.setValue(int(value))

    def _failed(self, error: BaseException | None) -> None:
        self.dock.progress.setRange(0, 100)
        self.dock._failed(error)

    def _inverted(self, result: Any) -> None:
        dock = self.dock
        dock.progress.setRange(0, 100)
        dock._set_busy(False)
        dock._task = None
        self.inversion = result
        layer = QgsRasterLayer(str(result.files["velocity"]), self.tr("Velocity (mm/yr)"))
        if layer.isValid():
            layer.loadNamedStyle(str(result.files["style"]))
            if dock.layers is not None:
                dock.layers.add_result(layer)
            self.velocity_layer = layer
        self.pick_button.setEnabled(True)
        row, col = result.reference_pixel
        self.reference_label.setText(self.tr("Reference: {}{}").format(
            describe_pixel(dock.stack, row, col),
            "" if self.reference_pixel is not None else self.tr(" (chosen automatically)")))
        self._show_marker((row, col))
        dock.status_label.setText(self.tr("Inverted {pairs} pairs over {dates} dates into {out}")
                                  .format(pairs=result.n_pairs, dates=len(result.dates),
                                          out=result.out_dir))
        for warning in result.warnings:
            dock._message(self.tr("Inversion"), warning, Qgis.MessageLevel.Warning)
        self.inversion_done.emit(result)

    # ---- time series -----------------------------------------------------------------------
    def plot_at_map_point(self, point: Any, _button: Any = None) -> None:
        """Plot the time series of the pixel under a map-canvas point (canvas CRS)."""
        canvas, stack = self._canvas(), self.dock.stack
        if self.inversion is None or stack is None or canvas is None:
            return
        self.plot_pixel(*map_point_to_pixel(canvas, point, stack))

    def plot_pixel(self, row: int, col: int) -> None:
        """Plot pixel (row, col): alone, or beside the first with *Compare* checked."""
        from ..core import StackError
        from ..core.inversion.outputs import read_pixel_series

        if self.inversion is None:
            return
        try:
            series = read_pixel_series(self.inversion.out_dir, row, col)
        except StackError as exc:
            self.dock._message(self.tr("Time series"), str(exc), Qgis.MessageLevel.Info)
            return
        self.plot.set_series(series, describe_pixel(self.dock.stack, row, col),
                             compare=self.compare_check.isChecked())
