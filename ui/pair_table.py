"""The pair table: one row per pair, sortable and filterable (a Qt model over core data)."""

from __future__ import annotations

import math
from typing import Any

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt

COLUMNS = ("Pair", "Days", "Bperp (m)", "Coherence", "Coverage", "Loops bad/all", "Score",
           "Label", "Source", "Evidence")


class PairTableModel(QAbstractTableModel):
    """Rows from the stack, its statistics and the labels store (refreshed on every change)."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.stack: Any = None
        self.store: Any = None
        self.statistics: Any = None

    def set_data(self, stack: Any, store: Any, statistics: Any) -> None:
        self.beginResetModel()
        self.stack, self.store, self.statistics = stack, store, statistics
        self.endResetModel()

    def refresh(self) -> None:
        if self.stack is not None:
            self.dataChanged.emit(self.index(0, 0),
                                  self.index(self.rowCount() - 1, len(COLUMNS) - 1))

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if self.stack is None or parent.isValid() else self.stack.n_pairs

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: B008
        return len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None

    def value(self, row: int, column: int) -> Any:
        """The sortable value of a cell."""
        pair = self.stack.pairs[row]
        entry = self.store.labels[pair.pair_id] if self.store is not None else None
        stats = self.statistics
        if column == 0:
            return pair.pair_id
        if column == 1:
            return pair.days
        if column == 2:
            return round(pair.bperp_m, 1)
        if column == 3:
            return None if stats is None else float(stats.mean_coherence[row])
        if column == 4:
            return None if stats is None else float(stats.coverage[row])
        if column == 5:
            if stats is None:
                return None
            return f"{int(stats.closure.misclosed[row])}/{int(stats.closure.triplets[row])}"
        if column == 6:
            return None if entry is None else entry.probability_high
        if column == 7:
            return None if entry is None else entry.final.value
        if column == 8:
            return None if entry is None else entry.source.value
        if column == 9:
            return None if entry is None else entry.evidence
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self.stack is None:
            return None
        value = self.value(index.row(), index.column())
        if role == Qt.ItemDataRole.DisplayRole:
            if isinstance(value, float):
                return "" if math.isnan(value) else f"{value:.2f}"
            return "" if value is None else str(value)
        if role == Qt.ItemDataRole.UserRole:
            return value
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 7:
            from qgis.PyQt.QtGui import QColor

            return QColor("#b71c1c") if value == "low" else QColor("#1b5e20")
        return None


class PairFilterProxy(QSortFilterProxyModel):
    """Sorts by the cells' values (numbers as numbers) and filters on the pair id and label."""

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.setSortRole(Qt.ItemDataRole.UserRole)
        self.setFilterKeyColumn(-1)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)

    def lessThan(self, left: QModelIndex, right: QModelIndex) -> bool:
        a, b = left.data(Qt.ItemDataRole.UserRole), right.data(Qt.ItemDataRole.UserRole)
        if a is None:
            return b is not None
        if b is None:
            return False
        try:
            return a < b
        except TypeError:
            return str(a) < str(b)
