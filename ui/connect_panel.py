"""Keep connected, as the analyst sees it: one line per proposed re-admission, each shown on
the graph and the map when selected and accepted on its own, and the dates no dropped pair can
reconnect named in red."""

from __future__ import annotations

from typing import Any

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ConnectPanel(QWidget):
    """Shows a :class:`~sbas_selector.core.connectivity.ConnectivityPlan`.

    Signals
    -------
    proposal_selected(int)
        The pair index of the proposal the analyst selected (to show it).
    accept_requested(int)
        The pair index of a proposal to re-admit.
    """

    proposal_selected = pyqtSignal(int)
    accept_requested = pyqtSignal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plan: Any = None
        self.accepted: set[int] = set()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.summary_label = QLabel("", self)
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        self.proposals_list = QListWidget(self)
        self.proposals_list.setMaximumHeight(110)
        layout.addWidget(self.proposals_list)
        self.unreachable_label = QLabel("", self)
        self.unreachable_label.setWordWrap(True)
        self.unreachable_label.setStyleSheet("color: #b71c1c;")
        layout.addWidget(self.unreachable_label)
        buttons = QHBoxLayout()
        self.accept_button = QPushButton(self.tr("Re-admit selected"), self)
        self.accept_all_button = QPushButton(self.tr("Re-admit all"), self)
        self.close_button = QPushButton(self.tr("Close"), self)
        for button in (self.accept_button, self.accept_all_button, self.close_button):
            buttons.addWidget(button)
        layout.addLayout(buttons)
        self.proposals_list.currentRowChanged.connect(self._row_changed)
        self.accept_button.clicked.connect(
            lambda: self.accept_row(self.proposals_list.currentRow()))
        self.accept_all_button.clicked.connect(self.accept_all)
        self.close_button.clicked.connect(self.hide)
        self.setVisible(False)

    def set_plan(self, plan: Any) -> None:
        """List the plan's proposals (none accepted yet) and what cannot be reconnected."""
        self.plan, self.accepted = plan, set()
        self.proposals_list.clear()
        for proposal in plan.proposals:
            item = QListWidgetItem(proposal.describe())
            item.setToolTip(proposal.describe())
            item.setData(Qt.ItemDataRole.UserRole, proposal.index)
            self.proposals_list.addItem(item)
        if plan.proposals:
            self.summary_label.setText(self.tr(
                "The kept pairs split the network into {n} pieces. Each re-admission below "
                "joins one piece: select it to see it, re-admit the ones you trust.").format(
                n=plan.pieces_before))
        else:
            self.summary_label.setText(self.tr(
                "The kept pairs split the network into {n} pieces, and no dropped pair that "
                "you did not drop yourself can join them.").format(n=plan.pieces_before))
        unreachable = "\n".join(self.unreachable_lines())
        self.unreachable_label.setText(unreachable)
        self.unreachable_label.setVisible(bool(plan.unreachable))
        self.proposals_list.setVisible(bool(plan.proposals))
        self.accept_button.setEnabled(bool(plan.proposals))
        self.accept_all_button.setEnabled(bool(plan.proposals))
        self.setVisible(True)

    def unreachable_lines(self) -> list[str]:
        if self.plan is None:
            return []
        return [self.tr("cannot reconnect {}: no dropped pair links them (pairs you dropped "
                        "are never proposed)").format(", ".join(d.isoformat() for d in piece))
                for piece in self.plan.unreachable]

    def pending(self) -> set[int]:
        """Pair indices proposed and not yet re-admitted."""
        if self.plan is None or self.isHidden():
            return set()
        return {p.index for p in self.plan.proposals} - self.accepted

    def accept_row(self, row: int) -> None:
        """Ask for the proposal on ``row`` alone to be re-admitted."""
        item = self.proposals_list.item(row)
        if item is None:
            return
        index = int(item.data(Qt.ItemDataRole.UserRole))
        if index in self.accepted:
            return
        self.accept_requested.emit(index)

    def mark_accepted(self, index: int) -> None:
        """Show the proposal of pair ``index`` as re-admitted."""
        self.accepted.add(index)
        for row in range(self.proposals_list.count()):
            item = self.proposals_list.item(row)
            if int(item.data(Qt.ItemDataRole.UserRole)) == index:
                item.setText(self.tr("✓ re-admitted: {}").format(item.toolTip()))
                item.setForeground(Qt.GlobalColor.darkGreen)

    def accept_all(self) -> None:
        for row in range(self.proposals_list.count()):
            self.accept_row(row)

    def _row_changed(self, row: int) -> None:
        item = self.proposals_list.item(row)
        if item is not None:
            self.proposal_selected.emit(int(item.data(Qt.ItemDataRole.UserRole)))
