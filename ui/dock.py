"""The plugin's dock: open a stack, review its pairs on the baseline graph and in the table,
mark them, watch the network's health, export the selection, invert."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from qgis.core import (
    Qgis,
    QgsApplication,
)
from qgis.PyQt.QtCore import QEvent, QItemSelectionModel, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDockWidget,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .. import settings
from ..tasks import BaseTask, ClassifyTask, InvertTask, OpenStackTask
from .current_pair import CurrentPair
from .invert_tab import InvertTab
from .map_view import zoom_to_layer
from .pair_table import pair_details

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
        #: The one current pair: table, graph, map and keys follow it.
        self.current_pair = CurrentPair(self)
        self._task: BaseTask | None = None
        self._zoom_pending = False
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
        self.invert_tab = InvertTab(self)
        self.invert_tab.inversion_done.connect(self.inversion_done)
        self.invert_tab.reference_changed.connect(self._reference_changed)
        self.tabs.addTab(self.invert_tab, self.tr("Inversion"))
        self.setWidget(body)

        self.open_folder_button.clicked.connect(self._choose_folder)
        self.open_file_button.clicked.connect(self._choose_file)
        self.sample_button.clicked.connect(self.load_sample)
        self._help = None
        self.recent_combo.activated.connect(self._open_recent)
        self.cancel_button.clicked.connect(self._cancel)
        self._refresh_recent()
        self._set_review_enabled(False)
        self.current_pair.changed.connect(self._show_current)

    @property
    def current(self) -> int | None:
        """Index of the current pair (None before a stack is open)."""
        return self.current_pair.index

    # ---- building --------------------------------------------------------------------------
    def _build_review_tab(self) -> QWidget:
        from .repairs_panel import RepairView
        from .review_tab import WIDGETS, ReviewTab

        tab = ReviewTab(self._help_button, self)
        for name in WIDGETS:  # the dock's logic reaches them by name
            setattr(self, name, getattr(tab, name))
        self.repairs = RepairView(self.repairs_panel)
        self.repairs_panel.decision_requested.connect(self.decide_patch)
        self.connect_panel.proposal_selected.connect(self.select_pair)
        self.connect_panel.accept_requested.connect(self.readmit)
        self.device_combo.currentIndexChanged.connect(self.update_planned_provider)
        QTimer.singleShot(0, self.update_planned_provider)
        self.classify_button.clicked.connect(self.classify)
        self.accept_button.clicked.connect(self.accept_all)
        self.connect_button.clicked.connect(self.keep_connected)
        for fmt, button in self.export_buttons.items():
            button.clicked.connect(lambda _checked=False, f=fmt: self._choose_export(f))
        self.graph.pair_clicked.connect(self.select_pair)
        self.table.selectionModel().currentRowChanged.connect(self._table_row_changed)
        self.filter_edit.textChanged.connect(self.table_proxy.set_filter_text)
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
        if event.type() == QEvent.Type.KeyPress and self._review_key(event, watched):
            return True
        return super().eventFilter(watched, event)

    def keyPressEvent(self, event: Any) -> None:
        """The review keys also work from any widget of the dock that does not take them
        (a button, the tabs, the graph), not only from the table."""
        if not self._review_key(event, self):
            super().keyPressEvent(event)

    def _review_key(self, event: Any, watched: Any) -> bool:
        """Apply a review key to the current pair; whether the key was one."""
        key, modifiers = event.key(), event.modifiers()
        if key == Qt.Key.Key_Z and modifiers & Qt.KeyboardModifier.ControlModifier:
            self.undo()
            return True
        if modifiers & (Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier):
            return False
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
        return False

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

        stack, statistics, closure_raster = result
        self._set_busy(False)
        self._task = None
        self.repairs.release()
        if self.layers is not None:
            self.layers.release()
            self.layers = None
        self.stack, self.statistics = stack, statistics
        self.current_pair.set(None)
        self.graph.set_current(None)
        self.connect_panel.setVisible(False)
        self._forget_inversion()
        try:
            self.store = LabelsStore.open(stack)
        except StackError as exc:
            self.store = None
            self._message(self.tr("Labels not loaded"), str(exc), Qgis.MessageLevel.Critical)
        if self.store is not None and self.store.notice:
            self._message(self.tr("Labels"), self.store.notice, Qgis.MessageLevel.Info)
        check = getattr(statistics, "check", None)
        if self.store is not None and check is not None:
            self.store.set_closure(check)  # one verdict: what the table and exports say
        settings.remember_stack(str(stack.path))
        self._refresh_recent()
        self.status_label.setText(self.tr("{fmt} stack: {dates} dates, {pairs} pairs").format(
            fmt=stack.format_name, dates=stack.n_dates, pairs=stack.n_pairs))
        self.summary_text.setPlainText(format_summary(stack.summary()))
        self.table_model.set_data(stack, self.store, statistics)
        self.table.fit_columns()
        # The threshold shown is the one this stack's labels were made with, never the one
        # typed for the previous stack.
        threshold = (self.store.model or {}).get("threshold") if self.store is not None else None
        self.threshold_spin.setValue(float(threshold) if threshold else 0.0)
        self.layers = _stack_layers(stack)
        self.layers.on_ready = self._layer_ready
        summary = self.repairs.set_stack(stack, self.store, check, self.layers.group,
                                         closure_raster)
        if summary:
            self.status_label.setText(self.status_label.text() + "; " + summary)
        self._set_review_enabled(self.store is not None)
        self.invert_tab.invert_button.setEnabled(True)
        self.refresh()
        if stack.skipped:
            self._message(self.tr("Some files were skipped"),
                          "; ".join(str(s) for s in stack.skipped[:3])
                          + (" …" if len(stack.skipped) > 3 else ""),
                          Qgis.MessageLevel.Warning)
        self.select_pair(0)
        self.zoom_to_stack()
        self.stack_opened.emit(stack)

    def zoom_to_stack(self) -> None:
        """Show the whole stack on the map, through the project's CRS (the one place that
        moves the map; opening a stack does it once, Classify and reviewing never)."""
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        layer = (self.layers.phase_layers.get(self.current)
                 if self.layers is not None and self.current is not None else None)
        # A frame's first layer may still be written in the background: zoom when it is in.
        self._zoom_pending = (layer is None and self.layers is not None
                              and self.current in self.layers.pending)
        if canvas is not None and layer is not None:
            zoom_to_layer(canvas, layer)

    def _layer_ready(self, index: int) -> None:
        """A phase layer written in the background is on the map (pair ``index``)."""
        if self._zoom_pending:
            self.zoom_to_stack()
        canvas = self.iface.mapCanvas() if self.iface is not None else None
        if canvas is not None:
            canvas.refresh()
        self._update_pair_line()

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
    def refresh(self, changed: Iterable[int] | None = None) -> None:
        """Recompute the graph model and health from the labels; restyle what changed on
        the graph and in the table: the pairs ``changed`` (indices) when only those pairs'
        labels changed (a decision), else every pair."""
        from ..core.review import baseline_graph, health_text

        if self.stack is None or self.store is None:
            return
        coherence = None if self.statistics is None else self.statistics.mean_coherence
        self.graph_model = baseline_graph(self.stack, self.store, coherence)
        self.graph.set_graph(self.graph_model, self._edge_details)
        self.graph.set_proposed(self.connect_panel.pending())
        self.health_label.setText(health_text(self.graph_model.health))
        self.counts_label.setText(self._counts_text())
        self.table_model.refresh(changed)
        self._update_pair_line()
        self.repairs.show_pair(self.current)

    def decide_patch(self, patch_id: int, action: str) -> bool:
        """The analyst's decision on one patch of the current pair (saved at once, undoable
        with Ctrl+Z); a correction that would not improve closure is refused in the message
        bar. Returns whether it was applied."""
        from ..core.repair_flow import decide_patch

        if self.stack is None or self.store is None or self.current is None:
            return False
        pair_id = self.stack.pair_ids[self.current]
        try:
            text = decide_patch(self.stack, self.store, pair_id, patch_id, action)
        except (KeyError, ValueError, OSError) as exc:
            self._message(self.tr("Repair not applied"), str(exc).strip("'\""),
                          Qgis.MessageLevel.Warning)
            return False
        self.status_label.setText(f"{pair_id}: {text}")
        self.refresh([self.current])
        self.labels_changed.emit()
        return True

    def _counts_text(self) -> str:
        """How many pairs are kept and dropped now, and by whom (updated on every change)."""
        entries = [self.store.labels[p] for p in self.stack.pair_ids]
        kept = sum(e.final.value == "high" for e in entries)
        by_user = sum(e.override is not None for e in entries)
        readmitted = sum(e.source.value == "connectivity" for e in entries)
        text = self.tr("{n} pairs: {kept} kept, {dropped} dropped").format(
            n=len(entries), kept=kept, dropped=len(entries) - kept)
        if by_user:
            text += self.tr("; {} decided by you").format(by_user)
        if readmitted:
            text += self.tr("; {} re-admitted to keep the network connected").format(readmitted)
        return text

    def _update_pair_line(self) -> None:
        if self.stack is None or self.current is None:
            self.pair_label.setText("")
            return
        pair_id = self.stack.pairs[self.current].pair_id
        if self.store is None:
            label = "?"
        else:
            entry = self.store.labels[pair_id]
            label = f"{entry.final.value} ({entry.source.value})"
        hidden = not self.table_proxy.mapFromSource(self.table_model.index(self.current,
                                                                           0)).isValid()
        preparing = self.layers is not None and self.current in self.layers.pending
        self.pair_label.setText(self.tr("Current pair {pid}: {label}").format(
            pid=pair_id, label=label) + (self.tr(" — hidden by the table's filter")
                                         if hidden else "")
            + (self.tr(" — preparing its map layer…") if preparing else ""))

    def _edge_details(self, index: int) -> str:
        """A graph edge's tooltip (made when hovered, not for every pair on every change)."""
        return pair_details(self.stack, self.store, self.statistics, index)

    def select_pair(self, index: int) -> None:
        """Make pair ``index`` the current pair: the graph, the table, the map and the keys
        follow it."""
        if self.stack is None or not 0 <= index < self.stack.n_pairs:
            return
        self.current_pair.set(index, force=True)

    def _show_current(self, index: int) -> None:
        """Every view follows the current pair; the table highlights it, or nothing when its
        filter hides it (a highlight on another row would mislead the keys)."""
        self.graph.set_current(index)
        proxy_index = self.table_proxy.mapFromSource(self.table_model.index(index, 0))
        selection = self.table.selectionModel()
        if proxy_index.isValid():
            if self.table.currentIndex().row() != proxy_index.row():
                selection.setCurrentIndex(proxy_index,
                                          QItemSelectionModel.SelectionFlag.ClearAndSelect
                                          | QItemSelectionModel.SelectionFlag.Rows)
            self.table.scrollTo(proxy_index)
        else:
            selection.clearSelection()
        self.repairs.show_pair(index)
        if self.layers is not None:
            self.layers.show(index)
            canvas = self.iface.mapCanvas() if self.iface is not None else None
            if canvas is not None:
                canvas.refresh()
        self._update_pair_line()

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
        self.refresh([index])  # the filter may now hide the pair: the table follows below
        self._follow_table()
        self.labels_changed.emit()
        return True

    def _follow_table(self) -> None:
        """After a decision moved the current pair out of the table's filter, the current
        pair becomes the row the table now highlights, so that the next key acts on what the
        analyst sees; with no row left, the current pair stays and the table shows none."""
        if self.current is None:
            return
        proxy_index = self.table_proxy.mapFromSource(self.table_model.index(self.current, 0))
        if proxy_index.isValid():
            return
        current_row = self.table.currentIndex()
        if current_row.isValid():
            row = self.table_proxy.mapToSource(current_row).row()
            self.select_pair(row)
        else:
            self._show_current(self.current)

    def undo(self) -> None:
        if self.store is None:
            return
        pair_id = self.store.undo()
        if pair_id is not None:
            index = self.stack.index_of(pair_id)
            self.refresh([index])
            self.select_pair(index)
            self.labels_changed.emit()

    def _set_wrapped(self, wrapped: bool) -> None:
        if self.layers is not None:
            self.layers.set_wrapped(wrapped)

    def _choose_export(self, fmt: str) -> None:
        names = {"csv": "labels.csv", "mintpy": "exclude_date12.txt",
                 "licsbas": "rm_ifg_list.txt"}
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export pairs"),
                                              str(Path(self.export_folder()) / names[fmt]))
        if path:
            settings.set_last_export_folder(str(Path(path).parent))
            self.export(fmt, path)

    def export_folder(self) -> str:
        """Where the export dialog starts: the last folder exported to, else the stack's
        folder when it is writable, else the home folder (never QGIS's working folder)."""
        from ..core.paths import is_writable_folder

        last = settings.last_export_folder()
        if last and Path(last).is_dir():
            return last
        if self.stack is not None:
            folder = self.stack.path if self.stack.path.is_dir() else self.stack.path.parent
            if is_writable_folder(folder):
                return str(folder)
        return str(Path.home())

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
        self.status_label.setText(self.tr("Classified {n} pairs with the model {name}")
                                  .format(n=self.stack.n_pairs,
                                          name=(result.model or {}).get("name", "")))
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
        cleared = [index for index, pair_id in enumerate(self.stack.pair_ids)
                   if self.store.labels[pair_id].override is not None]
        try:
            self.store.clear_overrides([self.stack.pair_ids[i] for i in cleared])
        except OSError as exc:
            self._message(self.tr("Could not save the labels"), str(exc),
                          Qgis.MessageLevel.Critical)
        self.refresh(cleared)
        self.labels_changed.emit()

    def keep_connected(self) -> Any:
        """List the re-admissions that would reconnect the network (each shown on the graph
        and the map when selected, re-admitted on its own), and the dates none can reconnect.
        Returns the plan (None without a stack)."""
        from ..core.connectivity import plan_readmissions

        if self.stack is None or self.store is None:
            return None
        coherence = None if self.statistics is None else self.statistics.mean_coherence
        plan = plan_readmissions(self.stack, self.store, coherence)
        if plan.pieces_before <= 1:
            self.connect_panel.setVisible(False)
            self._message(self.tr("Network"), self.tr("The kept network is connected."),
                          Qgis.MessageLevel.Info)
            return plan
        self.connect_panel.set_plan(plan)
        # Proposals already re-admitted earlier show as such.
        for proposal in plan.proposals:
            if self.store.labels[proposal.pair_id].source.value == "connectivity":
                self.connect_panel.mark_accepted(proposal.index)
        for line in self.connect_panel.unreachable_lines():
            self._message(self.tr("Network"), line, Qgis.MessageLevel.Warning)
        self.refresh()
        return plan

    def readmit(self, index: int) -> bool:
        """Re-admit one proposed pair (others re-admitted before stay so); saved at once."""
        if self.stack is None or self.store is None:
            return False
        pair_id = self.stack.pairs[index].pair_id
        already = [p for p in self.stack.pair_ids
                   if self.store.labels[p].readmitted is not None
                   and self.store.labels[p].override is None]
        try:
            self.store.set_readmitted([*already, pair_id])
        except (OSError, ValueError) as exc:
            self._message(self.tr("Could not re-admit"), str(exc), Qgis.MessageLevel.Critical)
            return False
        self.connect_panel.mark_accepted(index)
        self.refresh()
        self.labels_changed.emit()
        return True

    # ---- inversion (the Inversion tab holds it) ------------------------------------------
    def keep_mask(self) -> Any:
        """The kept pairs, bool, shape (n_pairs,)."""
        import numpy as np

        if self.store is None:
            return self.stack.keep.copy()
        return np.array(self.store.keep_mask(), dtype=bool)

    def invert(self) -> InvertTask | None:
        """Run the inversion of the kept pairs in a background task (see the Inversion tab)."""
        return self.invert_tab.invert()

    @property
    def inversion(self) -> Any:
        """The last inversion's result for the open stack (None before one)."""
        return self.invert_tab.inversion

    @property
    def velocity_layer(self) -> Any:
        return self.invert_tab.velocity_layer

    def _forget_inversion(self) -> None:
        self.invert_tab.forget()

    def _reference_changed(self, pixel: Any) -> None:
        """The map's interferograms follow the reference point chosen for the inversion."""
        if self.layers is not None:
            self.layers.set_reference(pixel)
            if self.current is not None:
                self._show_current(self.current)

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
        self.invert_tab.invert_button.setEnabled(not busy and self.stack is not None)

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
