"""The current pair's small unwrapping errors: one row per patch (pixels, rows, columns,
cycles, confidence, what is done and by whom) and Correct / Mask / Ignore for the selected
patch. The panel only shows and asks; the dock decides (through the labels store)."""

from __future__ import annotations

from typing import Any

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

HEADERS = ("Patch", "Pixels", "Rows", "Columns", "Cycles", "Confidence", "Action", "By")
ACTIONS = ("correct", "mask", "ignore")


class RepairsPanel(QWidget):
    """Patches of the current pair; ``decision_requested(patch_id, action)`` when the analyst
    presses Correct, Mask or Ignore."""

    decision_requested = pyqtSignal(int, str)

    def __init__(self, parent: QWidget | None = None, help_button: QWidget | None = None
                 ) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary_label = QLabel("", self)
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        self.table = QTableWidget(0, len(HEADERS), self)
        self.table.setHorizontalHeaderLabels([self.tr(h) for h in HEADERS])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.setMaximumHeight(110)
        layout.addWidget(self.table)
        buttons = QHBoxLayout()
        self.buttons: dict[str, QPushButton] = {}
        tips = {"correct": self.tr("Subtract the patch's whole cycles (refused when closure "
                                   "would not improve)"),
                "mask": self.tr("Leave the patch out of this pair (NaN)"),
                "ignore": self.tr("Use the patch as it is")}
        for action in ACTIONS:
            button = QPushButton(self.tr(action.capitalize()), self)
            button.setToolTip(tips[action])
            button.clicked.connect(lambda _checked=False, a=action: self._request(a))
            buttons.addWidget(button)
            self.buttons[action] = button
        if help_button is not None:
            buttons.addWidget(help_button)
        layout.addLayout(buttons)
        self.patches: list[Any] = []
        self.set_patches("", [])

    def set_patches(self, summary: str, patches: list[Any]) -> None:
        """Show ``patches`` (:class:`~sbas_selector.core.repairs.Patch`) and a summary line;
        the selected patch stays selected when it is still there."""
        selected = self.selected_patch_id()
        self.patches = list(patches)
        self.summary_label.setText(summary)
        self.table.setRowCount(len(self.patches))
        done = {"correct": self.tr("corrected"), "mask": self.tr("masked"),
                "ignore": self.tr("ignored")}
        for row, patch in enumerate(self.patches):
            values = (str(patch.patch_id), str(patch.n_pixels),
                      f"{patch.rows[0]}-{patch.rows[1]}", f"{patch.cols[0]}-{patch.cols[1]}",
                      f"{patch.cycles:+d}", f"{patch.confidence:.2f}", done[patch.action],
                      self.tr("analyst") if patch.source == "user" else self.tr("check"))
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(self.tr("proposed: {}; {} of {} closed triplets agree").format(
                    patch.proposed, patch.support, patch.checked))
                self.table.setItem(row, column, item)
            if patch.patch_id == selected:
                self.table.selectRow(row)
        if self.patches and self.selected_patch_id() is None:
            self.table.selectRow(0)
        for button in self.buttons.values():
            button.setEnabled(bool(self.patches))
        self.table.setVisible(bool(self.patches))
        self.table.resizeColumnsToContents()

    def selected_patch_id(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.rowCount() else []
        if not rows or rows[0].row() >= len(self.patches):
            return None
        return self.patches[rows[0].row()].patch_id

    def _request(self, action: str) -> None:
        patch_id = self.selected_patch_id()
        if patch_id is not None:
            self.decision_requested.emit(patch_id, action)


class RepairView:
    """The closure check on the map and in the panel, for the dock: the per-pixel closure
    layer and the current pair's outlines in the stack's group, the panel's rows."""

    def __init__(self, panel: RepairsPanel) -> None:
        self.panel = panel
        self.stack: Any = None
        self.store: Any = None
        self.closure_layer: Any = None
        self.patch_layer: Any = None

    def set_stack(self, stack: Any, store: Any, check: Any, group: Any,
                  closure_raster: Any = None) -> str | None:
        """A new stack: its closure layer (when the check ran; ``closure_raster``: its raster,
        already written) and an empty outline layer in ``group``. Returns the check's summary
        (None without a check)."""
        from .repair_layers import add_to_group, closure_layer, patch_layer

        self.release()
        self.stack, self.store = stack, store
        if check is not None:
            layer = closure_layer(check, stack, closure_raster)
            if layer is not None:
                self.closure_layer = layer
                add_to_group(group, layer, visible=False)
        self.patch_layer = patch_layer(stack.grid.crs_wkt)
        add_to_group(group, self.patch_layer, visible=True)
        return None if check is None else check.summary()

    def show_pair(self, index: int | None) -> None:
        """The current pair's patches in the panel and outlined on the map."""
        from qgis.PyQt import sip

        from .repair_layers import show_patches

        if self.stack is None or self.store is None or index is None:
            self.panel.set_patches("", [])
            return
        pair_id = self.stack.pair_ids[index]
        entry = self.store.labels[pair_id]
        if entry.closure is None:
            summary = self.panel.tr("Closure not checked yet (Classify checks it).")
        elif entry.closure == "clean":
            summary = self.panel.tr("{}: closes in every triplet.").format(pair_id)
        else:
            summary = f"{pair_id}: {entry.repair_text}"
        self.panel.set_patches(summary, list(entry.repairs))
        if self.patch_layer is not None and not sip.isdeleted(self.patch_layer):
            show_patches(self.patch_layer, self.stack.grid, pair_id, list(entry.repairs))

    def release(self) -> None:
        """Remove this stack's closure and outline layers (those the analyst left)."""
        from qgis.core import QgsProject
        from qgis.PyQt import sip

        project = QgsProject.instance()
        for layer in (self.closure_layer, self.patch_layer):
            if layer is not None and not sip.isdeleted(layer) and project.mapLayer(layer.id()):
                project.removeMapLayer(layer.id())
        self.closure_layer = self.patch_layer = None
