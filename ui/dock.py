"""The plugin's dock: open a stack, review its pairs on the baseline graph and in the table,
mark them, watch the network's health, export the selection, invert."""

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
from qgis.PyQt.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableView,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import settings
from ..tasks import BaseTask, ClassifyTask, InvertTask, OpenStackTask
from .baseline_graph import BaselineGraphWidget
from .pair_table import PairFilterProxy, PairTableModel
from .timeseries_plot import TimeSeriesPlot

logger = logging.getLogger(__name__)


class SbasDock(QDockWidget):
    """Dock panel of the plugin.

    Signals
    -------
    stack_opened(object)
        Emitted with the :class:`~sbas_selector.core.Stack` once it is open.
    inversion_done(object)
        Emitted with the :class:`~sbas_selector.core.inversion.InversionResult`.
    labels_changed()
        Emitted after every decision (already saved).
    """

    stack_opened = pyqtSignal(object)
    inversion_done = pyqtSignal(object)
    labels_changed = pyqtSignal()

    def __init__(self, iface: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("SBAS Interferogram Selector"))
        self.setObjectName("SbasSelectorDock")
        self.iface = iface
        self.stack = None
        self.store = None
        self.statistics = None
        self.graph_model = None
        self.layers = None
        self.current: int | None = None
        self.inversion = None
        self.velocity_layer = None
        self._task: BaseTask | None = None
        self._map_tool: QgsMapToolEmitPoint | None = None
        #: Asks the user to confirm a risky drop; replaced in tests.
        self.confirm = self._ask

        body = QWidget(self)
        layout = QVBoxLayout(body)
        buttons = QHBoxLayout()
        self.open_folder_button = QPushButton(self.tr("Open stack folder…"), body)
        self.open_file_button = QPushButton(self.tr("Open MintPy file…"), body)
        self.sample_button = QPushButton(self.tr("Load sample stack"), body)
        self.sample_button.setToolTip(self.tr("The bundled real stack: Mexico City, Sentinel-1, "
                                              "13 dates, 30 interferograms"))
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.open_file_button)
        buttons.addWidget(self.sample_button)
        buttons.addWidget(self._help_button("open"))
        layout.addLayout(buttons)
        self.recent_combo = QComboBox(body)
        self.recent_combo.setToolTip(self.tr("Recently opened stacks"))
        layout.addWidget(self.recent_combo)
        progress_row = QHBoxLayout()
        self.progress = QProgressBar(body)
        self.progress.setVisible(False)
        self.cancel_button = QPushButton(self.tr("Cancel"), body)
        self.cancel_button.setVisible(False)
        progress_row.addWidget(self.progress)
        progress_row.addWidget(self.cancel_button)
        layout.addLayout(progress_row)
        self.status_label = QLabel(self.tr("No stack open."), body)
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self.tabs = QTabWidget(body)
        layout.addWidget(self.tabs)
        self.tabs.addTab(self._build_review_tab(), self.tr("Review"))
        self.summary_text = QPlainTextEdit()
        self.summary_text.setReadOnly(True)
        self.tabs.addTab(self.summary_text, self.tr("Stack"))
        self.tabs.addTab(self._build_inversion_tab(), self.tr("Inversion"))
        self.setWidget(body)

        self.open_folder_button.clicked.connect(self._choose_folder)
        self.open_file_button.clicked.connect(self._choose_file)
        self.sample_button.clicked.connect(self.load_sample)
        self._help = None
        self.recent_combo.activated.connect(self._open_recent)
        self.cancel_button.clicked.connect(self._cancel)
        self._refresh_recent()
        self._set_review_enabled(False)

    # ---- building --------------------------------------------------------------------------
    def _build_review_tab(self) -> QWidget:
        tab = QWidget()
        layout = QVBoxLayout(tab)
        splitter = QSplitter(Qt.Orientation.Vertical, tab)
        self.graph = BaselineGraphWidget(splitter)
        table_box = QWidget(splitter)
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        self.pair_label = QLabel("", table_box)
        table_layout.addWidget(self.pair_label)
        self.health_label = QLabel("", table_box)
        self.health_label.setWordWrap(True)
        table_layout.addWidget(self.health_label)
        self.filter_edit = QLineEdit(table_box)
        self.filter_edit.setPlaceholderText(self.tr("Filter pairs (id, label, source…)"))
        table_layout.addWidget(self.filter_edit)
        self.table_model = PairTableModel(self)
        self.table_proxy = PairFilterProxy(self)
        self.table_proxy.setSourceModel(self.table_model)
        self.table = QTableView(table_box)
        self.table.setModel(self.table_proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        table_layout.addWidget(self.table)
        splitter.addWidget(self.graph)
        splitter.addWidget(table_box)
        layout.addWidget(splitter)
        classify_row = QHBoxLayout()
        self.classify_button = QPushButton(self.tr("Classify"), tab)
        self.classify_button.setToolTip(self.tr(
            "Score every pair with the CNN, weighed against what the rest of the network "
            "says of it"))
        self.device_combo = QComboBox(tab)
        for device in ("auto", "cpu", "cuda"):
            self.device_combo.addItem(device, device)
        self.threshold_spin = QDoubleSpinBox(tab)
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setSpecialValueText(self.tr("model's"))
        self.threshold_spin.setValue(0.0)  # 0 shows "model's": the threshold in its card
        self.threshold_spin.setToolTip(self.tr("Probability of high quality above which a "
                                               "pair is kept (default: the model's)"))
        self.connect_button = QPushButton(self.tr("Keep connected…"), tab)
        self.connect_button.setToolTip(self.tr("Propose the fewest dropped pairs that reconnect "
                                               "the network"))
        self.accept_button = QPushButton(self.tr("Accept all"), tab)
        self.accept_button.setToolTip(self.tr("Clear your overrides: every pair takes the "
                                              "model's label"))
        classify_row.addWidget(self.classify_button)
        classify_row.addWidget(QLabel(self.tr("on"), tab))
        classify_row.addWidget(self.device_combo)
        classify_row.addWidget(QLabel(self.tr("threshold"), tab))
        classify_row.addWidget(self.threshold_spin)
        classify_row.addWidget(self.accept_button)
        classify_row.addWidget(self.connect_button)
        layout.addLayout(classify_row)
        classify_row.addWidget(self._help_button("classify"))
        self.provider_label = QLabel(self.tr("Inference: not run yet"), tab)
        self.provider_label.setWordWrap(True)
        layout.addWidget(self.provider_label)
        self.device_combo.currentIndexChanged.connect(self.update_planned_provider)
        QTimer.singleShot(0, self.update_planned_provider)
        self.classify_button.clicked.connect(self.classify)
        self.accept_button.clicked.connect(self.accept_all)
        self.connect_button.clicked.connect(self.keep_connected)
        marks = QHBoxLayout()
        self.keep_button = QPushButton(self.tr("Keep (K)"), tab)
        self.drop_button = QPushButton(self.tr("Drop (D)"), tab)
        self.clear_button = QPushButton(self.tr("Clear (C)"), tab)
        self.undo_button = QPushButton(self.tr("Undo"), tab)
        self.wrapped_check = QCheckBox(self.tr("Re-wrapped"), tab)
        self.wrapped_check.setChecked(True)
        self.wrapped_check.setToolTip(self.tr("Show phase re-wrapped (fringes) or unwrapped"))
        for widget in (self.keep_button, self.drop_button, self.clear_button, self.undo_button,
                       self.wrapped_check):
            marks.addWidget(widget)
        layout.addLayout(marks)
        exports = QHBoxLayout()
        exports.addWidget(QLabel(self.tr("Export:"), tab))
        self.export_buttons = {}
        for fmt, text in (("csv", "CSV…"), ("mintpy", "MintPy…"), ("licsbas", "LiCSBAS…")):
            button = QPushButton(self.tr(text), tab)
            button.clicked.connect(lambda _checked=False, f=fmt: self._choose_export(f))
            exports.addWidget(button)
            self.export_buttons[fmt] = button
        exports.addWidget(self._help_button("review"))
        layout.addLayout(exports)

        self.graph.pair_clicked.connect(self.select_pair)
        self.table.selectionModel().currentRowChanged.connect(self._table_row_changed)
        self.filter_edit.textChanged.connect(self.table_proxy.setFilterFixedString)
        self.keep_button.clicked.connect(lambda: self.mark("high"))
        self.drop_button.clicked.connect(lambda: self.mark("low"))
        self.clear_button.clicked.connect(lambda: self.mark(None))
        self.undo_button.clicked.connect(self.undo)
        self.wrapped_check.toggled.connect(self._set_wrapped)
        # Keys on the graph and the table (an event filter: works whether or not the dock's
        # window is the active one, unlike shortcuts).
        self.table.installEventFilter(self)
        self.graph.installEventFilter(self)
        self.graph.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        return tab

    def eventFilter(self, watched: Any, event: Any) -> bool:
        """K keep, D drop, C clear, Ctrl+Z undo; arrows step through pairs on the graph."""
        if event.type() != QEvent.Type.KeyPress:
            return super().eventFilter(watched, event)
        key, modifiers = event.key(), event.modifiers()
        if key == Qt.Key.Key_Z and modifiers & Qt.KeyboardModifier.ControlModifier:
            self.undo()
            return True
        if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return super().eventFilter(watched, event)
        actions = {Qt.Key.Key_K: "high", Qt.Key.Key_D: "low", Qt.Key.Key_C: None}
        if key in actions:
            self.mark(actions[key])
            return True
        if watched is self.graph and key in (Qt.Key.Key_Right, Qt.Key.Key_Down,
                                             Qt.Key.Key_Left, Qt.Key.Key_Up):
            step = 1 if key in (Qt.Key.Key_Right, Qt.Key.Key_Down) else -1
            if self.stack is not None:
                self.select_pair(((self.current or 0) + step) % self.stack.n_pairs)
            return True
        return super().eventFilter(watched, event)

    def _build_inversion_tab(self) -> QWidget:
        tab = QWidget()
        inversion_layout = QVBoxLayout(tab)
        options_row = QHBoxLayout()
        options_row.addWidget(QLabel(self.tr("Weights"), tab))
        self.weights_combo = QComboBox(tab)
        self.weights_combo.addItem(self.tr("none"), "none")
        self.weights_combo.addItem(self.tr("coherence"), "coherence")
        options_row.addWidget(self.weights_combo)
        options_row.addWidget(QLabel(self.tr("Min. pairs"), tab))
        self.min_pairs_spin = QSpinBox(tab)
        self.min_pairs_spin.setRange(1, 10000)
        options_row.addWidget(self.min_pairs_spin)
        inversion_layout.addLayout(options_row)
        output_row = QHBoxLayout()
        self.output_edit = QLineEdit(tab)
        self.output_edit.setPlaceholderText(self.tr("Output folder (default: next to the stack)"))
        self.output_button = QPushButton(self.tr("…"), tab)
        output_row.addWidget(self.output_edit)
        output_row.addWidget(self.output_button)
        inversion_layout.addLayout(output_row)
        self.points_check = QCheckBox(self.tr("Also write points for InSAR Explorer (.gpkg)"),
                                      tab)
        inversion_layout.addWidget(self.points_check)
        self.bridge_check = QCheckBox(self.tr("Bridge gaps between pieces of the network "
                                              "(weak linear model)"), tab)
        self.robust_check = QCheckBox(self.tr("Robust: down-weight pairs that disagree with "
                                              "the rest (slower)"), tab)
        inversion_layout.addWidget(self.bridge_check)
        inversion_layout.addWidget(self.robust_check)
        buttons_row = QHBoxLayout()
        self.invert_button = QPushButton(self.tr("Invert kept pairs"), tab)
        self.invert_button.setEnabled(False)
        self.pick_button = QPushButton(self.tr("Plot pixel"), tab)
        self.pick_button.setCheckable(True)
        self.pick_button.setEnabled(False)
        self.pick_button.setToolTip(self.tr("Click the map to plot a pixel's time series"))
        buttons_row.addWidget(self.invert_button)
        buttons_row.addWidget(self.pick_button)
        buttons_row.addWidget(self._help_button("invert"))
        inversion_layout.addLayout(buttons_row)
        self.plot = TimeSeriesPlot(tab)
        inversion_layout.addWidget(self.plot)
        self.output_button.clicked.connect(self._choose_output)
        self.invert_button.clicked.connect(self.invert)
        self.pick_button.toggled.connect(self._toggle_pick)
        return tab

    def _help_button(self, page: str) -> QToolButton:
        button = QToolButton(self)
        button.setText("?")
        button.setToolTip(self.tr("Help: {}").format(page))
        button.setObjectName(f"help_{page}")
        button.clicked.connect(lambda: self.show_help(page))
        return button

    def show_help(self, page: str) -> Any:
        """Open ``docs/<page>.md`` in the help dialog (one dialog, reused)."""
        from .help import HelpDialog

        if self._help is None:
            self._help = HelpDialog(page, self)
        else:
            self._help.show_page(page)
        self._help.show()
        self._help.raise_()
        return self._help

    def update_planned_provider(self) -> None:
        """Say where inference will run, and why, before anything is classified."""
        from ..core.classify import planned_provider

        try:
            text = planned_provider(self.device_combo.currentData() or "auto")
        except Exception as exc:  # (a broken onnxruntime must not break the dock)
            text = f"not available: onnxruntime fails to load ({exc})"
        self.provider_label.setText(self.tr("Inference: {}").format(text))

    # ---- opening ---------------------------------------------------------------------------
    def load_sample(self) -> Any:
        """Open the bundled sample stack (the real Mexico City stack)."""
        from ..core.paths import sample_stack

        path = sample_stack()
        if path is None:
            self._message(self.tr("Sample stack"), self.tr("The sample stack is not bundled "
                                                           "with this installation."),
                          Qgis.MessageLevel.Warning)
            return None
        return self.open_stack(str(path))

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
        """Open a stack (and compute its pair statistics) in a background task; the dock
        stays usable whatever happens."""
        self.status_label.setText(self.tr("Opening {}…").format(path))
        self._set_busy(True)
        task = OpenStackTask(str(path), self._opened, self._failed)
        task.progressChanged.connect(lambda value: self.progress.setValue(int(value)))
        self._task = task
        QgsApplication.taskManager().addTask(task)
        return task

    def _opened(self, result: Any) -> None:
        from ..core import StackError
        from ..core.labels import LabelsStore

        stack, statistics = result
        self._set_busy(False)
        self._task = None
        if self.layers is not None:
            self.layers.remove()
            self.layers = None
        self.stack, self.statistics, self.current = stack, statistics, None
        try:
            self.store = LabelsStore.open(stack)
        except StackError as exc:
            self.store = None
            self._message(self.tr("Labels not loaded"), str(exc), Qgis.MessageLevel.Critical)
        if self.store is not None and self.store.notice:
            self._message(self.tr("Labels"), self.store.notice, Qgis.MessageLevel.Warning)
        settings.remember_stack(str(stack.path))
        self._refresh_recent()
        self.status_label.setText(self.tr("{fmt} stack: {dates} dates, {pairs} pairs").format(
            fmt=stack.format_name, dates=stack.n_dates, pairs=stack.n_pairs))
        self.summary_text.setPlainText(format_summary(stack.summary()))
        self.table_model.set_data(stack, self.store, statistics)
        self.table.resizeColumnsToContents()
        self.layers = _stack_layers(stack)
        self._set_review_enabled(self.store is not None)
        self.invert_button.setEnabled(True)
        self.refresh()
        if stack.skipped:
            self._message(self.tr("Some files were skipped"),
                          "; ".join(str(s) for s in stack.skipped[:3])
                          + (" …" if len(stack.skipped) > 3 else ""),
                          Qgis.MessageLevel.Warning)
        self.select_pair(0)
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

    # ---- review ----------------------------------------------------------------------------
    def refresh(self) -> None:
        """Recompute the graph model and health from the labels; redraw graph and table."""
        from ..core.review import baseline_graph, health_text

        if self.stack is None or self.store is None:
            return
        coherence = None if self.statistics is None else self.statistics.mean_coherence
        self.graph_model = baseline_graph(self.stack, self.store, coherence)
        self.graph.set_graph(self.graph_model, self._edge_details())
        self.health_label.setText(health_text(self.graph_model.health))
        self.table_model.refresh()

    def _edge_details(self) -> dict[int, str]:
        details = {}
        for i, pair in enumerate(self.stack.pairs):
            entry = self.store.labels[pair.pair_id]
            coherence = (float("nan") if self.statistics is None
                         else self.statistics.mean_coherence[i])
            score = "—" if entry.probability_high is None else f"{entry.probability_high:.2f}"
            details[i] = (f"{pair.date1.isoformat()} – {pair.date2.isoformat()} "
                          f"({pair.days} days)\nBperp {pair.bperp_m:.1f} m, coherence "
                          f"{coherence:.2f}\nscore {score}, label {entry.final.value} "
                          f"({entry.source.value})"
                          + (f"\nnetwork: {entry.evidence}" if entry.evidence else ""))
        return details

    def select_pair(self, index: int) -> None:
        """Make pair ``index`` current: graph highlight, table row, map layer."""
        if self.stack is None or not 0 <= index < self.stack.n_pairs:
            return
        self.current = index
        self.graph.set_current(index)
        source_index = self.table_model.index(index, 0)
        proxy_index = self.table_proxy.mapFromSource(source_index)
        if proxy_index.isValid() and self.table.currentIndex().row() != proxy_index.row():
            self.table.selectionModel().setCurrentIndex(
                proxy_index, QItemSelectionModel.SelectionFlag.ClearAndSelect
                | QItemSelectionModel.SelectionFlag.Rows)
        if self.layers is not None:
            layer = self.layers.show(index)
            canvas = self.iface.mapCanvas() if self.iface is not None else None
            if layer is not None and canvas is not None and len(self.layers.phase_layers) == 1:
                canvas.setExtent(layer.extent())
            if canvas is not None:
                canvas.refresh()
        self.pair_label.setText(self.tr("Pair {pid}: {label}").format(
            pid=self.stack.pairs[index].pair_id,
            label=self.store.final(self.stack.pairs[index].pair_id).value
            if self.store is not None else "?"))

    def _table_row_changed(self, current: Any, _previous: Any) -> None:
        if current.isValid():
            row = self.table_proxy.mapToSource(current).row()
            if row != self.current:
                self.select_pair(row)

    def mark(self, label: str | None, index: int | None = None) -> bool:
        """Set the analyst's label of a pair (the current one by default); saved at once.

        Dropping the last kept pair of a date, or a bridge, asks first. Returns whether the
        decision was applied.
        """
        from ..core.review import drop_warning

        index = self.current if index is None else index
        if self.store is None or index is None:
            return False
        if label == "low" and self.graph_model is not None:
            warning = drop_warning(self.graph_model, index)
            if warning and not self.confirm(self.tr("Drop this pair?"),
                                            self.tr("Dropping {pid}: {why}. Drop it anyway?")
                                            .format(pid=self.stack.pairs[index].pair_id,
                                                    why=warning)):
                return False
        try:
            self.store.set_override(self.stack.pairs[index].pair_id, label)
        except OSError as exc:
            self._message(self.tr("Could not save the labels"), str(exc),
                          Qgis.MessageLevel.Critical)
            return False
        self.refresh()
        self.select_pair(index)
        self.labels_changed.emit()
        return True

    def undo(self) -> None:
        if self.store is None:
            return
        pair_id = self.store.undo()
        if pair_id is not None:
            self.refresh()
            self.select_pair(self.stack.index_of(pair_id))
            self.labels_changed.emit()

    def _set_wrapped(self, wrapped: bool) -> None:
        if self.layers is not None:
            self.layers.set_wrapped(wrapped)

    def _choose_export(self, fmt: str) -> None:
        names = {"csv": "labels.csv", "mintpy": "exclude_date12.txt",
                 "licsbas": "rm_ifg_list.txt"}
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export pairs"), names[fmt])
        if path:
            self.export(fmt, path)

    def export(self, fmt: str, path: str) -> list:
        """Write the selection in ``fmt`` (csv, mintpy, licsbas) to ``path``."""
        from ..core.exports import export_pairs

        if self.stack is None or self.store is None:
            return []
        try:
            written = export_pairs(self.stack, self.store, fmt, path)
        except (OSError, ValueError) as exc:
            self._message(self.tr("Export failed"), str(exc), Qgis.MessageLevel.Critical)
            return []
        self._message(self.tr("Exported"), ", ".join(str(p) for p in written),
                      Qgis.MessageLevel.Success)
        return written

    def _ask(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text,
                                      QMessageBox.StandardButton.Yes
                                      | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # ---- classification -------------------------------------------------------------------
    def classify(self, model_path: str | None = None) -> ClassifyTask | None:
        """Score every pair in a background task (progress "pair 37 of 412", Cancel)."""
        if self.stack is None or self.store is None:
            return None
        self._set_busy(True)
        task = ClassifyTask(str(self.stack.path), model_path, self.device_combo.currentData(),
                            self._classified, self._failed,
                            decisions={p: e.repairs for p, e in self.store.labels.items()})
        task.progressChanged.connect(lambda value: self._classify_progress(task, value))
        self._task = task
        self.status_label.setText(self.tr("Classifying…"))
        QgsApplication.taskManager().addTask(task)
        return task

    def _classify_progress(self, task: ClassifyTask, value: float) -> None:
        self.progress.setValue(int(value))
        if task.done_text:
            self.status_label.setText(self.tr("Classifying: {}").format(task.done_text))

    def _classified(self, outcome: Any) -> None:
        from ..core.labels import apply_classification

        check, result = outcome
        self._set_busy(False)
        self._task = None
        threshold = self.threshold_spin.value() or float(result.model["threshold"])
        try:
            if check is not None:
                self.store.set_closure(check)
            apply_classification(self.store, result, threshold)
        except OSError as exc:
            self._message(self.tr("Could not save the labels"), str(exc),
                          Qgis.MessageLevel.Critical)
            return
        self.provider_label.setText(self.tr("Inference: {}").format(result.provider))
        kept = sum(1 for p in self.stack.pair_ids if self.store.final(p).value == "high")
        self.status_label.setText(self.tr("Classified {n} pairs: {kept} kept").format(
            n=self.stack.n_pairs, kept=kept))
        for pair_id in result.no_data:
            self._message(self.tr("No data"), self.tr("{}: no data, labelled low")
                          .format(pair_id), Qgis.MessageLevel.Warning)
        self.refresh()
        if self.current is not None:
            self.select_pair(self.current)
        self.labels_changed.emit()

    def accept_all(self) -> None:
        """Take the model's labels for every pair (clears the user's overrides; undoable)."""
        if self.store is None:
            return
        for pair_id in self.stack.pair_ids:
            if self.store.labels[pair_id].override is not None:
                self.store.set_override(pair_id, None)
        self.refresh()
        self.labels_changed.emit()

    def keep_connected(self) -> list[str]:
        """Show the re-admissions that reconnect the network on the graph; apply them if the
        analyst accepts. Returns the pairs re-admitted."""
        from ..core.connectivity import plan_readmissions

        if self.stack is None or self.store is None:
            return []
        coherence = None if self.statistics is None else self.statistics.mean_coherence
        plan = plan_readmissions(self.stack, self.store, coherence)
        if plan.pieces_before <= 1:
            self._message(self.tr("Network"), self.tr("The kept network is connected."),
                          Qgis.MessageLevel.Info)
            return []
        self.graph.set_proposed({r.index for r in plan.proposals})
        lines = [r.describe() for r in plan.proposals]
        lines += [self.tr("cannot reconnect {}: no dropped pair links them").format(
            ", ".join(d.isoformat() for d in piece)) for piece in plan.unreachable]
        accepted = bool(plan.proposals) and self.confirm(
            self.tr("Keep the network connected?"),
            self.tr("The kept pairs split the network into {n} pieces.\n\n{lines}\n\n"
                    "Re-admit these pairs?").format(n=plan.pieces_before, lines="\n".join(lines)))
        self.graph.set_proposed(set())
        if not accepted:
            return []
        pair_ids = [r.pair_id for r in plan.proposals]
        self.store.set_readmitted(pair_ids)
        self.refresh()
        self.labels_changed.emit()
        return pair_ids

    # ---- inversion ---------------------------------------------------------------------------
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

    def keep_mask(self) -> Any:
        import numpy as np

        if self.store is None:
            return self.stack.keep.copy()
        return np.array(self.store.keep_mask(), dtype=bool)

    def invert(self) -> InvertTask | None:
        """Run the inversion of the kept pairs in a background task."""
        if self.stack is None:
            return None
        from ..core.inversion import InversionOptions

        # The reference is chosen in the task (it reads the whole stack): never on this thread.
        options = InversionOptions(weighting=self.weights_combo.currentData(),
                                   min_pairs=self.min_pairs_spin.value(),
                                   bridge_gaps=self.bridge_check.isChecked(),
                                   robust=self.robust_check.isChecked())
        keep = self.keep_mask()
        self.status_label.setText(self.tr("Inverting {} kept pairs…").format(int(keep.sum())))
        self._set_busy(True)
        task = InvertTask(str(self.stack.path), self.output_folder(), keep, options,
                          self._inverted, self._failed, points=self.points_check.isChecked(),
                          repairs=self.store.active_repairs() if self.store else None)
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
        if self.velocity_layer is not None and self.iface is not None:
            transform = QgsCoordinateTransform(
                self.iface.mapCanvas().mapSettings().destinationCrs(), self.velocity_layer.crs(),
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

    def _set_review_enabled(self, enabled: bool) -> None:
        for widget in (self.keep_button, self.drop_button, self.clear_button, self.undo_button,
                       self.classify_button, self.accept_button, self.connect_button,
                       *self.export_buttons.values()):
            widget.setEnabled(enabled)

    def _refresh_recent(self) -> None:
        self.recent_combo.clear()
        self.recent_combo.addItem(self.tr("Recent stacks…"), None)
        for path in settings.recent_stacks():
            self.recent_combo.addItem(path, path)


def _stack_layers(stack: Any) -> Any:
    from .layers import StackLayers

    name = f"SBAS stack: {stack.path.name}"
    return StackLayers(stack, name)


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
