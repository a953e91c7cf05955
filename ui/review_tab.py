"""The dock's Review tab, as widgets: baseline graph, current pair, counts and health lines,
the filtered pair table, the current pair's repairs of unwrapping errors, classification,
Keep connected, the review keys' buttons and the exports. The dock connects them to what
they do (one current pair, the labels store)."""

from __future__ import annotations

from collections.abc import Callable

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from .baseline_graph import BaselineGraphWidget
from .connect_panel import ConnectPanel
from .pair_table import PairFilterProxy, PairTableModel, PairTableView
from .repairs_panel import RepairsPanel

#: The widgets the dock uses by name (``dock.graph``, ``dock.table``...).
WIDGETS = (
    "accept_button", "classify_button", "clear_button", "connect_button", "connect_panel",
    "counts_label", "device_combo", "drop_button", "export_buttons", "filter_edit", "graph",
    "health_label", "keep_button", "pair_label", "provider_label", "repairs_panel", "table",
    "table_model", "table_proxy", "threshold_spin", "undo_button", "wrapped_check",
)


class ReviewTab(QWidget):
    """The Review tab's widgets; ``help_button(page)`` makes the tab's "?" buttons."""

    def __init__(self, help_button: Callable[[str], QWidget],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._build(help_button)

    def _build(self, help_button: Callable[[str], QWidget]) -> None:
        layout = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.graph = BaselineGraphWidget(splitter)
        table_box = QWidget(splitter)
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 0, 0, 0)
        self.pair_label = QLabel("", table_box)
        table_layout.addWidget(self.pair_label)
        self.counts_label = QLabel("", table_box)
        self.counts_label.setWordWrap(True)
        table_layout.addWidget(self.counts_label)
        self.health_label = QLabel("", table_box)
        self.health_label.setWordWrap(True)
        table_layout.addWidget(self.health_label)
        self.filter_edit = QLineEdit(table_box)
        self.filter_edit.setPlaceholderText(self.tr("Filter pairs (id, label, source…)"))
        table_layout.addWidget(self.filter_edit)
        self.table_model = PairTableModel(self)
        self.table_proxy = PairFilterProxy(self)
        self.table_proxy.setSourceModel(self.table_model)
        self.table = PairTableView(table_box)
        self.table.setModel(self.table_proxy)
        table_layout.addWidget(self.table)
        # The current pair's repairs in the splitter too: the analyst sizes table and panel.
        self.repairs_panel = RepairsPanel(splitter, help_button("repair"))
        splitter.addWidget(self.graph)
        splitter.addWidget(table_box)
        splitter.addWidget(self.repairs_panel)
        for index, stretch in enumerate((4, 5, 1)):
            splitter.setStretchFactor(index, stretch)
        layout.addWidget(splitter)
        classify_row = QHBoxLayout()
        self.classify_button = QPushButton(self.tr("Classify"), self)
        self.classify_button.setToolTip(self.tr(
            "Score every pair with the CNN, weighed against what the rest of the network "
            "says of it"))
        self.device_combo = QComboBox(self)
        for device in ("auto", "cpu", "cuda"):
            self.device_combo.addItem(device, device)
        self.threshold_spin = QDoubleSpinBox(self)
        self.threshold_spin.setRange(0.0, 1.0)
        self.threshold_spin.setSingleStep(0.05)
        self.threshold_spin.setSpecialValueText(self.tr("model's"))
        self.threshold_spin.setValue(0.0)  # 0 shows "model's": the threshold in its card
        self.threshold_spin.setToolTip(self.tr("Probability of high quality above which a "
                                               "pair is kept (default: the model's)"))
        self.connect_button = QPushButton(self.tr("Keep connected…"), self)
        self.connect_button.setToolTip(self.tr("Propose the fewest dropped pairs that reconnect "
                                               "the network"))
        self.accept_button = QPushButton(self.tr("Accept all"), self)
        self.accept_button.setToolTip(self.tr("Clear your overrides: every pair takes the "
                                              "model's label"))
        classify_row.addWidget(self.classify_button)
        classify_row.addWidget(QLabel(self.tr("on"), self))
        classify_row.addWidget(self.device_combo)
        classify_row.addWidget(QLabel(self.tr("threshold"), self))
        classify_row.addWidget(self.threshold_spin)
        classify_row.addWidget(self.accept_button)
        classify_row.addWidget(self.connect_button)
        layout.addLayout(classify_row)
        classify_row.addWidget(help_button("classify"))
        self.connect_panel = ConnectPanel(self)
        layout.addWidget(self.connect_panel)
        self.provider_label = QLabel(self.tr("Inference: not run yet"), self)
        self.provider_label.setWordWrap(True)
        layout.addWidget(self.provider_label)
        marks = QHBoxLayout()
        self.keep_button = QPushButton(self.tr("Keep (K)"), self)
        self.drop_button = QPushButton(self.tr("Drop (D)"), self)
        self.clear_button = QPushButton(self.tr("Clear (C)"), self)
        self.undo_button = QPushButton(self.tr("Undo"), self)
        self.wrapped_check = QCheckBox(self.tr("Re-wrapped"), self)
        self.wrapped_check.setChecked(True)
        self.wrapped_check.setToolTip(self.tr("Show phase re-wrapped (fringes) or unwrapped"))
        for widget in (self.keep_button, self.drop_button, self.clear_button, self.undo_button,
                       self.wrapped_check):
            marks.addWidget(widget)
        layout.addLayout(marks)
        exports = QHBoxLayout()
        exports.addWidget(QLabel(self.tr("Export:"), self))
        self.export_buttons = {}
        for fmt, text in (("csv", "CSV…"), ("mintpy", "MintPy…"), ("licsbas", "LiCSBAS…")):
            button = QPushButton(self.tr(text), self)
            exports.addWidget(button)
            self.export_buttons[fmt] = button
        exports.addWidget(help_button("review"))
        layout.addLayout(exports)
